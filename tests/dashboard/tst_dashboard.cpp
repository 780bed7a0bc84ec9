// SPDX-License-Identifier: MIT
// qtpush-dashboard's UI (the QtPushDashboard module, as the program loads it) rendered headless
// against a real PushServer: what it shows is read back through the item tree, as a person
// would read the window, and the window is saved as a PNG.

#include <QtPush/pushclient.h>
#include <QtPush/pushregistry.h>
#include <QtPush/pushremoteclient.h>
#include <QtPush/pushserver.h>
#include <QtPush/pushsession.h>

#include "serverfixture.h"

#include <QtCore/QDateTime>
#include <QtCore/QTimer>
#include <QtGui/QImage>
#include <QtQml/QQmlApplicationEngine>
#include <QtQml/QQmlComponent>
#include <QtQml/QQmlExtensionPlugin>
#include <QtQuick/QQuickItem>
#include <QtQuick/QQuickWindow>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <memory>
#include <vector>

Q_IMPORT_QML_PLUGIN(QtPushDashboardPlugin)

namespace {

const int fillerSessions = 1500;

QQuickItem *findItem(QQuickItem *root, const QString &objectName)
{
    if (!root)
        return nullptr;
    if (root->objectName() == objectName)
        return root;
    const QList<QQuickItem *> children = root->childItems();
    for (QQuickItem *child : children) {
        if (QQuickItem *found = findItem(child, objectName))
            return found;
    }
    return nullptr;
}

QString textOf(QQuickItem *item)
{
    return item ? item->property("text").toString() : QStringLiteral("<no item>");
}

} // namespace

class tst_Dashboard : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();

    void showsEverySessionOfTheServer();
    void showsTheServersFigures();
    void selectingASessionShowsItsClients();
    void followsClientsComingAndGoing();
    void pushFieldReachesTheSelectedSession();
    void filtersThousandsOfSessions();
    void sortsByTheBusiestSession();
    void chartsMessagesPerSecond();
    void axisLabelsShareOneFormat();
    void savesAScreenshot();
    void showsTheServerGoingAwayAndComingBack();
    void withoutAUrlServesThisProcess();

private:
    QQuickItem *item(const QString &objectName) const
    {
        return findItem(m_window->contentItem(), objectName);
    }
    void click(QQuickItem *target)
    {
        QVERIFY(target);
        const QPointF center = target->mapToScene(QPointF(target->width() / 2, target->height() / 2));
        QTest::mouseClick(m_window, Qt::LeftButton, {}, center.toPoint());
    }
    //! Types \a text into the focused item, key by key (Qt 6.4 has keyClicks for widgets only).
    void type(const QString &text)
    {
        for (const QChar c : text)
            QTest::keyClick(m_window, c.toLatin1());
    }
    void addRemoteClient(const QString &session, const QString &client)
    {
        auto remote = std::make_unique<PushRemoteClient>();
        remote->setUrl(m_url);
        remote->setSession(session);
        remote->setClient(client);
        remote->open();
        m_remotes.push_back(std::move(remote));
    }
    int sessionCount() const { return item(QStringLiteral("sessionList"))->property("count").toInt(); }

    PushRegistry m_registry;
    PushServer m_server{&m_registry};
    quint16 m_port = 0;
    QUrl m_url;
    std::vector<std::unique_ptr<PushRemoteClient>> m_remotes;
    std::vector<std::unique_ptr<EventStreamClient>> m_eventStreams;
    PushClient *m_desktop = nullptr; // an in-process client of "alice"; the registry owns it
    QTimer m_traffic;
    std::unique_ptr<QQmlApplicationEngine> m_engine;
    QQuickWindow *m_window = nullptr;
};

