// SPDX-License-Identifier: MIT
// Hostile input against a PushServer with a secret, over raw loopback sockets: forged tokens,
// malformed HTTP, WebSocket abuse and floods. Each attack must get the refusal protocol.md
// documents, and meanwhile a canary WebSocket of another session, fed a steady trickle of
// pushes, must get every message once and in order, and the server must stay up.
#include <QtPush/pushclient.h>
#include <QtPush/pushregistry.h>
#include <QtPush/pushserver.h>
#include <QtPush/pushsession.h>
#include <QtPush/pushtoken.h>

#include "rawwire.h"
#include "serverfixture.h"

#include <QtCore/QPointer>
#include <QtCore/QTimer>
#include <QtTest/QtTest>

namespace {

const QByteArray secret = QByteArrayLiteral("tst_hostile: a secret of at least 32 bytes");

QByteArray token(const QString &session, PushToken::Scopes scopes, const QString &client = {},
                 const QByteArray &key = secret, int expiresInSeconds = 3600)
{
    PushToken claims;
    claims.session = session;
    claims.client = client;
    claims.scopes = scopes;
    claims.expires = QDateTime::currentDateTimeUtc().addSecs(expiresInSeconds);
    return claims.sign(key);
}

QByteArray base64Url(const QByteArray &bytes)
{
    return bytes.toBase64(QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals);
}

QByteArray emptyObjects()
{
    QByteArray body = "[{}";
    while (body.size() + 4 <= 64 * 1024)
        body += ",{}";
    return body + ']';
}

} // namespace

class tst_Hostile : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void forgedTokensAreRefused_data();
    void forgedTokensAreRefused();
    void upgradeWithAForgedTokenIsRefusedBeforeTheUpgrade();
    void malformedHttpIsRefused_data();
    void malformedHttpIsRefused();
    void badPercentEncodingIsRefused_data();
    void badPercentEncodingIsRefused();
    void webSocketAbuseIsRefused_data();
    void webSocketAbuseIsRefused();
    void fragmentsOfAnySizeMakeOnePush();
    void pingFloodFromAPeerThatNeverReadsIsBounded();
    void idsWithNulNeverReachAnotherSessionsClient();
    void manyConnectionsAreServedOrRefused();
    void pushFloodMeetsTheRateLimitAndLosesNothingAcknowledged();
    void webSocketPushFloodIsClosedAtTheRateLimit();
    void manySessionsAreCapped();
    void amplifyingPushesStayWithinTheBudget();

private:
    QByteArray authorization() const
    {
        return "Authorization: Bearer " + token(QStringLiteral("x"), PushToken::Admin) + "\r\n";
    }
    //! Sends \a request on a new connection and waits for the first answer (status 0: none).
    Answer exchange(const QByteArray &request);
    //! Opens a WebSocket with an admin token; what follows the 101 stays in received.
    bool upgrade(RawConnection *connection, const QByteArray &path);
    //! Pushes the canary's next message in-process.
    void trickle();

    std::unique_ptr<PushRegistry> m_registry;
    std::unique_ptr<PushServer> m_server;
    std::unique_ptr<WebSocketClient> m_canary;
    QPointer<PushSession> m_canarySession;
    QTimer m_trickle;
    int m_sent = 0;
};

Answer tst_Hostile::exchange(const QByteArray &request)
{
    RawConnection connection;
    if (!connection.open(m_server->serverPort()))
        return {};
    connection.socket.write(request);
    [[maybe_unused]] const bool done = QTest::qWaitFor(
            [&] { return firstAnswer(connection.received) || connection.closed; }, 10000);
    return firstAnswer(connection.received).value_or(Answer());
}

