// SPDX-License-Identifier: MIT
// The broker conformance suite: the promises of pushbroker.h, checked on every back end
// (tests/shared/pushtestbrokers.h) through the public API only, so that a remote broker can pass
// it unchanged. Every test runs once per back end (the global data rows); tests of what only a
// durable store can keep skip the others.
#include "tst_pushbroker.h"

#include <QtCore/QPointer>
#include <QtCore/QRegularExpression>

// ---- fixture ---------------------------------------------------------------------------------

void tst_PushBroker::initTestCase_data()
{
    QTest::addColumn<QString>("backend");
    for (const QString &name : testBackendNames())
        QTest::newRow(qPrintable(name)) << name;
}

void tst_PushBroker::init()
{
    // The tests that fill or crash a store expect the engine's warnings about it.
    const QByteArray test = QTest::currentTestFunction();
    if (test != "refusedWhenFull" && test != "crashLosesOnlyUnreceipted")
        QTest::failOnWarning(QRegularExpression(u".*"_s));
    QFETCH_GLOBAL(QString, backend);
    m_backend = makeTestBackend(backend);
    QVERIFY(m_backend);
    QVERIFY(openRegistry());
}

void tst_PushBroker::cleanup()
{
    m_registry.reset(); // closes the broker: the store finishes what it accepted
    if (m_backend)
        QCOMPARE(m_backend->violations(), QStringList());
    m_backend.reset();
}

bool tst_PushBroker::openRegistry()
{
    QString error;
    std::unique_ptr<PushBroker> broker = m_backend->open(&error);
    if (!broker) {
        qWarning().noquote() << "could not open the" << m_backend->name() << "broker:" << error;
        return false;
    }
    PushBroker *given = broker.get();
    m_registry = std::make_unique<PushRegistry>(std::move(broker));
    return m_registry->broker() == given; // not replaced by a memory broker
}

bool tst_PushBroker::reopenRegistry()
{
    m_registry.reset();
    return openRegistry();
}

// Publishes the ids' strings for ids from..to and returns the finished receipts in order.
QList<PushReceipt> tst_PushBroker::publishAll(PushSession *session, quint64 from, quint64 to,
                                              qint64 bytes)
{
    QList<QFuture<PushReceipt>> futures;
    for (quint64 id = from; id <= to; ++id)
        futures.append(session->publish(QString::number(id), bytes));
    QList<PushReceipt> receipts;
    for (QFuture<PushReceipt> &future : futures) {
        if (!QTest::qWaitFor([&] { return future.isFinished(); }, Timeout))
            return receipts; // short: the caller's comparison fails
        receipts.append(future.result());
    }
    return receipts;
}

PushHistory tst_PushBroker::history(PushSession *session, quint64 afterId)
{
    QFuture<PushHistory> future = session->requestHistory(afterId);
    if (!QTest::qWaitFor([&] { return future.isFinished(); }, Timeout))
        return {{}, 0, {}, PushBroker::Unavailable};
    return future.result();
}

// ---- ids -------------------------------------------------------------------------------------

void tst_PushBroker::idsStartAtOneContiguous()
{
    PushSession *session = m_registry->session(u"alice"_s);
    QVERIFY(session);
    const quint64 epoch = session->epoch();
    QVERIFY(epoch != 0);
    QCOMPARE(session->lastMessageId(), 0u);
    QCOMPARE(checkReceipts(publishAll(session, 1, 200), 1, 200, epoch), QString());
    QCOMPARE(session->lastMessageId(), 200u);
    QCOMPARE(session->epoch(), epoch);
}