void tst_Dashboard::initTestCase()
{
    QVERIFY2(m_server.listen(QHostAddress::LocalHost, 0), qPrintable(m_server.errorString()));
    m_port = m_server.serverPort();
    m_url = QUrl(QStringLiteral("http://127.0.0.1:%1").arg(m_port));

    // A server as an operator would find it: a user with several devices on every transport,
    // a few busy groups, and many quiet users.
    addRemoteClient(QStringLiteral("alice"), QStringLiteral("phone"));
    addRemoteClient(QStringLiteral("alice"), QStringLiteral("laptop"));
    auto browser = std::make_unique<EventStreamClient>();
    QVERIFY(browser->open(m_port, "/v1/sessions/alice/clients/browser/events"));
    m_eventStreams.push_back(std::move(browser));
    m_desktop = m_registry.session(QStringLiteral("alice"))->newClient(QStringLiteral("desktop"));
    for (const QString &member : {QStringLiteral("ana"), QStringLiteral("ben"), QStringLiteral("chen")})
        addRemoteClient(QStringLiteral("team-design"), member);
    addRemoteClient(QStringLiteral("ops-alerts"), QStringLiteral("pager"));
    addRemoteClient(QStringLiteral("ops-alerts"), QStringLiteral("wallboard"));
    for (int i = 1; i <= fillerSessions; ++i) {
        m_registry.session(QStringLiteral("user-%1").arg(i, 4, 10, QLatin1Char('0')))
                ->newClient(QStringLiteral("app"));
    }
    // Steady traffic at three rates, so that rates, rows and the chart have something to show.
    int turn = 0;
    m_traffic.setInterval(50);
    connect(&m_traffic, &QTimer::timeout, this, [this, turn]() mutable {
        ++turn;
        // team-design swings between 20 and 60 messages a second, so the chart has a shape.
        for (int i = 0; i <= (turn / 20) % 3; ++i)
            m_registry.session(QStringLiteral("team-design"))
                    ->push(QVariantMap{{QStringLiteral("cursor"), turn}});
        if (turn % 2 == 0)
            m_registry.session(QStringLiteral("alice"))
                    ->push(QVariantMap{{QStringLiteral("title"), QStringLiteral("Build %1 passed").arg(turn)}});
        if (turn % 10 == 0)
            m_registry.session(QStringLiteral("ops-alerts"))
                    ->push(QVariantMap{{QStringLiteral("level"), QStringLiteral("info")}});
    });
    m_traffic.start();
    QTRY_COMPARE_WITH_TIMEOUT(m_server.connectionCount(), 8, 10000);

    m_engine = std::make_unique<QQmlApplicationEngine>();
    m_engine->addImportPath(QStringLiteral(":/qt/qml"));
    m_engine->addImportPath(QStringLiteral(QTPUSH_QML_IMPORT_DIR));
    m_engine->setInitialProperties({{QStringLiteral("serverUrl"), m_url.toString()}});
    m_engine->load(QUrl(QStringLiteral("qrc:/qt/qml/QtPushDashboard/Main.qml")));
    QCOMPARE(m_engine->rootObjects().size(), 1);
    m_window = qobject_cast<QQuickWindow *>(m_engine->rootObjects().first());
    QVERIFY(m_window);
    m_window->resize(1280, 800);
    QVERIFY(QTest::qWaitForWindowExposed(m_window));
    QTRY_COMPARE_WITH_TIMEOUT(textOf(item(QStringLiteral("statusText"))), QStringLiteral("Live"), 10000);
}

void tst_Dashboard::cleanupTestCase()
{
    m_traffic.stop();
    m_engine.reset();
    m_remotes.clear();
    m_eventStreams.clear();
}

void tst_Dashboard::showsEverySessionOfTheServer()
{
    QTRY_COMPARE(sessionCount(), fillerSessions + 3);
    // Sorted by id: alice comes first, with its four clients on three transports and in-process.
    QTRY_VERIFY(item(QStringLiteral("session:alice"))); // the view makes its rows when it polishes
    QTRY_COMPARE(textOf(findItem(item(QStringLiteral("session:alice")), QStringLiteral("clientsText"))),
                 QStringLiteral("4"));
    QVERIFY(!item(QStringLiteral("offlineBanner"))->isVisible());
}

