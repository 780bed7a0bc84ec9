// SPDX-License-Identifier: MIT
// qtpush-server: serves the process-wide PushRegistry over HTTP and WebSocket on one port.
// Command line, environment, signals and wiring only; everything else is QtPush::Server.

#include <QtPush/pushregistry.h>
#include <QtPush/pushserver.h>
#include <QtPush/pushtoken.h>
#if QTPUSH_WITH_SQLITE
#include <QtPush/pushsqlitebroker.h>
#endif

#include <QtCore/QCommandLineParser>
#include <QtCore/QCoreApplication>
#include <QtCore/QFile>
#include <QtCore/QLoggingCategory>
#include <QtCore/QSocketNotifier>
#include <QtNetwork/QSslCertificate>
#include <QtNetwork/QSslConfiguration>
#include <QtNetwork/QSslKey>

#include <csignal>
#include <cstdio>
#include <sys/socket.h>
#include <unistd.h>

namespace {

int signalPipe[2] = {-1, -1};

void onTerminationSignal(int)
{
    const char byte = 1;
    // write() is async-signal-safe; the event loop does the real work (signal-safety(7)).
    [[maybe_unused]] const ssize_t written = ::write(signalPipe[0], &byte, 1);
}

struct Option
{
    QString name;
    QString environment;
    QString description;
    QString valueName;
    QString defaultValue;
};

// Every setting, with its environment variable; a flag wins over the environment.
const QList<Option> &options()
{
    static const QList<Option> list = {
            {QStringLiteral("host"), QStringLiteral("QTPUSH_HOST"),
             QStringLiteral("Address to listen on."), QStringLiteral("addr"),
             QStringLiteral("127.0.0.1")},
            {QStringLiteral("port"), QStringLiteral("QTPUSH_PORT"),
             QStringLiteral("Port to listen on; 0 picks a free one."), QStringLiteral("n"),
             QStringLiteral("8080")},
            {QStringLiteral("secret"),
             QStringLiteral("QTPUSH_SECRET"),
             QStringLiteral("HS256 secret: every request then needs a JWT."),
             QStringLiteral("s"),
             {}},
            {QStringLiteral("tls-cert"),
             QStringLiteral("QTPUSH_TLS_CERT"),
             QStringLiteral("PEM certificate (chain) for https and wss."),
             QStringLiteral("file"),
             {}},
            {QStringLiteral("tls-key"),
             QStringLiteral("QTPUSH_TLS_KEY"),
             QStringLiteral("PEM private key for --tls-cert."),
             QStringLiteral("file"),
             {}},
            {QStringLiteral("max-message-bytes"), QStringLiteral("QTPUSH_MAX_MESSAGE_BYTES"),
             QStringLiteral("Largest message accepted."), QStringLiteral("n"),
             QStringLiteral("65536")},
            {QStringLiteral("max-connections"), QStringLiteral("QTPUSH_MAX_CONNECTIONS"),
             QStringLiteral("Concurrent connections; 0 for no limit."), QStringLiteral("n"),
             QStringLiteral("0")},
            {QStringLiteral("max-clients-per-session"),
             QStringLiteral("QTPUSH_MAX_CLIENTS_PER_SESSION"),
             QStringLiteral("Clients one session may have; 0 for no limit."), QStringLiteral("n"),
             QStringLiteral("0")},
            {QStringLiteral("push-rate"), QStringLiteral("QTPUSH_PUSH_RATE"),
             QStringLiteral(
                     "Pushes per second one connection may make (a decimal); 0 for no limit."),
             QStringLiteral("n"), QStringLiteral("0")},
            {QStringLiteral("client-grace"), QStringLiteral("QTPUSH_CLIENT_GRACE"),
             QStringLiteral("Seconds a disconnected client keeps its buffer."),
             QStringLiteral("seconds"), QStringLiteral("60")},
            {QStringLiteral("client-buffer"), QStringLiteral("QTPUSH_CLIENT_BUFFER"),
             QStringLiteral("Undelivered messages a client may have before a gap."),
             QStringLiteral("n"), QStringLiteral("256")},
            {QStringLiteral("client-buffer-bytes"), QStringLiteral("QTPUSH_CLIENT_BUFFER_BYTES"),
             QStringLiteral("Bytes of undelivered messages (as decoded in memory) a client may "
                            "have before a gap; 0 for no byte limit."),
             QStringLiteral("n"), QStringLiteral("4194304")},
            {QStringLiteral("max-retained-bytes"), QStringLiteral("QTPUSH_MAX_RETAINED_BYTES"),
             QStringLiteral("Bytes (as decoded in memory) all sessions together retain for "
                            "since=; past it the largest forget their oldest. 0 for no budget."),
             QStringLiteral("n"), QStringLiteral("268435456")},
            {QStringLiteral("store"), QStringLiteral("QTPUSH_STORE"),
             QStringLiteral("Where sessions, ids and retained messages live: memory (gone at "
                            "exit) or sqlite:FILE[?sync=full|normal][&max_size=BYTES] (kept "
                            "across restarts and crashes)."),
             QStringLiteral("store"), QStringLiteral("memory")},
            {QStringLiteral("max-sessions"), QStringLiteral("QTPUSH_MAX_SESSIONS"),
             QStringLiteral("Sessions that may exist; a new one past it gets 503. 0 for no "
                            "limit."),
             QStringLiteral("n"), QStringLiteral("100000")},
            {QStringLiteral("retain-messages"), QStringLiteral("QTPUSH_RETAIN_MESSAGES"),
             QStringLiteral("Messages a session keeps for since= resumption."), QStringLiteral("n"),
             QStringLiteral("1024")},
            {QStringLiteral("retain-seconds"), QStringLiteral("QTPUSH_RETAIN_SECONDS"),
             QStringLiteral("How long a session keeps them."), QStringLiteral("seconds"),
             QStringLiteral("300")},
            {QStringLiteral("ping-interval"), QStringLiteral("QTPUSH_PING_INTERVAL"),
             QStringLiteral("Seconds between pings of a quiet WebSocket; a ping unanswered as long "
                            "drops it."),
             QStringLiteral("seconds"), QStringLiteral("30")},
    };
    return list;
}

[[noreturn]] void fail(const QString &message, int code = 2)
{
    std::fprintf(stderr, "qtpush-server: %s\n", qPrintable(message));
    std::exit(code);
}

class Settings
{
public:
    explicit Settings(const QCommandLineParser &parser) : m_parser(parser) { }

