// SPDX-License-Identifier: MIT
#include <QtPush/pushclient.h>
#include <QtPush/pushregistry.h>
#include <QtPush/pushserver.h>
#include <QtPush/pushsession.h>
#include <QtPush/pushtoken.h>

#include "serverfixture.h"

#include <QtCore/QFile>
#include <QtCore/QRegularExpression>
#include <QtNetwork/QSslConfiguration>
#include <QtNetwork/QSslKey>
#include <QtCore/QThread>
#include <QtTest/QtTest>

class tst_PushServer : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void listensOnAFreeLoopbackPort();
    void refusesARemoteAddressWithoutASecret();
    void healthzAndMetricsAnswer();
    void unknownPathsAndMethodsAreRefused_data();
    void unknownPathsAndMethodsAreRefused();
    void pushTakesJsonOrText_data();
    void pushTakesJsonOrText();
    void badBodiesAreRefused_data();
    void badBodiesAreRefused();
    void oneHttpPushReachesEveryTransportOnce();
    void inProcessAndNetworkPushesReachEachOther();
    void webSocketResumesWithSince();
    void streamsStartWithAHelloNamingTheEpoch();
    void sessionMadeAgainNeverGetsTheOldSessionsFrames();
    void resumingFromAnotherEpochStartsAfresh_data();
    void resumingFromAnotherEpochStartsAfresh();
    void pagesFromElsewhereNeedASecretServer();
    void webSocketPushIsLimitedByItsData();
    void eventStreamResumesFromLastEventId();
    void longPollWaitsThenAnswersEmpty();
    void overflowedClientIsToldOfTheGap();
    void burstPastTheHighWaterMarkIsAllDelivered();
    void listingShowsSessionsClientsAndTransports();
    void disconnectedClientIsRemovedAfterItsGracePeriod();
    void deletingAClientClosesItsConnection();
    void oversizeWebSocketFrameClosesWith1009();
    void malformedWebSocketFrameGetsAnErrorThenClose();
    void requestSentOneByteAtATimeIsServed();
    void tooManyClientsInASessionAreRefused();
    void tooManyConnectionsAreRefused();
    void pushRateIsLimitedPerConnection();
    void pushRateUnderOnePerSecondAllowsOnePush();
    void authorization_data();
    void authorization();
    void shutdownClosesWebSocketsAndAnswersPolls();
    void servesHttpsAndWss();
    void tlsWithoutAKeyIsATlsError();
    void silentWebSocketIsDroppedAnsweringOneStays();

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
    HttpReply post(const QString &path, const QByteArray &body,
                   const QByteArray &type = QByteArrayLiteral("application/json"))
    {
        return httpRequest(m_manager, "POST", url(path), body, type);
    }
    //! \a count pushes of 1 to session s, pipelined on one keep-alive connection; the answers,
    //! once all \a count have come (or what came within 30 s).
    QByteArray pipelinedPushes(int count)
    {
        QTcpSocket socket;
        socket.connectToHost(QHostAddress::LocalHost, m_server->serverPort());
        if (!socket.waitForConnected(5000))
            return {};
        const QByteArray request = "POST /v1/sessions/s/push HTTP/1.1\r\nHost: x\r\n"
                                   "Content-Type: application/json\r\nContent-Length: 1\r\n\r\n1";
        socket.write(request.repeated(count));
        QByteArray answers;
        const auto allCame = [&] {
            return (answers += socket.readAll()).count("HTTP/1.1 ") == count;
        };
        (void)QTest::qWaitFor(allCame, 30000); // the caller compares the count
        return answers;
    }

    std::unique_ptr<PushRegistry> m_registry;
    std::unique_ptr<PushServer> m_server;
    QNetworkAccessManager m_manager;
};

void tst_PushServer::init()
{
    m_registry = std::make_unique<PushRegistry>();
    m_server = std::make_unique<PushServer>(m_registry.get());
    QVERIFY(m_server->listen(QHostAddress::LocalHost, 0));
    m_manager.clearConnectionCache();
}

void tst_PushServer::cleanup()
{
    m_server.reset();
    m_registry.reset();
}

void tst_PushServer::listensOnAFreeLoopbackPort()
{
    QVERIFY(m_server->isListening());
    QVERIFY(m_server->serverPort() != 0);
    QCOMPARE(m_server->serverAddress(), QHostAddress(QHostAddress::LocalHost));
}

void tst_PushServer::refusesARemoteAddressWithoutASecret()
{
    PushServer server(m_registry.get());
    QSignalSpy errors(&server, &PushServer::errorOccurred);
    // Reported once, by error() and errorString(): the caller prints it, the server logs nothing.
    QTest::failOnWarning(QRegularExpression(QStringLiteral(".*")));
    QVERIFY(!server.listen(QHostAddress::Any, 0));
    QCOMPARE(server.error(), PushServer::ListenError);
    QCOMPARE(errors.size(), 1);
    QVERIFY(server.errorString().contains(QStringLiteral("secret")));
}

void tst_PushServer::healthzAndMetricsAnswer()
{
    QCOMPARE(get(QStringLiteral("/healthz")).status, 200);
    QCOMPARE(post(QStringLiteral("/v1/sessions/s/push"), "1").status, 200);
    const HttpReply metrics = get(QStringLiteral("/metrics"));
    QCOMPARE(metrics.status, 200);
    QVERIFY(metrics.header("Content-Type").startsWith("text/plain; version=0.0.4"));
    QVERIFY(metrics.body.contains("# TYPE qtpush_pushes_total counter\nqtpush_pushes_total 1\n"));
    QVERIFY(metrics.body.contains("qtpush_sessions 1\n"));
}