bool tst_Hostile::upgrade(RawConnection *connection, const QByteArray &path)
{
    if (!connection->open(m_server->serverPort()))
        return false;
    connection->socket.write(
            "GET " + path
            + " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
              "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
              "Sec-WebSocket-Version: 13\r\n"
            + authorization() + "\r\n");
    if (!QTest::qWaitFor([&] { return connection->received.contains("\r\n\r\n"); }, 10000))
        return false;
    if (!connection->received.startsWith("HTTP/1.1 101 "))
        return false;
    connection->received.remove(0, connection->received.indexOf("\r\n\r\n") + 4);
    return true;
}

void tst_Hostile::trickle()
{
    if (m_canarySession)
        m_canarySession->push(++m_sent);
}

void tst_Hostile::init()
{
    m_registry = std::make_unique<PushRegistry>();
    m_server = std::make_unique<PushServer>(m_registry.get());
    m_server->setSecret(secret);
    QVERIFY(m_server->listen(QHostAddress::LocalHost, 0));
    m_canary = std::make_unique<WebSocketClient>();
    QVERIFY(m_canary->open(
            QUrl(QStringLiteral("ws://127.0.0.1:%1/v1/sessions/canary/clients/bird/ws?token=%2")
                         .arg(m_server->serverPort())
                         .arg(QString::fromLatin1(
                                 token(QStringLiteral("canary"), PushToken::Subscribe))))));
    QTRY_VERIFY(m_registry->exists(QStringLiteral("canary")));
    m_canarySession = m_registry->findSession(QStringLiteral("canary"));
    m_sent = 0;
    m_trickle.setInterval(5);
    connect(&m_trickle, &QTimer::timeout, this, &tst_Hostile::trickle, Qt::UniqueConnection);
    m_trickle.start();
}

void tst_Hostile::cleanup()
{
    m_trickle.stop();
    for (int i = 0; i < 3; ++i) // at least these, however short the attack was
        trickle();
    // Every message once, in order, no gap, and the canary still connected.
    QTRY_COMPARE_WITH_TIMEOUT(m_canary->frames.size(), m_sent, 30000);
    for (int i = 0; i < m_sent; ++i) {
        QCOMPARE(m_canary->frame(i)[QLatin1String("id")].toInt(), i + 1);
        QCOMPARE(m_canary->frame(i)[QLatin1String("data")].toInt(), i + 1);
    }
    QVERIFY(!m_canary->disconnected);
    QCOMPARE(exchange("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").status, 200);
    m_canary.reset();
    m_server.reset();
    m_registry.reset();
}

