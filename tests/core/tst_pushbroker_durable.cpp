// SPDX-License-Identifier: MIT
// tst_PushBroker, part two: concurrent publishers, and what a Durable broker keeps across a
// reopen, a full store and a crash.
#include "tst_pushbroker.h"

#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonValue>
#include <QtCore/QScopeGuard>
#include <QtCore/QSemaphore>
#include <QtCore/QThread>

#include "pushregistry_p.h" // ServerMade sessions, as a PushServer makes them
#include "pushsession_p.h"
#include "workerthread.h"

#include <limits>
#include <vector>

#define SKIP_UNLESS_DURABLE()                                                                      \
    do {                                                                                           \
        if (!isDurable() || !m_backend->reopens())                                                 \
            QSKIP("the back end keeps nothing beyond its registry");                               \
    } while (false)

namespace {
// What one client received: ids in order and each message's data.
struct Received
{
    QList<quint64> ids;
    QList<QVariant> data;
};

// "" when \a log holds ids 1..total in order, each with the data its receipt named.
QString checkDelivery(const Received &log, const std::vector<QVariant> &dataById, quint64 total)
{
    if (quint64(log.ids.size()) != total)
        return u"received %1 of %2"_s.arg(log.ids.size()).arg(total);
    for (qsizetype i = 0; i < log.ids.size(); ++i) {
        if (log.ids.at(i) != quint64(i) + 1)
            return u"message %1 has id %2"_s.arg(i).arg(log.ids.at(i));
        if (log.data.at(i) != dataById.at(i + 1))
            return u"id %1 carries %2, its receipt %3"_s.arg(i + 1).arg(
                    log.data.at(i).toString(), dataById.at(i + 1).toString());
    }
    return {};
}
} // namespace

void tst_PushBroker::concurrentPublishers()
{
    constexpr int Publishers = 4;
    constexpr int PerPublisher = 10000;
    constexpr quint64 Total = Publishers * PerPublisher;
    WorkerThread streamer; // outlives the registry's sessions: cleanup() resets it first
    PushSession *session = m_registry->session(u"load"_s);
    session->setMaxBuffer(int(Total)); // room for all: nothing may be dropped

    // A streaming client in a worker thread's event loop; a pulling client in another thread.
    Received streamed;
    std::atomic<quint64> streamedCount{0};
    streamer.run([&] {
        PushClient *client = session->newClient(u"streamer"_s);
        connect(client, &PushClient::messageReceived, streamer.context(),
                [&, client](const QVariant &message) {
                    streamed.ids.append(client->lastMessageId());
                    streamed.data.append(message);
                    streamedCount.fetch_add(1, std::memory_order_release);
                });
    });
    Received pulled;
    QSemaphore pullerReady;
    std::unique_ptr<QThread> puller(QThread::create([&] {
        PushClient *client = session->newClient(u"puller"_s);
        pullerReady.release();
        for (quint64 n = 0; n < Total; ++n) {
            bool ok = false;
            const QVariant message = client->pull(Timeout, &ok);
            if (!ok)
                break;
            pulled.ids.append(client->lastMessageId());
            pulled.data.append(message);
        }
        delete client;
    }));
    puller->start();
    const auto joinPuller = qScopeGuard([&] { puller->wait(); }); // also on a failed check
    QVERIFY(pullerReady.tryAcquire(1, Timeout));

    std::vector<QList<QFuture<PushReceipt>>> futures(Publishers);
    QSemaphore start;
    std::vector<std::unique_ptr<QThread>> publishers;
    for (int p = 0; p < Publishers; ++p) {
        publishers.emplace_back(QThread::create([&, p] {
            start.acquire();
            for (int i = 0; i < PerPublisher; ++i)
                futures[p].append(session->publish(u"%1/%2"_s.arg(p).arg(i)));
        }));
        publishers.back()->start();
    }
    start.release(Publishers);
    for (auto &publisher : publishers)
        QVERIFY(publisher->wait(Timeout * 2));

    // Receipts: exactly 1..Total, one epoch, increasing in each publisher's order.
    std::vector<QVariant> dataById(Total + 1);
    for (int p = 0; p < Publishers; ++p) {
        quint64 previous = 0;
        for (int i = 0; i < PerPublisher; ++i) {
            QFuture<PushReceipt> &future = futures[p][i];
            QVERIFY(QTest::qWaitFor([&] { return future.isFinished(); }, Timeout));
            const PushReceipt receipt = future.result();
            QCOMPARE(receipt.error, PushBroker::NoError);
            QCOMPARE(receipt.epoch, session->epoch());
            QVERIFY2(receipt.id > previous && receipt.id <= Total,
                     qPrintable(u"publisher %1: id %2 after %3"_s.arg(p)
                                        .arg(receipt.id)
                                        .arg(previous)));
            QVERIFY2(!dataById[receipt.id].isValid(),
                     qPrintable(u"id %1 given twice"_s.arg(receipt.id)));
            dataById[receipt.id] = u"%1/%2"_s.arg(p).arg(i);
            previous = receipt.id;
        }
    }
    QCOMPARE(session->lastMessageId(), Total);

    QVERIFY(puller->wait(Timeout * 2));
    QCOMPARE(checkDelivery(pulled, dataById, Total), QString());
    QTRY_COMPARE_WITH_TIMEOUT(streamedCount.load(std::memory_order_acquire), Total, Timeout);
    QString streamedCheck;
    streamer.run([&] { streamedCheck = checkDelivery(streamed, dataById, Total); });
    QCOMPARE(streamedCheck, QString());
    m_registry.reset(); // before the worker thread ends: its client is deleted there
}