void tst_PushServer::unknownPathsAndMethodsAreRefused_data()
{
    QTest::addColumn<QByteArray>("method");
    QTest::addColumn<QString>("path");
    QTest::addColumn<int>("status");
    QTest::addColumn<QString>("code");
    QTest::addRow("unknown path") << QByteArray("GET") << QStringLiteral("/nope") << 404
                                  << QStringLiteral("not_found");
    QTest::addRow("too deep") << QByteArray("GET")
                              << QStringLiteral("/v1/sessions/s/clients/c/ws/x") << 404
                              << QStringLiteral("not_found");
    QTest::addRow("GET push") << QByteArray("GET") << QStringLiteral("/v1/sessions/s/push") << 405
                              << QStringLiteral("method_not_allowed");
    QTest::addRow("POST list") << QByteArray("POST") << QStringLiteral("/v1/sessions") << 405
                               << QStringLiteral("method_not_allowed");
    QTest::addRow("ws without upgrade")
            << QByteArray("GET") << QStringLiteral("/v1/sessions/s/clients/c/ws") << 400
            << QStringLiteral("bad_request");
    QTest::addRow("id too long")
            << QByteArray("GET")
            << QStringLiteral("/v1/sessions/%1/clients/c/pull?wait=0").arg(QString(257, u'x'))
            << 400 << QStringLiteral("bad_request");
    QTest::addRow("id not UTF-8") << QByteArray("GET")
                                  << QStringLiteral("/v1/sessions/%FF/clients/c/pull?wait=0") << 400
                                  << QStringLiteral("bad_request");
    QTest::addRow("bad since") << QByteArray("GET")
                               << QStringLiteral("/v1/sessions/s/clients/c/pull?since=x") << 400
                               << QStringLiteral("bad_request");
    QTest::addRow("bad wait") << QByteArray("GET")
                              << QStringLiteral("/v1/sessions/s/clients/c/pull?wait=-1") << 400
                              << QStringLiteral("bad_request");
}

void tst_PushServer::unknownPathsAndMethodsAreRefused()
{
    QFETCH(QByteArray, method);
    QFETCH(QString, path);
    QFETCH(int, status);
    QFETCH(QString, code);
    const HttpReply reply = httpRequest(m_manager, method, url(path));
    QCOMPARE(reply.status, status);
    QCOMPARE(reply.errorCode(), code);
    QVERIFY(!reply.json()[QLatin1String("error")][QLatin1String("message")].toString().isEmpty());
    if (status == 405)
        QVERIFY(!reply.header("Allow").isEmpty());
}

void tst_PushServer::pushTakesJsonOrText_data()
{
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<QByteArray>("type");
    QTest::addColumn<QVariant>("expected");
    QTest::addRow("object") << QByteArray(R"({"a":[1,2]})") << QByteArray("application/json")
                            << QVariant(QVariantMap{{QStringLiteral("a"), QVariantList{1.0, 2.0}}});
    QTest::addRow("number") << QByteArray("42") << QByteArray("application/json") << QVariant(42.0);
    QTest::addRow("string") << QByteArray(R"("hi")") << QByteArray("application/json")
                            << QVariant(QStringLiteral("hi"));
    QTest::addRow("null") << QByteArray("null") << QByteArray("application/json")
                          << QVariant::fromValue(nullptr);
    QTest::addRow("text") << QByteArray("héllo {") << QByteArray("text/plain; charset=utf-8")
                          << QVariant(QStringLiteral("héllo {"));
    // RFC 8259 §8.1, RFC 3629 §6: a byte order mark in front is a signature, not data.
    QTest::addRow("JSON after a byte order mark")
            << QByteArray("\xEF\xBB\xBF[1]") << QByteArray("application/json")
            << QVariant(QVariantList{1.0});
    QTest::addRow("text after a byte order mark") << QByteArray("\xEF\xBB\xBFhi")
                                                  << QByteArray("text/plain")
                                                  << QVariant(QStringLiteral("hi"));
}

void tst_PushServer::pushTakesJsonOrText()
{
    QFETCH(QByteArray, body);
    QFETCH(QByteArray, type);
    QFETCH(QVariant, expected);
    PushClient *local
            = m_registry->session(QStringLiteral("s"))->newClient(QStringLiteral("local"));
    const HttpReply reply = post(QStringLiteral("/v1/sessions/s/push"), body, type);
    QCOMPARE(reply.status, 200);
    QCOMPARE(reply.json()[QLatin1String("id")].toInt(), 1);
    QCOMPARE(reply.json()[QLatin1String("clients")].toInt(), 1);
    QVariant received;
    QVERIFY(local->tryPull(&received));
    QCOMPARE(received, expected);
}

void tst_PushServer::badBodiesAreRefused_data()
{
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<QByteArray>("type");
    QTest::addColumn<int>("status");
    QTest::addRow("malformed JSON")
            << QByteArray("{\"a\":") << QByteArray("application/json") << 400;
    QTest::addRow("two values") << QByteArray("1 2") << QByteArray("application/json") << 400;
    QTest::addRow("invalid UTF-8 JSON")
            << QByteArray("\"\xff\xfe\"") << QByteArray("application/json") << 400;
    QTest::addRow("invalid UTF-8 text")
            << QByteArray("\xc3\x28") << QByteArray("text/plain") << 400;
    QTest::addRow("oversize") << QByteArray(64 * 1024 + 1, 'x') << QByteArray("text/plain") << 413;
}

void tst_PushServer::badBodiesAreRefused()
{
    QFETCH(QByteArray, body);
    QFETCH(QByteArray, type);
    QFETCH(int, status);
    WebSocketClient bystander;
    QVERIFY(bystander.open(wsUrl(QStringLiteral("/v1/sessions/s/clients/b/ws"))));
    const HttpReply reply = post(QStringLiteral("/v1/sessions/s/push"), body, type);
    QCOMPARE(reply.status, status);
    QVERIFY(!reply.errorCode().isEmpty());
    // The server is still up and the other client still served.
    QCOMPARE(post(QStringLiteral("/v1/sessions/s/push"), "1").status, 200);
    QTRY_COMPARE(bystander.frames.size(), 1);
}

