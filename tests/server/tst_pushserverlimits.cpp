// SPDX-License-Identifier: MIT
// PushServer's memory budget and session limit (docs/server.md: Limits), and the resumption
// headers it must ignore rather than refuse (protocol.md: since and Last-Event-ID).
#include <QtPush/pushclient.h>
#include <QtPush/pushregistry.h>
#include <QtPush/pushserver.h>
#include <QtPush/pushsession.h>

#include "serverfixture.h"

#include <QtTest/QtTest>

namespace {

//! A 64 KiB push body of many small JSON values: [{},{},...]. Decoded, it is many times larger.
QByteArray emptyObjects(int bytes = 64 * 1024)
{
    QByteArray body = "[{}";
    while (body.size() + 4 <= bytes)
        body += ",{}";
    return body + ']';
}

//! The value of a metric without labels, from /metrics.
qint64 metric(const QByteArray &text, const QByteArray &name)
{
    const QList<QByteArray> lines = text.split('\n');
    for (const QByteArray &line : lines) {
        if (line.startsWith(QByteArray(name + ' ')))
            return line.mid(name.size() + 1).toLongLong();
    }
    return -1;
}

} // namespace

class tst_PushServerLimits : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void lastEventIdThatIsNotANumberIsIgnored_data();
    void lastEventIdThatIsNotANumberIsIgnored();
    void sinceThatIsNotANumberIsStillRefused();
    void pushesAreCountedAsDecoded();
    void retainedBudgetTrimsTheLargestSessionFirst();
    void resumingFromTrimmedHistoryGetsAGap();
    void liveSubscriberGetsEveryAcknowledgedPush();
    void clientBufferIsBoundedInBytes();
    void newSessionPastTheLimitIsRefused();
    void settingsRefuseNegativeValues();

private:
    QUrl url(const QString &path) const
    {
        return QUrl(QStringLiteral("http://127.0.0.1:%1%2").arg(m_server->serverPort()).arg(path));
    }
    QUrl wsUrl(const QString &path) const
    {
        return QUrl(QStringLiteral("ws://127.0.0.1:%1%2").arg(m_server->serverPort()).arg(path));
    }
    HttpReply get(const QString &path) { return httpRequest(m_manager, "GET", url(path)); }
    HttpReply post(const QString &path, const QByteArray &body)
    {
        return httpRequest(m_manager, "POST", url(path), body);
    }
    qint64 retainedBytes()
    {
        return metric(get(QStringLiteral("/metrics")).body, "qtpush_retained_bytes");
    }

    std::unique_ptr<PushRegistry> m_registry;
    std::unique_ptr<PushServer> m_server;
    QNetworkAccessManager m_manager;
};

void tst_PushServerLimits::init()
{
    m_registry = std::make_unique<PushRegistry>();
    m_server = std::make_unique<PushServer>(m_registry.get());
    QVERIFY(m_server->listen(QHostAddress::LocalHost, 0));
    m_manager.clearConnectionCache();
}

void tst_PushServerLimits::cleanup()
{
    m_server.reset();
    m_registry.reset();
}

void tst_PushServerLimits::lastEventIdThatIsNotANumberIsIgnored_data()
{
    QTest::addColumn<QByteArray>("query");
    QTest::addColumn<QByteArray>("header");
    QTest::addColumn<QList<int>>("ids");
    // Without since a new client starts with the next push; with it, since applies.
    QTest::addRow("letters") << QByteArray() << QByteArray("abc") << QList<int>{4};
    QTest::addRow("letters, since applies")
            << QByteArray("?since=1") << QByteArray("abc") << QList<int>{2, 3, 4};
    QTest::addRow("negative") << QByteArray("?since=2") << QByteArray("-1") << QList<int>{3, 4};
    QTest::addRow("number and letters") << QByteArray() << QByteArray("3x") << QList<int>{4};
    QTest::addRow("a number still wins")
            << QByteArray("?since=1") << QByteArray(" 2 ") << QList<int>{3, 4};
}