void tst_Hostile::forgedTokensAreRefused_data()
{
    QTest::addColumn<QByteArray>("method");
    QTest::addColumn<QByteArray>("path");
    QTest::addColumn<QByteArray>("token");
    QTest::addColumn<bool>("inQuery");
    QTest::addColumn<int>("status");
    QTest::addColumn<QString>("code");

    const QByteArray pull = "/v1/sessions/s/clients/c/pull?wait=0";
    const QString s = QStringLiteral("s");
    const QString unauthorized = QStringLiteral("unauthorized");
    const QString forbidden = QStringLiteral("forbidden");
    const PushToken::Scopes all = PushToken::Subscribe | PushToken::Push | PushToken::Admin;

    const QByteArray payload = base64Url(R"({"sub":"s","scope":"subscribe push admin"})");
    const QByteArray algNone = base64Url(R"({"alg":"none","typ":"JWT"})") + '.' + payload + '.';
    QList<QByteArray> parts = token(s, PushToken::Subscribe).split('.');
    const QByteArray altered = parts.at(0) + '.' + payload + '.' + parts.at(2);

    QTest::addRow("no token") << QByteArray("GET") << pull << QByteArray() << false << 401
                              << unauthorized;
    QTest::addRow("alg none") << QByteArray("GET") << pull << algNone << false << 401
                              << unauthorized;
    QTest::addRow("alg none in the query")
            << QByteArray("GET") << pull << algNone << true << 401 << unauthorized;
    QTest::addRow("wrong signature")
            << QByteArray("GET") << pull << token(s, all, {}, "another secret of 32 bytes or more")
            << false << 401 << unauthorized;
    QTest::addRow("altered claims")
            << QByteArray("GET") << pull << altered << false << 401 << unauthorized;
    QTest::addRow("expired") << QByteArray("GET") << pull << token(s, all, {}, secret, -60) << false
                             << 401 << unauthorized;
    QTest::addRow("garbage") << QByteArray("GET") << pull << QByteArray("a.b.c") << false << 401
                             << unauthorized;
    QTest::addRow("huge in a header") << QByteArray("GET") << pull << QByteArray(10 * 1024, 'a')
                                      << false << 401 << unauthorized;
    QTest::addRow("huge in the query") << QByteArray("GET") << pull << QByteArray(10 * 1024, 'a')
                                       << true << 401 << unauthorized;
    QTest::addRow("subscribe token pushes")
            << QByteArray("POST") << QByteArray("/v1/sessions/s/push")
            << token(s, PushToken::Subscribe) << false << 403 << forbidden;
    QTest::addRow("push token subscribes")
            << QByteArray("GET") << pull << token(s, PushToken::Push) << false << 403 << forbidden;
    QTest::addRow("push token lists sessions")
            << QByteArray("GET") << QByteArray("/v1/sessions")
            << token(s, PushToken::Push | PushToken::Subscribe) << false << 403 << forbidden;
    QTest::addRow("push token deletes a session")
            << QByteArray("DELETE") << QByteArray("/v1/sessions/s")
            << token(s, PushToken::Push | PushToken::Subscribe) << false << 403 << forbidden;
    QTest::addRow("push token reads metrics")
            << QByteArray("GET") << QByteArray("/metrics") << token(s, PushToken::Push) << true
            << 403 << forbidden;
    QTest::addRow("token for another session")
            << QByteArray("GET") << pull << token(QStringLiteral("t"), PushToken::Subscribe)
            << false << 403 << forbidden;
    QTest::addRow("token for another client")
            << QByteArray("GET") << pull << token(s, PushToken::Subscribe, QStringLiteral("other"))
            << false << 403 << forbidden;
}

void tst_Hostile::forgedTokensAreRefused()
{
    QFETCH(QByteArray, method);
    QFETCH(QByteArray, path);
    QFETCH(QByteArray, token);
    QFETCH(bool, inQuery);
    QFETCH(int, status);
    QFETCH(QString, code);
    QByteArray headers = "Host: x\r\nContent-Type: application/json\r\n";
    if (inQuery)
        path += (path.contains('?') ? "&token=" : "?token=") + token;
    else if (!token.isEmpty())
        headers += "Authorization: Bearer " + token + "\r\n";
    const QByteArray body = method == "POST" ? QByteArray("1") : QByteArray();
    if (!body.isEmpty())
        headers += "Content-Length: 1\r\n";
    const Answer answer = exchange(method + ' ' + path + " HTTP/1.1\r\n" + headers + "\r\n" + body);
    QCOMPARE(answer.status, status);
    QCOMPARE(answer.code(), code);
    QVERIFY(!m_registry->exists(QStringLiteral("s"))); // nothing was made for it
}

