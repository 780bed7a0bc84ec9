// SPDX-License-Identifier: MIT
// PushMonitor and its models against a real PushServer (docs/protocol.md: The admin event
// stream), and the models' reconcile on its own.

#include <QtPush/pushclient.h>
#include <QtPush/pushmonitor.h>
#include <QtPush/pushregistry.h>
#include <QtPush/pushserver.h>
#include <QtPush/pushsession.h>
#include <QtPush/pushtoken.h>

#include "fakepushserver.h"
#include "pushmonitormodels_p.h"
#include "pushreconnectingsocket_p.h"
#include "serverfixture.h"

#include <QtCore/QRandomGenerator>
#include <QtTest/QAbstractItemModelTester>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <memory>

namespace {

//! Counts the structural signals of a model: a monitor must never reset one.
struct ModelSignals
{
    explicit ModelSignals(QAbstractItemModel *model)
        : inserted(model, &QAbstractItemModel::rowsInserted),
          removed(model, &QAbstractItemModel::rowsRemoved),
          changed(model, &QAbstractItemModel::dataChanged),
          reset(model, &QAbstractItemModel::modelReset),
          layout(model, &QAbstractItemModel::layoutChanged)
    { }
    QSignalSpy inserted, removed, changed, reset, layout;
};

QJsonObject sessionObject(const QString &id, int clients = 0, int pushed = 0)
{
    return {{QStringLiteral("session"), id},
            {QStringLiteral("clients"), clients},
            {QStringLiteral("pushed"), pushed},
            {QStringLiteral("rate"), 0}};
}

//! A monitor of \a server whose connection uses \a timing.
std::unique_ptr<PushMonitor> monitorOf(const FakePushServer &server,
                                       const PushReconnectingSocket::Timing &timing)
{
    auto monitor = std::make_unique<PushMonitor>();
    monitor->setUrl(server.url());
    auto *socket = monitor->findChild<PushReconnectingSocket *>();
    if (socket)
        socket->setTiming(timing);
    return monitor;
}

//! Appends errorString() at each errorOccurred() to \a errors, which outlives \a monitor:
//! what a later attempt cannot overwrite.
void recordErrors(PushMonitor *monitor, QStringList *errors)
{
    QObject::connect(monitor, &PushMonitor::errorOccurred, monitor,
                     [monitor, errors] { errors->append(monitor->errorString()); });
}

QStringList sessionIds(const PushSessionsModel &model)
{
    QStringList ids;
    for (int row = 0; row < model.count(); ++row)
        ids << model.get(row).value(QStringLiteral("session")).toString();
    return ids;
}

} // namespace

class tst_PushMonitor : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void init();
    void cleanup();

    void snapshotFillsTheSessions();
    void sessionsComeChangeAndGo();
    void watchShowsTheClientsOfOneSession();
    void pushReachesTheSessionAndIsAnswered();
    void serverFigures();
    void keepsRowsWhileTheServerIsAwayAndReconcilesAfter();
    void aWeakerTokenIsAnAccessError();
    void anAdminTokenConnects();
    void pushNeedsAConnectionAndASession();
    void handshakeThatNeverCompletesTimesOut();
    void silentServerIsDroppedByThePingWatchdog();
    void reopenInsideAFrameDropsTheOldSocketsFrames();
    void reopenInsideStatusChangedEmitsNothingStale();

    void reconcileMixesInsertsRemovesAndChanges();

private:
    void startServer(quint16 port = 0);
    std::unique_ptr<PushMonitor> openMonitor(const QString &token = QString());

    std::unique_ptr<PushRegistry> m_registry;
    std::unique_ptr<PushServer> m_server;
    QByteArray m_secret;
};

void tst_PushMonitor::init()
{
    m_registry = std::make_unique<PushRegistry>();
    m_secret.clear();
    startServer();
}

void tst_PushMonitor::cleanup()
{
    m_server.reset();
    m_registry.reset();
}

