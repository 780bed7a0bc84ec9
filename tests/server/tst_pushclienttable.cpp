// SPDX-License-Identifier: MIT
// The server's table of network clients (src/server/pushclienttable_p.h) without a server:
// attach, a second connection replacing the first, detach, grace expiry on a fake steady
// clock, and clients deleted while attached or waiting.
#include "fakedeliveryhost.h"

#include <QtPush/pushclient.h>
#include <QtPush/pushregistry.h>
#include <QtPush/pushsession.h>

#include <QtTest/QtTest>

namespace {

qint64 fakeNow = 0;
qint64 fakeClock()
{
    return fakeNow;
}

} // namespace

class tst_PushClientTable : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void attachMakesTheClient();
    void attachAgainReplacesTheDelivery();
    void detachStartsTheGracePeriod();
    void detachByAFormerOwnerDoesNothing();
    void graceExpiryDeletesTheClient();
    void comingBackCancelsTheGracePeriod();
    void longerGracePeriodIsHonoured();
    void clientDeletedWhileAttachedEndsTheDelivery();
    void clientDeletedWhileWaitingLeavesTheTable();
    void clientDeletedTwice();
    void adminFigures();

private:
    PushAttachment *attach(FakeDelivery *delivery, const QString &clientKey = QStringLiteral("c"),
                           QList<PushSession::Message> *catchUp = nullptr);

    std::unique_ptr<PushRegistry> m_registry;
    std::unique_ptr<FakeHost> m_host;
    std::unique_ptr<PushClientTable> m_table;
    PushSession *m_session = nullptr;
};

void tst_PushClientTable::init()
{
    fakeNow = 1000000;
    m_registry = std::make_unique<PushRegistry>();
    m_host = std::make_unique<FakeHost>();
    m_host->config.clientGracePeriodMs = 1000;
    m_table = std::make_unique<PushClientTable>(m_registry.get(), m_host->config, &m_host->parent);
    m_table->setSteadyClock(&fakeClock);
    m_host->table = m_table.get();
    m_session = m_registry->session(QStringLiteral("s"));
    QVERIFY(m_session);
}

void tst_PushClientTable::cleanup()
{
    m_host->table = nullptr;
    m_table.reset();
    m_host.reset();
    m_registry.reset();
}

PushAttachment *tst_PushClientTable::attach(FakeDelivery *delivery, const QString &clientKey,
                                            QList<PushSession::Message> *catchUp)
{
    QList<PushSession::Message> ignored;
    QString why;
    PushAttachment *attachment = m_table->attach(m_session, clientKey, delivery->kind(), delivery,
                                                 {}, catchUp ? catchUp : &ignored, &why);
    if (attachment)
        delivery->start(attachment, catchUp ? *catchUp : ignored);
    return attachment;
}

void tst_PushClientTable::attachMakesTheClient()
{
    FakeDelivery delivery(m_host.get());
    PushAttachment *attachment = attach(&delivery);
    QVERIFY(attachment);
    QVERIFY(m_session->exists(QStringLiteral("c")));
    QCOMPARE(attachment->owner, &delivery);
    QCOMPARE(attachment->transport, PushTransport::WebSocket);
    QCOMPARE(attachment->sessionKey, QStringLiteral("s"));
    QCOMPARE(attachment->clientKey, QStringLiteral("c"));
    QCOMPARE(attachment->sessionJson, QByteArray("\"s\""));
    QCOMPARE(m_table->find(QStringLiteral("s"), QStringLiteral("c")), attachment);
    QCOMPARE(m_table->size(), 1);
    QCOMPARE(m_table->waiting(), 0);
    QCOMPARE(delivery.attachment(), attachment);
    // A new client owes nothing older than the session's newest message.
    QCOMPARE(attachment->expected, m_session->lastMessageId() + 1);
}

void tst_PushClientTable::attachAgainReplacesTheDelivery()
{
    FakeDelivery first(m_host.get());
    FakeDelivery second(m_host.get(), PushTransport::Sse);
    PushAttachment *attachment = attach(&first);
    QCOMPARE(attach(&second), attachment); // the same record: its cursor goes on
    QCOMPARE(first.log,
             QStringList({QStringLiteral("hello"),
                          QStringLiteral("close %1").arg(int(PushDelivery::EndReason::Replaced))}));
    QVERIFY(!first.attachment()); // it stopped serving before the new one started
    QCOMPARE(m_host->stopped, QList<PushDelivery *>{&first});
    QCOMPARE(attachment->owner, &second);
    QCOMPARE(attachment->transport, PushTransport::Sse);
    QCOMPARE(m_table->waiting(), 0);

    // Only the newest takes messages.
    m_session->push(QStringLiteral("x"));
    QCOMPARE(second.log.last(), QString::number(m_session->lastMessageId()));
    QCOMPARE(first.log.size(), 2);
}

void tst_PushClientTable::detachStartsTheGracePeriod()
{
    FakeDelivery delivery(m_host.get());
    PushAttachment *attachment = attach(&delivery);
    delivery.end(PushDelivery::EndReason::ConnectionClosed);
    QVERIFY(!attachment->owner);
    QCOMPARE(attachment->transport, PushTransport::None);
    QCOMPARE(attachment->detachedSteadyMs, fakeNow);
    QVERIFY(attachment->detachedAtMs > 0);
    QCOMPARE(m_table->waiting(), 1);
    QCOMPARE(m_host->ended, QList<PushDelivery *>{&delivery});
}

void tst_PushClientTable::detachByAFormerOwnerDoesNothing()
{
    FakeDelivery first(m_host.get());
    FakeDelivery second(m_host.get());
    PushAttachment *attachment = attach(&first);
    attach(&second);
    m_table->detach(attachment, &first);
    QCOMPARE(attachment->owner, &second);
    QCOMPARE(m_table->waiting(), 0);
}

