// SPDX-License-Identifier: MIT
// The server's timeouts, grace periods and rate limits run on the steady clock: stepping the
// wall clock by hours, as an operator or NTP may, changes none of them (src/server/pushclock_p.h).
//
// Why libfaketime and a real process: a test-only hook in the server's clock function would
// only prove that the hook is read; it would miss any code that asks the wall clock itself
// (QDateTime, a new file, the HTTP layer rewritten later). Here the real qtpush-server runs
// under libfaketime, which fakes CLOCK_REALTIME for the whole process and, with
// FAKETIME_DONT_FAKE_MONOTONIC=1, leaves CLOCK_MONOTONIC alone, as a wall-clock step does. The
// offset comes from a file the test rewrites mid-run (FAKETIME_NO_CACHE=1: read on every call).
// The server's admin ticks carry its wall-clock time, so the test knows when a housekeeping
// pass has run with the stepped clock (the second tick that shows it) and asserts only what
// must hold then, or what must happen eventually (QTRY with generous timeouts): no timing.

#include <QtCore/QDateTime>
#include <QtCore/QFile>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QProcess>
#include <QtCore/QRegularExpression>
#include <QtCore/QTemporaryDir>
#include <QtNetwork/QTcpSocket>
#include <QtTest/QtTest>
#include <QtWebSockets/QWebSocket>

namespace {

constexpr qint64 hours5 = 5 * 3600;

// One qtpush-server under libfaketime, with an admin stream that follows its ticks.
class SteppedServer
{
public:
    bool start(const QStringList &arguments)
    {
        if (!m_dir.isValid())
            return false;
        m_offsetFile = m_dir.filePath(QStringLiteral("offset"));
        if (!setOffset(0))
            return false;
        QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
        environment.insert(QStringLiteral("LD_PRELOAD"), QStringLiteral(QTPUSH_FAKETIME_LIBRARY));
        environment.insert(QStringLiteral("FAKETIME_TIMESTAMP_FILE"), m_offsetFile);
        environment.insert(QStringLiteral("FAKETIME_NO_CACHE"), QStringLiteral("1"));
        environment.insert(QStringLiteral("FAKETIME_DONT_FAKE_MONOTONIC"), QStringLiteral("1"));
        // An ASan build wants its runtime first; libfaketime preloaded comes before it.
        environment.insert(QStringLiteral("ASAN_OPTIONS"),
                           environment.value(QStringLiteral("ASAN_OPTIONS"))
                                   + QStringLiteral(":verify_asan_link_order=0"));
        m_process.setProcessEnvironment(environment);
        m_process.setProgram(QStringLiteral(QTPUSH_SERVER_PROGRAM));
        m_process.setArguments(QStringList{QStringLiteral("--port"), QStringLiteral("0")}
                               + arguments);
        m_process.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        m_process.start();
        if (!m_process.waitForReadyRead(30000))
            return false;
        static const QRegularExpression listening(
                QStringLiteral("^listening on http://127.0.0.1:(\\d+)"));
        const QRegularExpressionMatch match
                = listening.match(QString::fromUtf8(m_process.readLine()));
        if (!match.hasMatch())
            return false;
        port = quint16(match.captured(1).toUInt());
        QObject::connect(
                &m_admin, &QWebSocket::textMessageReceived, &m_admin, [this](const QString &text) {
                    const QJsonObject frame = QJsonDocument::fromJson(text.toUtf8()).object();
                    if (frame.value(QLatin1String("type")).toString() != QLatin1String("tick"))
                        return;
                    const qint64 shown = qint64(frame.value(QLatin1String("time")).toDouble());
                    const qint64 expected
                            = QDateTime::currentMSecsSinceEpoch() + m_offsetSeconds * 1000;
                    // Within 10 minutes of the stepped time: hours from any other.
                    if (qAbs(shown - expected) < 10 * 60 * 1000)
                        ++m_steppedTicks;
                });
        m_admin.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/v1/admin/events").arg(port)));
        return true;
    }

    ~SteppedServer()
    {
        m_admin.abort();
        m_process.kill();
        m_process.waitForFinished(10000);
    }

    //! Steps the server's wall clock to \a seconds from the real one.
    bool setOffset(qint64 seconds)
    {
        QFile file(m_offsetFile);
        if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate))
            return false;
        file.write((seconds < 0 ? "" : "+") + QByteArray::number(seconds) + '\n');
        file.close();
        m_offsetSeconds = seconds;
        m_steppedTicks = 0;
        return true;
    }

    //! Whether \a ticks ticks showed the stepped time: with two, a whole housekeeping pass has
    //! run with it; ticks come a second apart on the server's steady clock.
    bool housekeptSinceStep(int ticks = 2) const { return m_steppedTicks >= ticks; }

    quint16 port = 0;

private:
    QTemporaryDir m_dir;
    QString m_offsetFile;
    QProcess m_process;
    QWebSocket m_admin;
    qint64 m_offsetSeconds = 0;
    int m_steppedTicks = 0;
};