    QString text(const QString &name) const
    {
        if (m_parser.isSet(name))
            return m_parser.value(name);
        for (const Option &option : options()) {
            if (option.name == name && qEnvironmentVariableIsSet(qPrintable(option.environment)))
                return qEnvironmentVariable(qPrintable(option.environment));
        }
        return m_parser.value(name); // the default
    }

    qint64 number(const QString &name, qint64 min, qint64 max) const
    {
        bool ok = false;
        const qint64 value = text(name).toLongLong(&ok);
        if (!ok || value < min || value > max)
            fail(QStringLiteral("--%1 must be a whole number from %2 to %3, not \"%4\"")
                         .arg(name)
                         .arg(min)
                         .arg(max)
                         .arg(text(name)));
        return value;
    }

    double decimal(const QString &name, double min, double max) const
    {
        bool ok = false;
        const double value = text(name).toDouble(&ok);
        if (!ok || value < min || value > max)
            fail(QStringLiteral("--%1 must be a number from %2 to %3, not \"%4\"")
                         .arg(name)
                         .arg(min)
                         .arg(max)
                         .arg(text(name)));
        return value;
    }

private:
    const QCommandLineParser &m_parser;
};

int issueToken(const QCommandLineParser &parser, const Settings &settings)
{
    const QByteArray secret = settings.text(QStringLiteral("secret")).toUtf8();
    if (secret.isEmpty())
        fail(QStringLiteral("--issue-token needs --secret (or QTPUSH_SECRET)"));
    PushToken token;
    token.session = parser.value(QStringLiteral("issue-token"));
    if (token.session.isEmpty())
        fail(QStringLiteral("--issue-token needs a session id"));
    token.client = parser.value(QStringLiteral("client"));
    const QStringList scopes
            = parser.value(QStringLiteral("scope")).split(u' ', Qt::SkipEmptyParts);
    for (const QString &scope : scopes) {
        if (scope == QStringLiteral("subscribe"))
            token.scopes |= PushToken::Subscribe;
        else if (scope == QStringLiteral("push"))
            token.scopes |= PushToken::Push;
        else if (scope == QStringLiteral("admin"))
            token.scopes |= PushToken::Admin;
        else
            fail(QStringLiteral("unknown scope \"%1\"").arg(scope));
    }
    const qint64 expiresIn = settings.number(QStringLiteral("expires-in"), 0, 10LL * 365 * 86400);
    if (expiresIn > 0)
        token.expires = QDateTime::currentDateTimeUtc().addSecs(expiresIn);
    std::printf("%s\n", token.sign(secret).constData());
    return 0;
}

// sysexits.h, so that a service manager can tell "fix the file" from "try again"
// (RestartPreventExitStatus=65 73 in a systemd unit).
int exitStatusFor(PushBroker::Error error)
{
    switch (error) {
    case PushBroker::NotAStore:
    case PushBroker::Corrupt:
    case PushBroker::UnsupportedVersion:
        return 65; // EX_DATAERR: the file was left untouched
    case PushBroker::ReadOnly: // also a missing directory or no permission
    case PushBroker::StorageFull:
        return 73; // EX_CANTCREAT
    case PushBroker::IoError:
        return 74; // EX_IOERR
    default:
        return 75; // EX_TEMPFAIL: Locked (another process has it), Unavailable
    }
}

//! The registry of --store: null for memory (the global one serves), else one on an open
//! durable broker; a store that cannot be used ends the process with one line and a status.
std::unique_ptr<PushRegistry> openStore(const QString &store)
{
    if (store == QLatin1String("memory"))
        return nullptr;
    const QString usage = QStringLiteral("--store must be memory or "
                                         "sqlite:FILE[?sync=full|normal][&max_size=BYTES], not "
                                         "\"%1\"")
                                  .arg(store);
    if (!store.startsWith(QLatin1String("sqlite:")))
        fail(usage);
#if QTPUSH_WITH_SQLITE
    QString problem;
    std::unique_ptr<PushSqliteBroker> broker = PushSqliteBroker::fromUrl(store, &problem);
    if (!broker)
        fail(QStringLiteral("%1 (%2)").arg(usage, problem));
    if (!broker->open())
        fail(broker->errorString(), exitStatusFor(broker->error()));
    return std::make_unique<PushRegistry>(std::move(broker));
#else
    fail(QStringLiteral("--store sqlite: this qtpush-server was built without SQLite "
                        "(QTPUSH_WITH_SQLITE=OFF)"));
#endif
}

} // namespace

