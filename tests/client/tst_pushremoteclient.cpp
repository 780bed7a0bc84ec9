// SPDX-License-Identifier: MIT
#include <QtPush/pushremoteclient.h>

#include "fakepushserver.h"
#include "pushreconnectingsocket_p.h"

#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QRegularExpression>
#include <QtCore/QTimer>
#include <QtCore/QUrlQuery>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <memory>

namespace {

// How long a negative check waits for something that must not happen: several times the first
// backoff step (250 ms ± 20%).
constexpr int s_quietMs = 700;

QJsonObject parseObject(const QString &text)
{
    return QJsonDocument::fromJson(text.toUtf8()).object();
}

QString hello(const char *epoch, quint64 lastId)
{
    return QStringLiteral(R"({"type":"hello","session":"s","epoch":"%1","lastId":%2})")
            .arg(QLatin1String(epoch))
            .arg(lastId);
}

QRegularExpression warning(const char *pattern)
{
    return QRegularExpression(QString::fromLatin1(pattern));
}

} // namespace

class tst_PushRemoteClient : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void settersNotifyOnlyOnChange();
    void openRefusesBadSettings_data();
    void openRefusesBadSettings();
    void requestUrlCarriesEncodedIdsSinceAndToken_data();
    void requestUrlCarriesEncodedIdsSinceAndToken();
    void messagesArriveInOrderAndLastMessageIdFollows();
    void duplicateMessagesAreIgnored();
    void gapFrameEmitsGap();
    void unknownControlFrameIsIgnored();
    void malformedFrameSetsProtocolErrorAndKeepsTheConnection_data();
    void malformedFrameSetsProtocolErrorAndKeepsTheConnection();
    void pushSendsAPushFrame_data();
    void pushSendsAPushFrame();
    void pushReturnsFalseWhenNotConnected();
    void reconnectsAfterADropAndResumesSince_data();
    void reconnectsAfterADropAndResumesSince();
    void reachesTheServerAgainAfterAnOutage();
    void helloOfTheSameEpochKeepsThePosition();
    void helloOfANewEpochStartsOverAtZero();
    void storedPositionBeyondTheSessionStartsOver_data();
    void storedPositionBeyondTheSessionStartsOver();
    void policyCloseStopsWithAccessError_data();
    void policyCloseStopsWithAccessError();
    void deletedOrReplacedClientStops_data();
    void deletedOrReplacedClientStops();
    void rateLimitedPolicyCloseReconnects();
    void refusedPushReconnectsWithAccessError();
    void refusedUpgrade_data();
    void refusedUpgrade();
    void retriesBackOff();
    void closeStopsReconnecting_data();
    void closeStopsReconnecting();
    void deletingTheClientSaysGoingAway();
    void handshakeThatNeverCompletesTimesOut();
    void silentServerIsDroppedByThePingWatchdog();

private:
    std::unique_ptr<PushRemoteClient> newClient() const;
    bool openAndWait(PushRemoteClient *client) const;

    std::unique_ptr<FakePushServer> m_server;
};

void tst_PushRemoteClient::init()
{
    QTest::failOnWarning(QRegularExpression(QStringLiteral(".*")));
    m_server = std::make_unique<FakePushServer>();
    QVERIFY(m_server->listen());
}

void tst_PushRemoteClient::cleanup()
{
    m_server.reset();
}

std::unique_ptr<PushRemoteClient> tst_PushRemoteClient::newClient() const
{
    auto client = std::make_unique<PushRemoteClient>();
    client->setUrl(m_server->url());
    client->setSession(QStringLiteral("s"));
    client->setClient(QStringLiteral("c"));
    return client;
}

// Opens \a client and waits until both ends see the connection.
bool tst_PushRemoteClient::openAndWait(PushRemoteClient *client) const
{
    const int before = m_server->connectionCount();
    client->open();
    return QTest::qWaitFor(
            [&] {
                return client->status() == PushRemoteClient::Connected
                        && m_server->connectionCount() > before
                        && m_server->openConnectionCount() > 0;
            },
            5000);
}

void tst_PushRemoteClient::settersNotifyOnlyOnChange()
{
    PushRemoteClient client;
    QCOMPARE(client.status(), PushRemoteClient::Idle);
    QCOMPARE(client.error(), PushRemoteClient::NoError);
    QCOMPARE(client.lastMessageId(), 0u);

    QSignalSpy urlChanged(&client, &PushRemoteClient::urlChanged);
    QSignalSpy sessionChanged(&client, &PushRemoteClient::sessionChanged);
    QSignalSpy clientChanged(&client, &PushRemoteClient::clientChanged);
    QSignalSpy tokenChanged(&client, &PushRemoteClient::tokenChanged);
    QSignalSpy lastMessageIdChanged(&client, &PushRemoteClient::lastMessageIdChanged);
    for (int i = 0; i < 2; ++i) {
        client.setUrl(QUrl(QStringLiteral("http://127.0.0.1:1")));
        client.setSession(QStringLiteral("s"));
        client.setClient(QStringLiteral("c"));
        client.setToken(QStringLiteral("t"));
        client.setLastMessageId(5);
    }
    QCOMPARE(urlChanged.size(), 1);
    QCOMPARE(sessionChanged.size(), 1);
    QCOMPARE(clientChanged.size(), 1);
    QCOMPARE(tokenChanged.size(), 1);
    QCOMPARE(lastMessageIdChanged.size(), 1);
    QCOMPARE(client.property("session").toString(), QStringLiteral("s"));
    QCOMPARE(client.property("lastMessageId").toULongLong(), 5u);
}