void tst_PushMonitor::startServer(quint16 port)
{
    m_server = std::make_unique<PushServer>(m_registry.get());
    if (!m_secret.isEmpty())
        m_server->setSecret(m_secret);
    QVERIFY(m_server->listen(QHostAddress::LocalHost, port));
}

std::unique_ptr<PushMonitor> tst_PushMonitor::openMonitor(const QString &token)
{
    auto monitor = std::make_unique<PushMonitor>();
    monitor->setUrl(QUrl(QStringLiteral("http://127.0.0.1:%1").arg(m_server->serverPort())));
    monitor->setToken(token);
    monitor->open();
    return monitor;
}

void tst_PushMonitor::snapshotFillsTheSessions()
{
    PushSession *b = m_registry->session(QStringLiteral("b"));
    b->newClient(QStringLiteral("one"));
    b->newClient(QStringLiteral("two"));
    b->push(QStringLiteral("x"));
    m_registry->session(QStringLiteral("a"))->newClient(QStringLiteral("one"));

    auto monitor = openMonitor();
    QAbstractItemModelTester tester(monitor->sessions(),
                                    QAbstractItemModelTester::FailureReportingMode::QtTest);
    QSignalSpy ticked(monitor.get(), &PushMonitor::ticked);
    QTRY_COMPARE(monitor->status(), PushMonitor::Connected);
    QTRY_COMPARE(monitor->sessions()->count(), 2);
    QVERIFY(ticked.count() >= 1); // the snapshot counts as the first tick
    QCOMPARE(sessionIds(*monitor->sessions()),
             (QStringList{QStringLiteral("a"), QStringLiteral("b")}));
    const QVariantMap row = monitor->sessions()->get(1);
    QCOMPARE(row.value(QStringLiteral("clients")).toInt(), 2);
    QCOMPARE(row.value(QStringLiteral("pushed")).toInt(), 1);
    QCOMPARE(monitor->sessions()->indexOf(QStringLiteral("b")), 1);
    QCOMPARE(monitor->sessions()->indexOf(QStringLiteral("nope")), -1);
    const QModelIndex index = monitor->sessions()->index(0);
    QCOMPARE(index.data(PushSessionsModel::SessionRole).toString(), QStringLiteral("a"));
    QCOMPARE(monitor->sessions()->roleNames().value(PushSessionsModel::RateRole),
             QByteArray("rate"));
    QCOMPARE(monitor->error(), PushMonitor::NoError);
}

void tst_PushMonitor::sessionsComeChangeAndGo()
{
    m_registry->session(QStringLiteral("b"));
    auto monitor = openMonitor();
    QAbstractItemModelTester tester(monitor->sessions(),
                                    QAbstractItemModelTester::FailureReportingMode::QtTest);
    QTRY_COMPARE(monitor->sessions()->count(), 1);
    ModelSignals spies(monitor->sessions());

    // Made before "b" in the id order: an insert at row 0.
    PushSession *a = m_registry->session(QStringLiteral("a"));
    QTRY_COMPARE(spies.inserted.count(), 1);
    QCOMPARE(spies.inserted.first().at(1).toInt(), 0);
    QCOMPARE(sessionIds(*monitor->sessions()),
             (QStringList{QStringLiteral("a"), QStringLiteral("b")}));

    // A client and a push: the same row changes, with the roles that changed.
    a->newClient(QStringLiteral("phone"));
    a->push(QStringLiteral("hello"));
    QTRY_COMPARE(monitor->sessions()->get(0).value(QStringLiteral("pushed")).toInt(), 1);
    QTRY_COMPARE(monitor->sessions()->get(0).value(QStringLiteral("clients")).toInt(), 1);
    QVERIFY(!spies.changed.isEmpty());
    const auto roles = spies.changed.last().at(2).value<QList<int>>();
    QVERIFY(!roles.isEmpty());
    QVERIFY(!roles.contains(PushSessionsModel::SessionRole));

    m_registry->deleteSession(QStringLiteral("b"));
    QTRY_COMPARE(spies.removed.count(), 1);
    QCOMPARE(spies.removed.first().at(1).toInt(), 1);
    QCOMPARE(sessionIds(*monitor->sessions()), QStringList{QStringLiteral("a")});

    QCOMPARE(spies.reset.count(), 0);
    QCOMPARE(spies.layout.count(), 0);
}