int main(int argc, char *argv[])
{
    // Qt's GLib event dispatcher registers and unregisters socket notifiers in linear lists, and
    // every write to a socket toggles one: with thousands of connections that dominates a push.
    // Qt's own Unix dispatcher keeps them in a hash (docs/benchmarks.md: Server).
    if (!qEnvironmentVariableIsSet("QT_NO_GLIB"))
        qputenv("QT_NO_GLIB", "1");
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("qtpush-server"));
    QCoreApplication::setApplicationVersion(QStringLiteral(QTPUSH_VERSION));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
            "Serves QtPush sessions over WebSocket, Server-Sent Events, long-poll and HTTP push "
            "on one port (docs/protocol.md). Every option can also be set from the environment "
            "variable named in its description; the option wins."));
    parser.addHelpOption();
    parser.addVersionOption();
    for (const Option &option : options()) {
        parser.addOption(QCommandLineOption(
                option.name, option.description + QStringLiteral(" [%1]").arg(option.environment),
                option.valueName, option.defaultValue));
    }
    parser.addOption(
            QCommandLineOption(QStringLiteral("allow-insecure-remote"),
                               QStringLiteral("Listen on a non-loopback address without a secret "
                                              "[QTPUSH_ALLOW_INSECURE_REMOTE=1].")));
    parser.addOption(QCommandLineOption(
            QStringLiteral("issue-token"),
            QStringLiteral("Print a token for this session, signed with --secret, and exit."),
            QStringLiteral("session")));
    parser.addOption(QCommandLineOption(QStringLiteral("scope"),
                                        QStringLiteral("Scopes of --issue-token."),
                                        QStringLiteral("words"), QStringLiteral("subscribe push")));
    parser.addOption(QCommandLineOption(QStringLiteral("client"),
                                        QStringLiteral("The one client id --issue-token allows."),
                                        QStringLiteral("id")));
    parser.addOption(
            QCommandLineOption(QStringLiteral("expires-in"),
                               QStringLiteral("Lifetime of --issue-token; 0 never expires."),
                               QStringLiteral("seconds"), QStringLiteral("3600")));
    parser.process(app);
    const Settings settings(parser);

    if (parser.isSet(QStringLiteral("issue-token")))
        return issueToken(parser, settings);

    if (qEnvironmentVariableIsEmpty("QT_LOGGING_RULES"))
        QLoggingCategory::setFilterRules(QStringLiteral("qtpush.*.info=true"));

    std::unique_ptr<PushRegistry> storedRegistry = openStore(settings.text(QStringLiteral("store")));
    PushServer server(storedRegistry ? storedRegistry.get() : PushRegistry::global());
    server.setSecret(settings.text(QStringLiteral("secret")).toUtf8());
    server.setAllowInsecureRemote(parser.isSet(QStringLiteral("allow-insecure-remote"))
                                  || qEnvironmentVariableIntValue("QTPUSH_ALLOW_INSECURE_REMOTE")
                                          == 1);
    server.setMaxMessageBytes(settings.number(QStringLiteral("max-message-bytes"), 1, 1LL << 30));
    server.setMaxConnections(int(settings.number(QStringLiteral("max-connections"), 0, 1 << 30)));
    server.setMaxClientsPerSession(
            int(settings.number(QStringLiteral("max-clients-per-session"), 0, 1 << 30)));
    server.setPushRateLimit(settings.decimal(QStringLiteral("push-rate"), 0, 1e9));
    server.setClientGracePeriod(
            int(settings.number(QStringLiteral("client-grace"), 0, 86400) * 1000));
    server.setClientBuffer(int(settings.number(QStringLiteral("client-buffer"), 1, 1 << 20)));
    server.setRetainedMessages(int(settings.number(QStringLiteral("retain-messages"), 0, 1 << 24)));
    server.setRetentionPeriod(
            int(settings.number(QStringLiteral("retain-seconds"), 0, 86400) * 1000));
    server.setClientBufferBytes(
            settings.number(QStringLiteral("client-buffer-bytes"), 0, 1LL << 40));
    server.setMaxRetainedBytes(settings.number(QStringLiteral("max-retained-bytes"), 0, 1LL << 40));
    server.setMaxSessions(int(settings.number(QStringLiteral("max-sessions"), 0, 1 << 30)));
    server.setPingInterval(int(settings.number(QStringLiteral("ping-interval"), 1, 3600) * 1000));

    const QString certificateFile = settings.text(QStringLiteral("tls-cert"));
    const QString keyFile = settings.text(QStringLiteral("tls-key"));
    const bool tls = !certificateFile.isEmpty();
    if (tls != !keyFile.isEmpty())
        fail(QStringLiteral("--tls-cert and --tls-key go together"));
    if (tls) {
        const QList<QSslCertificate> chain = QSslCertificate::fromPath(certificateFile);
        QFile file(keyFile);
        if (chain.isEmpty())
            fail(QStringLiteral("no PEM certificate in %1").arg(certificateFile), 1);
        if (!file.open(QIODevice::ReadOnly))
            fail(QStringLiteral("cannot read %1: %2").arg(keyFile, file.errorString()), 1);
        QSslKey key(&file, QSsl::Rsa);
        if (key.isNull()) {
            file.seek(0);
            key = QSslKey(&file, QSsl::Ec);
        }
        if (key.isNull())
            fail(QStringLiteral("no PEM RSA or EC key in %1").arg(keyFile), 1);
        QSslConfiguration configuration = QSslConfiguration::defaultConfiguration();
        configuration.setLocalCertificateChain(chain);
        configuration.setPrivateKey(key);
        configuration.setPeerVerifyMode(QSslSocket::VerifyNone);
        server.setSslConfiguration(configuration);
    }

    const QHostAddress host(settings.text(QStringLiteral("host")));
    if (host.isNull())
        fail(QStringLiteral("--host must be an IP address, not \"%1\"")
                     .arg(settings.text(QStringLiteral("host"))));
    const auto port = quint16(settings.number(QStringLiteral("port"), 0, 65535));
    if (!server.listen(host, port))
        fail(server.errorString(), 1);

    // SIGTERM and SIGINT: a byte through a socket pair wakes the event loop.
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, signalPipe) != 0)
        fail(QStringLiteral("cannot create the signal socket pair"), 1);
    QSocketNotifier signalNotifier(signalPipe[1], QSocketNotifier::Read);
    QObject::connect(&signalNotifier, &QSocketNotifier::activated, &server, [&] {
        char byte;
        [[maybe_unused]] const ssize_t read = ::read(signalPipe[1], &byte, 1);
        signalNotifier.setEnabled(false);
        server.shutdown();
    });
    QObject::connect(&server, &PushServer::shutdownFinished, &app, &QCoreApplication::quit);
    struct sigaction action = {};
    action.sa_handler = onTerminationSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &action, nullptr);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGHUP, &action, nullptr); // the terminal closed: stop as politely

    const QString address = host.protocol() == QAbstractSocket::IPv6Protocol
            ? QStringLiteral("[%1]").arg(host.toString())
            : host.toString();
    std::printf("listening on %s://%s:%u\n", tls ? "https" : "http", qPrintable(address),
                unsigned(server.serverPort()));
    std::fflush(stdout);
    return app.exec();
}