void tst_PushBroker::idsPerSession()
{
    PushSession *a = m_registry->session(u"a"_s);
    PushSession *b = m_registry->session(7); // an int key: the same session as "7"
    QCOMPARE(m_registry->session(u"7"_s), b);
    QVERIFY(a->epoch() != 0 && b->epoch() != 0);
    QVERIFY(a->epoch() != b->epoch());
    QList<QFuture<PushReceipt>> fa, fb;
    for (int i = 1; i <= 100; ++i) {
        fa.append(a->publish(QString::number(i)));
        fb.append(b->publish(QString::number(i)));
        if (i % 3 == 0) // uneven interleaving
            fb.append(b->publish(QString::number(++i)));
    }
    QList<PushReceipt> ra, rb;
    for (auto *list : {&fa, &fb}) {
        for (QFuture<PushReceipt> &future : *list)
            QTRY_VERIFY_WITH_TIMEOUT(future.isFinished(), Timeout);
    }
    for (QFuture<PushReceipt> &future : fa)
        ra.append(future.result());
    for (QFuture<PushReceipt> &future : fb)
        rb.append(future.result());
    QCOMPARE(checkReceipts(ra, 1, quint64(ra.size()), a->epoch()), QString());
    QCOMPARE(checkReceipts(rb, 1, quint64(rb.size()), b->epoch()), QString());
    QVERIFY(ra.size() != rb.size()); // the counts differ, so neither counts the other's
    QCOMPARE(a->lastMessageId(), quint64(ra.size()));
    QCOMPARE(b->lastMessageId(), quint64(rb.size()));
}

void tst_PushBroker::pushReturnsIdWhenLocal()
{
    PushSession *session = m_registry->session(u"s"_s);
    PushClient *client = session->newClient(u"c"_s);
    QStringList received;
    connect(client, &PushClient::messageReceived, this, [&](const QVariant &message) {
        received.append(u"%1:%2"_s.arg(client->lastMessageId()).arg(message.toString()));
    });
    if (assignsIdsLocally()) {
        QCOMPARE(session->push(u"1"_s), 1u);
        QCOMPARE(session->push(u"2"_s), 2u);
    } else {
        QCOMPARE(session->push(u"1"_s), 0u); // numbered by the back end: publish() says it
        QCOMPARE(session->push(u"2"_s), 0u);
    }
    QCOMPARE(checkReceipts(publishAll(session, 3, 3), 3, 3, session->epoch()), QString());
    QTRY_COMPARE_WITH_TIMEOUT(received, expected(1, 3), Timeout);
    QCOMPARE(session->lastMessageId(), 3u);
}

// ---- history ---------------------------------------------------------------------------------

void tst_PushBroker::historyInsideWindow()
{
    PushSession *session = m_registry->session(u"s"_s);
    session->setRetainedMessages(100);
    QCOMPARE(checkReceipts(publishAll(session, 1, 50), 1, 50, session->epoch()), QString());
    for (quint64 after : {0, 1, 25, 49}) {
        const PushHistory h = history(session, after);
        QCOMPARE(h.error, PushBroker::NoError);
        QCOMPARE(h.position.epoch, session->epoch());
        QCOMPARE(h.position.id, 50u);
        QCOMPARE(h.oldestRetained, 1u);
        QCOMPARE(describe(h.messages), expected(after + 1, 50));
    }
}

void tst_PushBroker::historyOutsideWindow()
{
    PushSession *session = m_registry->session(u"s"_s);
    session->setRetainedMessages(10);
    QCOMPARE(checkReceipts(publishAll(session, 1, 50), 1, 50, session->epoch()), QString());
    for (quint64 after : {0, 5, 39, 40, 45}) {
        const PushHistory h = history(session, after);
        QCOMPARE(h.position.id, 50u);
        QCOMPARE(h.oldestRetained, 41u); // the caller tells its gap from this
        QCOMPARE(describe(h.messages), expected(std::max<quint64>(after + 1, 41), 50));
    }
}

void tst_PushBroker::historyAtAndBeyondTop()
{
    PushSession *session = m_registry->session(u"s"_s);
    session->setRetainedMessages(100);
    PushHistory empty = history(session, 0);
    QCOMPARE(empty.position.epoch, session->epoch());
    QCOMPARE(empty.position.id, 0u);
    QCOMPARE(empty.oldestRetained, 1u);
    QVERIFY(empty.messages.isEmpty());
    QCOMPARE(checkReceipts(publishAll(session, 1, 20), 1, 20, session->epoch()), QString());
    // At the top nothing is missed; beyond it the id is of an earlier life (protocol.md): the
    // broker answers with its position, and the caller replays from 0 of this epoch.
    for (quint64 after : {20, 21, 25, 1000}) {
        const PushHistory h = history(session, after);
        QCOMPARE(h.position, (PushPosition{session->epoch(), 20}));
        QCOMPARE(h.oldestRetained, 1u);
        QVERIFY(h.messages.isEmpty());
    }
}

