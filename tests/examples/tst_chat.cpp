// SPDX-License-Identifier: MIT
// The chat example's own QML (the QtPushChat module the program links), with its embedded
// server on a free loopback port and three windows: what is typed in one window shows in all.
#include <QtPush/pushregistry.h>
#include <QtPush/pushsession.h>

#include <QtQml/QQmlApplicationEngine>
#include <QtQml/QQmlExtensionPlugin>
#include <QtQuick/QQuickItem>
#include <QtQuick/QQuickWindow>
#include <QtTest/QtTest>

#include <memory>

Q_IMPORT_QML_PLUGIN(QtPushChatPlugin)

namespace {
constexpr int s_windowCount = 3;
constexpr int s_timeout = 10000; // a connection over loopback, slower under the sanitizers

QQuickItem *findItem(QQuickItem *parent, const QString &objectName)
{
    const QList<QQuickItem *> children = parent->childItems();
    for (QQuickItem *child : children) {
        if (child->objectName() == objectName)
            return child;
        if (QQuickItem *found = findItem(child, objectName))
            return found;
    }
    return nullptr;
}

//! QTest::keyClicks() is for widgets only.
void type(QWindow *window, const char *text)
{
    for (const char *c = text; *c; ++c)
        QTest::keyClick(window, *c);
}

//! The texts that the delegates of \a window's message list show, top to bottom.
QStringList shownTexts(QQuickWindow *window)
{
    QStringList texts;
    QQuickItem *list = findItem(window->contentItem(), QStringLiteral("messageList"));
    const QList<QQuickItem *> delegates
            = list->property("contentItem").value<QQuickItem *>()->childItems();
    QList<QQuickItem *> shown;
    for (QQuickItem *delegate : delegates) {
        if (QQuickItem *text = findItem(delegate, QStringLiteral("messageText")))
            shown.append(text);
    }
    std::sort(shown.begin(), shown.end(), [](QQuickItem *a, QQuickItem *b) {
        return a->mapToScene({}).y() < b->mapToScene({}).y();
    });
    for (QQuickItem *text : std::as_const(shown))
        texts.append(text->property("text").toString());
    return texts;
}
} // namespace

class tst_Chat : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void init();
    void cleanup();
    void everyWindowIsARemoteClientOfTheRoom();
    void aMessageTypedInOneWindowShowsInEveryWindow();
    void returnSendsAndBlankTextDoesNot();
    void aPushFromCppShowsInEveryWindow();
    void anObjectWithoutTextShowsAsJson();

private:
    QQuickWindow *window(int number) const;
    QQuickItem *item(int number, const char *objectName) const;
    QObject *messages(int number) const;
    QString messageRole(int number, int row, const QByteArray &role) const;
    QString room() const { return QString::fromLatin1(QTest::currentTestFunction()); }

    std::unique_ptr<QQmlApplicationEngine> m_engine;
    QObject *m_chat = nullptr;
    QObject *m_server = nullptr;
};

void tst_Chat::init()
{
    QTest::failOnWarning(QRegularExpression(QStringLiteral(".*")));
    m_engine = std::make_unique<QQmlApplicationEngine>();
    m_engine->addImportPath(QStringLiteral(QTPUSH_QML_IMPORT_DIR));
    // No serverUrl: the chat starts its embedded server on a free port. A room per test
    // function keeps their sessions apart in PushRegistry::global().
    m_engine->setInitialProperties(
            {{QStringLiteral("windowCount"), s_windowCount}, {QStringLiteral("room"), room()}});
    m_engine->load(QUrl(QStringLiteral("qrc:/qt/qml/QtPushChat/Main.qml")));
    QCOMPARE(m_engine->rootObjects().size(), 1);
    m_chat = m_engine->rootObjects().constFirst();
    m_server = m_chat->property("server").value<QObject *>();
    QVERIFY(m_server);
    QVERIFY(m_server->property("running").toBool());
    for (int number = 1; number <= s_windowCount; ++number) {
        QQuickWindow *chatWindow = window(number);
        QVERIFY(chatWindow);
        QVERIFY(QTest::qWaitForWindowExposed(chatWindow));
        QObject *link = chatWindow->findChild<QObject *>(QStringLiteral("link"));
        QVERIFY(link);
        QTRY_VERIFY_WITH_TIMEOUT(chatWindow->property("connected").toBool(), s_timeout);
    }
}