void tst_PushClientTable::graceExpiryDeletesTheClient()
{
    FakeDelivery delivery(m_host.get());
    attach(&delivery);
    delivery.end(PushDelivery::EndReason::ConnectionClosed);
    m_table->expire(fakeNow + 1000); // the period is 1000 ms: not yet
    QVERIFY(m_session->exists(QStringLiteral("c")));
    QCOMPARE(m_table->size(), 1);
    m_table->expire(fakeNow + 1001);
    QVERIFY(!m_session->exists(QStringLiteral("c")));
    QCOMPARE(m_table->size(), 0);
    QCOMPARE(m_table->waiting(), 0);
}

void tst_PushClientTable::comingBackCancelsTheGracePeriod()
{
    FakeDelivery first(m_host.get());
    FakeDelivery second(m_host.get());
    attach(&first);
    first.end(PushDelivery::EndReason::ConnectionClosed);
    fakeNow += 500;
    PushAttachment *attachment = attach(&second);
    QCOMPARE(m_table->waiting(), 0);
    m_table->expire(fakeNow + 10 * 1000);
    QVERIFY(m_session->exists(QStringLiteral("c")));
    QCOMPARE(attachment->owner, &second);
    QCOMPARE(attachment->detachedSteadyMs, 0);
}

void tst_PushClientTable::longerGracePeriodIsHonoured()
{
    FakeDelivery delivery(m_host.get());
    attach(&delivery);
    const qint64 detachedAt = fakeNow;
    delivery.end(PushDelivery::EndReason::ConnectionClosed);
    m_host->config.clientGracePeriodMs = 5000; // PushServer::setClientGracePeriod()
    m_table->reschedule();
    m_table->expire(detachedAt + 1001);
    QVERIFY(m_session->exists(QStringLiteral("c")));
    m_table->expire(detachedAt + 5000);
    QVERIFY(m_session->exists(QStringLiteral("c")));
    m_table->expire(detachedAt + 5001);
    QVERIFY(!m_session->exists(QStringLiteral("c")));
}

void tst_PushClientTable::clientDeletedWhileAttachedEndsTheDelivery()
{
    FakeDelivery delivery(m_host.get());
    attach(&delivery);
    m_session->deleteClient(QStringLiteral("c"));
    QTRY_COMPARE(m_table->size(), 0);
    QCOMPARE(delivery.log.last(),
             QStringLiteral("close %1").arg(int(PushDelivery::EndReason::ClientDeleted)));
    QVERIFY(!delivery.attachment());
    QCOMPARE(m_table->waiting(), 0);
}

void tst_PushClientTable::clientDeletedWhileWaitingLeavesTheTable()
{
    FakeDelivery delivery(m_host.get());
    attach(&delivery);
    delivery.end(PushDelivery::EndReason::ConnectionClosed);
    QCOMPARE(m_table->waiting(), 1);
    const QStringList before = delivery.log;
    m_session->deleteClient(QStringLiteral("c"));
    QTRY_COMPARE(m_table->size(), 0);
    QCOMPARE(m_table->waiting(), 0);
    QCOMPARE(delivery.log, before); // nothing to close
    m_table->expire(fakeNow + 60 * 1000); // nothing left to expire
    QCOMPARE(m_table->size(), 0);
}

void tst_PushClientTable::clientDeletedTwice()
{
    FakeDelivery first(m_host.get());
    attach(&first);
    m_session->deleteClient(QStringLiteral("c"));
    QTRY_COMPARE(m_table->size(), 0);
    m_session->deleteClient(QStringLiteral("c")); // gone already
    // Made again: a new record, served by a new delivery.
    FakeDelivery second(m_host.get());
    PushAttachment *attachment = attach(&second);
    QVERIFY(attachment);
    QCOMPARE(attachment->owner, &second);
    m_session->deleteClient(QStringLiteral("c"));
    QTRY_COMPARE(m_table->size(), 0);
    QCOMPARE(first.log.count(
                     QStringLiteral("close %1").arg(int(PushDelivery::EndReason::ClientDeleted))),
             1);
    QCOMPARE(second.log.count(
                     QStringLiteral("close %1").arg(int(PushDelivery::EndReason::ClientDeleted))),
             1);
}

void tst_PushClientTable::adminFigures()
{
    FakeDelivery delivery(m_host.get());
    PushAttachment *attachment = attach(&delivery);
    m_session->push(1);
    m_session->push(2);
    PushClient *client = m_session->findClient(QStringLiteral("c"));
    QVERIFY(client);
    PushAdminClient figures = m_table->adminClient(QStringLiteral("s"), client);
    QCOMPARE(figures.transport, QByteArray("ws"));
    QCOMPARE(figures.delivered, 2);
    QCOMPARE(figures.connectedSinceMs, attachment->connectedSinceMs);
    QCOMPARE(figures.disconnectedSinceMs, 0);

    delivery.end(PushDelivery::EndReason::ConnectionClosed);
    figures = m_table->adminClient(QStringLiteral("s"), client);
    QCOMPARE(figures.transport, QByteArray("none"));
    QCOMPARE(figures.disconnectedSinceMs, attachment->detachedAtMs);

    PushClient *local = m_session->newClient(QStringLiteral("local"));
    figures = m_table->adminClient(QStringLiteral("s"), local);
    QCOMPARE(figures.transport, QByteArray("local"));
    QCOMPARE(figures.delivered, -1);
}

QTEST_MAIN(tst_PushClientTable)
#include "tst_pushclienttable.moc"
