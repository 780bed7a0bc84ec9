// SPDX-License-Identifier: MIT
// What the server's housekeeping expires (src/server/pushhousekeeping.cpp): sessions it made
// once they are empty with nothing retained, and clients whose grace period ran out, found by
// the registry's change journal and kept by deadline instead of walked every second.
#include <QtPush/pushregistry.h>
#include <QtPush/pushserver.h>
#include <QtPush/pushsession.h>

#include "serverfixture.h"

#include <QtTest/QTest>

class tst_PushExpiry : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void sessionWithNothingRetainedGoesAtOnce();
    void emptySessionGoesOnceItsMessagesAge();
    void sessionGoesWhenItsLastClientDoes();
    void shorterGracePeriodAppliesToWaitingClients();

private:
    QUrl url(const QString &path) const
    {
        return QUrl(QStringLiteral("http://127.0.0.1:%1%2").arg(m_server->serverPort()).arg(path));
    }
    std::unique_ptr<PushRegistry> m_registry;
    std::unique_ptr<PushServer> m_server;
    QNetworkAccessManager m_manager;
};

void tst_PushExpiry::init()
{
    m_registry = std::make_unique<PushRegistry>();
    m_server = std::make_unique<PushServer>(m_registry.get());
    QVERIFY(m_server->listen(QHostAddress::LocalHost, 0));
}

void tst_PushExpiry::cleanup()
{
    m_server.reset();
    m_registry.reset();
}

void tst_PushExpiry::sessionWithNothingRetainedGoesAtOnce()
{
    m_server->setRetainedMessages(0);
    QCOMPARE(httpRequest(m_manager, "POST", url(QStringLiteral("/v1/sessions/s/push")), "1").status,
             200);
    QVERIFY(m_registry->exists(QStringLiteral("s")));
    QTRY_VERIFY_WITH_TIMEOUT(!m_registry->exists(QStringLiteral("s")), 30000);
}

void tst_PushExpiry::emptySessionGoesOnceItsMessagesAge()
{
    m_server->setRetentionPeriod(1500);
    QCOMPARE(httpRequest(m_manager, "POST", url(QStringLiteral("/v1/sessions/s/push")), "1").status,
             200);
    QCOMPARE(m_registry->findSession(QStringLiteral("s"))->messagesAfter(0).size(), 1);
    // A push to it later moves its end; it still goes once that message ages too.
    QCOMPARE(httpRequest(m_manager, "POST", url(QStringLiteral("/v1/sessions/s/push")), "2").status,
             200);
    QTRY_VERIFY_WITH_TIMEOUT(!m_registry->exists(QStringLiteral("s")), 30000);
}

void tst_PushExpiry::sessionGoesWhenItsLastClientDoes()
{
    m_server->setRetainedMessages(0);
    WebSocketClient ws;
    QVERIFY(ws.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/v1/sessions/s/clients/c/ws")
                                 .arg(m_server->serverPort()))));
    // findSession(), not session(): a session the application made is never expired.
    QTRY_VERIFY(m_registry->findSession(QStringLiteral("s"))
                && m_registry->findSession(QStringLiteral("s"))->count() == 1);
    // Once its client is deleted the session must go: the journal reports the change.
    m_server->setClientGracePeriod(0);
    ws.socket.close();
    QTRY_VERIFY_WITH_TIMEOUT(!m_registry->exists(QStringLiteral("s")), 30000);
}

void tst_PushExpiry::shorterGracePeriodAppliesToWaitingClients()
{
    m_server->setClientGracePeriod(3600 * 1000);
    WebSocketClient ws;
    QVERIFY(ws.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/v1/sessions/s/clients/c/ws")
                                 .arg(m_server->serverPort()))));
    QTRY_VERIFY(m_registry->findSession(QStringLiteral("s"))
                && m_registry->findSession(QStringLiteral("s"))->count() == 1);
    ws.socket.close();
    QTRY_COMPARE(httpRequest(m_manager, "GET", url(QStringLiteral("/v1/sessions/s")))
                         .json()[QLatin1String("clients")][0][QLatin1String("transport")]
                         .toString(),
                 QStringLiteral("none"));
    // Its deadline was an hour away; the new period counts from its disconnect.
    m_server->setClientGracePeriod(0);
    // The client goes, and with it the session the server made for it.
    QTRY_VERIFY_WITH_TIMEOUT(!m_registry->exists(QStringLiteral("s")), 30000);
}

QTEST_MAIN(tst_PushExpiry)
#include "tst_pushexpiry.moc"
