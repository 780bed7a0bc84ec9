// SPDX-License-Identifier: MIT
#include <QtPush/pushclient.h>
#include <QtPush/pushregistry.h>
#include <QtPush/pushsession.h>

#include <QtCore/QPointer>
#include <QtCore/QRegularExpression>
#include <QtCore/QSemaphore>
#include <QtCore/QThread>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include "workerthread.h"

#include <atomic>
#include <memory>

class tst_PushSession : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void maxBufferDefaultsToTen();
    void setMaxBufferNotifiesOnlyOnChange();
    void setMaxBufferRefusesLessThanOne_data();
    void setMaxBufferRefusesLessThanOne();
    void newClientReturnsExistingOrNew();
    void newClientRefusesNullOrEmptyId_data();
    void newClientRefusesNullOrEmptyId();
    void clientsCountAndExistsFollowMembership();
    void deleteClientClosesAndDeletesLater();
    void deleteClientIsSafeOnMissing();
    void clientDeletedDirectlyLeavesTheSession();
    void pushReturnsStrictlyIncreasingIds();
    void pushReachesEveryClientOnceInOrder();
    void clientCreatedLaterGetsOnlyLaterMessages();
    void pushDropsOldestWhenFull();
    void pushDropsNewestWhenPolicySaysSo();
    void pushNeverBlocksOnAClientThatNeverReads();
    void loweringMaxBufferTrimsQueues();
    void messageIsStoredOnceAndShared();
    void deleteSelfRemovesTheSession();
    void concurrentNewClientWithOneIdNeverReturnsNull();
    void retainsNothingByDefault();
    void retainsTheNewestMessages();
    void messagesAfterReturnsOnlyNewerOnes();
    void retentionPeriodDropsOldMessages();
    void bufferDropsOldestPastItsByteBound();
    void bufferDropsNewestPastItsByteBoundWhenPolicySaysSo();
    void messageLargerThanTheByteBoundStillArrives();
    void byteBoundHoldsAcrossThreads();
    void retentionForgetsOldestPastItsByteBound();
    void trimRetainedFreesTheOldest();
    void estimateBytesCountsNestedValues();
    void pushWithoutBytesIsEstimatedOnlyUnderABound();
};

void tst_PushSession::init()
{
    QTest::failOnWarning(QRegularExpression(QStringLiteral(".*")));
}

void tst_PushSession::maxBufferDefaultsToTen()
{
    PushRegistry registry;
    QCOMPARE(registry.session(QStringLiteral("s"))->maxBuffer(), 10);
    QCOMPARE(registry.session(QStringLiteral("s"))->overflowPolicy(), PushSession::DropOldest);
}

void tst_PushSession::setMaxBufferNotifiesOnlyOnChange()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    QSignalSpy changed(session, &PushSession::maxBufferChanged);
    session->setMaxBuffer(10);
    QCOMPARE(changed.size(), 0);
    session->setMaxBuffer(3);
    QCOMPARE(changed.size(), 1);
    QCOMPARE(session->maxBuffer(), 3);
    QCOMPARE(session->property("maxBuffer").toInt(), 3);
}

void tst_PushSession::setMaxBufferRefusesLessThanOne_data()
{
    QTest::addColumn<int>("value");
    QTest::addRow("zero") << 0;
    QTest::addRow("negative") << -5;
}

void tst_PushSession::setMaxBufferRefusesLessThanOne()
{
    QFETCH(int, value);
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    QSignalSpy changed(session, &PushSession::maxBufferChanged);
    QTest::ignoreMessage(QtWarningMsg,
                         QRegularExpression(QStringLiteral("setMaxBuffer: refusing")));
    session->setMaxBuffer(value);
    QCOMPARE(session->maxBuffer(), 10);
    QCOMPARE(changed.size(), 0);
}

void tst_PushSession::newClientReturnsExistingOrNew()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    QSignalSpy added(session, &PushSession::clientAdded);
    PushClient *phone = session->newClient(QStringLiteral("phone"));
    QVERIFY(phone);
    QCOMPARE(session->newClient(QStringLiteral("phone")), phone);
    QCOMPARE(session->findClient(QStringLiteral("phone")), phone);
    QCOMPARE(phone->session(), session);
    PushClient *numbered = session->newClient(42);
    QCOMPARE(session->newClient(QStringLiteral("42")), numbered); // string form decides
    QCOMPARE(added.size(), 2);
}

