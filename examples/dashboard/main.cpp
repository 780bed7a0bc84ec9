// SPDX-License-Identifier: MIT
// qtpush-dashboard: command line and QML engine only; the dashboard is Main.qml of the
// QtPushDashboard module.
#include <QtCore/QCommandLineParser>
#include <QtCore/QDir>
#include <QtCore/QFileInfo>
#include <QtCore/QUrl>
#include <QtGui/QGuiApplication>
#include <QtQml/QQmlApplicationEngine>
#include <QtQml/QQmlExtensionPlugin>

#include <cstdio>
#include <cstdlib>

Q_IMPORT_QML_PLUGIN(QtPushDashboardPlugin)

namespace {
[[noreturn]] void fail(const QString &message)
{
    std::fprintf(stderr, "qtpush-dashboard: %s\n", qPrintable(message));
    std::exit(2);
}

//! `import QtPush` from the build tree (bin/../qml) or from an installation under a prefix
//! that is not Qt's own (bin/../lib/qt6/qml); under /usr Qt finds it by itself.
void addQtPushImportPaths(QQmlEngine &engine)
{
    const QDir bin(QCoreApplication::applicationDirPath());
    for (const QString &relative : {QStringLiteral("../qml"), QStringLiteral(QTPUSH_QMLDIR_FROM_BIN)}) {
        if (QFileInfo::exists(bin.filePath(relative + QStringLiteral("/QtPush/qmldir"))))
            engine.addImportPath(bin.filePath(relative));
    }
}

struct Settings
{
    QString serverUrl; // empty: the embedded server
    QString token;
    int embeddedPort = 8080;
};

//! Only --help or --version: answered without a window system, so that a machine without a
//! display can ask too.
bool asksOnlyForText(int argc, char *argv[])
{
    for (int i = 1; i < argc; ++i) {
        const QByteArray argument(argv[i]);
        if (argument == "-h" || argument == "--help" || argument == "--help-all"
            || argument == "-v" || argument == "--version")
            return true;
    }
    return false;
}

Settings parseArguments(const QCoreApplication &app)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
            "A live view of a qtpush-server's sessions and clients. Without --url it serves "
            "this process's own registry on --port and shows that."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption url(
            QStringLiteral("url"),
            QStringLiteral("The qtpush-server to attach to, for example http://127.0.0.1:8080."),
            QStringLiteral("url"));
    const QCommandLineOption token(
            QStringLiteral("token"),
            QStringLiteral("A token with admin scope, for a server with a secret (default: the "
                           "QTPUSH_TOKEN environment variable, which other users cannot see)."),
            QStringLiteral("jwt"), qEnvironmentVariable("QTPUSH_TOKEN"));
    const QCommandLineOption port(
            QStringLiteral("port"),
            QStringLiteral("Without --url: the port of the embedded server; 0 picks a free one."),
            QStringLiteral("n"), QStringLiteral("8080"));
    parser.addOptions({url, token, port});
    parser.process(app);
    if (!parser.positionalArguments().isEmpty())
        fail(QStringLiteral("unexpected argument \"%1\"").arg(parser.positionalArguments().first()));

    Settings settings;
    if (parser.isSet(url)) {
        const QUrl parsed = QUrl::fromUserInput(parser.value(url));
        if (!parsed.isValid()
            || !QStringList{QStringLiteral("http"), QStringLiteral("https"), QStringLiteral("ws"),
                            QStringLiteral("wss")}
                        .contains(parsed.scheme()))
            fail(QStringLiteral("--url needs an http, https, ws or wss address, not \"%1\"")
                         .arg(parser.value(url)));
        settings.serverUrl = parsed.toString();
    }
    settings.token = parser.value(token);
    bool portOk = false;
    settings.embeddedPort = parser.value(port).toInt(&portOk);
    if (!portOk || settings.embeddedPort < 0 || settings.embeddedPort > 65535)
        fail(QStringLiteral("--port needs a number from 0 to 65535, not \"%1\"")
                     .arg(parser.value(port)));
    return settings;
}
} // namespace

int main(int argc, char *argv[])
{
    if (asksOnlyForText(argc, argv)) {
        QCoreApplication app(argc, argv);
        QCoreApplication::setApplicationVersion(QStringLiteral(QTPUSH_VERSION));
        parseArguments(app); // prints, and exits
    }
    QGuiApplication app(argc, argv);
    QGuiApplication::setApplicationName(QStringLiteral("qtpush-dashboard"));
    QGuiApplication::setApplicationVersion(QStringLiteral(QTPUSH_VERSION));
    const Settings settings = parseArguments(app);

    QQmlApplicationEngine engine;
    // Qt 6.4 does not yet search the resource prefix that qt_add_qml_module uses (6.5 does).
    engine.addImportPath(QStringLiteral(":/qt/qml"));
    addQtPushImportPaths(engine);
    engine.setInitialProperties({{QStringLiteral("serverUrl"), settings.serverUrl},
                                 {QStringLiteral("token"), settings.token},
                                 {QStringLiteral("embeddedPort"), settings.embeddedPort}});
    QObject::connect(
            &engine, &QQmlApplicationEngine::objectCreationFailed, &app,
            [] { QCoreApplication::exit(1); }, Qt::QueuedConnection);
    engine.load(QUrl(QStringLiteral("qrc:/qt/qml/QtPushDashboard/Main.qml")));
    if (engine.rootObjects().isEmpty())
        return 1;
    return app.exec();
}