void tst_PushMonitor::watchShowsTheClientsOfOneSession()
{
    PushSession *alice = m_registry->session(QStringLiteral("alice"));
    alice->newClient(QStringLiteral("desk"));
    m_registry->session(QStringLiteral("bob"))->newClient(QStringLiteral("other"));

    auto monitor = openMonitor();
    PushClientsModel *clients = monitor->clients();
    QAbstractItemModelTester tester(clients,
                                    QAbstractItemModelTester::FailureReportingMode::QtTest);
    QTRY_COMPARE(monitor->status(), PushMonitor::Connected);
    QSignalSpy sessionChanged(clients, &PushClientsModel::sessionChanged);
    monitor->setWatchedSession(QStringLiteral("alice"));
    QCOMPARE(clients->session(), QStringLiteral("alice"));
    QCOMPARE(sessionChanged.count(), 1);
    QTRY_COMPARE(clients->count(), 1);
    QCOMPARE(clients->get(0).value(QStringLiteral("client")).toString(), QStringLiteral("desk"));
    QCOMPARE(clients->get(0).value(QStringLiteral("transport")).toString(),
             QStringLiteral("local"));

    // A network client: it shows with its transport, and its deliveries count.
    ModelSignals spies(clients);
    WebSocketClient phone;
    phone.socket.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/v1/sessions/alice/clients/phone/ws")
                                   .arg(m_server->serverPort())));
    QTRY_COMPARE(clients->count(), 2);
    const int row = clients->indexOf(QStringLiteral("phone"));
    QCOMPARE(row, 1);
    QTRY_COMPARE(clients->get(row).value(QStringLiteral("transport")).toString(),
                 QStringLiteral("ws"));
    QVERIFY(clients->get(row).value(QStringLiteral("connectedSince")).toDateTime().isValid());
    QVERIFY(!clients->get(row).value(QStringLiteral("disconnectedSince")).toDateTime().isValid());
    alice->push(QStringLiteral("one"));
    alice->push(QStringLiteral("two"));
    QTRY_COMPARE(clients->get(row).value(QStringLiteral("delivered")).toInt(), 2);

    alice->deleteClient(QStringLiteral("desk"));
    QTRY_COMPARE(clients->count(), 1);
    QCOMPARE(clients->indexOf(QStringLiteral("desk")), -1);
    QVERIFY(spies.inserted.count() >= 1);
    QVERIFY(spies.removed.count() >= 1);

    // Another session's clients replace these; bob's client is not alice's.
    monitor->setWatchedSession(QStringLiteral("bob"));
    QTRY_COMPARE(clients->count(), 1);
    QTRY_COMPARE(clients->get(0).value(QStringLiteral("client")).toString(),
                 QStringLiteral("other"));
    monitor->setWatchedSession(QString());
    QCOMPARE(clients->count(), 0);
    QCOMPARE(spies.reset.count(), 0);
}