void tst_PushServer::oneHttpPushReachesEveryTransportOnce()
{
    PushClient *local
            = m_registry->session(QStringLiteral("s"))->newClient(QStringLiteral("local"));
    QVariantList localMessages;
    connect(local, &PushClient::messageReceived, this,
            [&localMessages](const QVariant &m) { localMessages.append(m); });
    WebSocketClient ws;
    QVERIFY(ws.open(wsUrl(QStringLiteral("/v1/sessions/s/clients/w/ws"))));
    EventStreamClient sse;
    QVERIFY(sse.open(m_server->serverPort(), "/v1/sessions/s/clients/e/events"));
    QTRY_COMPARE(m_registry->session(QStringLiteral("s"))->count(), 3);
    QNetworkRequest pollRequest(url(QStringLiteral("/v1/sessions/s/clients/p/pull?wait=10")));
    std::unique_ptr<QNetworkReply> poll(m_manager.get(pollRequest));
    QTRY_COMPARE(m_registry->session(QStringLiteral("s"))->count(), 4);

    const HttpReply pushed = post(QStringLiteral("/v1/sessions/s/push"), R"({"n":1})");
    QCOMPARE(pushed.status, 200);
    QCOMPARE(pushed.json()[QLatin1String("clients")].toInt(), 4);

    QTRY_VERIFY(poll->isFinished());
    const QJsonArray polled = QJsonDocument::fromJson(poll->readAll()).array();
    QCOMPARE(polled.size(), 1);
    QCOMPARE(polled.at(0)[QLatin1String("data")][QLatin1String("n")].toInt(), 1);
    QTRY_COMPARE(ws.frames.size(), 1);
    QTRY_COMPARE(sse.messages().size(), 1);
    QTRY_COMPARE(localMessages.size(), 1);
    const QJsonObject frame = ws.frame(0);
    QCOMPARE(frame[QLatin1String("id")].toInt(), 1);
    QCOMPARE(frame[QLatin1String("session")].toString(), QStringLiteral("s"));
    QCOMPARE(frame[QLatin1String("data")][QLatin1String("n")].toInt(), 1);
    QCOMPARE(sse.messages().first(), frame);
    QVERIFY(sse.received.contains("id: 1\n"));

    // A second push: each receives exactly one more, no repeats.
    QCOMPARE(post(QStringLiteral("/v1/sessions/s/push"), R"({"n":2})").status, 200);
    QTRY_COMPARE(ws.frames.size(), 2);
    QTRY_COMPARE(sse.messages().size(), 2);
    QTRY_COMPARE(localMessages.size(), 2);
    const HttpReply next = get(QStringLiteral("/v1/sessions/s/clients/p/pull?wait=0"));
    QCOMPARE(next.json().toArray().size(), 1);
    QCOMPARE(next.json()[0][QLatin1String("id")].toInt(), 2);
}

void tst_PushServer::inProcessAndNetworkPushesReachEachOther()
{
    PushSession *session = m_registry->session(QStringLiteral("room"));
    PushClient *local = session->newClient(QStringLiteral("app"));
    QVariantList received;
    connect(local, &PushClient::messageReceived, this,
            [&received](const QVariant &m) { received.append(m); });
    WebSocketClient ws;
    QVERIFY(ws.open(wsUrl(QStringLiteral("/v1/sessions/room/clients/w/ws"))));
    QTRY_COMPARE(session->count(), 2);

    session->push(QVariantMap{{QStringLiteral("from"), QStringLiteral("app")}});
    QTRY_COMPARE(ws.frames.size(), 1);
    QCOMPARE(ws.frame(0)[QLatin1String("data")][QLatin1String("from")].toString(),
             QStringLiteral("app"));

    ws.socket.sendTextMessage(QStringLiteral(R"({"op":"push","data":{"from":"ws"}})"));
    QTRY_COMPARE(received.size(), 2);
    QCOMPARE(received.at(1).toMap().value(QStringLiteral("from")).toString(), QStringLiteral("ws"));
    QTRY_COMPARE(ws.frames.size(), 2); // the sender receives its own push too
}

void tst_PushServer::webSocketResumesWithSince()
{
    for (int i = 1; i <= 5; ++i)
        QCOMPARE(post(QStringLiteral("/v1/sessions/s/push"), QByteArray::number(i)).status, 200);
    WebSocketClient ws;
    QVERIFY(ws.open(wsUrl(QStringLiteral("/v1/sessions/s/clients/late/ws?since=2"))));
    QTRY_COMPARE(ws.frames.size(), 3);
    for (int i = 0; i < 3; ++i)
        QCOMPARE(ws.frame(i)[QLatin1String("id")].toInt(), i + 3);
    QCOMPARE(post(QStringLiteral("/v1/sessions/s/push"), "6").status, 200);
    QTRY_COMPARE(ws.frames.size(), 4);
    QCOMPARE(ws.frame(3)[QLatin1String("id")].toInt(), 6);

    // Reconnecting after a drop with since= gets exactly what it missed, once.
    ws.socket.abort();
    QCOMPARE(post(QStringLiteral("/v1/sessions/s/push"), "7").status, 200);
    QCOMPARE(post(QStringLiteral("/v1/sessions/s/push"), "8").status, 200);
    WebSocketClient again;
    QVERIFY(again.open(wsUrl(QStringLiteral("/v1/sessions/s/clients/late/ws?since=6"))));
    QTRY_COMPARE(again.frames.size(), 2);
    QCOMPARE(again.frame(0)[QLatin1String("id")].toInt(), 7);
    QCOMPARE(again.frame(1)[QLatin1String("id")].toInt(), 8);
}