void tst_Dashboard::showsTheServersFigures()
{
    QTRY_COMPARE(textOf(item(QStringLiteral("sessionsValue"))), QStringLiteral("1,503"));
    QTRY_COMPARE(textOf(item(QStringLiteral("clientsValue"))), QStringLiteral("1,509"));
    // Eight client connections, and the dashboard's own admin stream.
    QTRY_COMPARE(textOf(item(QStringLiteral("connectionsValue"))), QStringLiteral("9"));
    QVERIFY(textOf(item(QStringLiteral("memoryValue"))).endsWith(QStringLiteral("MiB")));
    // 20 to 60 pushes a second to team-design, 10 to alice and 2 to ops-alerts (timers drift).
    QTRY_VERIFY_WITH_TIMEOUT(textOf(item(QStringLiteral("pushRateValue"))).toDouble() >= 10, 10000);
    QCOMPARE(textOf(item(QStringLiteral("memoryLabel"))), QStringLiteral("server memory"));
    QCOMPARE(item(QStringLiteral("connections"))->opacity(), 1.0);
}

void tst_Dashboard::selectingASessionShowsItsClients()
{
    click(item(QStringLiteral("session:alice")));
    QQuickItem *clients = item(QStringLiteral("clientList"));
    QVERIFY(clients);
    QTRY_COMPARE(clients->property("count").toInt(), 4);
    const QList<std::pair<QString, QString>> expected = {
            {QStringLiteral("browser"), QStringLiteral("sse")},
            {QStringLiteral("desktop"), QStringLiteral("local")},
            {QStringLiteral("laptop"), QStringLiteral("ws")},
            {QStringLiteral("phone"), QStringLiteral("ws")},
    };
    for (const auto &[client, transport] : expected) {
        QTRY_VERIFY2(item(QStringLiteral("client:") + client), qPrintable(client));
        QQuickItem *row = item(QStringLiteral("client:") + client);
        QCOMPARE(textOf(findItem(row, QStringLiteral("transportText"))), transport);
    }
}

void tst_Dashboard::followsClientsComingAndGoing()
{
    QQuickItem *clients = item(QStringLiteral("clientList"));
    addRemoteClient(QStringLiteral("alice"), QStringLiteral("tablet"));
    QTRY_COMPARE(clients->property("count").toInt(), 5);
    QTRY_VERIFY(item(QStringLiteral("client:tablet")));
    QTRY_COMPARE(textOf(findItem(item(QStringLiteral("session:alice")), QStringLiteral("clientsText"))),
                 QStringLiteral("5"));

    m_registry.session(QStringLiteral("alice"))->deleteClient(QStringLiteral("tablet"));
    QTRY_COMPARE(clients->property("count").toInt(), 4);
    QTRY_VERIFY(!item(QStringLiteral("client:tablet")));
    // The session's row learns its client count from the next tick.
    QTRY_COMPARE(textOf(findItem(item(QStringLiteral("session:alice")), QStringLiteral("clientsText"))),
                 QStringLiteral("4"));

    m_registry.session(QStringLiteral("newcomer"))->newClient(QStringLiteral("watch"));
    QTRY_COMPARE(sessionCount(), fillerSessions + 4);
    m_registry.deleteSession(QStringLiteral("newcomer"));
    QTRY_COMPARE(sessionCount(), fillerSessions + 3);
}

void tst_Dashboard::pushFieldReachesTheSelectedSession()
{
    QSignalSpy received(m_desktop, &PushClient::messageReceived);
    click(item(QStringLiteral("pushField")));
    type(QStringLiteral("{\"title\":\"Deploy done\"}"));
    QTest::keyClick(m_window, Qt::Key_Return);

    const auto deployDoneArrived = [&received] {
        for (const QList<QVariant> &arguments : std::as_const(received)) {
            if (arguments.first().toMap().value(QStringLiteral("title")) == QStringLiteral("Deploy done"))
                return true;
        }
        return false;
    };
    QTRY_VERIFY(deployDoneArrived());
    QTRY_VERIFY(textOf(item(QStringLiteral("pushResult")))
                        .endsWith(QStringLiteral("queued for 4 clients")));
    QCOMPARE(textOf(item(QStringLiteral("pushField"))), QString());

    // The answer was about alice: picking another session clears it, and so does coming back.
    click(item(QStringLiteral("session:ops-alerts")));
    QTRY_COMPARE(item(QStringLiteral("clientList"))->property("count").toInt(), 2);
    QCOMPARE(textOf(item(QStringLiteral("pushResult"))), QString());
    click(item(QStringLiteral("session:alice")));
    QTRY_COMPARE(item(QStringLiteral("clientList"))->property("count").toInt(), 4);
    QCOMPARE(textOf(item(QStringLiteral("pushResult"))), QString());
}

