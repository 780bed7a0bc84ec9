// SPDX-License-Identifier: MIT
// The admin event stream, over the wire (docs/protocol.md: The admin event stream).

#include <QtPush/pushclient.h>
#include <QtPush/pushregistry.h>
#include <QtPush/pushserver.h>
#include <QtPush/pushsession.h>
#include <QtPush/pushtoken.h>

#include "serverfixture.h"

#include <QtCore/QDateTime>
#include <QtCore/QtEndian>
#include <QtTest/QTest>

#include <functional>
#include <memory>

namespace {

//! A tool on the admin stream: every frame it got, and a way to wait for one.
class AdminClient : public WebSocketClient
{
public:
    QList<QJsonObject> all() const
    {
        QList<QJsonObject> result;
        for (int i = 0; i < frames.size(); ++i)
            result.append(frame(i));
        return result;
    }
    QList<QJsonObject> ofType(const QString &type) const
    {
        QList<QJsonObject> result;
        for (const QJsonObject &object : all()) {
            if (object.value(QLatin1String("type")).toString() == type)
                result.append(object);
        }
        return result;
    }
    //! Waits up to \a timeoutMs for a frame after the first \a from that \a matches.
    QJsonObject waitFor(const std::function<bool(const QJsonObject &)> &matches, int from = 0,
                        int timeoutMs = 10000)
    {
        QDeadlineTimer deadline(timeoutMs);
        for (int seen = from;;) {
            for (; seen < frames.size(); ++seen) {
                const QJsonObject object = frame(seen);
                if (matches(object))
                    return object;
            }
            if (deadline.hasExpired() || disconnected)
                return {};
            QTest::qWait(10);
        }
    }
    QJsonObject waitForType(const QString &type, int from = 0)
    {
        return waitFor([&](const QJsonObject &o) { return o[QLatin1String("type")] == type; },
                       from);
    }
    void send(const QJsonObject &op)
    {
        socket.sendTextMessage(QString::fromUtf8(QJsonDocument(op).toJson(QJsonDocument::Compact)));
    }
};

QJsonObject sessionNamed(const QJsonArray &sessions, const QString &key)
{
    for (const QJsonValue &session : sessions) {
        if (session[QLatin1String("session")].toString() == key)
            return session.toObject();
    }
    return {};
}

//! Reads the unmasked frames a server sends (RFC 6455 §5.2) out of \a bytes; what is left of
//! an incomplete frame stays in \a bytes.
QList<QByteArray> takeServerFrames(QByteArray *bytes)
{
    QList<QByteArray> frames;
    for (;;) {
        if (bytes->size() < 2)
            return frames;
        const auto *data = reinterpret_cast<const uchar *>(bytes->constData());
        qsizetype header = 2;
        quint64 length = data[1] & 0x7f;
        if (length == 126) {
            if (bytes->size() < 4)
                return frames;
            length = qFromBigEndian<quint16>(data + 2);
            header = 4;
        } else if (length == 127) {
            if (bytes->size() < 10)
                return frames;
            length = qFromBigEndian<quint64>(data + 2);
            header = 10;
        }
        if (quint64(bytes->size() - header) < length)
            return frames;
        frames.append(bytes->mid(header, qsizetype(length)));
        bytes->remove(0, header + qsizetype(length));
    }
}

} // namespace

class tst_PushAdminStream : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void init();
    void cleanup();

    void snapshotListsEverySessionInOrder();
    void sessionsAndClientsComingAndGoingAreAnnounced();
    void ticksCarryOnlyWhatChangedWithRates();
    void pushOpReachesTheSessionAndIsAnswered();
    void badOpsAreRefused_data();
    void badOpsAreRefused();
    void watchOpsAreRateLimited();
    void upgradeNeedsAnAdminToken_data();
    void upgradeNeedsAnAdminToken();
    void congestedStreamCatchesUpWithASnapshot();
    void shutdownClosesTheStreamWith1001();

private:
    QUrl adminUrl() const
    {
        return QUrl(QStringLiteral("ws://127.0.0.1:%1/v1/admin/events").arg(m_server->serverPort()));
    }
    //! The status line the server answers a hand-written upgrade of /v1/admin/events with.
    QByteArray upgradeStatus(const QByteArray &extraHeaders);

    std::unique_ptr<PushRegistry> m_registry;
    std::unique_ptr<PushServer> m_server;
    QNetworkAccessManager m_manager;
};

void tst_PushAdminStream::init()
{
    m_registry = std::make_unique<PushRegistry>();
    m_server = std::make_unique<PushServer>(m_registry.get());
    QVERIFY(m_server->listen(QHostAddress::LocalHost, 0));
}