void tst_PushRemoteClient::openRefusesBadSettings_data()
{
    QTest::addColumn<QUrl>("url");
    QTest::addColumn<QString>("session");
    QTest::addColumn<QString>("client");

    const QUrl good(QStringLiteral("http://127.0.0.1:1"));
    QTest::addRow("no url") << QUrl() << QStringLiteral("s") << QStringLiteral("c");
    QTest::addRow("ftp url") << QUrl(QStringLiteral("ftp://127.0.0.1:1")) << QStringLiteral("s")
                             << QStringLiteral("c");
    QTest::addRow("empty session") << good << QString() << QStringLiteral("c");
    QTest::addRow("empty client") << good << QStringLiteral("s") << QString();
    QTest::addRow("client id of 257 bytes") << good << QStringLiteral("s") << QString(257, u'x');
}

void tst_PushRemoteClient::openRefusesBadSettings()
{
    QFETCH(QUrl, url);
    QFETCH(QString, session);
    QFETCH(QString, client);

    PushRemoteClient remote;
    remote.setUrl(url);
    remote.setSession(session);
    remote.setClient(client);
    QSignalSpy statusChanged(&remote, &PushRemoteClient::statusChanged);
    QTest::ignoreMessage(QtWarningMsg, warning("^PushRemoteClient::open: "));
    remote.open();
    QCOMPARE(remote.status(), PushRemoteClient::Idle);
    QCOMPARE(statusChanged.size(), 0);
}

void tst_PushRemoteClient::requestUrlCarriesEncodedIdsSinceAndToken_data()
{
    QTest::addColumn<QString>("basePath");
    QTest::addColumn<QString>("session");
    QTest::addColumn<QString>("client");
    QTest::addColumn<QString>("token");
    QTest::addColumn<quint64>("since");
    QTest::addColumn<QString>("expectedPath"); // as sent on the wire
    QTest::addColumn<QStringList>("expectedQuery"); // decoded key=value items, in order

    QTest::addRow("plain ids") << QString() << QStringLiteral("s") << QStringLiteral("c")
                               << QString() << quint64(0)
                               << QStringLiteral("/v1/sessions/s/clients/c/ws") << QStringList();
    QTest::addRow("ids needing percent-encoding")
            << QString() << QStringLiteral("a b/\u00fc?#") << QStringLiteral("c%d&e+f") << QString()
            << quint64(0)
            << QStringLiteral("/v1/sessions/a%20b%2F%C3%BC%3F%23/clients/c%25d%26e%2Bf/ws")
            << QStringList();
    QTest::addRow("token") << QString() << QStringLiteral("s") << QStringLiteral("c")
                           << QStringLiteral("eyJ.a-b_c.+/= &x") << quint64(0)
                           << QStringLiteral("/v1/sessions/s/clients/c/ws")
                           << QStringList{QStringLiteral("token=eyJ.a-b_c.+/= &x")};
    QTest::addRow("since") << QString() << QStringLiteral("s") << QStringLiteral("c") << QString()
                           << quint64(41) << QStringLiteral("/v1/sessions/s/clients/c/ws")
                           << QStringList{QStringLiteral("since=41")};
    QTest::addRow("since and token")
            << QString() << QStringLiteral("s") << QStringLiteral("c") << QStringLiteral("t")
            << quint64(9007199254740993) << QStringLiteral("/v1/sessions/s/clients/c/ws")
            << QStringList{QStringLiteral("since=9007199254740993"), QStringLiteral("token=t")};
    QTest::addRow("base url with a path")
            << QStringLiteral("/push/") << QStringLiteral("123") << QStringLiteral("c") << QString()
            << quint64(0) << QStringLiteral("/push/v1/sessions/123/clients/c/ws") << QStringList();
}

void tst_PushRemoteClient::requestUrlCarriesEncodedIdsSinceAndToken()
{
    QFETCH(QString, basePath);
    QFETCH(QString, session);
    QFETCH(QString, client);
    QFETCH(QString, token);
    QFETCH(quint64, since);
    QFETCH(QString, expectedPath);
    QFETCH(QStringList, expectedQuery);

    PushRemoteClient remote;
    QUrl url = m_server->url();
    url.setPath(basePath);
    remote.setUrl(url);
    remote.setSession(session);
    remote.setClient(client);
    remote.setToken(token);
    remote.setLastMessageId(since);
    QVERIFY(openAndWait(&remote));

    QCOMPARE(m_server->requestUrls().size(), 1);
    const QUrl request = m_server->requestUrls().constFirst();
    QCOMPARE(request.path(QUrl::FullyEncoded), expectedPath);
    QStringList query;
    const auto items = QUrlQuery(request).queryItems(QUrl::FullyDecoded);
    for (const auto &[key, value] : items)
        query.append(key + u'=' + value);
    QCOMPARE(query, expectedQuery);
}