void tst_Dashboard::filtersThousandsOfSessions()
{
    click(item(QStringLiteral("sessionFilter")));
    type(QStringLiteral("USER-01"));
    // user-0100 to user-0199, in any case.
    QTRY_COMPARE(sessionCount(), 100);
    QTRY_VERIFY(!item(QStringLiteral("session:alice")));
    type(QStringLiteral("x"));
    QTRY_COMPARE(sessionCount(), 0);

    for (int i = 0; i < 8; ++i)
        QTest::keyClick(m_window, Qt::Key_Backspace);
    QTRY_COMPARE(sessionCount(), fillerSessions + 3);
}

void tst_Dashboard::sortsByTheBusiestSession()
{
    // The sort box takes focus, then the arrow keys step to "Busiest now", as a keyboard user would.
    QQuickItem *sort = item(QStringLiteral("sessionSort"));
    QVERIFY(sort);
    sort->forceActiveFocus();
    for (int i = 0; i < 3; ++i)
        QTest::keyClick(m_window, Qt::Key_Down);
    QTRY_COMPARE(textOf(sort->property("contentItem").value<QQuickItem *>()), QStringLiteral("Busiest now"));
    QQuickItem *list = item(QStringLiteral("sessionList"));
    // team-design gets two to six times alice's messages, ops-alerts a fifth of hers: the top
    // three rows, in that order.
    QTRY_VERIFY_WITH_TIMEOUT([&] {
        QQuickItem *content = list->property("contentItem").value<QQuickItem *>();
        QQuickItem *design = findItem(content, QStringLiteral("session:team-design"));
        QQuickItem *alice = findItem(content, QStringLiteral("session:alice"));
        QQuickItem *ops = findItem(content, QStringLiteral("session:ops-alerts"));
        return design && alice && ops && design->y() < alice->y() && alice->y() < ops->y()
                && ops->y() < 3 * design->height();
    }(), 10000);

    // The pointer over the list holds the order, and says so; moved away, rows sort again.
    QObject *model = list->property("model").value<QObject *>();
    QVERIFY(model);
    QCOMPARE(model->property("holdOrder").toBool(), false);
    QTest::mouseMove(m_window, list->mapToScene(QPointF(list->width() / 2, 10)).toPoint());
    QTRY_VERIFY(model->property("holdOrder").toBool());
    QQuickItem *pane = list->parentItem();
    while (pane && !pane->property("holding").isValid())
        pane = pane->parentItem();
    QVERIFY(pane);
    QVERIFY(pane->property("subtitle").toString().contains(QStringLiteral("order held")));
    QTest::mouseMove(m_window, QPoint(m_window->width() - 10, m_window->height() - 10));
    QTRY_VERIFY(!model->property("holdOrder").toBool());
    QVERIFY(!pane->property("subtitle").toString().contains(QStringLiteral("order held")));
}

void tst_Dashboard::chartsMessagesPerSecond()
{
    QTRY_VERIFY_WITH_TIMEOUT(textOf(item(QStringLiteral("legend:pushed"))) != QStringLiteral("pushed 0"), 10000);
    // Ten seconds of samples: enough to see the traffic's swings in the screenshot.
    QTRY_VERIFY_WITH_TIMEOUT(item(QStringLiteral("rateCanvas"))->property("sampleCount").toInt() >= 10, 20000);
}