void tst_PushMonitor::pushReachesTheSessionAndIsAnswered()
{
    PushClient *desk
            = m_registry->session(QStringLiteral("alice"))->newClient(QStringLiteral("desk"));
    QSignalSpy received(desk, &PushClient::messageReceived);
    auto monitor = openMonitor();
    QTRY_COMPARE(monitor->status(), PushMonitor::Connected);
    monitor->setWatchedSession(QStringLiteral("alice"));
    QSignalSpy pushed(monitor.get(), &PushMonitor::pushed);

    QVERIFY(monitor->push(QVariantMap{{QStringLiteral("text"), QStringLiteral("hi")}}));
    QTRY_COMPARE(received.count(), 1);
    QCOMPARE(received.first().first().toMap().value(QStringLiteral("text")).toString(),
             QStringLiteral("hi"));
    QTRY_COMPARE(pushed.count(), 1);
    QCOMPARE(pushed.first().at(0).toString(), QStringLiteral("alice"));
    QCOMPARE(pushed.first().at(1).toULongLong(), quint64(1));
    QCOMPARE(pushed.first().at(2).toInt(), 1);

    // pushTo makes the session, as the HTTP push does.
    QVERIFY(monitor->pushTo(QStringLiteral("fresh"), 42));
    QTRY_COMPARE(pushed.count(), 2);
    QCOMPARE(pushed.last().at(0).toString(), QStringLiteral("fresh"));
    QCOMPARE(pushed.last().at(2).toInt(), 0);
    QTRY_VERIFY(monitor->sessions()->indexOf(QStringLiteral("fresh")) >= 0);
}

void tst_PushMonitor::serverFigures()
{
    m_registry->session(QStringLiteral("a"))->newClient(QStringLiteral("x"));
    auto monitor = openMonitor();
    QSignalSpy ticked(monitor.get(), &PushMonitor::ticked);
    QTRY_VERIFY(!monitor->server().isEmpty());
    QCOMPARE(monitor->server().value(QStringLiteral("sessions")).toInt(), 1);
    QCOMPARE(monitor->server().value(QStringLiteral("clients")).toInt(), 1);
    QVERIFY(monitor->server().value(QStringLiteral("connections")).toInt() >= 1);
    QVERIFY(monitor->server().value(QStringLiteral("residentBytes")).toDouble() > 0);
    const QDateTime first = monitor->serverTime();
    QVERIFY(qAbs(first.msecsTo(QDateTime::currentDateTime())) < 60000);

    // Ticks come once a second and move the server time on.
    m_registry->session(QStringLiteral("b"));
    // Bounds, not timings: a loaded machine may run the once-a-second ticks late.
    QTRY_COMPARE_WITH_TIMEOUT(monitor->server().value(QStringLiteral("sessions")).toInt(), 2,
                              30000);
    QTRY_VERIFY_WITH_TIMEOUT(ticked.count() >= 2, 30000);
    QVERIFY(monitor->serverTime() > first);
}

void tst_PushMonitor::keepsRowsWhileTheServerIsAwayAndReconcilesAfter()
{
    m_registry->session(QStringLiteral("a"));
    m_registry->session(QStringLiteral("b"))->newClient(QStringLiteral("x"));
    auto monitor = openMonitor();
    monitor->setWatchedSession(QStringLiteral("b"));
    QTRY_COMPARE(monitor->sessions()->count(), 2);
    QTRY_COMPARE(monitor->clients()->count(), 1);
    ModelSignals sessions(monitor->sessions());
    ModelSignals clients(monitor->clients());
    QSignalSpy disconnected(monitor.get(), &PushMonitor::disconnected);
    QSignalSpy connected(monitor.get(), &PushMonitor::connected);

    const quint16 port = m_server->serverPort();
    m_server->abort();
    m_server.reset();
    QTRY_COMPARE(disconnected.count(), 1);
    QCOMPARE(monitor->status(), PushMonitor::Reconnecting);
    QCOMPARE(monitor->error(), PushMonitor::ConnectionError);
    QVERIFY(!monitor->errorString().isEmpty());
    QCOMPARE(monitor->sessions()->count(), 2); // the last known rows stay
    QCOMPARE(monitor->clients()->count(), 1);

    // While it is away the registry changes; the new server's snapshot tells.
    m_registry->deleteSession(QStringLiteral("a"));
    m_registry->session(QStringLiteral("c"));
    m_registry->session(QStringLiteral("b"))->newClient(QStringLiteral("y"));
    startServer(port);
    QTRY_COMPARE_WITH_TIMEOUT(monitor->status(), PushMonitor::Connected, 15000);
    QCOMPARE(connected.count(), 1);
    QCOMPARE(monitor->error(), PushMonitor::NoError);
    QTRY_COMPARE(sessionIds(*monitor->sessions()),
                 (QStringList{QStringLiteral("b"), QStringLiteral("c")}));
    QTRY_COMPARE(monitor->clients()->count(), 2); // the watch was sent again
    QCOMPARE(sessions.reset.count(), 0);
    QCOMPARE(clients.reset.count(), 0);
    QVERIFY(sessions.inserted.count() >= 1);
    QVERIFY(sessions.removed.count() >= 1);
}