void tst_PushRemoteClient::messagesArriveInOrderAndLastMessageIdFollows()
{
    auto client = newClient();
    QVariantList received;
    QList<quint64> idsAtDelivery;
    connect(client.get(), &PushRemoteClient::messageReceived, this, [&](const QVariant &message) {
        received.append(message);
        idsAtDelivery.append(client->lastMessageId());
    });
    QSignalSpy lastMessageIdChanged(client.get(), &PushRemoteClient::lastMessageIdChanged);
    QVERIFY(openAndWait(client.get()));

    QVERIFY(m_server->sendMessage(1, QJsonObject{{QStringLiteral("n"), 1}}));
    QVERIFY(m_server->sendMessage(2, QStringLiteral("two")));
    QVERIFY(m_server->sendMessage(5, QJsonArray{3, true}));
    QVERIFY(m_server->sendMessage(6, QJsonValue::Null));
    QTRY_COMPARE(received.size(), 4);

    QCOMPARE(received.at(0), QVariant(QVariantMap{{QStringLiteral("n"), 1}}));
    QCOMPARE(received.at(1), QVariant(QStringLiteral("two")));
    QCOMPARE(received.at(2).toList(), (QVariantList{3, true}));
    QVERIFY(received.at(3).isNull());
    QCOMPARE(idsAtDelivery, (QList<quint64>{1, 2, 5, 6}));
    QCOMPARE(client->lastMessageId(), 6u);
    QCOMPARE(lastMessageIdChanged.size(), 4);
    QCOMPARE(client->error(), PushRemoteClient::NoError);
}

void tst_PushRemoteClient::duplicateMessagesAreIgnored()
{
    auto client = newClient();
    QSignalSpy received(client.get(), &PushRemoteClient::messageReceived);
    QVERIFY(openAndWait(client.get()));

    for (const int id : {1, 2, 2, 1, 3})
        QVERIFY(m_server->sendMessage(id, id));
    // One connection keeps the order: once 3 is in, the duplicates before it were handled.
    QTRY_COMPARE(client->lastMessageId(), 3u);
    QCOMPARE(received.size(), 3);
    for (int i = 0; i < 3; ++i)
        QCOMPARE(received.at(i).at(0).toInt(), i + 1);
    QCOMPARE(client->error(), PushRemoteClient::NoError);
}

void tst_PushRemoteClient::gapFrameEmitsGap()
{
    auto client = newClient();
    QStringList events;
    quint64 idAtGap = 0;
    connect(client.get(), &PushRemoteClient::messageReceived, this,
            [&](const QVariant &message) { events.append(message.toString()); });
    connect(client.get(), &PushRemoteClient::gap, this, [&](quint64 from, quint64 to) {
        events.append(QStringLiteral("gap %1-%2").arg(from).arg(to));
        idAtGap = client->lastMessageId();
    });
    QVERIFY(openAndWait(client.get()));

    QVERIFY(m_server->sendMessage(1, QStringLiteral("one")));
    QVERIFY(m_server->sendText(QStringLiteral(R"({"type":"gap","from":2,"to":4})")));
    QVERIFY(m_server->sendMessage(5, QStringLiteral("five")));
    QTRY_COMPARE(events.size(), 3);
    QCOMPARE(events,
             (QStringList{QStringLiteral("one"), QStringLiteral("gap 2-4"),
                          QStringLiteral("five")}));
    QCOMPARE(idAtGap, 4u); // a resume does not ask for the lost messages again
    QCOMPARE(client->lastMessageId(), 5u);
    QCOMPARE(client->error(), PushRemoteClient::NoError);
}

void tst_PushRemoteClient::unknownControlFrameIsIgnored()
{
    auto client = newClient();
    QSignalSpy received(client.get(), &PushRemoteClient::messageReceived);
    QSignalSpy gap(client.get(), &PushRemoteClient::gap);
    QSignalSpy errorOccurred(client.get(), &PushRemoteClient::errorOccurred);
    QVERIFY(openAndWait(client.get()));

    // A control frame of a later protocol version, even with message-like fields, is no message.
    QVERIFY(m_server->sendText(QStringLiteral(R"({"type":"hint","id":9,"data":"no"})")));
    QVERIFY(m_server->sendMessage(1, QStringLiteral("yes")));
    QTRY_COMPARE(received.size(), 1);
    QCOMPARE(received.at(0).at(0).toString(), QStringLiteral("yes"));
    QCOMPARE(client->lastMessageId(), 1u);
    QCOMPARE(gap.size(), 0);
    QCOMPARE(errorOccurred.size(), 0);
    QCOMPARE(client->error(), PushRemoteClient::NoError);
}

void tst_PushRemoteClient::malformedFrameSetsProtocolErrorAndKeepsTheConnection_data()
{
    QTest::addColumn<QString>("frame");
    QTest::addRow("not JSON") << QStringLiteral("{oops");
    QTest::addRow("an array") << QStringLiteral("[1,2]");
    QTest::addRow("a string") << QStringLiteral(R"("x")");
    QTest::addRow("message without id") << QStringLiteral(R"({"session":"s","data":1})");
    QTest::addRow("message with id 0") << QStringLiteral(R"({"id":0,"session":"s","data":1})");
    QTest::addRow("message with a negative id") << QStringLiteral(R"({"id":-3,"data":1})");
    QTest::addRow("message with a fractional id") << QStringLiteral(R"({"id":1.5,"data":1})");
    QTest::addRow("message with a string id") << QStringLiteral(R"({"id":"1","data":1})");
    QTest::addRow("message without data") << QStringLiteral(R"({"id":1,"session":"s"})");
    QTest::addRow("type that is not a string") << QStringLiteral(R"({"type":7})");
    QTest::addRow("gap without to") << QStringLiteral(R"({"type":"gap","from":2})");
    QTest::addRow("gap backwards") << QStringLiteral(R"({"type":"gap","from":5,"to":3})");
    QTest::addRow("error without code") << QStringLiteral(R"({"error":"x"})");
    QTest::addRow("hello without epoch") << QStringLiteral(R"({"type":"hello","lastId":3})");
    QTest::addRow("hello without lastId") << QStringLiteral(R"({"type":"hello","epoch":"a"})");
}