void tst_PushServer::streamsStartWithAHelloNamingTheEpoch()
{
    QCOMPARE(post(QStringLiteral("/v1/sessions/s/push"), "1").status, 200);
    PushSession *session = m_registry->session(QStringLiteral("s"));
    const QString epoch = QStringLiteral("%1").arg(session->epoch(), 16, 16, QLatin1Char('0'));
    WebSocketClient ws;
    QVERIFY(ws.open(wsUrl(QStringLiteral("/v1/sessions/s/clients/w/ws"))));
    QTRY_COMPARE(ws.hellos.size(), 1);
    QCOMPARE(ws.hellos.first(),
             (QJsonObject{{QStringLiteral("type"), QStringLiteral("hello")},
                          {QStringLiteral("session"), QStringLiteral("s")},
                          {QStringLiteral("epoch"), epoch},
                          {QStringLiteral("lastId"), 1}}));
    EventStreamClient sse;
    QVERIFY(sse.open(m_server->serverPort(), "/v1/sessions/s/clients/e/events"));
    QTRY_VERIFY(sse.received.contains("event: hello\ndata: {\"type\":\"hello\""));
    QVERIFY(sse.received.contains(epoch.toLatin1()));

    // A session made again counts from 1 under another epoch.
    session->deleteSelf();
    QTRY_VERIFY(!m_registry->exists(QStringLiteral("s")));
    QVERIFY(m_registry->session(QStringLiteral("s"))->epoch() != epoch.toULongLong(nullptr, 16));
}

void tst_PushServer::resumingFromAnotherEpochStartsAfresh_data()
{
    QTest::addColumn<QString>("query");
    QTest::addRow("since beyond the newest") << QStringLiteral("since=500");
    QTest::addRow("since of another epoch") << QStringLiteral("since=2&epoch=00000000deadbeef");
}

void tst_PushServer::resumingFromAnotherEpochStartsAfresh()
{
    QFETCH(QString, query);
    for (int i = 1; i <= 3; ++i)
        QCOMPARE(post(QStringLiteral("/v1/sessions/s/push"), QByteArray::number(i)).status, 200);
    WebSocketClient ws;
    QVERIFY(ws.open(wsUrl(QStringLiteral("/v1/sessions/s/clients/w/ws?") + query)));
    QTRY_COMPARE(ws.frames.size(), 3); // everything this epoch retains
    QCOMPARE(ws.frame(0)[QLatin1String("id")].toInt(), 1);
    QCOMPARE(ws.frame(2)[QLatin1String("id")].toInt(), 3);
}

void tst_PushServer::pagesFromElsewhereNeedASecretServer()
{
    const QList<std::pair<QByteArray, QByteArray>> elsewhere{
            {QByteArrayLiteral("Origin"), QByteArrayLiteral("http://pages.example")}};
    const QList<std::pair<QByteArray, QByteArray>> local{
            {QByteArrayLiteral("Origin"), QByteArrayLiteral("http://localhost:3000")}};
    const QUrl push = url(QStringLiteral("/v1/sessions/s/push"));
    const HttpReply refused
            = httpRequest(m_manager, "POST", push, "1", "application/json", elsewhere);
    QCOMPARE(refused.status, 403);
    QCOMPARE(refused.errorCode(), QStringLiteral("forbidden"));
    const HttpReply fromLoopback
            = httpRequest(m_manager, "POST", push, "1", "application/json", local);
    QCOMPARE(fromLoopback.status, 200);
    QCOMPARE(fromLoopback.header("Access-Control-Allow-Origin"), QByteArray("*"));

    // With a secret, the token decides, whatever the page's origin.
    const QByteArray secret("a test secret of at least 32 bytes");
    m_server->setSecret(secret);
    PushToken token;
    token.session = QStringLiteral("s");
    token.scopes = PushToken::Push;
    QList<std::pair<QByteArray, QByteArray>> withToken = elsewhere;
    withToken.append({QByteArrayLiteral("Authorization"), "Bearer " + token.sign(secret)});
    QCOMPARE(httpRequest(m_manager, "POST", push, "1", "application/json", withToken).status, 200);
}

void tst_PushServer::webSocketPushIsLimitedByItsData()
{
    m_server->setMaxMessageBytes(100);
    WebSocketClient ws;
    QVERIFY(ws.open(wsUrl(QStringLiteral("/v1/sessions/s/clients/w/ws"))));
    // 98 bytes of data (a 96-character string) in a 119-byte frame: accepted, as over HTTP.
    ws.socket.sendTextMessage(
            QStringLiteral(R"({"op":"push","data":"%1"})").arg(QString(96, u'x')));
    QTRY_COMPARE(ws.frames.size(), 1);
    ws.socket.sendTextMessage(
            QStringLiteral(R"({"op":"push","data":"%1"})").arg(QString(120, u'x')));
    QTRY_VERIFY(ws.disconnected);
    QCOMPARE(ws.closeCode, int(QWebSocketProtocol::CloseCodeTooMuchData));
    QCOMPARE(ws.frame(1)[QLatin1String("error")][QLatin1String("code")].toString(),
             QStringLiteral("too_large"));
}

void tst_PushServer::sessionMadeAgainNeverGetsTheOldSessionsFrames()
{
    // Message frames are encoded once per push; the cache must tell epochs apart, since a
    // session made again counts its ids from 1 again.
    WebSocketClient before;
    QVERIFY(before.open(wsUrl(QStringLiteral("/v1/sessions/s/clients/a/ws"))));
    QCOMPARE(post(QStringLiteral("/v1/sessions/s/push"), R"("old")").status, 200);
    QTRY_COMPARE(before.frames.size(), 1);
    QCOMPARE(httpRequest(m_manager, "DELETE", url(QStringLiteral("/v1/sessions/s"))).status, 204);
    QTRY_VERIFY(!m_registry->exists(QStringLiteral("s")));
    WebSocketClient after;
    QVERIFY(after.open(wsUrl(QStringLiteral("/v1/sessions/s/clients/a/ws"))));
    QCOMPARE(post(QStringLiteral("/v1/sessions/s/push"), R"("new")")
                     .json()[QLatin1String("id")]
                     .toInt(),
             1);
    QTRY_COMPARE(after.frames.size(), 1);
    QCOMPARE(after.frame(0)[QLatin1String("data")].toString(), QStringLiteral("new"));
}