void tst_PushServerLimits::lastEventIdThatIsNotANumberIsIgnored()
{
    QFETCH(QByteArray, query);
    QFETCH(QByteArray, header);
    QFETCH(QList<int>, ids);
    for (int i = 1; i <= 3; ++i)
        QCOMPARE(post(QStringLiteral("/v1/sessions/s/push"), QByteArray::number(i)).status, 200);
    EventStreamClient sse;
    QVERIFY(sse.open(m_server->serverPort(), "/v1/sessions/s/clients/e/events" + query,
                     "Last-Event-ID: " + header + "\r\n"));
    QTRY_VERIFY(sse.received.contains("event: hello"));
    QVERIFY(sse.received.startsWith("HTTP/1.1 200 OK\r\n"));
    QCOMPARE(post(QStringLiteral("/v1/sessions/s/push"), "4").status, 200);
    QTRY_COMPARE(sse.messages().size(), ids.size());
    for (qsizetype i = 0; i < ids.size(); ++i)
        QCOMPARE(sse.messages().at(i)[QLatin1String("id")].toInt(), ids.at(i));
}

void tst_PushServerLimits::sinceThatIsNotANumberIsStillRefused()
{
    const HttpReply reply = get(QStringLiteral("/v1/sessions/s/clients/p/pull?wait=0&since=abc"));
    QCOMPARE(reply.status, 400);
    QCOMPARE(reply.errorCode(), QStringLiteral("bad_request"));
}

void tst_PushServerLimits::pushesAreCountedAsDecoded()
{
    const QByteArray body = emptyObjects();
    QCOMPARE(post(QStringLiteral("/v1/sessions/s/push"), body).status, 200);
    // Each {} is a whole QVariant in memory: 3 bytes of JSON, 32 bytes or more decoded.
    QVERIFY2(retainedBytes() > 8 * body.size(), QByteArray::number(retainedBytes()));
}

void tst_PushServerLimits::retainedBudgetTrimsTheLargestSessionFirst()
{
    const qint64 budget = 4 * 1024 * 1024;
    m_server->setMaxRetainedBytes(budget);
    for (int i = 1; i <= 5; ++i)
        QCOMPARE(post(QStringLiteral("/v1/sessions/quiet/push"), QByteArray::number(i)).status,
                 200);
    const QByteArray body = emptyObjects();
    for (int i = 0; i < 40; ++i) // about 28 MiB as decoded
        QCOMPARE(post(QStringLiteral("/v1/sessions/loud/push"), body).status, 200);
    QVERIFY2(retainedBytes() <= budget, QByteArray::number(retainedBytes()));
    // The small session keeps all its history; the loud one lost its oldest.
    QCOMPARE(m_registry->findSession(QStringLiteral("quiet"))->messagesAfter(0).size(), 5);
    const QList<PushSession::Message> loud
            = m_registry->findSession(QStringLiteral("loud"))->messagesAfter(0);
    QVERIFY(!loud.isEmpty());
    QVERIFY(loud.size() < 40);
    QCOMPARE(loud.last().id, 40u);
}

void tst_PushServerLimits::resumingFromTrimmedHistoryGetsAGap()
{
    m_server->setMaxRetainedBytes(2 * 1024 * 1024);
    const QByteArray body = emptyObjects();
    for (int i = 0; i < 20; ++i)
        QCOMPARE(post(QStringLiteral("/v1/sessions/s/push"), body).status, 200);
    const quint64 oldest
            = m_registry->findSession(QStringLiteral("s"))->messagesAfter(0).first().id;
    QVERIFY(oldest > 1);
    const QJsonArray reply
            = get(QStringLiteral("/v1/sessions/s/clients/p/pull?wait=0&since=0")).json().toArray();
    QVERIFY(!reply.isEmpty());
    QCOMPARE(reply.at(0).toObject(),
             (QJsonObject{{QStringLiteral("type"), QStringLiteral("gap")},
                          {QStringLiteral("from"), 1},
                          {QStringLiteral("to"), int(oldest - 1)}}));
    QCOMPARE(reply.size(), 1 + 20 - int(oldest - 1));
    QCOMPARE(reply.last()[QLatin1String("id")].toInt(), 20);
}

void tst_PushServerLimits::liveSubscriberGetsEveryAcknowledgedPush()
{
    // Trimming history never touches what is on its way to a client: an in-process subscriber
    // gets every push that was answered 200, in order, however much the budget trims.
    m_server->setMaxRetainedBytes(1024 * 1024);
    QCOMPARE(post(QStringLiteral("/v1/sessions/s/push"), "0").status, 200); // made by the server
    PushClient *client
            = m_registry->findSession(QStringLiteral("s"))->newClient(QStringLiteral("c"));
    QList<quint64> ids;
    connect(client, &PushClient::messageReceived, this,
            [&ids, client] { ids.append(client->lastMessageId()); });
    const QByteArray body = emptyObjects();
    QList<quint64> acknowledged;
    for (int i = 0; i < 12; ++i) {
        const HttpReply reply = post(QStringLiteral("/v1/sessions/s/push"), body);
        QCOMPARE(reply.status, 200);
        acknowledged.append(quint64(reply.json()[QLatin1String("id")].toInteger()));
    }
    QTRY_COMPARE(ids, acknowledged);
}