void tst_PushRemoteClient::malformedFrameSetsProtocolErrorAndKeepsTheConnection()
{
    QFETCH(QString, frame);

    auto client = newClient();
    QSignalSpy received(client.get(), &PushRemoteClient::messageReceived);
    QSignalSpy gap(client.get(), &PushRemoteClient::gap);
    QSignalSpy errorOccurred(client.get(), &PushRemoteClient::errorOccurred);
    QVERIFY(openAndWait(client.get()));

    QTest::ignoreMessage(QtWarningMsg, warning("^ignoring .* from ws://"));
    QTest::ignoreMessage(QtWarningMsg, warning("^ignoring .* from ws://"));
    QVERIFY(m_server->sendText(frame));
    QVERIFY(m_server->sendText(frame));
    QVERIFY(m_server->sendMessage(1, QStringLiteral("still here")));
    QTRY_COMPARE(received.size(), 1);

    QCOMPARE(received.at(0).at(0).toString(), QStringLiteral("still here"));
    QCOMPARE(gap.size(), 0);
    QCOMPARE(client->error(), PushRemoteClient::ProtocolError);
    QVERIFY(!client->errorString().isEmpty());
    QCOMPARE(errorOccurred.size(), 1); // twice the same error: one signal
    QCOMPARE(errorOccurred.at(0).at(0).value<PushRemoteClient::Error>(),
             PushRemoteClient::ProtocolError);
    QCOMPARE(client->status(), PushRemoteClient::Connected);
    QCOMPARE(m_server->connectionCount(), 1);
    QCOMPARE(m_server->openConnectionCount(), 1);
}

void tst_PushRemoteClient::pushSendsAPushFrame_data()
{
    QTest::addColumn<QVariant>("message");
    QTest::addColumn<QJsonValue>("expectedData");
    QTest::addRow("object") << QVariant(
            QVariantMap{{QStringLiteral("a"), 1}, {QStringLiteral("b"), QVariantList{1, 2}}})
                            << QJsonValue(QJsonObject{{QStringLiteral("a"), 1},
                                                      {QStringLiteral("b"), QJsonArray{1, 2}}});
    QTest::addRow("string") << QVariant(QStringLiteral("hi \u00e9"))
                            << QJsonValue(QStringLiteral("hi \u00e9"));
    QTest::addRow("number") << QVariant(2.5) << QJsonValue(2.5);
    QTest::addRow("null") << QVariant() << QJsonValue(QJsonValue::Null);
}

void tst_PushRemoteClient::pushSendsAPushFrame()
{
    QFETCH(QVariant, message);
    QFETCH(QJsonValue, expectedData);

    auto client = newClient();
    QVERIFY(openAndWait(client.get()));
    QVERIFY(client->push(message));
    QTRY_COMPARE(m_server->receivedFrames().size(), 1);
    const QJsonObject expected{{QStringLiteral("op"), QStringLiteral("push")},
                               {QStringLiteral("data"), expectedData}};
    QCOMPARE(parseObject(m_server->receivedFrames().constFirst()), expected);
}

void tst_PushRemoteClient::pushReturnsFalseWhenNotConnected()
{
    auto client = newClient();
    QTest::ignoreMessage(QtWarningMsg, warning("^PushRemoteClient::push: not connected"));
    QVERIFY(!client->push(1)); // idle

    client->open();
    QCOMPARE(client->status(), PushRemoteClient::Connecting);
    QTest::ignoreMessage(QtWarningMsg, warning("^PushRemoteClient::push: not connected"));
    QVERIFY(!client->push(2)); // the handshake is not done yet

    QTRY_COMPARE(client->status(), PushRemoteClient::Connected);
    client->close();
    QTest::ignoreMessage(QtWarningMsg, warning("^PushRemoteClient::push: not connected"));
    QVERIFY(!client->push(3)); // closed
    QTRY_COMPARE(m_server->openConnectionCount(), 0);
    QVERIFY(m_server->receivedFrames().isEmpty());
}

void tst_PushRemoteClient::reconnectsAfterADropAndResumesSince_data()
{
    QTest::addColumn<int>("closeCode"); // 0: abort without a close frame
    QTest::addRow("abort") << 0;
    QTest::addRow("going away (1001)") << int(QWebSocketProtocol::CloseCodeGoingAway);
    QTest::addRow("too big (1009)") << int(QWebSocketProtocol::CloseCodeTooMuchData);
    QTest::addRow("server error (1011)") << int(QWebSocketProtocol::CloseCodeBadOperation);
}