void tst_PushBroker::deliveryNotBeforeReceipt()
{
    if (!isDurable())
        QSKIP("a memory broker delivers inside push(), before publish() returns its future");
    constexpr int Count = 200;
    PushSession *session = m_registry->session(u"s"_s);
    session->setMaxBuffer(Count);
    PushClient *client = session->newClient(u"c"_s);
    // The client lives in this thread: its slot runs only in the event loop, after every
    // future below is in the list.
    QList<QFuture<PushReceipt>> futures;
    QStringList early;
    int received = 0;
    connect(client, &PushClient::messageReceived, this, [&](const QVariant &message) {
        QFuture<PushReceipt> &future = futures[message.toInt()];
        ++received;
        if (!future.isFinished())
            early.append(u"id %1 delivered before its receipt"_s.arg(client->lastMessageId()));
        else if (future.result().id != client->lastMessageId())
            early.append(u"id %1 delivered with receipt %2"_s.arg(client->lastMessageId())
                                 .arg(future.result().id));
    });
    for (int i = 0; i < Count; ++i)
        futures.append(session->publish(i));
    QTRY_COMPARE_WITH_TIMEOUT(received, Count, Timeout);
    QCOMPARE(early, QStringList());
}

void tst_PushBroker::receiptAfterStore()
{
    PushSession *session = m_registry->session(u"s"_s);
    if (!isDurable()) {
        QFuture<PushReceipt> future = session->publish(u"1"_s);
        QVERIFY(future.isFinished()); // stored before publish() returns
        QCOMPARE(future.result().id, 1u);
        QCOMPARE(session->lastMessageId(), 1u);
        return;
    }
    QCOMPARE(checkReceipts(publishAll(session, 1, 3), 1, 3, session->epoch()), QString());
    if (m_backend->setHeld(true)) {
        // Not stored yet: no receipt, and nothing of it visible.
        QFuture<PushReceipt> future = session->publish(u"4"_s);
        QCOMPARE(session->push(u"5"_s), 5u); // the id is given at once, provisionally
        QVERIFY(!future.isFinished());
        QCOMPARE(session->lastMessageId(), 3u);
        QCOMPARE(history(session, 3).position.id, 3u);
        QVERIFY(history(session, 3).messages.isEmpty());
        QVERIFY(m_backend->setHeld(false));
        QTRY_VERIFY_WITH_TIMEOUT(future.isFinished(), Timeout);
        QCOMPARE(future.result().id, 4u);
        QVERIFY(session->lastMessageId() >= 4u);
        QTRY_COMPARE_WITH_TIMEOUT(session->lastMessageId(), 5u, Timeout);
        return;
    }
    // Without a hook to hold the store: whenever the receipt is there, the id is visible.
    QFuture<PushReceipt> future = session->publish(u"4"_s);
    QTRY_VERIFY_WITH_TIMEOUT(future.isFinished(), Timeout);
    QVERIFY(session->lastMessageId() >= future.result().id);
}