void tst_Hostile::upgradeWithAForgedTokenIsRefusedBeforeTheUpgrade()
{
    const Answer answer = exchange(
            "GET /v1/sessions/canary/clients/bird/ws?token="
            + token(QStringLiteral("canary"), PushToken::Subscribe, {},
                    "not the secret, but just as long")
            + " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    QCOMPARE(answer.status, 401);
    QCOMPARE(answer.code(), QStringLiteral("unauthorized"));
}

void tst_Hostile::malformedHttpIsRefused_data()
{
    QTest::addColumn<QByteArray>("request");
    QTest::addColumn<int>("status");
    QTest::addColumn<QString>("code");
    const QString badRequest = QStringLiteral("bad_request");
    const QByteArray end = " HTTP/1.1\r\nHost: x\r\n";

    QTest::addRow("garbage") << QByteArray("\x16\x03\x01\x02\x00garbage\r\n\r\n") << 400
                             << badRequest;
    // Any token is a method (RFC 9110 §9.1); one the path does not take is 405, with Allow.
    QTest::addRow("unknown method") << QByteArray("BREW /healthz" + end) << 405
                                    << QStringLiteral("method_not_allowed");
    QTest::addRow("method the path does not take") << QByteArray("PUT /v1/sessions/s/push" + end)
                                                   << 405 << QStringLiteral("method_not_allowed");
    QTest::addRow("huge path") << QByteArray("GET /" + QByteArray(20 * 1024, 'a') + end) << 431
                               << QStringLiteral("headers_too_large");
    QTest::addRow("invalid UTF-8 id")
            << QByteArray("GET /v1/sessions/%ff%fe/clients/c/pull?wait=0" + end) << 400
            << badRequest;
    QTest::addRow("overlong UTF-8 id")
            << QByteArray("GET /v1/sessions/s/clients/%c0%af/pull?wait=0" + end) << 400
            << badRequest;
    QTest::addRow("id of 257 bytes")
            << QByteArray("GET /v1/sessions/" + QByteArray(257, 'a') + "/clients/c/pull" + end)
            << 400 << badRequest;
    QTest::addRow("id of 129 two-byte characters")
            << QByteArray("POST /v1/sessions/" + QByteArray("%c3%a9").repeated(129) + "/push" + end)
            << 400 << badRequest;
    QTest::addRow("empty id") << QByteArray("GET /v1/sessions//clients/c/pull" + end) << 400
                              << badRequest;
    QTest::addRow("body bigger than announced limit")
            << QByteArray("POST /v1/sessions/s/push" + end
                          + "Content-Type: application/json\r\nContent-Length: 999999999\r\n")
            << 413 << QStringLiteral("too_large");
    QTest::addRow("body not JSON") << QByteArray("POST /v1/sessions/s/push" + end
                                                 + "Content-Type: application/json\r\n"
                                                   "Content-Length: 5\r\n\r\n{nope")
                                   << 400 << badRequest;
    QTest::addRow("body nested too deep")
            << QByteArray("POST /v1/sessions/s/push" + end
                          + "Content-Type: application/json\r\nContent-Length: 20000\r\n\r\n"
                          + QByteArray(10000, '[') + QByteArray(10000, ']'))
            << 400 << badRequest;
    QTest::addRow("text body not UTF-8")
            << QByteArray("POST /v1/sessions/s/push" + end
                          + "Content-Type: text/plain\r\nContent-Length: 2\r\n\r\n\xff\xfe")
            << 400 << badRequest;
    QTest::addRow("since not a number")
            << QByteArray("GET /v1/sessions/s/clients/c/pull?wait=0&since=1e3" + end) << 400
            << badRequest;
    QTest::addRow("wait not a number")
            << QByteArray("GET /v1/sessions/s/clients/c/pull?wait=forever" + end) << 400
            << badRequest;
    QTest::addRow("upgrade without a key")
            << QByteArray("GET /v1/sessions/s/clients/c/ws" + end
                          + "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                            "Sec-WebSocket-Version: 13\r\n")
            << 400 << badRequest;
}

void tst_Hostile::malformedHttpIsRefused()
{
    QFETCH(QByteArray, request);
    QFETCH(int, status);
    QFETCH(QString, code);
    const qsizetype line = request.indexOf("\r\n");
    if (line > 0) // past the token check, to what is tested
        request.insert(line + 2, authorization());
    if (!request.contains("\r\n\r\n"))
        request += "\r\n";
    const Answer answer = exchange(request);
    QVERIFY2(answer.status == status, QByteArray(answer.head + answer.body).constData());
    QCOMPARE(answer.code(), code);
}

void tst_Hostile::badPercentEncodingIsRefused_data()
{
    QTest::addColumn<QByteArray>("session");
    QTest::addRow("not hex") << QByteArray("%zz");
    QTest::addRow("another spelling of p") << QByteArray("%g0"); // Qt would decode it to "p"
    QTest::addRow("cut short") << QByteArray("ab%4");
    QTest::addRow("lone percent") << QByteArray("%");
}

void tst_Hostile::badPercentEncodingIsRefused()
{
    QFETCH(QByteArray, session);
    const Answer answer = exchange("POST /v1/sessions/" + session
                                   + "/push HTTP/1.1\r\nHost: x\r\n"
                                     "Content-Type: application/json\r\nContent-Length: 1\r\n"
                                   + authorization() + "\r\n1");
    QVERIFY2(answer.status == 400, QByteArray(answer.head + answer.body).constData());
    QCOMPARE(answer.code(), QStringLiteral("bad_request"));
    QCOMPARE(m_registry->count(), 1); // the canary's only
}

void tst_Hostile::webSocketAbuseIsRefused_data()
{
    QTest::addColumn<QByteArray>("frames");
    QTest::addColumn<int>("closeCode");
    QTest::addColumn<QString>("code");
    const QString badRequest = QStringLiteral("bad_request");
    const QByteArray ping = clientFrame(0x89, {});

    QTest::addRow("unmasked frame") << clientFrame(0x81, "{}", false) << 1002 << badRequest;
    QTest::addRow("reserved bits") << clientFrame(0xc1, "{}") << 1002 << badRequest;
    QTest::addRow("unknown opcode") << clientFrame(0x83, "{}") << 1002 << badRequest;
    QTest::addRow("control frame over 125 bytes")
            << clientFrame(0x89, QByteArray(126, 'p')) << 1002 << badRequest;
    QTest::addRow("fragmented ping") << clientFrame(0x09, "p") << 1002 << badRequest;
    QTest::addRow("continuation without a message") << clientFrame(0x80, "x") << 1002 << badRequest;
    QTest::addRow("message inside a fragmented one")
            << clientFrame(0x01, "{") + clientFrame(0x01, "{") << 1002 << badRequest;
    QTest::addRow("close of one byte") << clientFrame(0x88, "\x03") << 1002 << badRequest;
    QTest::addRow("close with code 1005")
            << clientFrame(0x88, QByteArray("\x03\xed", 2)) << 1002 << badRequest;
    QTest::addRow("text not UTF-8") << clientFrame(0x81, "\"\xff\"") << 1007 << badRequest;
    QTest::addRow("frame announcing 1 TiB") << clientFrame(0x81, "{", true, quint64(1) << 40)
                                            << 1009 << QStringLiteral("too_large");
    QByteArray flood = clientFrame(0x01, QByteArray(1024, ' '));
    for (int i = 0; i < 80; ++i) // 81 KiB in fragments, each small, pings between them
        flood += clientFrame(0x00, QByteArray(1024, ' ')) + ping;
    QTest::addRow("fragments past the limit") << flood << 1009 << QStringLiteral("too_large");
    QTest::addRow("binary frame") << clientFrame(0x82, "{}") << 1008 << badRequest;
    QTest::addRow("not JSON") << clientFrame(0x81, "{nope") << 1008 << badRequest;
    QTest::addRow("not an object") << clientFrame(0x81, "[1]") << 1008 << badRequest;
    QTest::addRow("unknown op") << clientFrame(0x81, R"({"op":"pull","data":1})") << 1008
                                << badRequest;
    QTest::addRow("push without data")
            << clientFrame(0x81, R"({"op":"push"})") << 1008 << badRequest;
    QTest::addRow("data nested too deep") << clientFrame(
            0x81, R"({"op":"push","data":)" + QByteArray(5000, '[') + QByteArray(5000, ']') + '}')
                                          << 1008 << badRequest;
    QTest::addRow("data over the limit")
            << clientFrame(0x81, R"({"op":"push","data":")" + QByteArray(70 * 1024, 'x') + "\"}")
            << 1009 << QStringLiteral("too_large");
}

void tst_Hostile::webSocketAbuseIsRefused()
{
    QFETCH(QByteArray, frames);
    QFETCH(int, closeCode);
    QFETCH(QString, code);
    RawConnection connection;
    QVERIFY(upgrade(&connection, "/v1/sessions/abuse/clients/a/ws"));
    connection.socket.write(frames);
    QTRY_VERIFY_WITH_TIMEOUT(!serverFrames(connection.received).isEmpty()
                                     && serverFrames(connection.received).last().opcode == 0x8,
                             10000);
    const QList<ServerFrame> received = serverFrames(connection.received);
    const QByteArray close = received.last().payload;
    QVERIFY(close.size() >= 2);
    QCOMPARE((quint8(close.at(0)) << 8) | quint8(close.at(1)), closeCode);
    // The frame before the close is protocol.md's error frame.
    QVERIFY(received.size() >= 3); // hello, error, close
    const ServerFrame error = received.at(received.size() - 2);
    QCOMPARE(error.opcode, 0x1);
    QCOMPARE(QJsonDocument::fromJson(error.payload)[QLatin1String("error")][QLatin1String("code")]
                     .toString(),
             code);
    // Nothing after the close frame, and the server ends the connection.
    connection.socket.write(clientFrame(0x88, QByteArray("\x03\xe8", 2)));
    QTRY_VERIFY_WITH_TIMEOUT(connection.closed, 10000);
    QCOMPARE(serverFrames(connection.received).size(), received.size());
}

void tst_Hostile::fragmentsOfAnySizeMakeOnePush()
{
    PushClient *listener
            = m_registry->session(QStringLiteral("frag"))->newClient(QStringLiteral("l"));
    QSignalSpy received(listener, &PushClient::messageReceived);
    RawConnection connection;
    QVERIFY(upgrade(&connection, "/v1/sessions/frag/clients/a/ws"));
    const QByteArray push = R"({"op":"push","data":")" + QByteArray(2000, 'y') + "\"}";
    QByteArray frames = clientFrame(0x01, push.first(1));
    for (qsizetype i = 1; i < push.size() - 1; ++i)
        frames += clientFrame(0x00, push.mid(i, 1)) + (i % 100 == 0 ? clientFrame(0x89, "p") : "");
    frames += clientFrame(0x80, push.last(1));
    connection.socket.write(frames);
    QTRY_COMPARE_WITH_TIMEOUT(received.size(), 1, 10000);
    QCOMPARE(received.at(0).at(0).toString(), QString(2000, u'y'));
}

