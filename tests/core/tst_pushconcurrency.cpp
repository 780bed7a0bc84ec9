// SPDX-License-Identifier: MIT
// Stress: several pushers and several receiving threads at once, with clients and sessions
// coming and going beside them. Checks that nothing is lost or duplicated, that each pusher's
// order is kept, and that with a small buffer every message is either delivered or reported
// as dropped. Bounded in count; no timing assertions.
#include <QtPush/pushclient.h>
#include <QtPush/pushregistry.h>
#include <QtPush/pushsession.h>

#include <QtCore/QRegularExpression>
#include <QtCore/QScopeGuard>
#include <QtCore/QSemaphore>
#include <QtCore/QThread>
#include <QtTest/QTest>

#include "workerthread.h"

#include <atomic>
#include <functional>
#include <memory>
#include <vector>

namespace {
constexpr int Pushers = 4;
constexpr int MessagesPerPusher = 50000; // 200,000 pushes, each to every receiver

qint64 encode(int pusher, int sequence)
{
    return (qint64(pusher) << 32) | sequence;
}

// What one receiving client saw, checked for loss, duplicates and order.
struct Log
{
    QList<qint64> messages;
    QList<quint64> ids;
    qint64 dropped = 0;

    QString verify(qint64 expectedTotal, bool allowDrops) const
    {
        std::vector<int> next(Pushers, 0);
        for (qsizetype i = 0; i < messages.size(); ++i) {
            if (i > 0 && ids.at(i) <= ids.at(i - 1))
                return QStringLiteral("ids not increasing at %1").arg(i);
            const int pusher = int(messages.at(i) >> 32);
            const int sequence = int(messages.at(i) & 0xffffffff);
            if (pusher < 0 || pusher >= Pushers)
                return QStringLiteral("unknown pusher %1").arg(pusher);
            if (allowDrops ? sequence < next[pusher] : sequence != next[pusher])
                return QStringLiteral("pusher %1: got %2, expected %3")
                        .arg(pusher)
                        .arg(sequence)
                        .arg(next[pusher]);
            next[pusher] = sequence + 1;
        }
        if (messages.size() + dropped != expectedTotal)
            return QStringLiteral("received %1 + dropped %2 != pushed %3")
                    .arg(messages.size())
                    .arg(dropped)
                    .arg(expectedTotal);
        return {};
    }
};

void runPushers(PushSession *session, QSemaphore *start)
{
    std::vector<std::unique_ptr<QThread>> pushers;
    for (int p = 0; p < Pushers; ++p) {
        pushers.emplace_back(QThread::create([session, start, p] {
            start->acquire();
            for (int i = 0; i < MessagesPerPusher; ++i)
                session->push(encode(p, i));
        }));
        pushers.back()->start();
    }
    start->release(Pushers);
    for (auto &pusher : pushers)
        pusher->wait();
}
} // namespace

class tst_PushConcurrency : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void manyPushersManyReceiversLoseNothing();
    void smallBuffersAccountForEveryMessage_data();
    void smallBuffersAccountForEveryMessage();
    void churnOfClientsAndSessionsDuringPushes();
};

void tst_PushConcurrency::init()
{
    QTest::failOnWarning(QRegularExpression(QStringLiteral(".*")));
}

void tst_PushConcurrency::manyPushersManyReceiversLoseNothing()
{
    WorkerThread streamer; // outlives the registry, which deletes the client living there
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("stress"));
    session->setMaxBuffer(Pushers * MessagesPerPusher); // room for all: nothing may be dropped
    const qint64 total = qint64(Pushers) * MessagesPerPusher;

    // Two worker threads block in pull(); one worker thread streams through its event loop.
    QSemaphore ready;
    std::vector<Log> pulled(2);
    std::vector<std::unique_ptr<QThread>> pullers;
    for (int w = 0; w < 2; ++w) {
        pullers.emplace_back(QThread::create([&, w] {
            PushClient *client = session->newClient(QStringLiteral("puller-%1").arg(w));
            ready.release();
            for (qint64 n = 0; n < total; ++n) {
                bool ok = false;
                const QVariant message = client->pull(30000, &ok);
                if (!ok)
                    break;
                pulled[w].messages.append(message.toLongLong());
                pulled[w].ids.append(client->lastMessageId());
            }
            delete client;
        }));
        pullers.back()->start();
    }
    // On a failed check the function returns early: never destroy a running thread.
    const auto waitForPullers = qScopeGuard([&] {
        for (auto &puller : pullers)
            puller->wait();
    });
    Log streamed;
    std::atomic<qint64> streamedCount{0};
    streamer.run([&] {
        PushClient *client = session->newClient(QStringLiteral("streamer"));
        connect(client, &PushClient::messageReceived, streamer.context(),
                [&, client](const QVariant &message) {
                    streamed.messages.append(message.toLongLong());
                    streamed.ids.append(client->lastMessageId());
                    streamedCount.fetch_add(1, std::memory_order_release);
                });
    });
    QVERIFY(ready.tryAcquire(2, 10000));

    QSemaphore start;
    runPushers(session, &start);
    QCOMPARE(session->lastMessageId(), quint64(total));

    for (auto &puller : pullers)
        QVERIFY(puller->wait(120000));
    QTRY_COMPARE_WITH_TIMEOUT(streamedCount.load(std::memory_order_acquire), total, 60000);

    for (const Log &log : pulled)
        QCOMPARE(log.verify(total, false), QString());
    QCOMPARE(streamed.verify(total, false), QString());
}