void tst_PushBroker::reopenKeepsPosition()
{
    SKIP_UNLESS_DURABLE();
    PushSession *session = m_registry->session(u"p"_s);
    session->setRetainedMessages(50);
    session->setRetentionPeriod(3600 * 1000);
    const quint64 epoch = session->epoch();
    QCOMPARE(checkReceipts(publishAll(session, 1, 120), 1, 120, epoch), QString());
    QVERIFY(reopenRegistry());

    session = m_registry->findSession(u"p"_s);
    QVERIFY(session);
    QCOMPARE(session->epoch(), epoch);
    QCOMPARE(session->lastMessageId(), 120u);
    QCOMPARE(session->retainedMessages(), 50);
    QCOMPARE(session->retentionPeriod(), 3600 * 1000);
    const PushHistory h = history(session, 0);
    QCOMPARE(h.position, (PushPosition{epoch, 120}));
    QCOMPARE(h.oldestRetained, 71u);
    QCOMPARE(describe(h.messages), expected(71, 120));
    QCOMPARE(checkReceipts(publishAll(session, 121, 121), 121, 121, epoch), QString());
    // Twice: what the reopened broker stored survives the next reopen too.
    QVERIFY(reopenRegistry());
    session = m_registry->findSession(u"p"_s);
    QVERIFY(session);
    QCOMPARE(history(session, 0).position, (PushPosition{epoch, 121}));
    QCOMPARE(describe(history(session, 119).messages), expected(120, 121));
}

void tst_PushBroker::reopenKeepsSessionSet()
{
    SKIP_UNLESS_DURABLE();
    constexpr int Count = 1000;
    auto keyOf = [](int i) { return i % 2 ? QVariant(u"s-%1"_s.arg(i)) : QVariant(i); };
    QHash<QString, quint64> epochs;
    for (int i = 0; i < Count; ++i) {
        const quint32 flags = i % 3 == 0 ? PushBroker::ServerMade : 0;
        PushSession *session = PushRegistryPrivate::get(m_registry.get())->session(keyOf(i), flags);
        QVERIFY(session);
        epochs.insert(session->keyString(), session->epoch());
        if (i % 10 == 0) // some with messages, most without
            QCOMPARE(checkReceipts(publishAll(session, 1, 2), 1, 2, session->epoch()), QString());
    }
    QVERIFY(reopenRegistry());
    QCOMPARE(m_registry->count(), Count);
    PushRegistryPrivate *registry = PushRegistryPrivate::get(m_registry.get());
    for (int i = 0; i < Count; ++i) {
        const QVariant key = keyOf(i);
        PushSession *session = m_registry->findSession(key);
        QVERIFY2(session, qPrintable(key.toString()));
        QCOMPARE(session->key(), key);
        QCOMPARE(session->key().typeId() == QMetaType::QString, i % 2 == 1); // the key's type
        QCOMPARE(session->epoch(), epochs.value(key.toString()));
        QCOMPARE(session->lastMessageId(), i % 10 == 0 ? 2u : 0u);
        QCOMPARE(registry->stateOf(key.toString())->flags,
                 i % 3 == 0 ? quint32(PushBroker::ServerMade) : 0u);
    }
}

void tst_PushBroker::reopenAfterDeleteStaysDeleted()
{
    SKIP_UNLESS_DURABLE();
    PushSession *a = m_registry->session(u"a"_s);
    PushSession *b = m_registry->session(u"b"_s);
    const quint64 oldEpoch = a->epoch();
    QCOMPARE(checkReceipts(publishAll(a, 1, 5), 1, 5, oldEpoch), QString());
    QCOMPARE(checkReceipts(publishAll(b, 1, 5), 1, 5, b->epoch()), QString());
    m_registry->deleteSession(u"a"_s);
    QVERIFY(reopenRegistry());
    QVERIFY(!m_registry->exists(u"a"_s));
    QVERIFY(m_registry->exists(u"b"_s));
    a = m_registry->session(u"a"_s);
    QVERIFY(a->epoch() != oldEpoch);
    QCOMPARE(checkReceipts(publishAll(a, 1, 1), 1, 1, a->epoch()), QString());
    // Deleted again after messages of its second life, then made a third time: still fresh.
    const quint64 secondEpoch = a->epoch();
    m_registry->deleteSession(u"a"_s);
    a = m_registry->session(u"a"_s);
    QVERIFY(a->epoch() != secondEpoch);
    QVERIFY(reopenRegistry());
    a = m_registry->findSession(u"a"_s);
    QVERIFY(a);
    QCOMPARE(a->lastMessageId(), 0u);
}