// ---- retention -------------------------------------------------------------------------------

void tst_PushBroker::retentionByCount_data()
{
    QTest::addColumn<int>("keep");
    QTest::newRow("0") << 0;
    QTest::newRow("1") << 1;
    QTest::newRow("1000") << 1000;
}

void tst_PushBroker::retentionByCount()
{
    QFETCH(int, keep);
    constexpr quint64 Total = 1200;
    PushSession *session = m_registry->session(u"s"_s);
    session->setRetainedMessages(keep);
    const quint64 epoch = session->epoch();
    QCOMPARE(checkReceipts(publishAll(session, 1, Total), 1, Total, epoch), QString());
    const quint64 oldest = Total - quint64(keep) + 1;
    auto check = [&](PushSession *s) {
        const PushHistory h = history(s, 0);
        QCOMPARE(h.position, (PushPosition{epoch, Total}));
        QCOMPARE(h.oldestRetained, oldest);
        QCOMPARE(describe(h.messages), expected(oldest, Total));
    };
    check(session);
    if (QTest::currentTestFailed() || !m_backend->reopens())
        return;
    QVERIFY(reopenRegistry());
    session = m_registry->findSession(u"s"_s);
    QVERIFY(session);
    QCOMPARE(session->retainedMessages(), keep);
    check(session);
}

void tst_PushBroker::retentionByAge()
{
    PushSession *session = m_registry->session(u"s"_s);
    session->setRetainedMessages(100);
    QCOMPARE(checkReceipts(publishAll(session, 1, 5), 1, 5, session->epoch()), QString());
    QCOMPARE(describe(history(session, 0).messages), expected(1, 5)); // no age bound yet
    session->setRetentionPeriod(300);
    QTRY_VERIFY_WITH_TIMEOUT(history(session, 0).messages.isEmpty(), Timeout);
    const PushHistory h = history(session, 0);
    QCOMPARE(h.position, (PushPosition{session->epoch(), 5}));
    QCOMPARE(h.oldestRetained, 6u);
    // Ids go on after the window emptied, and the new message ages out too.
    QCOMPARE(checkReceipts(publishAll(session, 6, 6), 6, 6, session->epoch()), QString());
    QTRY_COMPARE_WITH_TIMEOUT(history(session, 0).oldestRetained, 7u, Timeout);
}

void tst_PushBroker::retentionByBytes()
{
    PushSession *session = m_registry->session(u"s"_s);
    session->setRetainedMessages(100);
    session->setMaxRetainedBytes(1000);
    const quint64 epoch = session->epoch();
    QCOMPARE(checkReceipts(publishAll(session, 1, 20, 100), 1, 20, epoch), QString());
    QCOMPARE(session->retainedBytes(), 1000);
    PushHistory h = history(session, 0);
    QCOMPARE(h.oldestRetained, 11u);
    QCOMPARE(describe(h.messages), expected(11, 20));
    // The newest message is kept even alone over the bound.
    QCOMPARE(checkReceipts(publishAll(session, 21, 21, 5000), 21, 21, epoch), QString());
    h = history(session, 0);
    QCOMPARE(h.oldestRetained, 21u);
    QCOMPARE(describe(h.messages), expected(21, 21));
    if (!m_backend->reopens())
        return;
    QCOMPARE(checkReceipts(publishAll(session, 22, 22, 400), 22, 22, epoch), QString());
    QVERIFY(reopenRegistry());
    session = m_registry->findSession(u"s"_s);
    QVERIFY(session);
    QCOMPARE(session->maxRetainedBytes(), 1000);
    QCOMPARE(session->retainedBytes(), 400);
    QCOMPARE(describe(history(session, 0).messages), expected(22, 22));
}