void tst_Chat::cleanup()
{
    m_engine.reset();
    m_chat = nullptr;
    m_server = nullptr;
    PushRegistry::global()->deleteSession(room());
}

QQuickWindow *tst_Chat::window(int number) const
{
    QObject *windows = m_chat->property("windows").value<QObject *>();
    QObject *object = nullptr;
    QMetaObject::invokeMethod(windows, "objectAt", Q_RETURN_ARG(QObject *, object),
                              Q_ARG(int, number - 1));
    return qobject_cast<QQuickWindow *>(object);
}

QQuickItem *tst_Chat::item(int number, const char *objectName) const
{
    QQuickItem *found = findItem(window(number)->contentItem(), QLatin1String(objectName));
    if (!found)
        qFatal("window %d has no item %s", number, objectName);
    return found;
}

QObject *tst_Chat::messages(int number) const
{
    return window(number)->findChild<QObject *>(QStringLiteral("messages"));
}

QString tst_Chat::messageRole(int number, int row, const QByteArray &role) const
{
    auto *model = qobject_cast<QAbstractItemModel *>(messages(number));
    return model->data(model->index(row, 0), model->roleNames().key(role)).toString();
}

void tst_Chat::everyWindowIsARemoteClientOfTheRoom()
{
    const int port = m_server->property("port").toInt();
    QVERIFY(port > 0);
    QCOMPARE(m_server->property("url").toUrl(),
             QUrl(QStringLiteral("http://127.0.0.1:%1").arg(port)));

    QSet<QString> names;
    QSet<QString> clients;
    for (int number = 1; number <= s_windowCount; ++number) {
        QObject *link = window(number)->findChild<QObject *>(QStringLiteral("link"));
        QCOMPARE(link->property("session").toString(), room());
        QCOMPARE(link->property("url").toUrl(), m_server->property("url").toUrl());
        clients.insert(link->property("client").toString());
        names.insert(window(number)->property("userName").toString());
        QVERIFY(item(number, "status")
                        ->property("text")
                        .toString()
                        .startsWith(u'#' + room() + QStringLiteral(" on http://127.0.0.1:")));
    }
    QCOMPARE(clients.size(), s_windowCount);
    QCOMPARE(names.size(), s_windowCount);
    // Each window is a WebSocket of the embedded server and a client of its session.
    QTRY_COMPARE(m_server->property("connectionCount").toInt(), s_windowCount);
    PushSession *session = PushRegistry::global()->findSession(room());
    QVERIFY(session);
    QCOMPARE(session->count(), s_windowCount);
}

void tst_Chat::aMessageTypedInOneWindowShowsInEveryWindow()
{
    QQuickItem *field = item(1, "messageField");
    QQuickItem *send = item(1, "sendButton");
    QVERIFY(!send->isEnabled());
    field->setProperty("text", QStringLiteral("Hello, everyone"));
    QVERIFY(send->isEnabled());
    QTest::mouseClick(window(1), Qt::LeftButton, {},
                      send->mapToScene(QPointF(send->width() / 2, send->height() / 2)).toPoint());

    const QString sender = window(1)->property("userName").toString();
    for (int number = 1; number <= s_windowCount; ++number) {
        QTRY_COMPARE_WITH_TIMEOUT(messages(number)->property("count").toInt(), 1, s_timeout);
        QCOMPARE(messageRole(number, 0, "text"), QStringLiteral("Hello, everyone"));
        QCOMPARE(messageRole(number, 0, "from"), sender);
        QCOMPARE(messageRole(number, 0, "mine"), number == 1 ? u"true" : u"false");
        QVERIFY(QDateTime::fromString(messageRole(number, 0, "time"), Qt::ISODateWithMs).isValid());
        QTRY_COMPARE(shownTexts(window(number)), QStringList{QStringLiteral("Hello, everyone")});
    }
    QCOMPARE(field->property("text").toString(), QString());
    QVERIFY(!send->isEnabled());
}