void tst_PushConcurrency::smallBuffersAccountForEveryMessage_data()
{
    QTest::addColumn<PushSession::OverflowPolicy>("policy");
    QTest::addRow("drop oldest") << PushSession::DropOldest;
    QTest::addRow("drop newest") << PushSession::DropNewest;
}

void tst_PushConcurrency::smallBuffersAccountForEveryMessage()
{
    QFETCH(PushSession::OverflowPolicy, policy);
    WorkerThread worker; // outlives the registry, which deletes the client living there
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("small"));
    session->setMaxBuffer(16);
    session->setOverflowPolicy(policy);
    const qint64 total = qint64(Pushers) * MessagesPerPusher;

    // A streaming receiver in a worker: it falls behind the pushers and must be told of every
    // message it lost. Its overflow reports arrive in the same thread as its messages.
    Log log;
    PushClient *client = nullptr;
    worker.run([&] {
        client = session->newClient(QStringLiteral("slow"));
        connect(client, &PushClient::messageReceived, worker.context(),
                [&](const QVariant &message) {
                    log.messages.append(message.toLongLong());
                    log.ids.append(client->lastMessageId());
                });
        connect(client, &PushClient::overflowed, worker.context(),
                [&](int dropped) { log.dropped += dropped; });
    });

    QSemaphore start;
    runPushers(session, &start);

    const auto accounted = [&] {
        qint64 seen = 0;
        worker.run([&] { seen = log.messages.size() + log.dropped; });
        return seen;
    };
    QTRY_COMPARE_WITH_TIMEOUT(accounted(), total, 60000);
    QVERIFY(log.dropped > 0); // the test did make it overflow
    QCOMPARE(log.verify(total, true), QString());
}

void tst_PushConcurrency::churnOfClientsAndSessionsDuringPushes()
{
    // Clients and sessions created, closed and deleted from several threads while pushes fan
    // out: no crash, no deadlock, no warning, and a steady client still gets everything.
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("churn"));
    session->setMaxBuffer(Pushers * MessagesPerPusher);
    PushClient *steady = session->newClient(QStringLiteral("steady"));
    std::atomic<bool> stop{false};
    std::vector<std::unique_ptr<QThread>> churners;
    const auto stopChurners = qScopeGuard([&] {
        stop.store(true);
        for (auto &churner : churners)
            churner->wait();
    });
    for (int c = 0; c < 2; ++c) {
        churners.emplace_back(QThread::create([&, c] {
            int round = 0;
            while (!stop.load()) {
                const QString id = QStringLiteral("churn-%1-%2").arg(c).arg(round % 8);
                PushClient *client = session->newClient(id);
                QVariant message;
                client->tryPull(&message);
                if (round % 3 == 0)
                    client->close();
                if (round % 2 == 0)
                    session->deleteClient(id);
                else
                    delete client;
                PushSession *other = registry.session(QStringLiteral("other-%1").arg(c));
                other->newClient(QStringLiteral("x"));
                other->push(round);
                registry.deleteSession(QStringLiteral("other-%1").arg(c));
                ++round;
            }
        }));
        churners.back()->start();
    }
    QSemaphore start;
    runPushers(session, &start);
    stop.store(true);
    for (auto &churner : churners)
        QVERIFY(churner->wait(60000));

    Log log;
    QVariant message;
    while (steady->tryPull(&message)) {
        log.messages.append(message.toLongLong());
        log.ids.append(steady->lastMessageId());
    }
    QCOMPARE(log.verify(qint64(Pushers) * MessagesPerPusher, false), QString());
    QCOMPARE(session->count(), 1);
}

QTEST_GUILESS_MAIN(tst_PushConcurrency)
#include "tst_pushconcurrency.moc"