void tst_Hostile::pingFloodFromAPeerThatNeverReadsIsBounded()
{
    // A peer that sends pings and never reads must not make the server hold every pong: past
    // the high-water mark only the newest ping is answered (RFC 6455 §5.5.3 allows it).
    PushClient *listener
            = m_registry->session(QStringLiteral("pings"))->newClient(QStringLiteral("l"));
    QSignalSpy received(listener, &PushClient::messageReceived);
    RawConnection connection;
    QVERIFY(upgrade(&connection, "/v1/sessions/pings/clients/a/ws"));
    connection.reading = false;
    connection.socket.setReadBufferSize(1024); // the kernel's buffers fill, then the server's
    constexpr int pings = 100 * 1000; // 13 MB of pongs: more than the kernel buffers
    const QByteArray ping = clientFrame(0x89, QByteArray(125, 'p'));
    QByteArray flood;
    flood.reserve(ping.size() * pings);
    for (int i = 0; i < pings; ++i)
        flood += ping;
    connection.socket.write(flood + clientFrame(0x81, R"({"op":"push","data":"done"})"));
    QTRY_COMPARE_WITH_TIMEOUT(received.size(), 1, 60000); // it read them all, in order
    connection.reading = true;
    connection.socket.setReadBufferSize(0);
    connection.received += connection.socket.readAll();
    QTRY_VERIFY_WITH_TIMEOUT(connection.received.contains("\"data\":\"done\""), 30000);
    const QList<ServerFrame> frames = serverFrames(connection.received);
    const auto pongs = std::count_if(frames.cbegin(), frames.cend(),
                                     [](const ServerFrame &frame) { return frame.opcode == 0xa; });
    QVERIFY(pongs >= 1);
    QVERIFY2(pongs < pings, QByteArray::number(qint64(pongs)));
    QVERIFY(!connection.closed);
}

