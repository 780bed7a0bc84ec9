// SPDX-License-Identifier: MIT
// A chat in QML over a real server: qtpush-chat opens several windows, each a PushRemoteClient
// of the session "room" with a client id and a name of its own. Main.qml starts an embedded
// PushServer on a free loopback port unless --url names a running qtpush-server.
#include <QtCore/QCommandLineParser>
#include <QtCore/QDir>
#include <QtCore/QUrl>
#include <QtGui/QGuiApplication>
#include <QtQml/QQmlApplicationEngine>
#include <QtQml/QQmlExtensionPlugin>

#include <memory>

Q_IMPORT_QML_PLUGIN(QtPushChatPlugin)

namespace {
//! Only --help: answered by a QCoreApplication, which needs no window system, so that a machine
//! without a display can ask too (as qtpush-dashboard does).
bool asksOnlyForHelp(int argc, char *argv[])
{
    for (int i = 1; i < argc; ++i) {
        const QByteArray argument(argv[i]);
        if (argument == "-h" || argument == "--help" || argument == "--help-all")
            return true;
    }
    return false;
}
} // namespace

int main(int argc, char *argv[])
{
    const std::unique_ptr<QCoreApplication> app(asksOnlyForHelp(argc, argv)
                                                        ? new QCoreApplication(argc, argv)
                                                        : new QGuiApplication(argc, argv));
    QCoreApplication::setApplicationName(QStringLiteral("qtpush-chat"));

    QCommandLineParser parser;
    parser.setApplicationDescription(
            QStringLiteral("A QML chat: several windows, each a client of one QtPush session."));
    parser.addHelpOption();
    const QCommandLineOption urlOption(
            QStringLiteral("url"),
            QStringLiteral("A running qtpush-server (http://host:port); without it, an embedded "
                           "server listens on a free loopback port."),
            QStringLiteral("url"));
    const QCommandLineOption windowsOption(QStringLiteral("windows"),
                                           QStringLiteral("How many windows to open (3)."),
                                           QStringLiteral("n"), QStringLiteral("3"));
    const QCommandLineOption roomOption(QStringLiteral("room"),
                                        QStringLiteral("The session to chat in (room)."),
                                        QStringLiteral("name"), QStringLiteral("room"));
    parser.addOptions({urlOption, windowsOption, roomOption});
    parser.process(*app); // answers --help, and exits

    bool ok = false;
    const int windows = parser.value(windowsOption).toInt(&ok);
    if (!ok || windows < 1 || windows > 16) {
        qWarning("qtpush-chat: --windows takes a number from 1 to 16, not %s",
                 qPrintable(parser.value(windowsOption)));
        return 2;
    }
    const QUrl url(parser.value(urlOption), QUrl::StrictMode);
    if (parser.isSet(urlOption) && (!url.isValid() || url.host().isEmpty())) {
        qWarning("qtpush-chat: --url takes a server's address such as http://127.0.0.1:8080, "
                 "not %s",
                 qPrintable(parser.value(urlOption)));
        return 2;
    }

    QQmlApplicationEngine engine;
    // `import QtPush` from the build tree (<build>/bin/../qml) or an installed prefix
    // (<prefix>/bin/../lib/.../qt6/qml); Qt's own import path covers a /usr install.
    const QDir programDir(QCoreApplication::applicationDirPath());
    for (const QString &relative :
         {QStringLiteral("../qml"), QStringLiteral(QTPUSH_CHAT_INSTALLED_QMLDIR)}) {
        const QString path = programDir.absoluteFilePath(relative);
        if (QDir(path).exists(QStringLiteral("QtPush")))
            engine.addImportPath(path);
    }
    engine.setInitialProperties({
            {QStringLiteral("serverUrl"), url},
            {QStringLiteral("windowCount"), windows},
            {QStringLiteral("room"), parser.value(roomOption)},
    });
    engine.load(QUrl(QStringLiteral("qrc:/qt/qml/QtPushChat/Main.qml")));
    if (engine.rootObjects().isEmpty())
        return 1;
    return QCoreApplication::exec();
}