void tst_PushServerLimits::clientBufferIsBoundedInBytes()
{
    const QByteArray body = emptyObjects();
    m_server->setClientBufferBytes(2 * 1024 * 1024); // about three such bodies
    QCOMPARE(get(QStringLiteral("/v1/sessions/s/clients/p/pull?wait=0")).body, QByteArray("[]"));
    for (int i = 0; i < 10; ++i)
        QCOMPARE(post(QStringLiteral("/v1/sessions/s/push"), body).status, 200);
    PushClient *client
            = m_registry->findSession(QStringLiteral("s"))->findClient(QStringLiteral("p"));
    QVERIFY(client);
    const int pending = client->pending();
    QVERIFY2(pending >= 1 && pending < 10, QByteArray::number(pending));
    const QJsonArray reply
            = get(QStringLiteral("/v1/sessions/s/clients/p/pull?wait=0")).json().toArray();
    QCOMPARE(reply.size(), 1 + pending);
    QCOMPARE(reply.at(0).toObject(),
             (QJsonObject{{QStringLiteral("type"), QStringLiteral("gap")},
                          {QStringLiteral("from"), 1},
                          {QStringLiteral("to"), 10 - pending}}));
    QCOMPARE(reply.last()[QLatin1String("id")].toInt(), 10);
}

void tst_PushServerLimits::newSessionPastTheLimitIsRefused()
{
    m_server->setMaxSessions(2);
    QCOMPARE(post(QStringLiteral("/v1/sessions/a/push"), "1").status, 200);
    QCOMPARE(get(QStringLiteral("/v1/sessions/b/clients/c/pull?wait=0")).status, 200);
    const QStringList refusedPaths = {QStringLiteral("/v1/sessions/c/clients/c/pull?wait=0"),
                                      QStringLiteral("/v1/sessions/c/clients/c/events")};
    for (const QString &path : refusedPaths) {
        const HttpReply refused = get(path);
        QCOMPARE(refused.status, 503);
        QCOMPARE(refused.errorCode(), QStringLiteral("unavailable"));
    }
    const HttpReply refused = post(QStringLiteral("/v1/sessions/c/push"), "1");
    QCOMPARE(refused.status, 503);
    QCOMPARE(refused.errorCode(), QStringLiteral("unavailable"));
    QVERIFY(refused.json()[QLatin1String("error")][QLatin1String("message")].toString().contains(
            QStringLiteral("2 sessions")));
    // A WebSocket is refused before the upgrade, with the same answer.
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, m_server->serverPort());
    QVERIFY(socket.waitForConnected(5000));
    socket.write("GET /v1/sessions/c/clients/w/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                 "Sec-WebSocket-Version: 13\r\n\r\n");
    QByteArray answer;
    QTRY_VERIFY((answer += socket.readAll()).contains("\"code\":\"unavailable\""));
    QVERIFY(answer.startsWith("HTTP/1.1 503 "));
    QVERIFY(!m_registry->exists(QStringLiteral("c")));
    // Existing sessions stay usable, and a freed slot can be taken.
    QCOMPARE(post(QStringLiteral("/v1/sessions/a/push"), "2").status, 200);
    m_registry->deleteSession(QStringLiteral("a"));
    QTRY_COMPARE(m_registry->count(), 1);
    QCOMPARE(post(QStringLiteral("/v1/sessions/c/push"), "1").status, 200);
}

void tst_PushServerLimits::settingsRefuseNegativeValues()
{
    m_server->setMaxRetainedBytes(-1);
    m_server->setClientBufferBytes(-5);
    m_server->setMaxSessions(-3);
    QCOMPARE(m_server->maxRetainedBytes(), 0);
    QCOMPARE(m_server->clientBufferBytes(), 0);
    QCOMPARE(m_server->maxSessions(), 0);
    m_server->setMaxSessions(7);
    QCOMPARE(m_server->maxSessions(), 7);
}

QTEST_MAIN(tst_PushServerLimits)
#include "tst_pushserverlimits.moc"