void tst_PushAdminStream::cleanup()
{
    m_server.reset();
    m_registry.reset();
}

QByteArray tst_PushAdminStream::upgradeStatus(const QByteArray &extraHeaders)
{
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, m_server->serverPort());
    if (!socket.waitForConnected(10000))
        return {};
    socket.write("GET /v1/admin/events HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                 "Sec-WebSocket-Version: 13\r\n"
                 + extraHeaders + "\r\n");
    QByteArray received;
    QDeadlineTimer deadline(10000);
    while (!received.contains("\r\n") && !deadline.hasExpired()) {
        QTest::qWait(10);
        received.append(socket.readAll());
    }
    return received.left(received.indexOf("\r\n"));
}

void tst_PushAdminStream::snapshotListsEverySessionInOrder()
{
    m_registry->session(QStringLiteral("b"))->newClient(QStringLiteral("local"));
    PushSession *a = m_registry->session(QStringLiteral("a"));
    a->push(1);
    a->push(2);
    AdminClient admin;
    QVERIFY(admin.open(adminUrl()));
    const QJsonObject snapshot = admin.waitForType(QStringLiteral("snapshot"));
    QVERIFY2(!snapshot.isEmpty(), "no snapshot");
    QCOMPARE(snapshot[QLatin1String("interval")].toInt(), 1000);
    QVERIFY(qAbs(snapshot[QLatin1String("time")].toDouble()
                 - double(QDateTime::currentMSecsSinceEpoch()))
            < 60000);
    const QJsonArray expected{
            QJsonObject{{QStringLiteral("session"), QStringLiteral("a")},
                        {QStringLiteral("clients"), 0},
                        {QStringLiteral("pushed"), 2},
                        {QStringLiteral("rate"), 0}},
            QJsonObject{{QStringLiteral("session"), QStringLiteral("b")},
                        {QStringLiteral("clients"), 1},
                        {QStringLiteral("pushed"), 0},
                        {QStringLiteral("rate"), 0}},
    };
    QCOMPARE(snapshot[QLatin1String("sessions")].toArray(), expected);
    const QJsonObject server = snapshot[QLatin1String("server")].toObject();
    QCOMPARE(server[QLatin1String("sessions")].toInt(), 2);
    QCOMPARE(server[QLatin1String("clients")].toInt(), 1);
    QCOMPARE(server[QLatin1String("webSockets")].toInt(), 1); // the admin stream itself
    QVERIFY(server[QLatin1String("connections")].toInt() >= 1);
    QVERIFY(server[QLatin1String("residentBytes")].toDouble() > 1024 * 1024);
    for (const char *key : {"eventStreams", "longPolls", "pushes", "deliveries", "pushRate",
                            "deliveryRate", "uptime"})
        QVERIFY2(server.contains(QLatin1String(key)), key);
}