void tst_PushBroker::payloadRoundTrip()
{
    SKIP_UNLESS_DURABLE();
    const QVariantList payloads{
            u"plain"_s,
            QString(),
            u"üñí 😀 \"quoted\" \\ \n\t"_s,
            QByteArray("\0\x01\xff bytes", 9),
            std::numeric_limits<qint64>::min(),
            std::numeric_limits<qint64>::max(),
            std::numeric_limits<quint64>::max(),
            0.1,
            -1.5e300,
            true,
            QVariantMap{{u"n"_s, 1},
                        {u"s"_s, u"x"_s},
                        {u"l"_s, QVariantList{1, 2.5, false}},
                        {u"m"_s, QVariantMap{{u"deep"_s, QVariantList{}}}}},
            QVariantList{u"a"_s, QVariantMap{}, 3},
    };
    PushSession *session = m_registry->session(u"payloads"_s);
    session->setRetainedMessages(100);
    QList<QFuture<PushReceipt>> futures;
    for (const QVariant &payload : payloads)
        futures.append(session->publish(payload));
    for (QFuture<PushReceipt> &future : futures)
        QTRY_VERIFY_WITH_TIMEOUT(future.isFinished(), Timeout);
    QVERIFY(reopenRegistry());
    session = m_registry->findSession(u"payloads"_s);
    QVERIFY(session);
    const PushHistory h = history(session, 0);
    QCOMPARE(h.messages.size(), payloads.size());
    for (qsizetype i = 0; i < payloads.size(); ++i) {
        const QVariant &sent = payloads.at(i);
        const QVariant &back = h.messages.at(i).data;
        QCOMPARE(h.messages.at(i).id, quint64(i) + 1);
        QVERIFY2(back == sent,
                 qPrintable(u"payload %1: %2 came back as %3"_s.arg(i).arg(
                         QLatin1StringView(sent.typeName()), QLatin1StringView(back.typeName()))));
        const auto json = [](const QVariant &value) { // as the wire would carry it
            return QJsonDocument(QJsonArray{QJsonValue::fromVariant(value)})
                    .toJson(QJsonDocument::Compact);
        };
        QCOMPARE(json(back), json(sent));
    }
}

void tst_PushBroker::refusedWhenFull()
{
    if (!isDurable())
        QSKIP("only a store can fill up");
    PushSession *session = m_registry->session(u"s"_s);
    session->setRetainedMessages(10000);
    session->setMaxBuffer(10000);
    const quint64 epoch = session->epoch();
    QCOMPARE(checkReceipts(publishAll(session, 1, 10), 1, 10, epoch), QString());
    bool tested = false;

    // Refused at once: no id taken, readers still served.
    if (m_backend->setFull(TestBackend::Full::RefuseAppends)) {
        tested = true;
        for (const PushReceipt &receipt : publishAll(session, 1, 3)) {
            QCOMPARE(receipt.id, 0u);
            QCOMPARE(receipt.error, PushBroker::StorageFull);
        }
        QCOMPARE(session->push(u"x"_s), 0u);
        QVERIFY(!m_registry->broker()->isWritable());
        QCOMPARE(describe(history(session, 0).messages), expected(1, 10));
        QVERIFY(m_backend->setFull(TestBackend::Full::No));
        QTRY_VERIFY_WITH_TIMEOUT(m_registry->broker()->isWritable(), Timeout);
        QCOMPARE(checkReceipts(publishAll(session, 11, 11), 11, 11, epoch), QString());
    }

    // Accepted, then given up by the store (a quota reached at its next commit): the ids are
    // taken back and given again, and no client sees the given-up messages.
    if (m_backend->setFull(TestBackend::Full::FailBatches)) {
        tested = true;
        PushClient *client = session->newClient(u"c"_s);
        const quint64 before = session->lastMessageId();
        const QString filler(4096, u'x'); // a page or more each: a quota is reached soon
        quint64 lastGood = before;
        bool refused = false;
        for (int i = 0; i < 5000 && !refused; ++i) {
            QFuture<PushReceipt> future
                    = session->publish(QString(u"%1 "_s.arg(lastGood + 1) + filler));
            QVERIFY(QTest::qWaitFor([&] { return future.isFinished(); }, Timeout));
            const PushReceipt receipt = future.result();
            if (receipt.error == PushBroker::NoError) {
                QCOMPARE(receipt.id, lastGood + 1);
                lastGood = receipt.id;
            } else {
                QCOMPARE(receipt.error, PushBroker::StorageFull);
                QCOMPARE(receipt.id, 0u);
                refused = true;
            }
        }
        QVERIFY(refused);
        QCOMPARE(session->lastMessageId(), lastGood);
        QVERIFY(m_backend->setFull(TestBackend::Full::No));
        QTRY_VERIFY_WITH_TIMEOUT(m_registry->broker()->isWritable(), Timeout);
        const quint64 next = lastGood + 1;
        QCOMPARE(checkReceipts(publishAll(session, next, next), next, next, epoch), QString());
        QStringList received;
        QTRY_VERIFY_WITH_TIMEOUT(client->pending() >= int(next - before), Timeout);
        QVariant message;
        while (client->tryPull(&message))
            received.append(u"%1:%2"_s.arg(client->lastMessageId())
                                    .arg(message.toString().section(u' ', 0, 0)));
        QCOMPARE(received, expected(before + 1, next)); // none of the given-up ones
    }
    if (!tested)
        QSKIP("the back end has no way to fill its store in a test");
    const quint64 top = session->lastMessageId();
    auto idsOf = [](const PushHistory &h) {
        QStringList out;
        for (const PushSession::Message &message : h.messages)
            out.append(u"%1:%2"_s.arg(message.id).arg(message.data.toString().section(u' ', 0, 0)));
        return out;
    };
    QCOMPARE(idsOf(history(session, 0)), expected(1, top));
    QVERIFY(reopenRegistry()); // no hole in the store either
    session = m_registry->findSession(u"s"_s);
    QVERIFY(session);
    QCOMPARE(history(session, 0).position, (PushPosition{epoch, top}));
    QCOMPARE(idsOf(history(session, 0)), expected(1, top));
}

