// SPDX-License-Identifier: MIT
#include <QtPush/pushclient.h>
#include <QtPush/pushregistry.h>
#include <QtPush/pushsession.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QPointer>
#include <QtCore/QRegularExpression>
#include <QtCore/QSemaphore>
#include <QtCore/QThread>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include "workerthread.h"

#include <atomic>

class tst_PushClient : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void keysAndSession();
    void tryPullReturnsFalseWhenNothingIsQueued();
    void tryPullTakesOldestFirstAndConsumes();
    void pendingCountsWhatIsQueued();
    void pendingChangedOncePerTurnAfterPushesAndPulls();
    void pendingChangedOnlyWhenTheValueChanges();
    void pendingChangedOnCloseAndLoweredMaxBuffer();
    void pendingChangedInTheClientsThread();
    void lastMessageIdFollowsConsumption();
    void sameThreadStreamingDeliversInsidePush();
    void streamedMessageIsConsumed();
    void streamingStartsWithTheBacklog();
    void disconnectingStopsStreaming();
    void nestedPushFromASlotKeepsOrder();
    void crossThreadDeliveryEmitsInTheClientsThread();
    void moveToThreadMovesTheClientAndItsQueue();
    void pullReturnsAQueuedMessage();
    void pullTimesOut();
    void pullInAWorkerWakesOnPush();
    void closeWakesABlockedPull();
    void closeStopsDeliveryAndEmitsOnce();
    void closeFromAnotherThreadEmitsInTheClientsThread();
    void overflowedReportsHowManyWereDropped();
    void deleteSelfRemovesTheClient();
    void tryPullFromAnotherThreadIsRefused();
    void nestedEventProcessingAndDeletionInASlotAreSafe();
};

void tst_PushClient::init()
{
    QTest::failOnWarning(QRegularExpression(QStringLiteral(".*")));
}

void tst_PushClient::keysAndSession()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    PushClient *client = session->newClient(7);
    QCOMPARE(client->key(), QVariant(7));
    QCOMPARE(client->keyString(), QStringLiteral("7"));
    QCOMPARE(client->session(), session);
    QCOMPARE(client->thread(), QThread::currentThread());
}

void tst_PushClient::tryPullReturnsFalseWhenNothingIsQueued()
{
    PushRegistry registry;
    PushClient *client = registry.session(QStringLiteral("s"))->newClient(QStringLiteral("c"));
    QVariant message(QStringLiteral("untouched"));
    QVERIFY(!client->tryPull(&message));
    QCOMPARE(message.toString(), QStringLiteral("untouched"));
}

void tst_PushClient::tryPullTakesOldestFirstAndConsumes()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    PushClient *client = session->newClient(QStringLiteral("c"));
    session->push(QStringLiteral("one"));
    session->push(QVariantMap{{QStringLiteral("n"), 2}});
    QVariant message;
    QVERIFY(client->tryPull(&message));
    QCOMPARE(message.toString(), QStringLiteral("one"));
    QVERIFY(client->tryPull(&message));
    QCOMPARE(message.toMap().value(QStringLiteral("n")).toInt(), 2);
    QVERIFY(!client->tryPull(&message));
}

void tst_PushClient::pendingCountsWhatIsQueued()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    PushClient *client = session->newClient(QStringLiteral("c"));
    QCOMPARE(client->pending(), 0);
    session->push(1);
    session->push(2);
    QCOMPARE(client->pending(), 2);
    QVariant message;
    QVERIFY(client->tryPull(&message));
    QCOMPARE(client->pending(), 1);
}

void tst_PushClient::pendingChangedOncePerTurnAfterPushesAndPulls()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    PushClient *client = session->newClient(QStringLiteral("c"));
    QSignalSpy spy(client, &PushClient::pendingChanged);
    for (int i = 1; i <= 3; ++i)
        session->push(i);
    QCOMPARE(spy.count(), 0); // never from inside push()
    QTRY_COMPARE(spy.count(), 1);
    QCoreApplication::processEvents(); // nothing else was posted: three pushes, one signal
    QCOMPARE(spy.count(), 1);
    QCOMPARE(client->pending(), 3);
    QVariant message;
    QVERIFY(client->tryPull(&message));
    QVERIFY(client->tryPull(&message));
    QCOMPARE(spy.count(), 1); // never from inside tryPull()
    QTRY_COMPARE(spy.count(), 2);
    QCoreApplication::processEvents();
    QCOMPARE(spy.count(), 2);
    QCOMPARE(client->pending(), 1);
}