void tst_PushAdminStream::sessionsAndClientsComingAndGoingAreAnnounced()
{
    AdminClient admin;
    QVERIFY(admin.open(adminUrl()));
    QVERIFY(!admin.waitForType(QStringLiteral("snapshot")).isEmpty());
    // Watching a session before it exists: its clients come once it does.
    admin.send({{QStringLiteral("op"), QStringLiteral("watch")},
                {QStringLiteral("session"), QStringLiteral("s")}});
    const QJsonObject none = admin.waitForType(QStringLiteral("clients"));
    QCOMPARE(none[QLatin1String("session")].toString(), QStringLiteral("s"));
    QCOMPARE(none[QLatin1String("clients")].toArray(), QJsonArray());

    const qint64 before = QDateTime::currentMSecsSinceEpoch();
    WebSocketClient phone;
    QVERIFY(phone.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/v1/sessions/s/clients/phone/ws")
                                    .arg(m_server->serverPort()))));
    const QJsonObject added = admin.waitForType(QStringLiteral("sessionAdded"));
    QCOMPARE(added[QLatin1String("session")].toString(), QStringLiteral("s"));
    QCOMPARE(added[QLatin1String("clients")].toInt(), 1); // announced with its first client
    const int afterAdded = int(admin.frames.size());
    const QJsonObject clients = admin.waitFor(
            [](const QJsonObject &o) {
                return o[QLatin1String("type")] == QLatin1String("clients")
                        && !o[QLatin1String("clients")].toArray().isEmpty();
            });
    const QJsonObject phoneObject = clients[QLatin1String("clients")][0].toObject();
    QCOMPARE(phoneObject[QLatin1String("client")].toString(), QStringLiteral("phone"));
    QCOMPARE(phoneObject[QLatin1String("transport")].toString(), QStringLiteral("ws"));
    QCOMPARE(phoneObject[QLatin1String("delivered")].toInt(), 0);
    QVERIFY(phoneObject[QLatin1String("connectedSince")].toDouble() >= double(before) - 1000);
    QVERIFY(!phoneObject.contains(QLatin1String("disconnectedSince")));

    m_registry->session(QStringLiteral("s"))->newClient(QStringLiteral("panel"));
    const QJsonObject local = admin.waitForType(QStringLiteral("clientAdded"), afterAdded);
    QCOMPARE(local[QLatin1String("session")].toString(), QStringLiteral("s"));
    QCOMPARE(local[QLatin1String("client")].toString(), QStringLiteral("panel"));
    QCOMPARE(local[QLatin1String("transport")].toString(), QStringLiteral("local"));
    // The server does not see an in-process client's deliveries or connection.
    QVERIFY(!local.contains(QLatin1String("delivered")));
    QVERIFY(!local.contains(QLatin1String("connectedSince")));

    QCOMPARE(httpRequest(m_manager, "DELETE",
                         QUrl(QStringLiteral("http://127.0.0.1:%1/v1/sessions/s/clients/phone")
                                      .arg(m_server->serverPort())))
                     .status,
             204);
    const QJsonObject removed = admin.waitForType(QStringLiteral("clientRemoved"));
    QCOMPARE(removed[QLatin1String("client")].toString(), QStringLiteral("phone"));
    QCOMPARE(removed[QLatin1String("session")].toString(), QStringLiteral("s"));

    m_registry->deleteSession(QStringLiteral("s"));
    const QJsonObject gone = admin.waitForType(QStringLiteral("sessionRemoved"));
    QCOMPARE(gone[QLatin1String("session")].toString(), QStringLiteral("s"));
    // Nothing was announced twice: one sessionAdded, one clientAdded.
    QCOMPARE(admin.ofType(QStringLiteral("sessionAdded")).size(), 1);
    QCOMPARE(admin.ofType(QStringLiteral("clientAdded")).size(), 1);
}

void tst_PushAdminStream::ticksCarryOnlyWhatChangedWithRates()
{
    PushSession *busy = m_registry->session(QStringLiteral("busy"));
    m_registry->session(QStringLiteral("quiet"));
    AdminClient admin;
    QVERIFY(admin.open(adminUrl()));
    QVERIFY(!admin.waitForType(QStringLiteral("snapshot")).isEmpty());
    const QJsonObject first = admin.waitForType(QStringLiteral("tick")); // the rates' baseline
    QVERIFY(!first.isEmpty());
    QVERIFY(!first.contains(QLatin1String("sessions"))); // nothing changed since the snapshot
    const int afterFirst = int(admin.frames.size());
    for (int i = 0; i < 10; ++i)
        busy->push(i);
    // The tick that saw them: one that came between the first and the pushes (a loaded machine
    // may take that long) changed nothing and carries no sessions.
    const QJsonObject busyTick = admin.waitFor(
            [](const QJsonObject &o) {
                return o[QLatin1String("type")] == QLatin1String("tick")
                        && o.contains(QLatin1String("sessions"));
            },
            afterFirst);
    const QJsonArray changed = busyTick[QLatin1String("sessions")].toArray();
    QCOMPARE(changed.size(), 1);
    QCOMPARE(changed.at(0)[QLatin1String("session")].toString(), QStringLiteral("busy"));
    QCOMPARE(changed.at(0)[QLatin1String("pushed")].toInt(), 10);
    // 10 messages over the time between the two ticks' clocks: about a second, longer on a
    // loaded machine, and shorter by as much as the last tick took to send (10.6 was seen under
    // ASan). A rate per second, not per tick or per millisecond, is all that holds for sure.
    const double rate = changed.at(0)[QLatin1String("rate")].toDouble();
    QVERIFY2(rate > 0 && rate <= 100, qPrintable(QString::number(rate)));
    QCOMPARE(busyTick[QLatin1String("server")][QLatin1String("pushRate")].toDouble(), rate);
    // A second later the rate is back to 0, which is a change too.
    const int afterBusy = int(admin.frames.size());
    const QJsonObject calm = admin.waitForType(QStringLiteral("tick"), afterBusy);
    QCOMPARE(calm[QLatin1String("sessions")].toArray(),
             (QJsonArray{QJsonObject{{QStringLiteral("session"), QStringLiteral("busy")},
                                     {QStringLiteral("clients"), 0},
                                     {QStringLiteral("pushed"), 10},
                                     {QStringLiteral("rate"), 0}}}));
}