void tst_PushSession::newClientRefusesNullOrEmptyId_data()
{
    QTest::addColumn<QVariant>("id");
    QTest::addRow("null") << QVariant();
    QTest::addRow("empty string") << QVariant(QString());
}

void tst_PushSession::newClientRefusesNullOrEmptyId()
{
    QFETCH(QVariant, id);
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("newClient: refusing")));
    QCOMPARE(session->newClient(id), nullptr);
    QCOMPARE(session->count(), 0);
}

void tst_PushSession::clientsCountAndExistsFollowMembership()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    QSignalSpy countChanged(session, &PushSession::countChanged);
    session->newClient(QStringLiteral("b"));
    session->newClient(QStringLiteral("a"));
    QCOMPARE(session->count(), 2);
    QCOMPARE(session->property("count").toInt(), 2);
    QCOMPARE(countChanged.size(), 2);
    QCOMPARE(session->clients(),
             (QVariantList{QVariant(QStringLiteral("a")), QVariant(QStringLiteral("b"))}));
    QVERIFY(session->exists(QStringLiteral("a")));
    QVERIFY(!session->exists(QStringLiteral("z")));
    session->deleteClient(QStringLiteral("a"));
    QCOMPARE(session->count(), 1);
    QVERIFY(!session->exists(QStringLiteral("a")));
    QCOMPARE(countChanged.size(), 3);
}

void tst_PushSession::deleteClientClosesAndDeletesLater()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    QPointer<PushClient> client = session->newClient(QStringLiteral("c"));
    QSignalSpy removed(session, &PushSession::clientRemoved);
    session->deleteClient(QStringLiteral("c"));
    QVERIFY(client); // deleteLater: still safe to touch until the event loop runs
    QVERIFY(client->isClosed());
    QCOMPARE(removed.size(), 1);
    QTRY_VERIFY(client.isNull());
}

void tst_PushSession::deleteClientIsSafeOnMissing()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    QSignalSpy removed(session, &PushSession::clientRemoved);
    session->deleteClient(QStringLiteral("nobody"));
    QCOMPARE(removed.size(), 0);
}

void tst_PushSession::clientDeletedDirectlyLeavesTheSession()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    QSignalSpy removed(session, &PushSession::clientRemoved);
    delete session->newClient(QStringLiteral("c"));
    QVERIFY(!session->exists(QStringLiteral("c")));
    QTRY_COMPARE(removed.size(), 1);
    QVERIFY(session->push(1) > 0); // and pushing past it is harmless
}

void tst_PushSession::pushReturnsStrictlyIncreasingIds()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    quint64 previous = 0;
    for (int i = 0; i < 100; ++i) {
        const quint64 id = session->push(i); // no clients: ids are still assigned
        QVERIFY(id > previous);
        previous = id;
    }
    QCOMPARE(session->lastMessageId(), previous);
    QCOMPARE(registry.session(QStringLiteral("other"))->push(1), quint64(1)); // per session
}

void tst_PushSession::pushReachesEveryClientOnceInOrder()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    QList<PushClient *> clients;
    for (int i = 0; i < 5; ++i)
        clients.append(session->newClient(i));
    for (int i = 1; i <= 3; ++i)
        session->push(i);
    for (PushClient *client : std::as_const(clients)) {
        QVariant message;
        for (int i = 1; i <= 3; ++i) {
            QVERIFY(client->tryPull(&message));
            QCOMPARE(message.toInt(), i);
        }
        QVERIFY(!client->tryPull(&message));
    }
}

void tst_PushSession::clientCreatedLaterGetsOnlyLaterMessages()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    session->push(1);
    PushClient *late = session->newClient(QStringLiteral("late"));
    session->push(2);
    QVariant message;
    QVERIFY(late->tryPull(&message));
    QCOMPARE(message.toInt(), 2);
    QVERIFY(!late->tryPull(&message));
}

void tst_PushSession::pushDropsOldestWhenFull()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    session->setMaxBuffer(2);
    PushClient *client = session->newClient(QStringLiteral("c"));
    QSignalSpy overflowed(client, &PushClient::overflowed);
    for (int i = 1; i <= 3; ++i)
        session->push(i);
    QTRY_COMPARE(overflowed.size(), 1);
    QCOMPARE(overflowed.first().first().toInt(), 1);
    QVariant first;
    QVERIFY(client->tryPull(&first));
    QCOMPARE(first.toInt(), 2); // the oldest message was dropped
    QVERIFY(client->tryPull(&first));
    QCOMPARE(first.toInt(), 3);
}