void tst_PushClient::pendingChangedOnlyWhenTheValueChanges()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    session->setMaxBuffer(2);
    PushClient *client = session->newClient(QStringLiteral("c"));
    QSignalSpy spy(client, &PushClient::pendingChanged);
    session->push(1);
    session->push(2);
    QTRY_COMPARE(spy.count(), 1);
    QCOMPARE(client->pending(), 2);
    session->push(3); // the buffer is full: the oldest goes, pending stays 2
    session->push(4);
    QCoreApplication::processEvents();
    QCOMPARE(spy.count(), 1);
    QVariant message;
    QVERIFY(client->tryPull(&message)); // then a push in the same turn: back to 2
    QCOMPARE(message.toInt(), 3);
    session->push(5);
    QCoreApplication::processEvents();
    QCOMPARE(spy.count(), 1);
    QCOMPARE(client->pending(), 2);
}

void tst_PushClient::pendingChangedOnCloseAndLoweredMaxBuffer()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    PushClient *client = session->newClient(QStringLiteral("c"));
    QList<int> seen;
    connect(client, &PushClient::pendingChanged, this, [&] { seen.append(client->pending()); });
    for (int i = 1; i <= 5; ++i)
        session->push(i);
    QTRY_COMPARE(seen, (QList<int>{5}));
    session->setMaxBuffer(3); // pending() is capped by the buffer at once
    QTRY_COMPARE(seen, (QList<int>{5, 3}));
    client->close(); // drops the queue
    QTRY_COMPARE(seen, (QList<int>{5, 3, 0}));
}

void tst_PushClient::pendingChangedInTheClientsThread()
{
    WorkerThread worker; // outlives the registry
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    session->setMaxBuffer(100);
    QMutex mutex;
    QList<int> seen;
    QList<QThread *> threads;
    PushClient *client = nullptr;
    worker.run([&] {
        client = session->newClient(QStringLiteral("w"));
        connect(client, &PushClient::pendingChanged, worker.context(), [&] {
            const int pending = client->pending();
            QMutexLocker locker(&mutex);
            seen.append(pending);
            threads.append(QThread::currentThread());
        });
    });
    for (int i = 1; i <= 10; ++i)
        session->push(i);
    const auto last = [&] {
        QMutexLocker locker(&mutex);
        return seen.isEmpty() ? -1 : seen.last();
    };
    QTRY_COMPARE(last(), 10);
    worker.run([&] {
        QVariant message;
        while (client->tryPull(&message)) { }
    });
    QTRY_COMPARE(last(), 0);
    QMutexLocker locker(&mutex);
    QVERIFY(seen.size() <= 12); // coalesced: at most one per turn of the worker, not per message
    for (QThread *thread : std::as_const(threads))
        QCOMPARE(thread, worker.thread());
}

void tst_PushClient::lastMessageIdFollowsConsumption()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    PushClient *client = session->newClient(QStringLiteral("c"));
    QCOMPARE(client->lastMessageId(), quint64(0));
    const quint64 first = session->push(1);
    session->push(2);
    QCOMPARE(client->lastMessageId(), quint64(0)); // queued, not consumed
    QVariant message;
    QVERIFY(client->tryPull(&message));
    QCOMPARE(client->lastMessageId(), first);
}

void tst_PushClient::sameThreadStreamingDeliversInsidePush()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    PushClient *client = session->newClient(QStringLiteral("c"));
    QSignalSpy received(client, &PushClient::messageReceived);
    const quint64 id = session->push(QStringLiteral("hello"));
    // No event loop ran: a same-thread receiver is called inside push(), like a direct connection.
    QCOMPARE(received.size(), 1);
    QCOMPARE(received.first().first().toString(), QStringLiteral("hello"));
    QCOMPARE(client->lastMessageId(), id);
}

void tst_PushClient::streamedMessageIsConsumed()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    PushClient *client = session->newClient(QStringLiteral("c"));
    QSignalSpy received(client, &PushClient::messageReceived);
    session->push(1);
    QCOMPARE(received.size(), 1);
    QVariant message;
    QVERIFY(!client->tryPull(&message));
    QCOMPARE(client->pending(), 0);
}

void tst_PushClient::streamingStartsWithTheBacklog()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    PushClient *client = session->newClient(QStringLiteral("c"));
    for (int i = 1; i <= 3; ++i)
        session->push(i);
    QList<int> received;
    connect(client, &PushClient::messageReceived, this,
            [&received](const QVariant &message) { received.append(message.toInt()); });
    QTRY_COMPARE(received, (QList<int>{1, 2, 3}));
    session->push(4);
    QCOMPARE(received, (QList<int>{1, 2, 3, 4}));
    QCOMPARE(client->pending(), 0);
}

void tst_PushClient::disconnectingStopsStreaming()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    PushClient *client = session->newClient(QStringLiteral("c"));
    int received = 0;
    const QMetaObject::Connection connection
            = connect(client, &PushClient::messageReceived, this, [&received] { ++received; });
    session->push(1);
    QCOMPARE(received, 1);
    disconnect(connection);
    session->push(2);
    QCOMPARE(received, 1);
    QVariant message;
    QVERIFY(client->tryPull(&message));
    QCOMPARE(message.toInt(), 2);
}