void tst_PushBroker::crashLosesOnlyUnreceipted()
{
    SKIP_UNLESS_DURABLE();
    PushSession *session = m_registry->session(u"s"_s);
    session->setRetainedMessages(5000);
    session->setMaxBuffer(5000);
    const quint64 epoch = session->epoch();
    PushClient *client = session->newClient(u"c"_s);
    QList<quint64> delivered;
    connect(client, &PushClient::messageReceived, this,
            [&] { delivered.append(client->lastMessageId()); });
    QCOMPARE(checkReceipts(publishAll(session, 1, 300), 1, 300, epoch), QString());

    // With a hook to hold the writer, the last 200 are certainly in flight at the crash;
    // without one, whatever the store has not finished.
    const bool held = m_backend->setHeld(true);
    QList<QFuture<PushReceipt>> futures;
    for (int i = 301; i <= (held ? 500 : 1300); ++i)
        futures.append(session->publish(QString::number(i)));
    if (!m_backend->crash())
        QSKIP("the back end has no way to crash in a test");
    QCoreApplication::processEvents(); // deliveries of what was stored before the crash
    quint64 maxReceipted = 300;
    for (QFuture<PushReceipt> &future : futures) {
        if (future.isFinished() && future.result().error == PushBroker::NoError)
            maxReceipted = std::max(maxReceipted, future.result().id);
    }
    QVERIFY(reopenRegistry());

    session = m_registry->findSession(u"s"_s);
    QVERIFY(session);
    const PushHistory h = history(session, 0);
    QCOMPARE(h.position.epoch, epoch);
    QVERIFY2(h.position.id >= maxReceipted,
             qPrintable(u"stored %1, receipted %2"_s.arg(h.position.id).arg(maxReceipted)));
    if (held)
        QCOMPARE(h.position.id, 300u); // nothing of the held batch
    QVERIFY(!delivered.isEmpty());
    QVERIFY2(delivered.last() <= h.position.id,
             qPrintable(u"delivered %1, stored %2"_s.arg(delivered.last()).arg(h.position.id)));
    QCOMPARE(describe(h.messages), expected(1, h.position.id));
    // The ids continue after what was stored, in the same epoch: no seen id is given again.
    QCOMPARE(checkReceipts(publishAll(session, h.position.id + 1, h.position.id + 1),
                           h.position.id + 1, h.position.id + 1, epoch),
             QString());
}