void tst_Hostile::idsWithNulNeverReachAnotherSessionsClient()
{
    // Session "a\0b" with client "c", and session "a" with client "b\0c": two clients.
    RawConnection victim;
    QVERIFY(upgrade(&victim, "/v1/sessions/a%00b/clients/c/ws"));
    RawConnection attacker;
    QVERIFY(upgrade(&attacker, "/v1/sessions/a/clients/b%00c/ws"));
    QTRY_COMPARE(m_registry->count(), 3);
    m_registry->findSession(QString(QStringLiteral("a") + QChar(0) + QStringLiteral("b")))->push(7);
    QTRY_VERIFY(victim.received.contains("\"data\":7"));
    const QList<ServerFrame> frames = serverFrames(victim.received);
    for (const ServerFrame &frame : frames)
        QVERIFY2(frame.opcode != 0x8, frame.payload.constData()); // never replaced or closed
    QVERIFY(!victim.closed);
}

void tst_Hostile::manyConnectionsAreServedOrRefused()
{
    // 100 connects wait in the listen backlog until the server accepts them all at once: fewer
    // than the smallest usual somaxconn (128).
    m_server->setMaxConnections(m_server->connectionCount() + 70);
    std::vector<std::unique_ptr<RawConnection>> idle;
    for (int i = 0; i < 100; ++i) {
        idle.push_back(std::make_unique<RawConnection>());
        QVERIFY(idle.back()->open(m_server->serverPort()));
    }
    // The connections past the limit are answered 503 at once and closed.
    QTRY_VERIFY_WITH_TIMEOUT(std::count_if(idle.cbegin(), idle.cend(),
                                           [](const auto &c) {
                                               return c->received.startsWith(
                                                       "HTTP/1.1 503 Service Unavailable");
                                           })
                                     == 30,
                             30000);
    // One within the limit is served.
    RawConnection &first = *idle.front();
    first.socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    QTRY_VERIFY(firstAnswer(first.received).has_value());
    QCOMPARE(firstAnswer(first.received)->status, 200);
    idle.clear();
    QTRY_COMPARE_WITH_TIMEOUT(m_server->connectionCount(), 1, 30000); // the canary
}