void tst_PushClient::nestedPushFromASlotKeepsOrder()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    PushClient *first = session->newClient(QStringLiteral("a"));
    PushClient *second = session->newClient(QStringLiteral("b"));
    QStringList firstGot;
    QStringList secondGot;
    connect(first, &PushClient::messageReceived, this, [&](const QVariant &message) {
        firstGot.append(message.toString());
        if (message.toString() == QStringLiteral("question"))
            session->push(QStringLiteral("answer")); // re-entrant push from inside a delivery
    });
    connect(second, &PushClient::messageReceived, this,
            [&](const QVariant &message) { secondGot.append(message.toString()); });
    session->push(QStringLiteral("question"));
    const QStringList expected{QStringLiteral("question"), QStringLiteral("answer")};
    QCOMPARE(firstGot, expected);
    QCOMPARE(secondGot, expected); // not "answer" before "question"
}

void tst_PushClient::crossThreadDeliveryEmitsInTheClientsThread()
{
    WorkerThread worker; // outlives the registry
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    QList<int> received;
    QList<QThread *> threads;
    QMutex mutex;
    worker.run([&] {
        PushClient *client = session->newClient(QStringLiteral("w"));
        connect(client, &PushClient::messageReceived, worker.context(),
                [&](const QVariant &message) {
                    QMutexLocker locker(&mutex);
                    received.append(message.toInt());
                    threads.append(QThread::currentThread());
                });
    });
    for (int i = 1; i <= 5; ++i)
        session->push(i);
    const auto snapshot = [&] {
        QMutexLocker locker(&mutex);
        return received;
    };
    QTRY_COMPARE(snapshot(), (QList<int>{1, 2, 3, 4, 5}));
    QMutexLocker locker(&mutex);
    for (QThread *thread : std::as_const(threads))
        QCOMPARE(thread, worker.thread());
}

void tst_PushClient::moveToThreadMovesTheClientAndItsQueue()
{
    WorkerThread worker; // outlives the registry
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    PushClient *client = session->newClient(QStringLiteral("c"));
    session->push(1);
    session->push(2);
    client->moveToThread(worker.thread());
    session->push(3);
    QList<int> received;
    QList<QThread *> threads;
    QMutex mutex;
    worker.run([&] {
        connect(client, &PushClient::messageReceived, worker.context(),
                [&](const QVariant &message) {
                    QMutexLocker locker(&mutex);
                    received.append(message.toInt());
                    threads.append(QThread::currentThread());
                });
    });
    session->push(4);
    const auto snapshot = [&] {
        QMutexLocker locker(&mutex);
        return received;
    };
    QTRY_COMPARE(snapshot(), (QList<int>{1, 2, 3, 4}));
    QMutexLocker locker(&mutex);
    for (QThread *thread : std::as_const(threads))
        QCOMPARE(thread, worker.thread());
}

void tst_PushClient::pullReturnsAQueuedMessage()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    PushClient *client = session->newClient(QStringLiteral("c"));
    session->push(QStringLiteral("ready"));
    bool ok = false;
    QCOMPARE(client->pull(0, &ok).toString(), QStringLiteral("ready"));
    QVERIFY(ok);
}

void tst_PushClient::pullTimesOut()
{
    PushRegistry registry;
    PushClient *client = registry.session(QStringLiteral("s"))->newClient(QStringLiteral("c"));
    bool ok = true;
    const QVariant message = client->pull(20, &ok);
    QVERIFY(!ok);
    QVERIFY(!message.isValid());
}

void tst_PushClient::pullInAWorkerWakesOnPush()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    QSemaphore created;
    QVariant pulled;
    bool ok = false;
    QThread *worker = QThread::create([&] {
        PushClient *client = session->newClient(QStringLiteral("worker"));
        created.release();
        pulled = client->pull(-1, &ok); // waits as long as it takes
        delete client;
    });
    worker->start();
    QVERIFY(created.tryAcquire(1, 10000));
    session->push(QStringLiteral("wake up"));
    QVERIFY(worker->wait(10000));
    delete worker;
    QVERIFY(ok);
    QCOMPARE(pulled.toString(), QStringLiteral("wake up"));
}

void tst_PushClient::closeWakesABlockedPull()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    std::atomic<PushClient *> client{nullptr};
    bool ok = true;
    QThread *worker = QThread::create([&] {
        PushClient *mine = session->newClient(QStringLiteral("worker"));
        client.store(mine);
        mine->pull(-1, &ok);
        delete mine;
    });
    worker->start();
    QTRY_VERIFY(client.load() != nullptr);
    client.load()->close(); // from the main thread, while (or before) the worker waits
    QVERIFY(worker->wait(10000));
    delete worker;
    QVERIFY(!ok);
}