void tst_PushServer::eventStreamResumesFromLastEventId()
{
    for (int i = 1; i <= 5; ++i)
        QCOMPARE(post(QStringLiteral("/v1/sessions/s/push"), QByteArray::number(i)).status, 200);
    EventStreamClient sse;
    // Last-Event-ID wins over since (protocol.md: Receiving).
    QVERIFY(sse.open(m_server->serverPort(), "/v1/sessions/s/clients/e/events?since=1",
                     "Last-Event-ID: 3\r\n"));
    QTRY_COMPARE(sse.messages().size(), 2);
    QCOMPARE(sse.messages().at(0)[QLatin1String("id")].toInt(), 4);
    QCOMPARE(sse.messages().at(1)[QLatin1String("id")].toInt(), 5);
}

void tst_PushServer::longPollWaitsThenAnswersEmpty()
{
    const HttpReply empty = get(QStringLiteral("/v1/sessions/s/clients/p/pull?wait=1"));
    QCOMPARE(empty.status, 200);
    QCOMPARE(empty.body, QByteArray("[]"));
}

void tst_PushServer::overflowedClientIsToldOfTheGap()
{
    m_server->setClientBuffer(3);
    QCOMPARE(get(QStringLiteral("/v1/sessions/s/clients/p/pull?wait=0")).body, QByteArray("[]"));
    for (int i = 1; i <= 10; ++i)
        QCOMPARE(post(QStringLiteral("/v1/sessions/s/push"), QByteArray::number(i)).status, 200);
    const QJsonArray reply
            = get(QStringLiteral("/v1/sessions/s/clients/p/pull?wait=0")).json().toArray();
    QCOMPARE(reply.size(), 4);
    QCOMPARE(reply.at(0).toObject(),
             (QJsonObject{{QStringLiteral("type"), QStringLiteral("gap")},
                          {QStringLiteral("from"), 1},
                          {QStringLiteral("to"), 7}}));
    for (int i = 1; i < 4; ++i)
        QCOMPARE(reply.at(i)[QLatin1String("id")].toInt(), i + 7);
}

void tst_PushServer::burstPastTheHighWaterMarkIsAllDelivered()
{
    // 100 messages of 8 KiB in one turn of the event loop: more than the 256 KiB a connection
    // may have unsent, so the transport pauses with them queued. Whatever the kernel takes at
    // once must let it resume, or the rest would wait forever.
    PushSession *session = m_registry->session(QStringLiteral("burst"));
    session->setMaxBuffer(200); // room for what waits while the transport is paused
    WebSocketClient ws;
    QVERIFY(ws.open(wsUrl(QStringLiteral("/v1/sessions/burst/clients/w/ws"))));
    QTRY_COMPARE(session->count(), 1);
    const QString payload(8 * 1024, u'x');
    for (int i = 0; i < 100; ++i)
        session->push(payload);
    QTRY_COMPARE_WITH_TIMEOUT(ws.frames.size(), 100, 10000);
    for (int i = 0; i < 100; ++i)
        QCOMPARE(ws.frame(i)[QLatin1String("id")].toInt(), i + 1); // no gap frame among them
}

void tst_PushServer::listingShowsSessionsClientsAndTransports()
{
    m_registry->session(QStringLiteral("a b/é"))->newClient(QStringLiteral("local"));
    WebSocketClient ws;
    QVERIFY(ws.open(wsUrl(QStringLiteral("/v1/sessions/a%20b%2F%C3%A9/clients/w/ws"))));
    QTRY_COMPARE(m_registry->session(QStringLiteral("a b/é"))->count(), 2);
    const HttpReply sessions = get(QStringLiteral("/v1/sessions"));
    QCOMPARE(sessions.status, 200);
    QCOMPARE(sessions.json().toArray(),
             (QJsonArray{QJsonObject{{QStringLiteral("session"), QStringLiteral("a b/é")},
                                     {QStringLiteral("clients"), 2}}}));
    const HttpReply session = get(QStringLiteral("/v1/sessions/a%20b%2F%C3%A9"));
    QCOMPARE(session.status, 200);
    const QJsonArray clients = session.json()[QLatin1String("clients")].toArray();
    QCOMPARE(clients.size(), 2);
    QCOMPARE(clients.at(0)[QLatin1String("client")].toString(), QStringLiteral("local"));
    QCOMPARE(clients.at(0)[QLatin1String("transport")].toString(), QStringLiteral("local"));
    QCOMPARE(clients.at(1)[QLatin1String("transport")].toString(), QStringLiteral("ws"));
    QCOMPARE(clients.at(1)[QLatin1String("pending")].toInt(), 0);
    QCOMPARE(get(QStringLiteral("/v1/sessions/missing")).status, 404);
}

void tst_PushServer::disconnectedClientIsRemovedAfterItsGracePeriod()
{
    // Long enough that the push below finds the client still waiting on a loaded machine: the
    // grace period runs from the disconnect, whatever the test does meanwhile.
    m_server->setClientGracePeriod(3000);
    WebSocketClient ws;
    QVERIFY(ws.open(wsUrl(QStringLiteral("/v1/sessions/s/clients/w/ws"))));
    PushSession *session = m_registry->session(QStringLiteral("s"));
    QTRY_COMPARE(session->count(), 1);
    ws.socket.close();
    QTRY_COMPARE(get(QStringLiteral("/v1/sessions/s"))
                         .json()[QLatin1String("clients")][0][QLatin1String("transport")]
                         .toString(),
                 QStringLiteral("none"));
    // Still buffering while it is away.
    QCOMPARE(post(QStringLiteral("/v1/sessions/s/push"), "1").status, 200);
    PushClient *waiting = session->findClient(QStringLiteral("w"));
    QVERIFY(waiting);
    QCOMPARE(waiting->pending(), 1);
    QTRY_COMPARE_WITH_TIMEOUT(session->count(), 0, 30000);
}