void tst_PushMonitor::aWeakerTokenIsAnAccessError()
{
    m_secret = QByteArrayLiteral("monitor-test-secret-of-32-bytes!");
    startServer();
    PushToken claims;
    claims.session = QStringLiteral("ops");
    claims.scopes = PushToken::Subscribe | PushToken::Push;
    auto monitor = openMonitor(QString::fromLatin1(claims.sign(m_secret)));
    QSignalSpy errors(monitor.get(), &PushMonitor::errorOccurred);
    QTRY_COMPARE(monitor->error(), PushMonitor::AccessError);
    QCOMPARE(monitor->status(), PushMonitor::Idle);
    QVERIFY(monitor->errorString().contains(QLatin1String("403")));
    QCOMPARE(errors.count(), 1);
    // It gave up: no second attempt comes.
    QTest::qWait(600);
    QCOMPARE(monitor->status(), PushMonitor::Idle);
    QCOMPARE(errors.count(), 1);

    // No token at all: 401, the same refusal.
    auto anonymous = openMonitor();
    QTRY_COMPARE(anonymous->error(), PushMonitor::AccessError);
    QVERIFY(anonymous->errorString().contains(QLatin1String("401")));
}

void tst_PushMonitor::anAdminTokenConnects()
{
    m_secret = QByteArrayLiteral("monitor-test-secret-of-32-bytes!");
    startServer();
    m_registry->session(QStringLiteral("a"));
    PushToken claims;
    claims.session = QStringLiteral("ops");
    claims.scopes = PushToken::Admin;
    auto monitor = openMonitor(QString::fromLatin1(claims.sign(m_secret)));
    QTRY_COMPARE(monitor->status(), PushMonitor::Connected);
    QTRY_COMPARE(monitor->sessions()->count(), 1);
}

void tst_PushMonitor::pushNeedsAConnectionAndASession()
{
    PushMonitor monitor;
    monitor.setWatchedSession(QStringLiteral("a"));
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("not connected")));
    QVERIFY(!monitor.push(1));

    auto open = openMonitor();
    QTRY_COMPARE(open->status(), PushMonitor::Connected);
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("no session")));
    QVERIFY(!open->push(1)); // nothing watched
}

void tst_PushMonitor::handshakeThatNeverCompletesTimesOut()
{
    FakePushServer fake;
    QVERIFY(fake.listen());
    fake.setSilence(FakePushServer::Silence::NoHandshake);
    PushReconnectingSocket::Timing timing;
    timing.handshakeTimeoutMs = 200;
    timing.firstBackoffMs = 10;
    QStringList errors;
    auto monitor = monitorOf(fake, timing);
    QVERIFY(monitor->findChild<PushReconnectingSocket *>());
    recordErrors(monitor.get(), &errors);
    QSignalSpy connected(monitor.get(), &PushMonitor::connected);
    monitor->open();
    QCOMPARE(monitor->status(), PushMonitor::Connecting);

    QTRY_VERIFY(!errors.isEmpty());
    QCOMPARE(errors.first(), QStringLiteral("no WebSocket handshake within 200 ms"));
    // It keeps trying, with a fresh TCP connection each time.
    QTRY_VERIFY(fake.tcpConnectionCount() >= 2);
    QVERIFY(monitor->status() != PushMonitor::Idle);
    QCOMPARE(monitor->error(), PushMonitor::ConnectionError);
    QCOMPARE(connected.count(), 0);
    monitor->close();
    QCOMPARE(monitor->status(), PushMonitor::Idle);
}