void tst_PushRemoteClient::reconnectsAfterADropAndResumesSince()
{
    QFETCH(int, closeCode);

    auto client = newClient();
    QList<PushRemoteClient::Status> statuses;
    connect(client.get(), &PushRemoteClient::statusChanged, this,
            [&] { statuses.append(client->status()); });
    QSignalSpy received(client.get(), &PushRemoteClient::messageReceived);
    QSignalSpy connected(client.get(), &PushRemoteClient::connected);
    QSignalSpy disconnected(client.get(), &PushRemoteClient::disconnected);
    QSignalSpy errorOccurred(client.get(), &PushRemoteClient::errorOccurred);
    QVERIFY(openAndWait(client.get()));
    QVERIFY(m_server->sendMessage(6, 6));
    QVERIFY(m_server->sendMessage(7, 7));
    QTRY_COMPARE(client->lastMessageId(), 7u);

    QTest::ignoreMessage(QtWarningMsg, warning("^lost ws://.*; reconnecting in \\d+ ms$"));
    if (closeCode == 0)
        m_server->abortConnections();
    else
        m_server->closeConnections(QWebSocketProtocol::CloseCode(closeCode));
    QTRY_COMPARE(m_server->connectionCount(), 2);
    QTRY_COMPARE(client->status(), PushRemoteClient::Connected);

    QCOMPARE(statuses,
             (QList<PushRemoteClient::Status>{
                     PushRemoteClient::Connecting, PushRemoteClient::Connected,
                     PushRemoteClient::Reconnecting, PushRemoteClient::Connected}));
    QCOMPARE(connected.size(), 2);
    QCOMPARE(disconnected.size(), 1);
    QCOMPARE(errorOccurred.size(), 1);
    QCOMPARE(errorOccurred.at(0).at(0).value<PushRemoteClient::Error>(),
             PushRemoteClient::ConnectionError);
    QCOMPARE(client->error(), PushRemoteClient::NoError); // cleared by the new connection
    QVERIFY(!QUrlQuery(m_server->requestUrls().at(0)).hasQueryItem(QStringLiteral("since")));
    QCOMPARE(QUrlQuery(m_server->requestUrls().at(1)).queryItemValue(QStringLiteral("since")),
             QStringLiteral("7"));

    // The resumed connection may repeat what was delivered already.
    QVERIFY(m_server->sendMessage(7, 7));
    QVERIFY(m_server->sendMessage(8, 8));
    QTRY_COMPARE(client->lastMessageId(), 8u);
    QCOMPARE(received.size(), 3);
    QCOMPARE(received.at(2).at(0).toInt(), 8);
}

void tst_PushRemoteClient::reachesTheServerAgainAfterAnOutage()
{
    auto client = newClient();
    QVERIFY(openAndWait(client.get()));
    QVERIFY(m_server->sendMessage(3, 3));
    QTRY_COMPARE(client->lastMessageId(), 3u);

    QTest::ignoreMessage(QtWarningMsg, warning("^lost ws://"));
    const quint16 port = m_server->port();
    m_server->stop(); // nothing listens on the port: connection refused until it comes back
    QTRY_COMPARE(client->status(), PushRemoteClient::Reconnecting);
    // The outage outlasts the first backoff steps (250 + 500 ms, ± 20%): the client must keep
    // trying with longer delays, not give up.
    QTimer::singleShot(1500, m_server.get(), [this, port] { QVERIFY(m_server->listen(port)); });
    QTRY_COMPARE_WITH_TIMEOUT(m_server->connectionCount(), 2, 10000);
    QTRY_COMPARE(client->status(), PushRemoteClient::Connected);
    QCOMPARE(QUrlQuery(m_server->requestUrls().at(1)).queryItemValue(QStringLiteral("since")),
             QStringLiteral("3"));
}

void tst_PushRemoteClient::helloOfTheSameEpochKeepsThePosition()
{
    auto client = newClient();
    QSignalSpy received(client.get(), &PushRemoteClient::messageReceived);
    QVERIFY(openAndWait(client.get()));
    QVERIFY(m_server->sendText(hello("a", 0)));
    QVERIFY(m_server->sendMessage(1, 1));
    QVERIFY(m_server->sendMessage(2, 2));
    QTRY_COMPARE(client->lastMessageId(), 2u);

    QTest::ignoreMessage(QtWarningMsg, warning("^lost ws://"));
    m_server->abortConnections();
    QTRY_COMPARE(m_server->connectionCount(), 2);
    QVERIFY(m_server->sendText(hello("a", 2)));
    QVERIFY(m_server->sendMessage(2, 2)); // a repeat after the resume
    QVERIFY(m_server->sendMessage(3, 3));
    QTRY_COMPARE(client->lastMessageId(), 3u);
    QCOMPARE(received.size(), 3);
    QCOMPARE(m_server->connectionCount(), 2);
    QCOMPARE(client->status(), PushRemoteClient::Connected);
}