void tst_Dashboard::axisLabelsShareOneFormat()
{
    // The chart's axis as drawn: one format for all five labels (no "5.0" next to "20").
    QStringList drawn;
    for (int i = 0; i <= 4; ++i)
        drawn << textOf(item(QStringLiteral("axisLabel:%1").arg(i)));
    QCOMPARE(drawn.last(), QStringLiteral("0"));
    for (const QString &label : std::as_const(drawn))
        QVERIFY2(!label.contains(u'.'), qPrintable(drawn.join(u' ')));

    // And the formatter on axes whose labels rate() would format differently.
    QQmlComponent component(m_engine.get());
    component.setData("import QtQml\nimport QtPushDashboard\nQtObject {\n"
                      "  function labels(top) {\n"
                      "    return [4, 3, 2, 1, 0].map(i => Format.axis(top * i / 4, top))\n"
                      "  }\n"
                      "  property var small: labels(20)\n"
                      "  property var large: labels(20000)\n"
                      "  property var tiny: labels(2)\n"
                      "  property string rateOfFive: Format.rate(5)\n}",
                      QUrl());
    std::unique_ptr<QObject> formats(component.create());
    QVERIFY2(formats, qPrintable(component.errorString()));
    QCOMPARE(formats->property("rateOfFive").toString(), QStringLiteral("5.0")); // the old mix
    QCOMPARE(formats->property("small").toStringList(),
             (QStringList{QStringLiteral("20"), QStringLiteral("15"), QStringLiteral("10"),
                          QStringLiteral("5"), QStringLiteral("0")}));
    QCOMPARE(formats->property("large").toStringList(),
             (QStringList{QStringLiteral("20 k"), QStringLiteral("15 k"), QStringLiteral("10 k"),
                          QStringLiteral("5 k"), QStringLiteral("0")}));
    QCOMPARE(formats->property("tiny").toStringList(),
             (QStringList{QStringLiteral("2.0"), QStringLiteral("1.5"), QStringLiteral("1.0"),
                          QStringLiteral("0.5"), QStringLiteral("0")}));
}

void tst_Dashboard::savesAScreenshot()
{
    const QImage image = m_window->grabWindow();
    QCOMPARE(image.size(), QSize(1280, 800) * m_window->devicePixelRatio());
    // A real render, not a blank: the header is dark, the panels light.
    QVERIFY(qGray(image.pixel(10, 10)) < 80);
    QVERIFY(qGray(image.pixel(image.width() / 2, image.height() / 2)) > 180);
    QVERIFY2(image.save(QStringLiteral(QTPUSH_SCREENSHOT)), QTPUSH_SCREENSHOT);
    qInfo("screenshot: %s", QTPUSH_SCREENSHOT);
}