void tst_PushServer::deletingAClientClosesItsConnection()
{
    WebSocketClient ws;
    QVERIFY(ws.open(wsUrl(QStringLiteral("/v1/sessions/s/clients/w/ws"))));
    QTRY_COMPARE(m_registry->session(QStringLiteral("s"))->count(), 1);
    QCOMPARE(httpRequest(m_manager, "DELETE", url(QStringLiteral("/v1/sessions/s/clients/w")))
                     .status,
             204);
    QTRY_VERIFY(ws.disconnected);
    QCOMPARE(ws.closeCode, 4000); // docs/protocol.md: deleted, do not reconnect
    QCOMPARE(httpRequest(m_manager, "DELETE", url(QStringLiteral("/v1/sessions/s/clients/w")))
                     .status,
             204); // also for a missing one
    QCOMPARE(httpRequest(m_manager, "DELETE", url(QStringLiteral("/v1/sessions/s"))).status, 204);
    QTRY_VERIFY(!m_registry->exists(QStringLiteral("s")));
}

void tst_PushServer::oversizeWebSocketFrameClosesWith1009()
{
    m_server->setMaxMessageBytes(1000);
    WebSocketClient ws;
    QVERIFY(ws.open(wsUrl(QStringLiteral("/v1/sessions/s/clients/w/ws"))));
    WebSocketClient bystander;
    QVERIFY(bystander.open(wsUrl(QStringLiteral("/v1/sessions/s/clients/b/ws"))));
    ws.socket.sendTextMessage(
            QStringLiteral(R"({"op":"push","data":"%1"})").arg(QString(5000, u'x')));
    QTRY_VERIFY(ws.disconnected);
    QCOMPARE(ws.closeCode, int(QWebSocketProtocol::CloseCodeTooMuchData));
    QCOMPARE(post(QStringLiteral("/v1/sessions/s/push"), "1").status, 200);
    QTRY_COMPARE(bystander.frames.size(), 1);
}

void tst_PushServer::malformedWebSocketFrameGetsAnErrorThenClose()
{
    WebSocketClient ws;
    QVERIFY(ws.open(wsUrl(QStringLiteral("/v1/sessions/s/clients/w/ws"))));
    ws.socket.sendTextMessage(QStringLiteral("{not json"));
    QTRY_VERIFY(ws.disconnected);
    QCOMPARE(ws.closeCode, int(QWebSocketProtocol::CloseCodePolicyViolated));
    QCOMPARE(ws.frames.size(), 1);
    QCOMPARE(ws.frame(0)[QLatin1String("error")][QLatin1String("code")].toString(),
             QStringLiteral("bad_request"));
}

void tst_PushServer::requestSentOneByteAtATimeIsServed()
{
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, m_server->serverPort());
    QVERIFY(socket.waitForConnected(5000));
    const QByteArray request
            = "POST /v1/sessions/s/push HTTP/1.1\r\nHost: x\r\n"
              "Content-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}";
    for (char byte : request) {
        socket.write(&byte, 1);
        QVERIFY(socket.waitForBytesWritten(5000));
        QCoreApplication::processEvents(); // the server reads each byte on its own
    }
    QTRY_VERIFY(socket.bytesAvailable() > 0 || socket.waitForReadyRead(100));
    QTRY_VERIFY(socket.peek(1024).contains("{\"id\":1,\"clients\":0}"));
    QVERIFY(socket.readAll().startsWith("HTTP/1.1 200 OK\r\n"));
}

void tst_PushServer::tooManyClientsInASessionAreRefused()
{
    m_server->setMaxClientsPerSession(1);
    QCOMPARE(get(QStringLiteral("/v1/sessions/s/clients/a/pull?wait=0")).status, 200);
    QCOMPARE(get(QStringLiteral("/v1/sessions/s/clients/a/pull?wait=0")).status,
             200); // the same one
    const HttpReply refused = get(QStringLiteral("/v1/sessions/s/clients/b/pull?wait=0"));
    QCOMPARE(refused.status, 503);
    QCOMPARE(refused.errorCode(), QStringLiteral("unavailable"));
}

void tst_PushServer::tooManyConnectionsAreRefused()
{
    m_server->setMaxConnections(1);
    WebSocketClient first;
    QVERIFY(first.open(wsUrl(QStringLiteral("/v1/sessions/s/clients/a/ws"))));
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("refusing connection")));
    QTcpSocket second;
    second.connectToHost(QHostAddress::LocalHost, m_server->serverPort());
    QVERIFY(second.waitForConnected(5000));
    QTRY_VERIFY(second.bytesAvailable() > 0 || second.waitForReadyRead(100));
    QVERIFY(second.readAll().startsWith("HTTP/1.1 503"));
}

void tst_PushServer::pushRateIsLimitedPerConnection()
{
    m_server->setPushRateLimit(2);
    // Pipelined on one keep-alive connection. The bucket holds two and refills two a second, so
    // the first two are taken; of the rest at least one is refused unless the server took more
    // than 9 s for them (not a count of exactly one: a slow machine may refill a token or two).
    constexpr int requests = 20;
    const QByteArray answers = pipelinedPushes(requests);
    QCOMPARE(answers.count("HTTP/1.1 "), requests);
    QVERIFY(answers.startsWith("HTTP/1.1 200 OK"));
    QVERIFY(answers.indexOf("HTTP/1.1 ", 1) == answers.indexOf("HTTP/1.1 200 OK", 1));
    QVERIFY(answers.count("HTTP/1.1 429 Too Many Requests") >= 1);
    QCOMPARE(answers.count("HTTP/1.1 200 OK") + answers.count("HTTP/1.1 429 Too Many Requests"),
             requests);
    QVERIFY(answers.contains("Retry-After: 1\r\n"));
    QVERIFY(answers.contains("\"code\":\"rate_limited\""));
}