void tst_Hostile::pushFloodMeetsTheRateLimitAndLosesNothingAcknowledged()
{
    m_server->setPushRateLimit(5);
    PushClient *listener
            = m_registry->session(QStringLiteral("flood"))->newClient(QStringLiteral("l"));
    QList<quint64> delivered;
    connect(listener, &PushClient::messageReceived, this,
            [&delivered, listener] { delivered.append(listener->lastMessageId()); });
    constexpr int pushes = 100;
    const QByteArray request = "POST /v1/sessions/flood/push HTTP/1.1\r\nHost: x\r\n"
                               "Content-Type: application/json\r\nContent-Length: 1\r\n"
            + authorization() + "\r\n1";
    RawConnection connection;
    QVERIFY(connection.open(m_server->serverPort()));
    connection.socket.write(request.repeated(pushes)); // pipelined on one connection
    QTRY_COMPARE_WITH_TIMEOUT(connection.received.count("HTTP/1.1 "), pushes, 30000);
    QList<quint64> acknowledged;
    int refused = 0;
    QByteArray rest = connection.received;
    while (const std::optional<Answer> answer = firstAnswer(rest)) {
        rest.remove(0, rest.indexOf("\r\n\r\n") + 4 + answer->body.size());
        if (answer->status == 200) {
            acknowledged.append(quint64(
                    QJsonDocument::fromJson(answer->body)[QLatin1String("id")].toInteger()));
        } else {
            QCOMPARE(answer->status, 429);
            QCOMPARE(answer->code(), QStringLiteral("rate_limited"));
            QVERIFY(answer->head.contains("Retry-After: 1"));
            ++refused;
        }
    }
    QCOMPARE(acknowledged.size() + refused, pushes);
    QVERIFY(acknowledged.size() >= 5); // the burst
    QVERIFY(refused > 0);
    QCOMPARE(delivered, acknowledged); // every acknowledged push arrived, in order
}