void tst_PushRemoteClient::helloOfANewEpochStartsOverAtZero()
{
    auto client = newClient();
    QVariantList received;
    connect(client.get(), &PushRemoteClient::messageReceived, this,
            [&](const QVariant &message) { received.append(message); });
    QVERIFY(openAndWait(client.get()));
    QVERIFY(m_server->sendText(hello("a", 0)));
    for (int id = 1; id <= 5; ++id)
        QVERIFY(m_server->sendMessage(id, id));
    QTRY_COMPARE(client->lastMessageId(), 5u);

    // The server restarts: ids begin again at 1 under epoch b, and it has nine messages already.
    // Only the epoch tells: since=5 is below the new newest id.
    QTest::ignoreMessage(QtWarningMsg, warning("^lost ws://"));
    m_server->abortConnections();
    QTRY_COMPARE(m_server->connectionCount(), 2);
    QCOMPARE(QUrlQuery(m_server->requestUrls().at(1)).queryItemValue(QStringLiteral("since")),
             QStringLiteral("5"));
    QVERIFY(m_server->sendText(hello("b", 9)));
    // since=5 skipped the new life's first messages: the client asks again from its start.
    QTRY_COMPARE(m_server->connectionCount(), 3);
    QCOMPARE(client->lastMessageId(), 0u);
    QVERIFY(!QUrlQuery(m_server->requestUrls().at(2)).hasQueryItem(QStringLiteral("since")));
    QTRY_COMPARE(client->status(), PushRemoteClient::Connected);
    QVERIFY(m_server->sendText(hello("b", 9)));
    QVERIFY(m_server->sendMessage(1, QStringLiteral("b1")));
    QVERIFY(m_server->sendMessage(2, QStringLiteral("b2")));
    QTRY_COMPARE(received.size(), 7);
    QCOMPARE(received.at(5), QVariant(QStringLiteral("b1")));
    QCOMPARE(received.at(6), QVariant(QStringLiteral("b2")));
    QCOMPARE(client->lastMessageId(), 2u);
    QCOMPARE(m_server->connectionCount(), 3); // the same epoch again: no more starting over
    QCOMPARE(client->error(), PushRemoteClient::NoError);
}

void tst_PushRemoteClient::storedPositionBeyondTheSessionStartsOver_data()
{
    QTest::addColumn<quint64>("newestId"); // the hello's lastId
    QTest::addColumn<int>("expectedConnections");
    QTest::addRow("the new life has messages: reconnect with since=0") << quint64(3) << 2;
    QTest::addRow("the new life is empty: keep the connection") << quint64(0) << 1;
}

void tst_PushRemoteClient::storedPositionBeyondTheSessionStartsOver()
{
    QFETCH(quint64, newestId);
    QFETCH(int, expectedConnections);

    auto client = newClient();
    QSignalSpy received(client.get(), &PushRemoteClient::messageReceived);
    client->setLastMessageId(50);
    QVERIFY(openAndWait(client.get()));
    QCOMPARE(QUrlQuery(m_server->requestUrls().at(0)).queryItemValue(QStringLiteral("since")),
             QStringLiteral("50"));
    QVERIFY(m_server->sendText(hello("x", newestId)));
    QTRY_COMPARE(client->lastMessageId(), 0u);
    QTRY_COMPARE(m_server->connectionCount(), expectedConnections);
    QTRY_COMPARE(client->status(), PushRemoteClient::Connected);
    if (expectedConnections == 2) {
        QVERIFY(!QUrlQuery(m_server->requestUrls().at(1)).hasQueryItem(QStringLiteral("since")));
        QVERIFY(m_server->sendText(hello("x", newestId)));
    }
    // A reconnect would have dropped these with the first connection.
    QVERIFY(m_server->sendMessage(1, 1));
    QTRY_COMPARE(received.size(), 1);
    QCOMPARE(client->lastMessageId(), 1u);
    QCOMPARE(m_server->connectionCount(), expectedConnections);
}

void tst_PushRemoteClient::policyCloseStopsWithAccessError_data()
{
    QTest::addColumn<QString>("errorFrame");
    QTest::addColumn<QString>("expectedText");
    QTest::addRow("forbidden, then 1008")
            << QStringLiteral(R"({"error":{"code":"forbidden","message":"token revoked"}})")
            << QStringLiteral("token revoked");
    QTest::addRow("unauthorized, then 1008")
            << QStringLiteral(R"({"error":{"code":"unauthorized","message":"expired"}})")
            << QStringLiteral("expired");
    QTest::addRow("1008 alone") << QString() << QStringLiteral("close reason");
}

void tst_PushRemoteClient::policyCloseStopsWithAccessError()
{
    QFETCH(QString, errorFrame);
    QFETCH(QString, expectedText);

    auto client = newClient();
    QSignalSpy disconnected(client.get(), &PushRemoteClient::disconnected);
    QSignalSpy errorOccurred(client.get(), &PushRemoteClient::errorOccurred);
    QVERIFY(openAndWait(client.get()));
    QSignalSpy reconnected(m_server.get(), &FakePushServer::clientConnected);

    QTest::ignoreMessage(QtWarningMsg, warning("^giving up on ws://.*code 1008"));
    if (!errorFrame.isEmpty())
        QVERIFY(m_server->sendText(errorFrame));
    m_server->closeConnections(QWebSocketProtocol::CloseCodePolicyViolated,
                               QStringLiteral("close reason"));
    QTRY_COMPARE(client->status(), PushRemoteClient::Idle);

    QCOMPARE(client->error(), PushRemoteClient::AccessError);
    QVERIFY2(client->errorString().contains(expectedText), qPrintable(client->errorString()));
    QCOMPARE(errorOccurred.size(), 1); // the error frame and the close agree: one signal
    QCOMPARE(disconnected.size(), 1);
    QVERIFY(!reconnected.wait(s_quietMs));
}

void tst_PushRemoteClient::deletedOrReplacedClientStops_data()
{
    QTest::addColumn<int>("code");
    QTest::addRow("4000 deleted") << 4000;
    QTest::addRow("4001 replaced") << 4001;
}