void tst_PushAdminStream::pushOpReachesTheSessionAndIsAnswered()
{
    PushClient *panel = m_registry->session(QStringLiteral("s"))->newClient(QStringLiteral("panel"));
    AdminClient admin;
    QVERIFY(admin.open(adminUrl()));
    admin.send({{QStringLiteral("op"), QStringLiteral("push")},
                {QStringLiteral("session"), QStringLiteral("s")},
                {QStringLiteral("data"), QJsonObject{{QStringLiteral("title"), QStringLiteral("hi")}}}});
    const QJsonObject answer = admin.waitForType(QStringLiteral("pushed"));
    QCOMPARE(answer[QLatin1String("session")].toString(), QStringLiteral("s"));
    QCOMPARE(answer[QLatin1String("id")].toInt(), 1);
    QCOMPARE(answer[QLatin1String("clients")].toInt(), 1);
    QVariant message;
    QVERIFY(panel->tryPull(&message));
    QCOMPARE(message.toMap().value(QStringLiteral("title")).toString(), QStringLiteral("hi"));
    // It counts as a push of this server, in a tick after the answer (one before it may have
    // come between the upgrade and the op).
    const int afterAnswer = int(admin.frames.size());
    const QJsonObject tick = admin.waitForType(QStringLiteral("tick"), afterAnswer);
    QCOMPARE(tick[QLatin1String("server")][QLatin1String("pushes")].toInt(), 1);
}

void tst_PushAdminStream::badOpsAreRefused_data()
{
    QTest::addColumn<QByteArray>("frame");
    QTest::addColumn<QString>("code");
    QTest::addColumn<int>("closeCode");
    QTest::addRow("not JSON") << QByteArray("watch s") << "bad_request" << 1008;
    QTest::addRow("not an object") << QByteArray("[]") << "bad_request" << 1008;
    QTest::addRow("unknown op") << QByteArray(R"({"op":"list"})") << "bad_request" << 1008;
    QTest::addRow("watch without session") << QByteArray(R"({"op":"watch"})") << "bad_request"
                                           << 1008;
    QTest::addRow("watch a number") << QByteArray(R"({"op":"watch","session":7})")
                                    << "bad_request" << 1008;
    QTest::addRow("watch an empty id") << QByteArray(R"({"op":"watch","session":""})")
                                       << "bad_request" << 1008;
    QTest::addRow("push without data") << QByteArray(R"({"op":"push","session":"s"})")
                                       << "bad_request" << 1008;
    QTest::addRow("push without session") << QByteArray(R"({"op":"push","data":1})")
                                          << "bad_request" << 1008;
    QTest::addRow("push too large") << QByteArray(R"({"op":"push","session":"s","data":")")
                    + QByteArray(2000, 'x') + QByteArray(R"("})")
                                    << "too_large" << 1009;
}

void tst_PushAdminStream::badOpsAreRefused()
{
    QFETCH(QByteArray, frame);
    QFETCH(QString, code);
    QFETCH(int, closeCode);
    m_server->setMaxMessageBytes(1000);
    AdminClient admin;
    QVERIFY(admin.open(adminUrl()));
    admin.socket.sendTextMessage(QString::fromUtf8(frame));
    const QJsonObject error = admin.waitFor(
            [](const QJsonObject &o) { return o.contains(QLatin1String("error")); });
    QCOMPARE(error[QLatin1String("error")][QLatin1String("code")].toString(), code);
    QTRY_VERIFY(admin.disconnected);
    QCOMPARE(admin.closeCode, closeCode);
    QVERIFY(!m_registry->exists(QStringLiteral("s"))); // a refused push made nothing
}

void tst_PushAdminStream::watchOpsAreRateLimited()
{
    AdminClient admin;
    QVERIFY(admin.open(adminUrl()));
    for (int i = 0; i < 40; ++i) {
        admin.send({{QStringLiteral("op"), QStringLiteral("watch")},
                    {QStringLiteral("session"), QStringLiteral("s%1").arg(i)}});
    }
    const QJsonObject error = admin.waitFor(
            [](const QJsonObject &o) { return o.contains(QLatin1String("error")); });
    QCOMPARE(error[QLatin1String("error")][QLatin1String("code")].toString(),
             QStringLiteral("rate_limited"));
    QTRY_VERIFY(admin.disconnected);
    QCOMPARE(admin.closeCode, 1008);
    // The first ones were answered: a burst of up to the rate is allowed.
    QVERIFY(admin.ofType(QStringLiteral("clients")).size() >= 10);
}