void tst_Hostile::webSocketPushFloodIsClosedAtTheRateLimit()
{
    m_server->setPushRateLimit(3);
    RawConnection connection;
    QVERIFY(upgrade(&connection, "/v1/sessions/wsflood/clients/a/ws"));
    connection.socket.write(clientFrame(0x81, R"({"op":"push","data":1})").repeated(50));
    QTRY_VERIFY_WITH_TIMEOUT(!serverFrames(connection.received).isEmpty()
                                     && serverFrames(connection.received).last().opcode == 0x8,
                             10000);
    const QList<ServerFrame> frames = serverFrames(connection.received);
    QCOMPARE((quint8(frames.last().payload.at(0)) << 8) | quint8(frames.last().payload.at(1)),
             1008);
    QVERIFY(frames.at(frames.size() - 2).payload.contains("\"code\":\"rate_limited\""));
    // The pushes before the refusal were made, and the ones after it were not.
    const quint64 pushed = m_registry->findSession(QStringLiteral("wsflood"))->lastMessageId();
    QVERIFY(pushed >= 3 && pushed < 50);
}

void tst_Hostile::manySessionsAreCapped()
{
    m_server->setMaxSessions(m_registry->count() + 10);
    QByteArray requests;
    for (int i = 0; i < 50; ++i) {
        requests += "POST /v1/sessions/many" + QByteArray::number(i)
                + "/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  "Content-Length: 1\r\n"
                + authorization() + "\r\n1";
    }
    RawConnection connection;
    QVERIFY(connection.open(m_server->serverPort()));
    connection.socket.write(requests);
    QTRY_COMPARE_WITH_TIMEOUT(connection.received.count("HTTP/1.1 "), 50, 30000);
    QCOMPARE(connection.received.count("HTTP/1.1 200 OK"), 10);
    QCOMPARE(connection.received.count("HTTP/1.1 503 Service Unavailable"), 40);
    QCOMPARE(connection.received.count("\"code\":\"unavailable\""), 40);
    QCOMPARE(m_registry->count(), 11);
}

void tst_Hostile::amplifyingPushesStayWithinTheBudget()
{
    const qint64 budget = 4 * 1024 * 1024;
    m_server->setMaxRetainedBytes(budget);
    const QByteArray body = emptyObjects();
    QByteArray requests;
    for (int i = 0; i < 30; ++i) {
        requests += "POST /v1/sessions/big" + QByteArray::number(i % 3)
                + "/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  "Content-Length: "
                + QByteArray::number(body.size()) + "\r\n" + authorization() + "\r\n" + body;
    }
    RawConnection connection;
    QVERIFY(connection.open(m_server->serverPort()));
    connection.socket.write(requests);
    QTRY_COMPARE_WITH_TIMEOUT(connection.received.count("HTTP/1.1 "), 30, 60000);
    QCOMPARE(connection.received.count("HTTP/1.1 200 OK"), 30);
    qint64 retained = 0;
    const QVariantList sessions = m_registry->sessions();
    for (const QVariant &id : sessions)
        retained += m_registry->findSession(id)->retainedBytes();
    QVERIFY2(retained <= budget, QByteArray::number(retained));
    for (int i = 0; i < 3; ++i) { // each keeps at least its newest
        const QList<PushSession::Message> kept
                = m_registry->findSession(QStringLiteral("big%1").arg(i))->messagesAfter(0);
        QVERIFY(!kept.isEmpty());
        QCOMPARE(kept.last().id, 10u);
    }
}

QTEST_MAIN(tst_Hostile)
#include "tst_hostile.moc"