void tst_Chat::returnSendsAndBlankTextDoesNot()
{
    QQuickWindow *second = window(2);
    QQuickItem *field = item(2, "messageField");
    second->requestActivate();
    QVERIFY(QTest::qWaitForWindowActive(second));
    field->forceActiveFocus();
    QVERIFY(field->hasActiveFocus());

    type(second, "   ");
    QVERIFY(!item(2, "sendButton")->isEnabled());
    QTest::keyClick(second, Qt::Key_Return); // nothing to send

    field->setProperty("text", QString());
    type(second, "typed, then Return");
    QTest::keyClick(second, Qt::Key_Return);
    for (int number = 1; number <= s_windowCount; ++number) {
        QTRY_COMPARE_WITH_TIMEOUT(messages(number)->property("count").toInt(), 1, s_timeout);
        QCOMPARE(messageRole(number, 0, "text"), QStringLiteral("typed, then Return"));
    }
    QCOMPARE(field->property("text").toString(), QString());
}

void tst_Chat::aPushFromCppShowsInEveryWindow()
{
    // The embedded server serves PushRegistry::global(): C++ in the same process pushes into
    // the room directly, and anything that is not a chat message shows as text.
    PushSession *session = PushRegistry::global()->findSession(room());
    QVERIFY(session);
    session->push(QVariantMap{{QStringLiteral("from"), QStringLiteral("Build bot")},
                              {QStringLiteral("text"), QStringLiteral("main is green")},
                              {QStringLiteral("time"), QStringLiteral("2024-05-01T12:00:00Z")}});
    session->push(42);
    for (int number = 1; number <= s_windowCount; ++number) {
        QTRY_COMPARE_WITH_TIMEOUT(messages(number)->property("count").toInt(), 2, s_timeout);
        QCOMPARE(messageRole(number, 0, "from"), QStringLiteral("Build bot"));
        QCOMPARE(messageRole(number, 0, "mine"), u"false");
        QCOMPARE(messageRole(number, 1, "from"), QStringLiteral("someone"));
        QCOMPARE(messageRole(number, 1, "text"), QStringLiteral("42"));
        QTRY_COMPARE(shownTexts(window(number)),
                     (QStringList{QStringLiteral("main is green"), QStringLiteral("42")}));
    }
}

void tst_Chat::anObjectWithoutTextShowsAsJson()
{
    // {"level":"warn","disk":91} has no text: the bubble shows the object, not nothing.
    PushSession *session = PushRegistry::global()->findSession(room());
    QVERIFY(session);
    session->push(QVariantMap{{QStringLiteral("level"), QStringLiteral("warn")},
                              {QStringLiteral("disk"), 91}});
    session->push(QVariantMap{{QStringLiteral("from"), QStringLiteral("Build bot")},
                              {QStringLiteral("text"), QVariantList{1, 2}}});
    session->push(QVariantMap{{QStringLiteral("from"), QStringLiteral("Build bot")},
                              {QStringLiteral("text"), QString()}});
    for (int number = 1; number <= s_windowCount; ++number) {
        QTRY_COMPARE_WITH_TIMEOUT(messages(number)->property("count").toInt(), 3, s_timeout);
        QCOMPARE(messageRole(number, 0, "from"), QStringLiteral("someone"));
        QCOMPARE(messageRole(number, 1, "from"), QStringLiteral("Build bot"));
        const QStringList expected{QStringLiteral(R"({"disk":91,"level":"warn"})"),
                                   QStringLiteral(R"({"from":"Build bot","text":[1,2]})"),
                                   QStringLiteral(R"({"from":"Build bot","text":""})")};
        for (int row = 0; row < 3; ++row)
            QCOMPARE(messageRole(number, row, "text"), expected.at(row));
        QTRY_COMPARE(shownTexts(window(number)), expected);
    }
}

QTEST_MAIN(tst_Chat)
#include "tst_chat.moc"