void tst_PushRemoteClient::deletedOrReplacedClientStops()
{
    QFETCH(int, code);
    auto client = newClient();
    QVERIFY(openAndWait(client.get()));
    QSignalSpy reconnected(m_server.get(), &FakePushServer::clientConnected);
    QTest::ignoreMessage(
            QtWarningMsg,
            QRegularExpression(QStringLiteral("^giving up on ws://.*code %1").arg(code)));
    m_server->closeConnections(QWebSocketProtocol::CloseCode(code), QStringLiteral("bye"));
    QTRY_COMPARE(client->status(), PushRemoteClient::Idle);
    QCOMPARE(client->error(), PushRemoteClient::ConnectionError);
    QVERIFY(!reconnected.wait(s_quietMs));
}

void tst_PushRemoteClient::rateLimitedPolicyCloseReconnects()
{
    auto client = newClient();
    QVERIFY(openAndWait(client.get()));

    QTest::ignoreMessage(QtWarningMsg, warning("^lost ws://.*slow down"));
    QVERIFY(m_server->sendText(
            QStringLiteral(R"({"error":{"code":"rate_limited","message":"slow down"}})")));
    m_server->closeConnections(QWebSocketProtocol::CloseCodePolicyViolated);
    QTRY_COMPARE(client->status(), PushRemoteClient::Reconnecting);
    QCOMPARE(client->error(), PushRemoteClient::ConnectionError);
    QVERIFY2(client->errorString().contains(QLatin1String("slow down")),
             qPrintable(client->errorString()));
    QTRY_COMPARE(m_server->connectionCount(), 2);
    QTRY_COMPARE(client->status(), PushRemoteClient::Connected);
}

void tst_PushRemoteClient::refusedPushReconnectsWithAccessError()
{
    // What qtpush-server does to a push with a token that only allows subscribe.
    auto client = newClient();
    QSignalSpy errorOccurred(client.get(), &PushRemoteClient::errorOccurred);
    QVERIFY(openAndWait(client.get()));
    QVERIFY(client->push(1));
    QTRY_COMPARE(m_server->receivedFrames().size(), 1);

    QTest::ignoreMessage(QtWarningMsg, warning("^lost ws://.*refused a push.*does not allow push"));
    QVERIFY(m_server->sendText(QStringLiteral(
            R"({"error":{"code":"forbidden","message":"the token does not allow push"}})")));
    m_server->closeConnections(QWebSocketProtocol::CloseCodePolicyViolated);
    QTRY_COMPARE(client->status(), PushRemoteClient::Reconnecting);
    QCOMPARE(client->error(), PushRemoteClient::AccessError);
    QCOMPARE(errorOccurred.size(), 1);
    // Receiving was allowed: the client comes back.
    QTRY_COMPARE(m_server->connectionCount(), 2);
    QTRY_COMPARE(client->status(), PushRemoteClient::Connected);
}

void tst_PushRemoteClient::refusedUpgrade_data()
{
    QTest::addColumn<int>("httpStatus");
    QTest::addColumn<PushRemoteClient::Error>("expectedError");
    QTest::addRow("401: no or bad token") << 401 << PushRemoteClient::AccessError;
    QTest::addRow("403: token does not allow it") << 403 << PushRemoteClient::AccessError;
    QTest::addRow("503: over capacity") << 503 << PushRemoteClient::ConnectionError;
    QTest::addRow("404: unknown path") << 404 << PushRemoteClient::ConnectionError;
}

void tst_PushRemoteClient::refusedUpgrade()
{
    QFETCH(int, httpStatus);
    QFETCH(PushRemoteClient::Error, expectedError);

    auto client = newClient();
    client->setToken(QStringLiteral("secret-token"));
    m_server->setRefusal(httpStatus);
    if (expectedError == PushRemoteClient::AccessError) {
        QTest::ignoreMessage(QtWarningMsg,
                             warning("^giving up on ws://[^ ]*/ws : the server refused the upgrade "
                                     "with HTTP 40[13]$"));
    }
    client->open();
    QTRY_COMPARE(client->error(), expectedError);
    QVERIFY2(client->errorString().contains(QString::number(httpStatus)),
             qPrintable(client->errorString()));
    QVERIFY(!client->errorString().contains(QLatin1String("secret-token")));

    if (expectedError == PushRemoteClient::AccessError) {
        QCOMPARE(client->status(), PushRemoteClient::Idle);
        QCOMPARE(m_server->refusedCount(), 1);
        QVERIFY(!QTest::qWaitFor([this] { return m_server->refusedCount() > 1; }, s_quietMs));
        // A new token and a new open() start over.
        m_server->setRefusal(0);
        QVERIFY(openAndWait(client.get()));
    } else {
        QCOMPARE(client->status(), PushRemoteClient::Reconnecting);
        QTRY_VERIFY(m_server->refusedCount() >= 2); // the backoff keeps trying
        m_server->setRefusal(0);
        QTRY_COMPARE_WITH_TIMEOUT(client->status(), PushRemoteClient::Connected, 10000);
    }
    QCOMPARE(client->error(), PushRemoteClient::NoError);
}

void tst_PushRemoteClient::retriesBackOff()
{
    auto client = newClient();
    m_server->setRefusal(503);
    client->open();
    // Attempts come at 0, 250, 750, 1750 and 3750 ms; with each delay at least 80% of its step
    // and a coarse timer up to 5% early, the fifth comes after 2.85 s however slow the machine.
    // A backoff that did not grow (250 ms each) would make about 10 attempts in 2.5 s.
    QVERIFY(!QTest::qWaitFor([this] { return m_server->refusedCount() > 4; }, 2500));
    // It keeps trying: a second attempt comes, however slow the machine made the first ones.
    QTRY_VERIFY_WITH_TIMEOUT(m_server->refusedCount() >= 2, 30000);
    QCOMPARE(client->status(), PushRemoteClient::Reconnecting);
}