void tst_Dashboard::showsTheServerGoingAwayAndComingBack()
{
    // An answer to a push on screen, as if just pushed: losing the server clears it (after a
    // restart ids start again, so "#12" would be about a message of an earlier life).
    QQuickItem *pushBar = item(QStringLiteral("pushResult"));
    while (pushBar && !pushBar->property("resultSession").isValid())
        pushBar = pushBar->parentItem();
    QVERIFY(pushBar);
    pushBar->setProperty("result", QStringLiteral("#12 queued for 4 clients"));
    QCOMPARE(textOf(item(QStringLiteral("pushResult"))),
             QStringLiteral("#12 queued for 4 clients"));

    m_server.abort();
    QQuickItem *banner = item(QStringLiteral("offlineBanner"));
    QTRY_VERIFY_WITH_TIMEOUT(banner->isVisible(), 10000);
    QTRY_COMPARE(textOf(item(QStringLiteral("statusText"))), QStringLiteral("Reconnecting"));
    // The last state seen stays on screen while the server is away, marked as such everywhere:
    // the header's figures dimmed with their time, the chart's legend, no stale push answer.
    QCOMPARE(sessionCount(), fillerSessions + 3);
    QTRY_VERIFY(item(QStringLiteral("connections"))->opacity() < 1);
    QCOMPARE(item(QStringLiteral("pushRate"))->opacity(),
             item(QStringLiteral("connections"))->opacity());
    QVERIFY(textOf(item(QStringLiteral("serverLine"))).contains(QStringLiteral("figures as of")));
    QVERIFY(textOf(item(QStringLiteral("legend:pushed"))).endsWith(QStringLiteral("(last seen)")));
    QCOMPARE(textOf(item(QStringLiteral("pushResult"))), QString());
    QQuickItem *chart = item(QStringLiteral("rateCanvas"));
    const double lostAt = double(QDateTime::currentMSecsSinceEpoch()); // after the disconnect
    QVERIFY(chart->property("lastRunStart").toDouble() < lostAt);
    QString offlinePath = QStringLiteral(QTPUSH_SCREENSHOT);
    offlinePath.replace(QStringLiteral(".png"), QStringLiteral("-offline.png"));
    QVERIFY(m_window->grabWindow().save(offlinePath));

    // Meanwhile a session goes; the snapshot after the reconnect says so.
    m_registry.deleteSession(QStringLiteral("user-1500"));
    QVERIFY(m_server.listen(QHostAddress::LocalHost, m_port));
    QTRY_COMPARE_WITH_TIMEOUT(textOf(item(QStringLiteral("statusText"))), QStringLiteral("Live"), 20000);
    QTRY_VERIFY(!banner->isVisible());
    QTRY_COMPARE(sessionCount(), fillerSessions + 2);
    QTRY_COMPARE_WITH_TIMEOUT(item(QStringLiteral("clientList"))->property("count").toInt(), 4, 20000);
    QCOMPARE(item(QStringLiteral("connections"))->opacity(), 1.0);
    QVERIFY(!textOf(item(QStringLiteral("serverLine"))).contains(QStringLiteral("figures as of")));

    // The outage is a gap in the chart: the line before it and the one after are separate.
    QTRY_VERIFY_WITH_TIMEOUT(chart->property("lastRunStart").toDouble() > lostAt, 20000);
    QVERIFY(chart->property("segmentCount").toInt() >= 2);
    QTRY_VERIFY(
            !textOf(item(QStringLiteral("legend:pushed"))).endsWith(QStringLiteral("(last seen)")));
    // For a look at the gap: the chart a few seconds after the server came back.
    const int samples = chart->property("sampleCount").toInt();
    QTRY_VERIFY_WITH_TIMEOUT(chart->property("sampleCount").toInt() >= samples + 3, 20000);
    QString path = QStringLiteral(QTPUSH_SCREENSHOT);
    path.replace(QStringLiteral(".png"), QStringLiteral("-reconnected.png"));
    QVERIFY(m_window->grabWindow().save(path));
}

void tst_Dashboard::withoutAUrlServesThisProcess()
{
    // As `qtpush-dashboard --port 0`: an embedded server of PushRegistry::global(), watched.
    QQmlApplicationEngine engine;
    engine.addImportPath(QStringLiteral(":/qt/qml"));
    engine.addImportPath(QStringLiteral(QTPUSH_QML_IMPORT_DIR));
    engine.setInitialProperties({{QStringLiteral("embeddedPort"), 0}});
    engine.load(QUrl(QStringLiteral("qrc:/qt/qml/QtPushDashboard/Main.qml")));
    QCOMPARE(engine.rootObjects().size(), 1);
    auto *window = qobject_cast<QQuickWindow *>(engine.rootObjects().first());
    QVERIFY(window);
    const auto find = [window](const QString &name) { return findItem(window->contentItem(), name); };
    QTRY_COMPARE_WITH_TIMEOUT(textOf(find(QStringLiteral("statusText"))), QStringLiteral("Live"), 10000);
    // The memory figure is this whole process here, and says so.
    QCOMPARE(textOf(find(QStringLiteral("memoryLabel"))), QStringLiteral("memory (whole app)"));

    PushRegistry::global()->session(QStringLiteral("in-this-process"))->newClient(QStringLiteral("panel"));
    QTRY_VERIFY(find(QStringLiteral("session:in-this-process")));
    QTRY_COMPARE(textOf(findItem(find(QStringLiteral("session:in-this-process")), QStringLiteral("clientsText"))),
                 QStringLiteral("1"));
    PushRegistry::global()->deleteSession(QStringLiteral("in-this-process"));
    QTRY_VERIFY(!find(QStringLiteral("session:in-this-process")));
}

int main(int argc, char *argv[])
{
    // The offscreen platform has no GPU: render with Qt Quick's software renderer.
    QQuickWindow::setGraphicsApi(QSGRendererInterface::Software);
    QGuiApplication app(argc, argv);
    tst_Dashboard test;
    return QTest::qExec(&test, argc, argv);
}

#include "tst_dashboard.moc"