void tst_PushBroker::trimRetained()
{
    PushSession *session = m_registry->session(u"s"_s);
    session->setRetainedMessages(100);
    QCOMPARE(checkReceipts(publishAll(session, 1, 20, 100), 1, 20, session->epoch()), QString());
    QCOMPARE(session->retainedBytes(), 2000);
    QCOMPARE(session->trimRetained(1000), 1000);
    QCOMPARE(session->retainedBytes(), 1000);
    PushHistory h = history(session, 0);
    QCOMPARE(h.oldestRetained, 11u);
    QCOMPARE(describe(h.messages), expected(11, 20));
    if (m_backend->reopens()) { // the store forgets them too
        QVERIFY(reopenRegistry());
        session = m_registry->findSession(u"s"_s);
        QVERIFY(session);
        QCOMPARE(describe(history(session, 0).messages), expected(11, 20));
    }
    QCOMPARE(session->trimRetained(0), 1000);
    h = history(session, 0);
    QCOMPARE(h.position.id, 20u);
    QCOMPARE(h.oldestRetained, 21u);
    QVERIFY(h.messages.isEmpty());
    QCOMPARE(checkReceipts(publishAll(session, 21, 21), 21, 21, session->epoch()), QString());
}

// ---- epochs ----------------------------------------------------------------------------------

void tst_PushBroker::epochFixedForLifetime()
{
    PushSession *session = m_registry->session(u"s"_s);
    const quint64 epoch = session->epoch();
    QCOMPARE(checkReceipts(publishAll(session, 1, 500), 1, 500, epoch), QString());
    session->setRetainedMessages(10);
    session->setRetentionPeriod(60000);
    session->setMaxRetainedBytes(1 << 20);
    QCOMPARE(checkReceipts(publishAll(session, 501, 1000), 501, 1000, epoch), QString());
    QCOMPARE(session->epoch(), epoch);
    QCOMPARE(history(session, 0).position, (PushPosition{epoch, 1000}));
    // A restart (a new registry on the store): a durable store keeps the epoch, and with it the
    // ids (reopenKeepsPosition); otherwise the session is made again under a new epoch, from 1
    // (protocol.md, "The hello frame and epochs").
    QVERIFY(reopenRegistry());
    session = m_registry->session(u"s"_s);
    if (m_backend->reopens()) {
        QCOMPARE(session->epoch(), epoch);
        QCOMPARE(session->lastMessageId(), 1000u);
    } else {
        QVERIFY(session->epoch() != 0);
        QVERIFY(session->epoch() != epoch);
        QCOMPARE(checkReceipts(publishAll(session, 1, 1), 1, 1, session->epoch()), QString());
    }
}

void tst_PushBroker::deleteSession()
{
    PushSession *session = m_registry->session(u"s"_s);
    session->setRetainedMessages(10);
    const quint64 oldEpoch = session->epoch();
    const QList<PushReceipt> old = publishAll(session, 1, 10);
    QCOMPARE(checkReceipts(old, 1, 10, oldEpoch), QString());
    QPointer<PushSession> guard = session;
    m_registry->deleteSession(u"s"_s);
    QVERIFY(!m_registry->exists(u"s"_s));
    QTRY_VERIFY_WITH_TIMEOUT(!guard, Timeout);

    // Made again: another life, another epoch, ids from 1, nothing of the old history.
    session = m_registry->session(u"s"_s);
    QVERIFY(session->epoch() != 0);
    QVERIFY(session->epoch() != oldEpoch);
    QCOMPARE(session->retainedMessages(), 0);
    session->setRetainedMessages(10);
    PushHistory h = history(session, 0);
    QCOMPARE(h.position, (PushPosition{session->epoch(), 0}));
    QVERIFY(h.messages.isEmpty());
    QCOMPARE(checkReceipts(publishAll(session, 1, 3), 1, 3, session->epoch()), QString());
    QCOMPARE(describe(history(session, 0).messages), expected(1, 3));
    QCOMPARE(old.last().epoch, oldEpoch); // old receipts stay what they were
}

QTEST_MAIN(tst_PushBroker)