void tst_PushRemoteClient::closeStopsReconnecting_data()
{
    QTest::addColumn<PushRemoteClient::Status>("closeWhen");
    QTest::addRow("connecting") << PushRemoteClient::Connecting;
    QTest::addRow("connected") << PushRemoteClient::Connected;
    QTest::addRow("reconnecting") << PushRemoteClient::Reconnecting;
}

void tst_PushRemoteClient::closeStopsReconnecting()
{
    QFETCH(PushRemoteClient::Status, closeWhen);

    auto client = newClient();
    QSignalSpy disconnected(client.get(), &PushRemoteClient::disconnected);
    const quint16 port = m_server->port();
    if (closeWhen == PushRemoteClient::Connecting) {
        client->open();
    } else {
        QVERIFY(openAndWait(client.get()));
        if (closeWhen == PushRemoteClient::Reconnecting) {
            QTest::ignoreMessage(QtWarningMsg, warning("^lost ws://"));
            m_server->stop();
            QTRY_COMPARE(client->status(), PushRemoteClient::Reconnecting);
        }
    }
    QCOMPARE(client->status(), closeWhen);

    client->close();
    QCOMPARE(client->status(), PushRemoteClient::Idle);
    if (closeWhen == PushRemoteClient::Connected) {
        QCOMPARE(disconnected.size(), 1);
        QTRY_COMPARE(m_server->openConnectionCount(), 0);
        QCOMPARE(m_server->lastCloseCode(), int(QWebSocketProtocol::CloseCodeNormal));
    } else {
        QCOMPARE(disconnected.size(), closeWhen == PushRemoteClient::Reconnecting ? 1 : 0);
    }

    if (closeWhen == PushRemoteClient::Reconnecting)
        QVERIFY(m_server->listen(port)); // the server is back, the client must not come
    const int connections = m_server->connectionCount();
    QVERIFY(!QTest::qWaitFor([&] { return m_server->connectionCount() > connections; }, s_quietMs));
    QCOMPARE(client->status(), PushRemoteClient::Idle);
}

void tst_PushRemoteClient::deletingTheClientSaysGoingAway()
{
    auto client = newClient();
    QVERIFY(openAndWait(client.get()));
    client.reset();
    QTRY_COMPARE(m_server->openConnectionCount(), 0);
    QCOMPARE(m_server->lastCloseCode(), int(QWebSocketProtocol::CloseCodeGoingAway));
}

void tst_PushRemoteClient::handshakeThatNeverCompletesTimesOut()
{
    m_server->setSilence(FakePushServer::Silence::NoHandshake);
    auto client = newClient();
    auto *socket = client->findChild<PushReconnectingSocket *>();
    QVERIFY(socket);
    PushReconnectingSocket::Timing timing;
    timing.handshakeTimeoutMs = 200;
    timing.firstBackoffMs = 10;
    socket->setTiming(timing);
    QStringList errors; // errorString() as each errorOccurred() left it
    connect(client.get(), &PushRemoteClient::errorOccurred, client.get(),
            [&] { errors << client->errorString(); });
    client->open();

    QTRY_VERIFY(!errors.isEmpty());
    QVERIFY2(errors.first().endsWith(QLatin1String(": no WebSocket handshake within 200 ms")),
             qPrintable(errors.first()));
    QTRY_VERIFY(m_server->tcpConnectionCount() >= 2); // and it keeps trying
    QCOMPARE(client->status(), PushRemoteClient::Reconnecting);
    QCOMPARE(client->error(), PushRemoteClient::ConnectionError);
    QCOMPARE(m_server->connectionCount(), 0);
}

void tst_PushRemoteClient::silentServerIsDroppedByThePingWatchdog()
{
    m_server->setSilence(FakePushServer::Silence::AfterHandshake);
    auto client = newClient();
    auto *socket = client->findChild<PushReconnectingSocket *>();
    QVERIFY(socket);
    PushReconnectingSocket::Timing timing;
    timing.pingIntervalMs = 50;
    timing.silenceLimitMs = 300;
    timing.firstBackoffMs = 60 * 60 * 1000; // one drop is the whole test: no reconnect
    timing.maxBackoffMs = timing.firstBackoffMs;
    socket->setTiming(timing);
    QSignalSpy connected(client.get(), &PushRemoteClient::connected);
    QSignalSpy disconnected(client.get(), &PushRemoteClient::disconnected);
    QTest::ignoreMessage(QtWarningMsg, warning("^lost ws://.* \\(no frame, no pong\\)"));
    client->open();

    QTRY_COMPARE(connected.count(), 1);
    QTRY_COMPARE(disconnected.count(), 1);
    QCOMPARE(client->status(), PushRemoteClient::Reconnecting);
    QCOMPARE(client->error(), PushRemoteClient::ConnectionError);
    QVERIFY2(client->errorString().contains(QLatin1String("(no frame, no pong)")),
             qPrintable(client->errorString()));
    QCOMPARE(m_server->silentUpgradeCount(), 1);
}

QTEST_GUILESS_MAIN(tst_PushRemoteClient)
#include "tst_pushremoteclient.moc"