void tst_PushAdminStream::upgradeNeedsAnAdminToken_data()
{
    QTest::addColumn<int>("scopes"); // 0: no token
    QTest::addColumn<QByteArray>("status");
    QTest::addRow("no token") << 0 << QByteArray("HTTP/1.1 401");
    QTest::addRow("subscribe and push")
            << int(PushToken::Subscribe | PushToken::Push) << QByteArray("HTTP/1.1 403");
    QTest::addRow("admin") << int(PushToken::Admin) << QByteArray("HTTP/1.1 101");
}

void tst_PushAdminStream::upgradeNeedsAnAdminToken()
{
    QFETCH(int, scopes);
    QFETCH(QByteArray, status);
    const QByteArray secret("a test secret of at least 32 bytes");
    m_server->setSecret(secret);
    QByteArray headers;
    if (scopes) {
        PushToken claims;
        claims.session = QStringLiteral("ops");
        claims.scopes = PushToken::Scopes(scopes);
        headers = "Authorization: Bearer " + claims.sign(secret) + "\r\n";
    }
    QVERIFY2(upgradeStatus(headers).startsWith(status), status.constData());
}

void tst_PushAdminStream::congestedStreamCatchesUpWithASnapshot()
{
    // A tool that reads nothing while 20,000 sessions are made: what it would be told is far
    // more than the kernel's buffers and the stream's 256 KiB.
    QTcpSocket tool;
    tool.setSocketOption(QAbstractSocket::ReceiveBufferSizeSocketOption, 4096);
    tool.setReadBufferSize(4096); // Qt stops reading from the kernel when this is full
    tool.connectToHost(QHostAddress::LocalHost, m_server->serverPort());
    QVERIFY(tool.waitForConnected(10000));
    tool.write("GET /v1/admin/events HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n");
    QTRY_VERIFY(tool.bytesAvailable() > 0);
    constexpr int sessions = 20000;
    const QString padding(200, QLatin1Char('p')); // long ids make big events
    for (int i = 0; i < sessions; ++i)
        m_registry->session(QStringLiteral("%1-%2").arg(i, 5, 10, QLatin1Char('0')).arg(padding));
    // The registry's signals reach the server queued: deliver them all now, so that every
    // sessionAdded event has been offered to the stream (which congests on the way) before the
    // tool starts reading. No wait for ticks: the catch-up snapshot comes at whichever tick
    // finds the stream drained, however late.
    QCoreApplication::sendPostedEvents();

    tool.setReadBufferSize(0);
    QByteArray bytes;
    QList<QJsonObject> frames;
    QDeadlineTimer deadline(60000);
    int snapshots = 0;
    bool upgraded = false;
    while (!deadline.hasExpired()) {
        QTest::qWait(20);
        bytes.append(tool.readAll());
        if (!upgraded && bytes.contains("\r\n\r\n")) {
            QVERIFY(bytes.startsWith("HTTP/1.1 101"));
            bytes.remove(0, bytes.indexOf("\r\n\r\n") + 4);
            upgraded = true;
        }
        if (upgraded) {
            for (const QByteArray &payload : takeServerFrames(&bytes))
                frames.append(QJsonDocument::fromJson(payload).object());
        }
        snapshots = 0;
        for (const QJsonObject &frame : std::as_const(frames))
            snapshots += frame[QLatin1String("type")] == QLatin1String("snapshot");
        if (snapshots >= 2
            && frames.last()[QLatin1String("type")] == QLatin1String("tick"))
            break;
    }
    QVERIFY2(snapshots >= 2, "no second snapshot after the congestion");
    int added = 0;
    QJsonObject last;
    for (const QJsonObject &frame : std::as_const(frames)) {
        added += frame[QLatin1String("type")] == QLatin1String("sessionAdded");
        if (frame[QLatin1String("type")] == QLatin1String("snapshot"))
            last = frame;
    }
    qInfo() << "sessionAdded events received:" << added << "of" << sessions;
    QVERIFY2(added < sessions, "nothing was dropped: the test did not congest the stream");
    // What was dropped is made good by the snapshot: every session is in it.
    QCOMPARE(last[QLatin1String("sessions")].toArray().size(), sessions);
    QCOMPARE(last[QLatin1String("server")][QLatin1String("sessions")].toInt(), sessions);
}

void tst_PushAdminStream::shutdownClosesTheStreamWith1001()
{
    AdminClient admin;
    QVERIFY(admin.open(adminUrl()));
    QVERIFY(!admin.waitForType(QStringLiteral("snapshot")).isEmpty());
    m_server->shutdown();
    QTRY_VERIFY(admin.disconnected);
    QCOMPARE(admin.closeCode, 1001);
}

QTEST_MAIN(tst_PushAdminStream)
#include "tst_pushadminstream.moc"