void tst_PushServer::pushRateUnderOnePerSecondAllowsOnePush()
{
    // One push in 1,000 s: the first is taken, the next refused. (A bucket capped at the rate
    // once refused them all.)
    m_server->setPushRateLimit(0.001);
    const QByteArray answers = pipelinedPushes(2);
    QCOMPARE(answers.count("HTTP/1.1 "), 2);
    QVERIFY2(answers.startsWith("HTTP/1.1 200 OK"), answers.constData());
    QCOMPARE(answers.count("HTTP/1.1 429 Too Many Requests"), 1);
}

void tst_PushServer::authorization_data()
{
    QTest::addColumn<QByteArray>("method");
    QTest::addColumn<QString>("path");
    QTest::addColumn<QString>("session");
    QTest::addColumn<QString>("client");
    QTest::addColumn<int>("scopes");
    QTest::addColumn<int>("expiresIn"); // seconds; 0: no exp
    QTest::addColumn<QByteArray>("secret");
    QTest::addColumn<bool>("inQuery");
    QTest::addColumn<int>("status");

    const QString pull = QStringLiteral("/v1/sessions/s/clients/c/pull?wait=0");
    const QString push = QStringLiteral("/v1/sessions/s/push");
    const QByteArray good("a test secret of at least 32 bytes");
    const int subscribe = PushToken::Subscribe;
    QTest::addRow("no token") << QByteArray("GET") << pull << QString() << QString() << 0 << 0
                              << QByteArray() << false << 401;
    QTest::addRow("expired") << QByteArray("GET") << pull << QStringLiteral("s") << QString()
                             << subscribe << -10 << good << false << 401;
    QTest::addRow("wrong signature")
            << QByteArray("GET") << pull << QStringLiteral("s") << QString() << subscribe << 0
            << QByteArray("other") << false << 401;
    QTest::addRow("wrong session") << QByteArray("GET") << pull << QStringLiteral("t") << QString()
                                   << subscribe << 0 << good << false << 403;
    QTest::addRow("wrong client") << QByteArray("GET") << pull << QStringLiteral("s")
                                  << QStringLiteral("d") << subscribe << 0 << good << false << 403;
    QTest::addRow("missing scope") << QByteArray("POST") << push << QStringLiteral("s") << QString()
                                   << subscribe << 0 << good << false << 403;
    QTest::addRow("listing needs admin")
            << QByteArray("GET") << QStringLiteral("/v1/sessions") << QStringLiteral("s")
            << QString() << int(PushToken::Subscribe | PushToken::Push) << 0 << good << false
            << 403;
    QTest::addRow("valid, header")
            << QByteArray("GET") << pull << QStringLiteral("s") << QStringLiteral("c") << subscribe
            << 60 << good << false << 200;
    QTest::addRow("valid, query") << QByteArray("GET") << pull << QStringLiteral("s") << QString()
                                  << subscribe << 0 << good << true << 200;
    QTest::addRow("valid push") << QByteArray("POST") << push << QStringLiteral("s") << QString()
                                << int(PushToken::Push) << 0 << good << false << 200;
    QTest::addRow("admin lists") << QByteArray("GET") << QStringLiteral("/v1/sessions")
                                 << QStringLiteral("ops") << QString() << int(PushToken::Admin) << 0
                                 << good << false << 200;
}

void tst_PushServer::authorization()
{
    QFETCH(QByteArray, method);
    QFETCH(QString, path);
    QFETCH(QString, session);
    QFETCH(QString, client);
    QFETCH(int, scopes);
    QFETCH(int, expiresIn);
    QFETCH(QByteArray, secret);
    QFETCH(bool, inQuery);
    QFETCH(int, status);
    m_server->setSecret(QByteArrayLiteral("a test secret of at least 32 bytes"));
    QByteArray token;
    if (!secret.isEmpty()) {
        PushToken claims;
        claims.session = session;
        claims.client = client;
        claims.scopes = PushToken::Scopes(scopes);
        if (expiresIn != 0)
            claims.expires = QDateTime::currentDateTimeUtc().addSecs(expiresIn);
        token = claims.sign(secret);
    }
    QUrl target = url(path);
    QList<std::pair<QByteArray, QByteArray>> headers;
    if (!token.isEmpty() && inQuery) {
        QUrlQuery query(target);
        query.addQueryItem(QStringLiteral("token"), QString::fromLatin1(token));
        target.setQuery(query);
    } else if (!token.isEmpty()) {
        headers.append({QByteArrayLiteral("Authorization"), "Bearer " + token});
    }
    const HttpReply reply = httpRequest(m_manager, method, target,
                                        method == "POST" ? QByteArray("1") : QByteArray(),
                                        QByteArrayLiteral("application/json"), headers);
    QCOMPARE(reply.status, status);
    if (status == 401)
        QCOMPARE(reply.errorCode(), QStringLiteral("unauthorized"));
    if (status == 403)
        QCOMPARE(reply.errorCode(), QStringLiteral("forbidden"));
}