void tst_PushClient::closeStopsDeliveryAndEmitsOnce()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    PushClient *client = session->newClient(QStringLiteral("c"));
    session->push(1);
    QSignalSpy closed(client, &PushClient::closed);
    QVERIFY(!client->isClosed());
    client->close();
    client->close();
    QVERIFY(client->isClosed());
    QCOMPARE(closed.size(), 1);
    session->push(2);
    QVariant message;
    QVERIFY(!client->tryPull(&message));
    QCOMPARE(client->pending(), 0);
    QVERIFY(session->exists(QStringLiteral("c"))); // closed, but listed until deleted
}

void tst_PushClient::closeFromAnotherThreadEmitsInTheClientsThread()
{
    PushRegistry registry;
    PushClient *client = registry.session(QStringLiteral("s"))->newClient(QStringLiteral("c"));
    QThread *emittedIn = nullptr;
    connect(
            client, &PushClient::closed, this,
            [&emittedIn] { emittedIn = QThread::currentThread(); }, Qt::DirectConnection);
    QThread *closer = QThread::create([client] { client->close(); });
    closer->start();
    QVERIFY(closer->wait(10000));
    delete closer;
    QVERIFY(client->isClosed());
    QTRY_COMPARE(emittedIn, QThread::currentThread());
}

void tst_PushClient::overflowedReportsHowManyWereDropped()
{
    WorkerThread worker; // outlives the registry
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    session->setMaxBuffer(3);
    PushClient *client = nullptr;
    worker.run([&] { client = session->newClient(QStringLiteral("w")); });
    QList<int> overflowed; // queued to this thread: the signal is emitted in the worker
    connect(client, &PushClient::overflowed, this,
            [&overflowed](int dropped) { overflowed.append(dropped); });
    // Block the worker, so the pushes pile up in its inbox and overflow there.
    QSemaphore blocked;
    QSemaphore release;
    QMetaObject::invokeMethod(worker.context(), [&] {
        blocked.release();
        release.acquire();
    });
    QVERIFY(blocked.tryAcquire(1, 10000));
    for (int i = 1; i <= 10; ++i)
        session->push(i);
    release.release();
    QTRY_COMPARE(overflowed, QList<int>{7});
    QList<int> pulled;
    worker.run([&] {
        QVariant message;
        while (client->tryPull(&message))
            pulled.append(message.toInt());
    });
    QCOMPARE(pulled, (QList<int>{8, 9, 10}));
}

void tst_PushClient::deleteSelfRemovesTheClient()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    QPointer<PushClient> client = session->newClient(QStringLiteral("c"));
    client->deleteSelf();
    QVERIFY(!session->exists(QStringLiteral("c")));
    QVERIFY(client->isClosed());
    QTRY_VERIFY(client.isNull());
}

void tst_PushClient::tryPullFromAnotherThreadIsRefused()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    PushClient *client = session->newClient(QStringLiteral("c"));
    session->push(1);
    bool pulled = true;
    QTest::ignoreMessage(QtWarningMsg,
                         QRegularExpression(QStringLiteral("tryPull: client .* another thread")));
    QThread *other = QThread::create([&] {
        QVariant message;
        pulled = client->tryPull(&message);
    });
    other->start();
    QVERIFY(other->wait(10000));
    delete other;
    QVERIFY(!pulled);
    QCOMPARE(client->pending(), 1); // still there for its own thread
}

void tst_PushClient::nestedEventProcessingAndDeletionInASlotAreSafe()
{
    // A slot that processes events (as a modal dialog would) while another push arrives, then
    // deletes its client: the thread's last one, inside the session's own wake-up handler.
    WorkerThread worker; // outlives the registry
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    QSemaphore inSlot;
    QSemaphore pushedAgain;
    std::atomic<int> received{0};
    QPointer<PushClient> client;
    worker.run([&] {
        client = session->newClient(QStringLiteral("w"));
        connect(client, &PushClient::messageReceived, worker.context(), [&] {
            if (received.fetch_add(1) > 0)
                return;
            inSlot.release();
            pushedAgain.acquire();
            QCoreApplication::processEvents(); // handles the wake-up for the second push
            delete client.data();
        });
    });
    session->push(1);
    QVERIFY(inSlot.tryAcquire(1, 10000));
    session->push(2);
    pushedAgain.release();
    QTRY_VERIFY(client.isNull());
    session->push(3); // the thread has no clients left; the session carries on
    QCOMPARE(session->count(), 0);
    QCOMPARE(received.load(), 1); // deleted before the second message reached it
}

QTEST_GUILESS_MAIN(tst_PushClient)
#include "tst_pushclient.moc"