void tst_PushSession::pushDropsNewestWhenPolicySaysSo()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    QSignalSpy policyChanged(session, &PushSession::overflowPolicyChanged);
    session->setOverflowPolicy(PushSession::DropNewest);
    QCOMPARE(policyChanged.size(), 1);
    session->setMaxBuffer(2);
    PushClient *client = session->newClient(QStringLiteral("c"));
    QSignalSpy overflowed(client, &PushClient::overflowed);
    for (int i = 1; i <= 4; ++i)
        session->push(i);
    int dropped = 0;
    for (const QList<QVariant> &args : std::as_const(overflowed))
        dropped += args.first().toInt();
    QCOMPARE(dropped, 2); // same thread: reported by each push that dropped
    QVariant message;
    QVERIFY(client->tryPull(&message));
    QCOMPARE(message.toInt(), 1); // the queue was kept
    QVERIFY(client->tryPull(&message));
    QCOMPARE(message.toInt(), 2);
    QVERIFY(!client->tryPull(&message));
}

void tst_PushSession::pushNeverBlocksOnAClientThatNeverReads()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    PushClient *reader = session->newClient(QStringLiteral("reader"));
    PushClient *sleeper = session->newClient(QStringLiteral("sleeper"));
    QSignalSpy overflowed(sleeper, &PushClient::overflowed);
    int read = 0;
    for (int i = 0; i < 1000; ++i) {
        session->push(i);
        QVariant message;
        while (reader->tryPull(&message))
            ++read;
    }
    QCOMPARE(read, 1000); // the fast client missed nothing
    QCOMPARE(sleeper->pending(), 10);
    int dropped = 0;
    for (const QList<QVariant> &args : std::as_const(overflowed))
        dropped += args.first().toInt();
    QCOMPARE(dropped, 990);
}

void tst_PushSession::loweringMaxBufferTrimsQueues()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    PushClient *client = session->newClient(QStringLiteral("c"));
    for (int i = 1; i <= 5; ++i)
        session->push(i);
    QCOMPARE(client->pending(), 5);
    session->setMaxBuffer(2);
    QCOMPARE(client->pending(), 2);
    session->push(6); // the next delivery trims the queue to the new limit
    QVariant message;
    QVERIFY(client->tryPull(&message));
    QCOMPARE(message.toInt(), 5);
    QVERIFY(client->tryPull(&message));
    QCOMPARE(message.toInt(), 6);
    QVERIFY(!client->tryPull(&message));
}

void tst_PushSession::messageIsStoredOnceAndShared()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    QList<PushClient *> clients;
    for (int i = 0; i < 100; ++i)
        clients.append(session->newClient(i));
    const QByteArray payload(1 << 20, 'x');
    session->push(payload);
    for (PushClient *client : std::as_const(clients)) {
        QVariant message;
        QVERIFY(client->tryPull(&message));
        // Same bytes, not a copy: fan-out cost does not grow with the message size.
        QCOMPARE(message.toByteArray().constData(), payload.constData());
    }
}

void tst_PushSession::deleteSelfRemovesTheSession()
{
    PushRegistry registry;
    QPointer<PushSession> session = registry.session(QStringLiteral("s"));
    session->deleteSelf();
    QVERIFY(!registry.exists(QStringLiteral("s")));
    QTRY_VERIFY(session.isNull());
}

void tst_PushSession::concurrentNewClientWithOneIdNeverReturnsNull()
{
    // Two threads ask for the same client at once, many times: each call returns a client (the
    // one that won the race), never nullptr, and the session holds one client per id.
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    std::atomic<int> nulls{0};
    QSemaphore go;
    const auto racer = [&] {
        go.acquire();
        for (int round = 0; round < 2000; ++round) {
            PushClient *client = session->newClient(round);
            if (!client)
                nulls.fetch_add(1);
        }
    };
    std::unique_ptr<QThread> first(QThread::create(racer));
    std::unique_ptr<QThread> second(QThread::create(racer));
    first->start();
    second->start();
    go.release(2);
    QVERIFY(first->wait(60000));
    QVERIFY(second->wait(60000));
    QCOMPARE(nulls.load(), 0);
    QCOMPARE(session->count(), 2000);
    for (const QVariant &id : session->clients())
        delete session->findClient(id); // they live in finished threads: delete them here
}