void tst_PushMonitor::silentServerIsDroppedByThePingWatchdog()
{
    FakePushServer fake;
    QVERIFY(fake.listen());
    fake.setSilence(FakePushServer::Silence::AfterHandshake);
    PushReconnectingSocket::Timing timing;
    timing.pingIntervalMs = 50;
    timing.silenceLimitMs = 300;
    timing.firstBackoffMs = 60 * 60 * 1000; // one drop is the whole test: no reconnect
    timing.maxBackoffMs = timing.firstBackoffMs;
    QStringList errors;
    auto monitor = monitorOf(fake, timing);
    recordErrors(monitor.get(), &errors);
    QSignalSpy connected(monitor.get(), &PushMonitor::connected);
    QSignalSpy disconnected(monitor.get(), &PushMonitor::disconnected);
    monitor->open();

    // The upgrade is answered: the monitor is connected until its pings go unanswered.
    QTRY_COMPARE(connected.count(), 1);
    QCOMPARE(fake.silentUpgradeCount(), 1);
    QTRY_COMPARE(disconnected.count(), 1);
    QCOMPARE(monitor->status(), PushMonitor::Reconnecting);
    QCOMPARE(monitor->error(), PushMonitor::ConnectionError);
    QCOMPARE(errors.size(), 1);
    QVERIFY2(errors.first().contains(QLatin1String("(no frame, no pong)")),
             qPrintable(errors.first()));
    QCOMPARE(fake.tcpConnectionCount(), 1);
}

void tst_PushMonitor::reopenInsideAFrameDropsTheOldSocketsFrames()
{
    FakePushServer fake;
    QVERIFY(fake.listen());
    auto monitor = monitorOf(fake, {});
    QSignalSpy pushed(monitor.get(), &PushMonitor::pushed);
    QSignalSpy connected(monitor.get(), &PushMonitor::connected);
    monitor->open();
    QTRY_COMPARE(connected.count(), 1);
    QTRY_COMPARE(fake.openConnectionCount(), 1);

    // The first of two frames read at once reopens the monitor: the second, already read
    // from the old socket, must not reach the new connection's state.
    int ticks = 0;
    connect(monitor.get(), &PushMonitor::ticked, this, [&] {
        if (++ticks == 1) {
            monitor->close();
            monitor->open();
        }
    });
    const QJsonObject tick{
            {QStringLiteral("type"), QStringLiteral("tick")},
            {QStringLiteral("sessions"), QJsonArray{sessionObject(QStringLiteral("a"))}}};
    const QJsonObject stale{{QStringLiteral("type"), QStringLiteral("pushed")},
                            {QStringLiteral("session"), QStringLiteral("stale")},
                            {QStringLiteral("id"), 1},
                            {QStringLiteral("clients"), 0}};
    QVERIFY(fake.sendTogether({tick, stale, tick}));
    QTRY_COMPARE(ticks, 1);

    // The new connection works, and frames on it arrive.
    QTRY_COMPARE(connected.count(), 2);
    QCOMPARE(fake.connectionCount(), 2);
    QTRY_COMPARE(fake.openConnectionCount(), 1);
    QVERIFY(fake.sendJson({{QStringLiteral("type"), QStringLiteral("pushed")},
                           {QStringLiteral("session"), QStringLiteral("fresh")},
                           {QStringLiteral("id"), 2},
                           {QStringLiteral("clients"), 0}}));
    QTRY_COMPARE(pushed.count(), 1);
    QCOMPARE(pushed.first().at(0).toString(), QStringLiteral("fresh"));
    QCOMPARE(ticks, 1);
    QCOMPARE(monitor->status(), PushMonitor::Connected);
}