void tst_PushServer::shutdownClosesWebSocketsAndAnswersPolls()
{
    WebSocketClient ws;
    QVERIFY(ws.open(wsUrl(QStringLiteral("/v1/sessions/s/clients/w/ws"))));
    std::unique_ptr<QNetworkReply> poll(m_manager.get(
            QNetworkRequest(url(QStringLiteral("/v1/sessions/s/clients/p/pull?wait=30")))));
    QTRY_COMPARE(m_registry->session(QStringLiteral("s"))->count(), 2);
    QSignalSpy finished(m_server.get(), &PushServer::shutdownFinished);
    m_server->shutdown(5000);
    QVERIFY(!m_server->isListening());
    QTRY_VERIFY(ws.disconnected);
    QCOMPARE(ws.closeCode, int(QWebSocketProtocol::CloseCodeGoingAway));
    QTRY_VERIFY(poll->isFinished());
    QCOMPARE(poll->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt(), 200);
    QCOMPARE(poll->readAll(), QByteArray("[]"));
    QTRY_COMPARE_WITH_TIMEOUT(m_server->connectionCount(), 0, 10000);
    QTRY_COMPARE(finished.size(), 1);
    QCOMPARE(m_server->connectionCount(), 0);
    QCOMPARE(m_registry->session(QStringLiteral("s"))->count(), 2); // clients stay for a restart
}

void tst_PushServer::servesHttpsAndWss()
{
    // A self-signed certificate for localhost and 127.0.0.1, made once with
    // openssl req -x509 -newkey rsa:2048 -nodes -days 36500 -subj /CN=localhost
    //     -addext subjectAltName=DNS:localhost,IP:127.0.0.1
    const QList<QSslCertificate> certificate
            = QSslCertificate::fromPath(QFINDTESTDATA("data/localhost.crt"));
    QCOMPARE(certificate.size(), 1);
    QFile keyFile(QFINDTESTDATA("data/localhost.key"));
    QVERIFY(keyFile.open(QIODevice::ReadOnly));
    QSslConfiguration serverTls = QSslConfiguration::defaultConfiguration();
    serverTls.setLocalCertificateChain(certificate);
    serverTls.setPrivateKey(QSslKey(&keyFile, QSsl::Rsa));
    serverTls.setPeerVerifyMode(QSslSocket::VerifyNone);
    PushServer server(m_registry.get());
    server.setSslConfiguration(serverTls);
    QVERIFY(server.listen(QHostAddress::LocalHost, 0));

    QSslConfiguration clientTls = QSslConfiguration::defaultConfiguration();
    clientTls.setCaCertificates(certificate); // trusts exactly this server
    WebSocketClient ws;
    ws.socket.setSslConfiguration(clientTls);
    QVERIFY(ws.open(QUrl(QStringLiteral("wss://127.0.0.1:%1/v1/sessions/s/clients/w/ws")
                                 .arg(server.serverPort()))));
    QNetworkRequest request(QUrl(
            QStringLiteral("https://127.0.0.1:%1/v1/sessions/s/push").arg(server.serverPort())));
    request.setSslConfiguration(clientTls);
    request.setHeader(QNetworkRequest::ContentTypeHeader, QByteArrayLiteral("application/json"));
    std::unique_ptr<QNetworkReply> reply(m_manager.post(request, QByteArrayLiteral("\"secure\"")));
    QTRY_VERIFY(reply->isFinished());
    QCOMPARE(reply->error(), QNetworkReply::NoError);
    QTRY_COMPARE(ws.frames.size(), 1);
    QCOMPARE(ws.frame(0)[QLatin1String("data")].toString(), QStringLiteral("secure"));

    // Plain HTTP on the TLS port gets no answer, and the server stays up.
    QTcpSocket plain;
    plain.connectToHost(QHostAddress::LocalHost, server.serverPort());
    QVERIFY(plain.waitForConnected(5000));
    plain.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    QTRY_VERIFY(plain.state() == QAbstractSocket::UnconnectedState
                || plain.waitForDisconnected(100));
    QVERIFY(!plain.readAll().startsWith("HTTP/1.1 200"));
}

void tst_PushServer::tlsWithoutAKeyIsATlsError()
{
    QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
    tls.setLocalCertificateChain(QSslCertificate::fromPath(QFINDTESTDATA("data/localhost.crt")));
    PushServer server(m_registry.get());
    server.setSslConfiguration(tls);
    QSignalSpy errors(&server, &PushServer::errorOccurred);
    QVERIFY(!server.listen(QHostAddress::LocalHost, 0));
    QVERIFY(!server.isListening());
    QCOMPARE(server.error(), PushServer::TlsError);
    QCOMPARE(errors.size(), 1);
    QVERIFY2(server.errorString().contains(QStringLiteral("private key")),
             qPrintable(server.errorString()));
}

void tst_PushServer::silentWebSocketIsDroppedAnsweringOneStays()
{
    // An interval well above a scheduling hiccup: the answering socket lives in this process,
    // and a pong it could not send while the process was descheduled would count as missing.
    m_server->setPingInterval(2000);
    WebSocketClient answering; // QWebSocket answers pings with pongs by itself
    QVERIFY(answering.open(wsUrl(QStringLiteral("/v1/sessions/s/clients/a/ws"))));
    QTcpSocket silent; // completes the handshake, then never reads nor answers
    silent.connectToHost(QHostAddress::LocalHost, m_server->serverPort());
    QVERIFY(silent.waitForConnected(5000));
    silent.write(
            "GET /v1/sessions/s/clients/silent/ws HTTP/1.1\r\nHost: x\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    QTRY_VERIFY(silent.bytesAvailable() > 0 || silent.waitForReadyRead(100));
    QVERIFY(silent.peek(64).startsWith("HTTP/1.1 101"));
    QTRY_COMPARE_WITH_TIMEOUT(silent.state(), QAbstractSocket::UnconnectedState, 30000);
    QVERIFY(!answering.disconnected);
    QCOMPARE(post(QStringLiteral("/v1/sessions/s/push"), "1").status, 200);
    QTRY_COMPARE(answering.frames.size(), 1);
}

QTEST_GUILESS_MAIN(tst_PushServer)
#include "tst_pushserver.moc"