void tst_PushSession::retainsNothingByDefault()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    session->push(1);
    quint64 oldest = 0;
    QVERIFY(session->messagesAfter(0, &oldest).isEmpty());
    QCOMPARE(oldest, 2u); // nothing retained: the next id
}

void tst_PushSession::retainsTheNewestMessages()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    QSignalSpy changed(session, &PushSession::retentionChanged);
    session->setRetainedMessages(3);
    session->setRetainedMessages(3);
    QCOMPARE(changed.size(), 1);
    for (int i = 1; i <= 5; ++i)
        session->push(i * 10);
    quint64 oldest = 0;
    const QList<PushSession::Message> kept = session->messagesAfter(0, &oldest);
    QCOMPARE(kept.size(), 3);
    QCOMPARE(oldest, 3u);
    for (int i = 0; i < 3; ++i) {
        QCOMPARE(kept.at(i).id, quint64(i + 3));
        QCOMPARE(kept.at(i).data.toInt(), (i + 3) * 10);
    }
    session->setRetainedMessages(1); // lowering trims at once
    QCOMPARE(session->messagesAfter(0, &oldest).size(), 1);
    QCOMPARE(oldest, 5u);
}

void tst_PushSession::messagesAfterReturnsOnlyNewerOnes()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    session->setRetainedMessages(100);
    for (int i = 1; i <= 10; ++i)
        session->push(i);
    QList<PushSession::Message> after = session->messagesAfter(7);
    QCOMPARE(after.size(), 3);
    QCOMPARE(after.first().id, 8u);
    QCOMPARE(after.last().id, 10u);
    QVERIFY(session->messagesAfter(10).isEmpty());
    QVERIFY(session->messagesAfter(1000).isEmpty()); // an id from the future asks for nothing
}

void tst_PushSession::retentionPeriodDropsOldMessages()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    session->setRetainedMessages(100);
    session->setRetentionPeriod(200);
    session->push(1);
    quint64 oldest = 0;
    QTRY_VERIFY(session->messagesAfter(0, &oldest).isEmpty());
    QCOMPARE(oldest, 2u);
    session->push(2); // a fresh one is kept again
    QCOMPARE(session->messagesAfter(0).size(), 1);
}

void tst_PushSession::bufferDropsOldestPastItsByteBound()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    session->setMaxBufferBytes(100);
    PushClient *client = session->newClient(QStringLiteral("c"));
    QSignalSpy overflowed(client, &PushClient::overflowed);
    for (int i = 1; i <= 5; ++i)
        session->push(i, 40); // two fit in 100 bytes
    QCOMPARE(client->pending(), 2);
    QVariant message;
    QVERIFY(client->tryPull(&message));
    QCOMPARE(message.toInt(), 4);
    QVERIFY(client->tryPull(&message));
    QCOMPARE(message.toInt(), 5);
    QVERIFY(!client->tryPull(&message));
    int dropped = 0;
    for (const QList<QVariant> &arguments : std::as_const(overflowed))
        dropped += arguments.at(0).toInt();
    QCOMPARE(dropped, 3);
}

void tst_PushSession::bufferDropsNewestPastItsByteBoundWhenPolicySaysSo()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    session->setMaxBufferBytes(100);
    session->setOverflowPolicy(PushSession::DropNewest);
    PushClient *client = session->newClient(QStringLiteral("c"));
    QSignalSpy overflowed(client, &PushClient::overflowed);
    for (int i = 1; i <= 4; ++i)
        session->push(i, 40);
    QVariant message;
    QVERIFY(client->tryPull(&message));
    QCOMPARE(message.toInt(), 1);
    QVERIFY(client->tryPull(&message));
    QCOMPARE(message.toInt(), 2);
    QVERIFY(!client->tryPull(&message));
    int dropped = 0;
    for (const QList<QVariant> &arguments : std::as_const(overflowed))
        dropped += arguments.at(0).toInt();
    QCOMPARE(dropped, 2);
}