// A keep-alive HTTP/1.1 connection that sends one request at a time.
class HttpConnection
{
public:
    bool open(quint16 port)
    {
        socket.connectToHost(QHostAddress::LocalHost, port);
        return socket.waitForConnected(30000);
    }
    //! Sends a request and returns the status of its answer; 0 when the connection ended.
    int request(const QByteArray &method, const QByteArray &path, const QByteArray &body = {},
                QByteArray *answerBody = nullptr)
    {
        socket.write(method + ' ' + path
                     + " HTTP/1.1\r\nHost: x\r\nContent-Type: "
                       "application/json\r\nContent-Length: "
                     + QByteArray::number(body.size()) + "\r\n\r\n" + body);
        QByteArray answer;
        qsizetype headerEnd = -1;
        qsizetype length = -1;
        while (headerEnd < 0 || answer.size() < headerEnd + 4 + length) {
            if (socket.state() != QAbstractSocket::ConnectedState && !socket.bytesAvailable())
                return 0;
            if (!socket.bytesAvailable() && !socket.waitForReadyRead(30000))
                return 0;
            answer += socket.readAll();
            headerEnd = answer.indexOf("\r\n\r\n");
            if (headerEnd >= 0 && length < 0) {
                static const QRegularExpression contentLength(
                        QStringLiteral("content-length: *(\\d+)"),
                        QRegularExpression::CaseInsensitiveOption);
                const auto match = contentLength.match(QString::fromLatin1(answer.left(headerEnd)));
                length = match.hasMatch() ? match.captured(1).toLongLong() : 0;
            }
        }
        if (answerBody)
            *answerBody = answer.mid(headerEnd + 4, length);
        return answer.mid(9, 3).toInt();
    }
    QTcpSocket socket;
};

//! The transports of session \a session's clients, by client, or an empty map without it.
QMap<QString, QString> clientsOf(quint16 port, const QByteArray &session)
{
    HttpConnection http;
    QMap<QString, QString> clients;
    QByteArray body;
    if (!http.open(port) || http.request("GET", "/v1/sessions/" + session, {}, &body) != 200)
        return clients;
    const QJsonArray list
            = QJsonDocument::fromJson(body).object().value(QLatin1String("clients")).toArray();
    for (const QJsonValue &client : list) {
        clients.insert(client[QLatin1String("client")].toString(),
                       client[QLatin1String("transport")].toString());
    }
    return clients;
}

//! Connects client \a client of \a session over WebSocket and closes it again.
bool connectAndLeave(quint16 port, const QString &session, const QString &client)
{
    QWebSocket socket;
    bool hello = false;
    QObject::connect(&socket, &QWebSocket::textMessageReceived, &socket,
                     [&hello](const QString &) { hello = true; });
    socket.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/v1/sessions/%2/clients/%3/ws")
                             .arg(port)
                             .arg(session, client)));
    if (!QTest::qWaitFor([&hello] { return hello; }, 30000))
        return false;
    socket.close();
    return QTest::qWaitFor(
            [&] {
                return clientsOf(port, session.toLatin1()).value(client) == QLatin1String("none");
            },
            30000);
}

} // namespace

class tst_PushClockSteps : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void gracePeriodSurvivesStepForward();
    void gracePeriodEndsAfterStepBack();
    void idleConnectionSurvivesStepForward();
    void rateLimitAllowsTheNextPushAfterStepBack();
};

void tst_PushClockSteps::initTestCase()
{
    if (!QFile::exists(QStringLiteral(QTPUSH_FAKETIME_LIBRARY)))
        QSKIP("libfaketime is not installed (Debian package faketime; scripts/setup installs it)");
}

void tst_PushClockSteps::gracePeriodSurvivesStepForward()
{
    SteppedServer server;
    QVERIFY(server.start({QStringLiteral("--client-grace"), QStringLiteral("3600")}));
    QVERIFY(connectAndLeave(server.port, QStringLiteral("g"), QStringLiteral("c")));
    // Five hours later on the wall: a wall-clock grace period of an hour would have run out.
    QVERIFY(server.setOffset(hours5));
    QTRY_VERIFY_WITH_TIMEOUT(server.housekeptSinceStep(), 30000);
    QCOMPARE(clientsOf(server.port, "g").value(QStringLiteral("c")), QStringLiteral("none"));
}

void tst_PushClockSteps::gracePeriodEndsAfterStepBack()
{
    SteppedServer server;
    QVERIFY(server.start({QStringLiteral("--client-grace"), QStringLiteral("3")}));
    QVERIFY(connectAndLeave(server.port, QStringLiteral("g"), QStringLiteral("c")));
    // Five hours earlier on the wall: a wall-clock grace period would not end for five hours.
    QVERIFY(server.setOffset(-hours5));
    QTRY_VERIFY_WITH_TIMEOUT(!clientsOf(server.port, "g").contains(QStringLiteral("c")), 60000);
}

void tst_PushClockSteps::idleConnectionSurvivesStepForward()
{
    SteppedServer server;
    QVERIFY(server.start({}));
    HttpConnection http;
    QVERIFY(http.open(server.port));
    QCOMPARE(http.request("GET", "/healthz"), 200);
    // The idle timeout is two minutes: five hours on the wall must not end this connection.
    QVERIFY(server.setOffset(hours5));
    QTRY_VERIFY_WITH_TIMEOUT(server.housekeptSinceStep(), 30000);
    QCOMPARE(http.request("GET", "/healthz"), 200);
}

void tst_PushClockSteps::rateLimitAllowsTheNextPushAfterStepBack()
{
    SteppedServer server;
    QVERIFY(server.start({QStringLiteral("--push-rate"), QStringLiteral("1")}));
    HttpConnection http; // the limit is per connection
    QVERIFY(http.open(server.port));
    QCOMPARE(http.request("POST", "/v1/sessions/r/push", "1"), 200);
    // Five hours earlier on the wall: a wall-clock token bucket would go deep into debt and
    // refuse the next push.
    QVERIFY(server.setOffset(-hours5));
    // Three ticks: two timer intervals, so more than a second on the steady clock since the
    // push above, and the bucket (one push a second) holds a token again.
    QTRY_VERIFY_WITH_TIMEOUT(server.housekeptSinceStep(3), 30000);
    QCOMPARE(http.request("POST", "/v1/sessions/r/push", "2"), 200);
}

QTEST_MAIN(tst_PushClockSteps)
#include "tst_pushclocksteps.moc"