void tst_PushMonitor::reopenInsideStatusChangedEmitsNothingStale()
{
    FakePushServer fake;
    QVERIFY(fake.listen());
    auto monitor = monitorOf(fake, {});
    QSignalSpy connected(monitor.get(), &PushMonitor::connected);
    QSignalSpy disconnected(monitor.get(), &PushMonitor::disconnected);
    QList<PushMonitor::Status> statuses;
    bool reopened = false;
    connect(monitor.get(), &PushMonitor::statusChanged, this, [&] {
        statuses << monitor->status();
        if (monitor->status() == PushMonitor::Connected && !reopened) {
            reopened = true;
            monitor->close();
            monitor->open();
        }
    });
    monitor->open();
    QTRY_VERIFY(reopened);
    // The first connection's connected() would be stale once the slot closed it: only the
    // second connection's may come.
    QTRY_COMPARE(fake.connectionCount(), 2);
    QTRY_COMPARE(monitor->status(), PushMonitor::Connected);
    QCOMPARE(connected.count(), 1);
    QCOMPARE(statuses,
             (QList<PushMonitor::Status>{PushMonitor::Connecting, PushMonitor::Connected,
                                         PushMonitor::Idle, PushMonitor::Connecting,
                                         PushMonitor::Connected}));
    QCOMPARE(disconnected.count(), 1);
}

void tst_PushMonitor::reconcileMixesInsertsRemovesAndChanges()
{
    PushSessionsModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QJsonArray first;
    for (int i = 0; i < 2000; ++i)
        first.append(sessionObject(QStringLiteral("s%1").arg(i, 5, 10, QLatin1Char('0')), 1));
    ModelSignals spies(&model);
    PushMonitorModels::reconcile(&model, first);
    QCOMPARE(model.count(), 2000);
    QCOMPARE(spies.inserted.count(), 1); // one range, not 2,000 inserts

    // A second snapshot: every third row gone, every fifth changed, 500 new ones in between,
    // and given out of order.
    QJsonArray second;
    QStringList expected;
    for (int i = 0; i < 2000; ++i) {
        const QString id = QStringLiteral("s%1").arg(i, 5, 10, QLatin1Char('0'));
        if (i % 3 != 0) {
            second.append(sessionObject(id, 1, i % 5 == 0 ? 7 : 0));
            expected << id;
        }
        if (i % 4 == 0) {
            const QString added = id + QStringLiteral("-new");
            second.append(sessionObject(added, 2));
            expected << added;
        }
    }
    std::sort(expected.begin(), expected.end());
    QJsonArray shuffled;
    QList<QJsonValue> values(second.cbegin(), second.cend());
    std::shuffle(values.begin(), values.end(), *QRandomGenerator::global());
    for (const QJsonValue &v : values)
        shuffled.append(v);

    spies.inserted.clear();
    PushMonitorModels::reconcile(&model, shuffled);
    QCOMPARE(sessionIds(model), expected);
    QCOMPARE(spies.reset.count(), 0);
    QVERIFY(!spies.inserted.isEmpty());
    QVERIFY(!spies.removed.isEmpty());
    int changedRows = 0;
    for (const auto &args : std::as_const(spies.changed))
        changedRows += args.at(1).toModelIndex().row() - args.at(0).toModelIndex().row() + 1;
    int expectedChanged = 0;
    for (int i = 0; i < 2000; ++i)
        expectedChanged += (i % 3 != 0 && i % 5 == 0) ? 1 : 0;
    QCOMPARE(changedRows, expectedChanged);
    const int row = model.indexOf(QStringLiteral("s00005"));
    QCOMPARE(model.get(row).value(QStringLiteral("pushed")).toInt(), 7);

    // The same snapshot again changes nothing; an empty one removes everything.
    spies.changed.clear();
    spies.inserted.clear();
    spies.removed.clear();
    PushMonitorModels::reconcile(&model, shuffled);
    QCOMPARE(spies.changed.count() + spies.inserted.count() + spies.removed.count(), 0);
    PushMonitorModels::reconcile(&model, QJsonArray());
    QCOMPARE(model.count(), 0);
    QCOMPARE(spies.removed.count(), 1);
}

QTEST_GUILESS_MAIN(tst_PushMonitor)
#include "tst_pushmonitor.moc"