void tst_PushSession::messageLargerThanTheByteBoundStillArrives()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    session->setMaxBufferBytes(10);
    session->setRetainedMessages(10);
    session->setMaxRetainedBytes(10);
    PushClient *client = session->newClient(QStringLiteral("c"));
    session->push(QStringLiteral("big"), 1000);
    QVariant message;
    QVERIFY(client->tryPull(&message));
    QCOMPARE(message.toString(), QStringLiteral("big"));
    QCOMPARE(session->messagesAfter(0).size(), 1); // the newest message is always retained
    QCOMPARE(session->retainedBytes(), 1000);
}

void tst_PushSession::byteBoundHoldsAcrossThreads()
{
    WorkerThread worker;
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    session->setMaxBufferBytes(100);
    PushClient *client = nullptr;
    worker.run([&] { client = session->newClient(QStringLiteral("c")); });
    QAtomicInt dropped = 0;
    connect(client, &PushClient::overflowed, worker.context(),
            [&dropped](int count) { dropped += count; });
    // Whether the worker drains its inbox between the pushes or not, the byte bound drops the
    // same oldest messages, there or in the client's queue.
    for (int i = 1; i <= 6; ++i)
        session->push(i, 40);
    // The overflow is reported after the drain that queued the newest messages.
    QTRY_COMPARE_WITH_TIMEOUT(dropped.loadRelaxed(), 4, 10000);
    QList<int> pulled;
    worker.run([&] {
        QVariant message;
        while (client->tryPull(&message))
            pulled.append(message.toInt());
    });
    QCOMPARE(pulled, (QList<int>{5, 6}));
    worker.run([&] { delete client; });
}

void tst_PushSession::retentionForgetsOldestPastItsByteBound()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    session->setRetainedMessages(100);
    session->setMaxRetainedBytes(100);
    for (int i = 1; i <= 5; ++i)
        session->push(i, 40);
    quint64 oldest = 0;
    const QList<PushSession::Message> retained = session->messagesAfter(0, &oldest);
    QCOMPARE(retained.size(), 2);
    QCOMPARE(retained.at(0).id, 4u);
    QCOMPARE(oldest, 4u);
    QCOMPARE(session->retainedBytes(), 80);
    QSignalSpy changed(session, &PushSession::retentionChanged);
    session->setMaxRetainedBytes(50); // lowering it forgets at once
    QCOMPARE(changed.size(), 1);
    QCOMPARE(session->retainedBytes(), 40);
    QCOMPARE(session->messagesAfter(0).first().data.toInt(), 5);
}

void tst_PushSession::trimRetainedFreesTheOldest()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    session->setRetainedMessages(100);
    for (int i = 1; i <= 3; ++i)
        session->push(i, 40);
    QCOMPARE(session->retainedBytes(), 120);
    QCOMPARE(session->trimRetained(50), 80);
    QCOMPARE(session->retainedBytes(), 40);
    QCOMPARE(session->messagesAfter(0).first().id, 3u);
    QCOMPARE(session->trimRetained(50), 0);
    QCOMPARE(session->trimRetained(0), 40);
    quint64 oldest = 0;
    QVERIFY(session->messagesAfter(0, &oldest).isEmpty());
    QCOMPARE(oldest, 4u);
}

void tst_PushSession::estimateBytesCountsNestedValues()
{
    QVariantList emptyObjects;
    for (int i = 0; i < 1000; ++i)
        emptyObjects.append(QVariantMap());
    // Each element is a whole QVariant, whatever little it holds: what makes [{},{},...] large.
    QVERIFY(PushSession::estimateBytes(emptyObjects) >= 1000 * qint64(sizeof(QVariant)));
    QVERIFY(PushSession::estimateBytes(QString(1000, u'x')) >= 2000);
    const QVariantMap nested{{QStringLiteral("list"), QVariantList{emptyObjects}}};
    QVERIFY(PushSession::estimateBytes(nested) > PushSession::estimateBytes(emptyObjects));
    QVERIFY(PushSession::estimateBytes(1) > 0);
}

void tst_PushSession::pushWithoutBytesIsEstimatedOnlyUnderABound()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    session->setRetainedMessages(10);
    const QString text(1000, u'x');
    session->push(text);
    QCOMPARE(session->retainedBytes(), 0); // nobody counts
    session->setMaxRetainedBytes(1 << 20);
    session->push(text);
    QCOMPARE(session->retainedBytes(), PushSession::estimateBytes(text));
}

QTEST_GUILESS_MAIN(tst_PushSession)
#include "tst_pushsession.moc"
