// SPDX-License-Identifier: MIT
#include <QtPush/pushclient.h>
#include <QtPush/pushmemorybroker.h>
#include <QtPush/pushregistry.h>
#include <QtPush/pushsession.h>

#include "pushregistry_p.h" // internal, exported: session(id, flags) and release() for the server

#include <QtCore/QDateTime>
#include <QtCore/QFuture>
#include <QtCore/QPointer>
#include <QtCore/QRegularExpression>
#include <QtCore/QThread>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

class tst_PushRegistry : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void sessionCreatesOnceAndReturnsTheSame();
    void idsCompareByStringForm();
    void findSessionReturnsNullWhenAbsent();
    void existsFollowsCreateAndDelete();
    void deleteSessionIsSafeOnMissing();
    void nullOrEmptyIdIsRefused_data();
    void nullOrEmptyIdIsRefused();
    void sessionsListsIdsInStringOrder();
    void signalsAnnounceSessionsComingAndGoing();
    void deleteSessionClosesAndDeletesItsClients();
    void pushToDeletedSessionReturnsZero();
    void sessionCreatedInAnotherThreadLivesInRegistryThread();
    void globalIsOneRegistry();
    void destructorDeletesSessions();
    // The broker seam (pushbroker.h), with the in-file TestBroker below: no threads.
    void defaultBrokerIsMemory();
    void publishReceiptFollowsPushNumbering();
    void requestHistoryIsTheRetainedWindow();
    void givenBrokerHearsOfSessions();
    void closedBrokerIsRefused();
    void recoveredSessionsExistWithTheirPosition();
    void durableDeliversOnlyStoredMessages();
    void durableRefusalTakesNoId();
    void durableDiscardGivesIdsBack();
    void durableClientJoiningBeforeStoreGetsTheMessage();
    void durableStaleEpochIsIgnored();
    void durableDeletedSessionFailsItsReceipts();
    void destructorClosesTheBrokerFirst();
    void brokerSignalsChangesOnly();
};

namespace {

// What a TestBroker was told; shared with the test, as the registry deletes the broker.
struct BrokerLog
{
    struct Appended
    {
        QString key;
        quint64 epoch;
        quint64 id;
        QVariant data;
    };
    QStringList calls;
    QList<Appended> appended;
    QList<PushStoredSession> recover;
    quint64 nextEpoch = 1000;
    bool accept = true;
    bool storeOnClose = false; // closeBackend() stores everything appended, as a store flushes
};
using BrokerLogPtr = std::shared_ptr<BrokerLog>;

// A broker that numbers locally, records every seam call and lets the test play the store by
// calling handler()->stored()/discarded() itself.
class TestBroker : public PushBroker
{
public:
    TestBroker(BrokerLogPtr log, Capabilities capabilities)
        : m_log(std::move(log)), m_capabilities(capabilities)
    { }
    using PushBroker::handler;
    using PushBroker::setError;
    using PushBroker::setWritable;

    Capabilities capabilities() const override { return m_capabilities; }

protected:
    bool openBackend(QList<PushStoredSession> *recovered) override
    {
        *recovered = m_log->recover;
        return true;
    }
    void closeBackend() override
    {
        m_log->calls << QStringLiteral("close");
        if (m_log->storeOnClose) {
            for (const BrokerLog::Appended &message : std::as_const(m_log->appended))
                handler()->stored(message.key, message.epoch, message.id);
        }
    }
    PushPosition sessionCreated(const QString &key, const QVariant &, const PushRetention &,
                                quint32 flags) override
    {
        m_log->calls << QStringLiteral("created %1 %2").arg(key).arg(flags);
        return {m_log->nextEpoch++, 0};
    }
    void sessionRemoved(const QString &key, quint64, RemoveReason reason) override
    {
        m_log->calls << QStringLiteral("removed %1 %2")
                                .arg(key,
                                     reason == RemoveReason::Deleted ? QStringLiteral("deleted")
                                                                     : QStringLiteral("released"));
    }
    void retentionChanged(const QString &key, quint64, const PushRetention &retention) override
    {
        m_log->calls << QStringLiteral("retention %1 %2/%3/%4")
                                .arg(key)
                                .arg(retention.messages)
                                .arg(retention.periodMs)
                                .arg(retention.bytes);
    }
    void retainedTrimmed(const QString &key, quint64, quint64 oldestKept) override
    {
        m_log->calls << QStringLiteral("trimmed %1 %2").arg(key).arg(oldestKept);
    }
    bool append(const QString &key, quint64 epoch, const PushStoredMessage &message) override
    {
        if (!m_log->accept)
            return false;
        m_log->appended.append({key, epoch, message.id, message.data});
        return true;
    }
    QFuture<PushReceipt> publish(const QString &, const QVariant &, qint64) override
    {
        Q_UNREACHABLE();
        return {};
    }
    QFuture<PushHistory> history(const QString &, quint64) override
    {
        Q_UNREACHABLE();
        return {};
    }

private:
    BrokerLogPtr m_log;
    Capabilities m_capabilities;
};

constexpr PushBroker::Capabilities durable = PushBroker::AssignsIdsLocally | PushBroker::Durable;

std::unique_ptr<TestBroker> openBroker(const BrokerLogPtr &log,
                                       PushBroker::Capabilities capabilities = durable)
{
    auto broker = std::make_unique<TestBroker>(log, capabilities);
    if (!broker->open())
        return nullptr;
    return broker;
}

TestBroker *testBroker(PushRegistry &registry)
{
    return static_cast<TestBroker *>(registry.broker());
}

QList<quint64> ids(const QList<PushSession::Message> &messages)
{
    QList<quint64> result;
    for (const PushSession::Message &message : messages)
        result.append(message.id);
    return result;
}

} // namespace

void tst_PushRegistry::init()
{
    QTest::failOnWarning(QRegularExpression(QStringLiteral(".*")));
}

void tst_PushRegistry::sessionCreatesOnceAndReturnsTheSame()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("alice"));
    QVERIFY(session);
    QCOMPARE(registry.session(QStringLiteral("alice")), session);
    QCOMPARE(session->keyString(), QStringLiteral("alice"));
    QCOMPARE(session->registry(), &registry);
    QVERIFY(registry.session(QStringLiteral("bob")) != session);
}

void tst_PushRegistry::idsCompareByStringForm()
{
    PushRegistry registry;
    PushSession *byNumber = registry.session(123);
    QCOMPARE(registry.session(QStringLiteral("123")), byNumber);
    QCOMPARE(registry.findSession(QStringLiteral("123")), byNumber);
    QVERIFY(registry.exists(123));
    QCOMPARE(byNumber->key(), QVariant(123)); // the id keeps the form it was first given
    QCOMPARE(byNumber->keyString(), QStringLiteral("123"));
}

void tst_PushRegistry::findSessionReturnsNullWhenAbsent()
{
    PushRegistry registry;
    QCOMPARE(registry.findSession(QStringLiteral("nobody")), nullptr);
    QCOMPARE(registry.count(), 0); // looking does not create
}

void tst_PushRegistry::existsFollowsCreateAndDelete()
{
    PushRegistry registry;
    QVERIFY(!registry.exists(QStringLiteral("s")));
    registry.session(QStringLiteral("s"));
    QVERIFY(registry.exists(QStringLiteral("s")));
    registry.deleteSession(QStringLiteral("s"));
    QVERIFY(!registry.exists(QStringLiteral("s")));
    QCOMPARE(registry.findSession(QStringLiteral("s")), nullptr);
}

void tst_PushRegistry::deleteSessionIsSafeOnMissing()
{
    PushRegistry registry;
    QSignalSpy removed(&registry, &PushRegistry::sessionRemoved);
    registry.deleteSession(QStringLiteral("missing"));
    registry.deleteSession(QVariant());
    QCOMPARE(removed.size(), 0);
}

void tst_PushRegistry::nullOrEmptyIdIsRefused_data()
{
    QTest::addColumn<QVariant>("id");
    QTest::addRow("null") << QVariant();
    QTest::addRow("empty string") << QVariant(QString());
    QTest::addRow("empty byte array") << QVariant(QByteArray());
}

void tst_PushRegistry::nullOrEmptyIdIsRefused()
{
    QFETCH(QVariant, id);
    PushRegistry registry;
    QTest::ignoreMessage(QtWarningMsg,
                         QRegularExpression(QStringLiteral("PushRegistry::session: refusing")));
    QCOMPARE(registry.session(id), nullptr);
    QCOMPARE(registry.count(), 0);
}

void tst_PushRegistry::sessionsListsIdsInStringOrder()
{
    PushRegistry registry;
    registry.session(QStringLiteral("b"));
    registry.session(7);
    registry.session(QStringLiteral("a"));
    QCOMPARE(registry.sessions(),
             (QVariantList{QVariant(7), QVariant(QStringLiteral("a")),
                           QVariant(QStringLiteral("b"))}));
    QCOMPARE(registry.count(), 3);
}

void tst_PushRegistry::signalsAnnounceSessionsComingAndGoing()
{
    PushRegistry registry;
    QSignalSpy added(&registry, &PushRegistry::sessionAdded);
    QSignalSpy removed(&registry, &PushRegistry::sessionRemoved);
    QSignalSpy countChanged(&registry, &PushRegistry::countChanged);
    registry.session(QStringLiteral("s"));
    registry.session(QStringLiteral("s")); // existing: no signal
    registry.deleteSession(QStringLiteral("s"));
    QCOMPARE(added.size(), 1);
    QCOMPARE(added.first().first().toString(), QStringLiteral("s"));
    QCOMPARE(removed.size(), 1);
    QCOMPARE(removed.first().first().toString(), QStringLiteral("s"));
    QCOMPARE(countChanged.size(), 2);
}

void tst_PushRegistry::deleteSessionClosesAndDeletesItsClients()
{
    PushRegistry registry;
    QPointer<PushSession> session = registry.session(QStringLiteral("s"));
    QPointer<PushClient> client = session->newClient(QStringLiteral("c"));
    QSignalSpy closed(client.data(), &PushClient::closed);
    registry.deleteSession(QStringLiteral("s"));
    QCOMPARE(closed.size(), 1); // same thread: emitted at once
    QVERIFY(client->isClosed());
    QTRY_VERIFY(client.isNull());
    QTRY_VERIFY(session.isNull());
}

void tst_PushRegistry::pushToDeletedSessionReturnsZero()
{
    PushRegistry registry;
    QPointer<PushSession> session = registry.session(QStringLiteral("s"));
    session->deleteSelf();
    QVERIFY(!registry.exists(QStringLiteral("s")));
    QVERIFY(session); // deleted later, so a caller holding it can still call it safely
    QTest::ignoreMessage(
            QtWarningMsg,
            QRegularExpression(QStringLiteral("PushSession::push: session .* deleted")));
    QCOMPARE(session->push(1), quint64(0));
}

void tst_PushRegistry::sessionCreatedInAnotherThreadLivesInRegistryThread()
{
    PushRegistry registry;
    PushSession *created = nullptr;
    QThread *worker = QThread::create([&] { created = registry.session(QStringLiteral("w")); });
    worker->start();
    QVERIFY(worker->wait(10000));
    delete worker;
    QVERIFY(created);
    QCOMPARE(created->thread(), registry.thread());
    QCOMPARE(registry.findSession(QStringLiteral("w")), created);
}

void tst_PushRegistry::globalIsOneRegistry()
{
    PushRegistry *global = PushRegistry::global();
    QVERIFY(global);
    QCOMPARE(PushRegistry::global(), global);
    PushSession *session = global->session(QStringLiteral("tst_PushRegistry"));
    QCOMPARE(PushRegistry::global()->findSession(QStringLiteral("tst_PushRegistry")), session);
    global->deleteSession(QStringLiteral("tst_PushRegistry"));
}

void tst_PushRegistry::destructorDeletesSessions()
{
    QPointer<PushSession> session;
    QPointer<PushClient> client;
    {
        PushRegistry registry;
        session = registry.session(QStringLiteral("s"));
        client = session->newClient(QStringLiteral("c"));
    }
    QVERIFY(session.isNull());
    QVERIFY(client->isClosed());
    QTRY_VERIFY(client.isNull());
}

void tst_PushRegistry::defaultBrokerIsMemory()
{
    PushRegistry registry;
    QVERIFY(qobject_cast<PushMemoryBroker *>(registry.broker()));
    QVERIFY(registry.broker()->isOpen());
    QCOMPARE(registry.broker()->capabilities(), PushBroker::AssignsIdsLocally);
    QVERIFY(qobject_cast<PushMemoryBroker *>(PushRegistry::global()->broker()));
    // Each session draws its own non-zero epoch from the broker.
    const quint64 a = registry.session(QStringLiteral("a"))->epoch();
    const quint64 b = registry.session(QStringLiteral("b"))->epoch();
    QVERIFY(a != 0 && b != 0 && a != b);
}

void tst_PushRegistry::publishReceiptFollowsPushNumbering()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    PushClient *client = session->newClient(QStringLiteral("c"));
    QCOMPARE(session->push(QStringLiteral("one")), quint64(1));
    const QFuture<PushReceipt> receipt = session->publish(QStringLiteral("two"));
    QVERIFY(receipt.isFinished()); // the memory broker: on return
    QCOMPARE(receipt.result().id, quint64(2));
    QCOMPARE(receipt.result().epoch, session->epoch());
    QCOMPARE(receipt.result().error, PushBroker::NoError);
    QCOMPARE(session->push(QStringLiteral("three")), quint64(3));
    QCOMPARE(client->pending(), 3); // queued like any push
    QCOMPARE(session->lastMessageId(), quint64(3));
}

void tst_PushRegistry::requestHistoryIsTheRetainedWindow()
{
    PushRegistry registry;
    PushSession *session = registry.session(QStringLiteral("s"));
    session->setRetainedMessages(3);
    for (int i = 1; i <= 5; ++i)
        session->push(i);
    const QFuture<PushHistory> future = session->requestHistory(3);
    QVERIFY(future.isFinished());
    const PushHistory history = future.result();
    QCOMPARE(history.position.epoch, session->epoch());
    QCOMPARE(history.position.id, quint64(5));
    QCOMPARE(history.oldestRetained, quint64(3));
    QCOMPARE(ids(history.messages), (QList<quint64>{4, 5}));
    QCOMPARE(history.messages.last().data, QVariant(5));
    QCOMPARE(history.error, PushBroker::NoError);
    // As messagesAfter() says it.
    quint64 oldest = 0;
    QCOMPARE(ids(session->messagesAfter(1, &oldest)), (QList<quint64>{3, 4, 5}));
    QCOMPARE(oldest, quint64(3));
    QCOMPARE(ids(session->requestHistory(1).result().messages), (QList<quint64>{3, 4, 5}));
}

void tst_PushRegistry::givenBrokerHearsOfSessions()
{
    const auto log = std::make_shared<BrokerLog>();
    PushRegistry registry(openBroker(log, PushBroker::AssignsIdsLocally));
    QCOMPARE(registry.broker()->capabilities(), PushBroker::AssignsIdsLocally);
    QVERIFY(testBroker(registry)->handler());
    PushSession *session = registry.session(QStringLiteral("a"));
    QCOMPARE(session->epoch(), quint64(1000));
    PushRegistryPrivate::get(&registry)->session(QStringLiteral("b"), PushBroker::ServerMade);
    QCOMPARE(registry.session(QStringLiteral("a")), session); // made once, told once
    session->setRetainedMessages(5);
    session->setRetentionPeriod(60000);
    session->setMaxRetainedBytes(4096);
    for (int i = 1; i <= 3; ++i)
        QCOMPARE(session->push(i), quint64(i)); // numbered by the engine, not appended
    QVERIFY(log->appended.isEmpty());
    QVERIFY(session->trimRetained(0) > 0);
    registry.deleteSession(QStringLiteral("a"));
    PushRegistryPrivate::get(&registry)->release(QStringLiteral("b"));
    QVERIFY(!registry.exists(QStringLiteral("b")));
    QCOMPARE(log->calls,
             (QStringList{
                     QStringLiteral("created a 0"), QStringLiteral("created b 1"),
                     QStringLiteral("retention a 5/0/0"), QStringLiteral("retention a 5/60000/0"),
                     QStringLiteral("retention a 5/60000/4096"), QStringLiteral("trimmed a 4"),
                     QStringLiteral("removed a deleted"), QStringLiteral("removed b released")}));
}

void tst_PushRegistry::closedBrokerIsRefused()
{
    const auto log = std::make_shared<BrokerLog>();
    QTest::ignoreMessage(QtCriticalMsg, QRegularExpression(QStringLiteral("is not open")));
    PushRegistry registry(std::make_unique<TestBroker>(log, durable));
    QVERIFY(qobject_cast<PushMemoryBroker *>(registry.broker()));
    QCOMPARE(registry.session(QStringLiteral("s"))->push(1), quint64(1));
    QVERIFY(log->calls.isEmpty()); // the refused broker was never used
    PushRegistry withNull(nullptr);
    QVERIFY(qobject_cast<PushMemoryBroker *>(withNull.broker()));
}

void tst_PushRegistry::recoveredSessionsExistWithTheirPosition()
{
    const auto log = std::make_shared<BrokerLog>();
    PushStoredSession stored;
    stored.key = 42; // the key keeps the form it was first given
    stored.position = {7777, 9};
    stored.retention = {5, 0, 0};
    stored.flags = PushBroker::ServerMade;
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    for (quint64 id = 7; id <= 9; ++id)
        stored.retained.append({id, QStringLiteral("m%1").arg(id), 10, now});
    log->recover = {stored};
    PushRegistry registry(openBroker(log));
    QCOMPARE(registry.count(), 1);
    PushSession *session = registry.findSession(QStringLiteral("42"));
    QVERIFY(session);
    QCOMPARE(session->key(), QVariant(42));
    QCOMPARE(session->epoch(), quint64(7777));
    QCOMPARE(session->lastMessageId(), quint64(9));
    QCOMPARE(session->retainedMessages(), 5);
    QCOMPARE(session->retainedBytes(), qint64(30));
    quint64 oldest = 0;
    const QList<PushSession::Message> messages = session->messagesAfter(7, &oldest);
    QCOMPARE(ids(messages), (QList<quint64>{8, 9}));
    QCOMPARE(messages.first().data, QVariant(QStringLiteral("m8")));
    QCOMPARE(oldest, quint64(7));
    QVERIFY(log->calls.isEmpty()); // recovered, not created
    // Ids go on in the same epoch.
    QCOMPARE(session->push(QStringLiteral("m10")), quint64(10));
    QCOMPARE(log->appended.size(), 1);
    QCOMPARE(log->appended.first().key, QStringLiteral("42"));
    QCOMPARE(log->appended.first().epoch, quint64(7777));
    QCOMPARE(log->appended.first().id, quint64(10));
}

void tst_PushRegistry::durableDeliversOnlyStoredMessages()
{
    const auto log = std::make_shared<BrokerLog>();
    PushRegistry registry(openBroker(log));
    PushSession *session = registry.session(QStringLiteral("s"));
    session->setRetainedMessages(10);
    PushClient *client = session->newClient(QStringLiteral("c"));
    QSignalSpy received(client, &PushClient::messageReceived); // streaming, in this thread
    QCOMPARE(session->push(QStringLiteral("one")), quint64(1));
    const QFuture<PushReceipt> receipt = session->publish(QStringLiteral("two"));
    QCOMPARE(log->appended.size(), 2);
    QCOMPARE(log->appended.at(1).id, quint64(2));
    QCOMPARE(log->appended.at(1).data, QVariant(QStringLiteral("two")));
    // Invariant D: nothing shows an id that is not stored.
    QVERIFY(!receipt.isFinished());
    QCOMPARE(session->lastMessageId(), quint64(0));
    QVERIFY(session->messagesAfter(0).isEmpty());
    QCOMPARE(session->requestHistory(0).result().position.id, quint64(0));
    QCOMPARE(client->pending(), 0);
    QCoreApplication::processEvents();
    QCOMPARE(received.size(), 0);

    testBroker(registry)->handler()->stored(QStringLiteral("s"), session->epoch(), 1);
    QVERIFY(!receipt.isFinished());
    QCOMPARE(session->lastMessageId(), quint64(1));
    QCOMPARE(ids(session->messagesAfter(0)), (QList<quint64>{1}));
    QTRY_COMPARE(received.size(), 1); // from the inbox, on a later event-loop turn
    QCOMPARE(received.at(0).at(0), QVariant(QStringLiteral("one")));

    testBroker(registry)->handler()->stored(QStringLiteral("s"), session->epoch(), 2);
    QVERIFY(receipt.isFinished());
    QCOMPARE(receipt.result().id, quint64(2));
    QCOMPARE(receipt.result().epoch, session->epoch());
    QCOMPARE(receipt.result().error, PushBroker::NoError);
    QTRY_COMPARE(received.size(), 2);
    QCOMPARE(received.at(1).at(0), QVariant(QStringLiteral("two")));
    QCOMPARE(client->lastMessageId(), quint64(2));
}

void tst_PushRegistry::durableRefusalTakesNoId()
{
    const auto log = std::make_shared<BrokerLog>();
    PushRegistry registry(openBroker(log));
    PushSession *session = registry.session(QStringLiteral("s"));
    log->accept = false;
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("broker error: full")));
    testBroker(registry)->setError(PushBroker::StorageFull, QStringLiteral("full"));
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("refused a push")));
    QCOMPARE(session->push(1), quint64(0));
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("refused a push")));
    const QFuture<PushReceipt> refused = session->publish(2);
    QVERIFY(refused.isFinished());
    QCOMPARE(refused.result().id, quint64(0));
    QCOMPARE(refused.result().error, PushBroker::StorageFull);
    log->accept = true;
    QCOMPARE(session->push(3), quint64(1)); // the refused ones took no id
    QCOMPARE(log->appended.size(), 1);
    QCOMPARE(log->appended.first().data, QVariant(3));
}

void tst_PushRegistry::durableDiscardGivesIdsBack()
{
    const auto log = std::make_shared<BrokerLog>();
    PushRegistry registry(openBroker(log));
    PushSession *session = registry.session(QStringLiteral("s"));
    session->setRetainedMessages(10);
    PushClient *client = session->newClient(QStringLiteral("c")); // pulls: queues
    QCOMPARE(session->push(1), quint64(1));
    const QFuture<PushReceipt> second = session->publish(2);
    const QFuture<PushReceipt> third = session->publish(3);
    PushBrokerHandler *handler = testBroker(registry)->handler();
    handler->stored(QStringLiteral("s"), session->epoch(), 1);
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("lost ids 2 to 3")));
    handler->discarded(QStringLiteral("s"), session->epoch(), 2, PushBroker::IoError);
    QVERIFY(second.isFinished() && third.isFinished());
    QCOMPARE(second.result().id, quint64(0));
    QCOMPARE(second.result().error, PushBroker::IoError);
    QCOMPARE(third.result().error, PushBroker::IoError);
    QCOMPARE(session->lastMessageId(), quint64(1));
    QCOMPARE(session->push(4), quint64(2)); // the id no client saw is given again
    QCOMPARE(log->appended.last().id, quint64(2));
    QCOMPARE(log->appended.last().data, QVariant(4));
    handler->stored(QStringLiteral("s"), session->epoch(), 2);
    QCOMPARE(ids(session->messagesAfter(0)), (QList<quint64>{1, 2}));
    QCOMPARE(session->messagesAfter(1).first().data, QVariant(4));
    QCOMPARE(client->pending(), 2);
    QVariant message;
    QVERIFY(client->tryPull(&message)); // it drains the inbox: no event loop needed
    QCOMPARE(message, QVariant(1));
    QVERIFY(client->tryPull(&message));
    QCOMPARE(message, QVariant(4));
    QVERIFY(!client->tryPull(&message));
}

void tst_PushRegistry::durableClientJoiningBeforeStoreGetsTheMessage()
{
    const auto log = std::make_shared<BrokerLog>();
    PushRegistry registry(openBroker(log));
    PushSession *session = registry.session(QStringLiteral("s"));
    QCOMPARE(session->push(1), quint64(1));
    PushClient *client = session->newClient(QStringLiteral("late"));
    QCOMPARE(client->pending(), 0);
    testBroker(registry)->handler()->stored(QStringLiteral("s"), session->epoch(), 1);
    QVariant message;
    QVERIFY(client->tryPull(&message)); // it joined after id 0, the newest stored
    QCOMPARE(message, QVariant(1));
}

void tst_PushRegistry::durableStaleEpochIsIgnored()
{
    const auto log = std::make_shared<BrokerLog>();
    PushRegistry registry(openBroker(log));
    PushSession *session = registry.session(QStringLiteral("s"));
    QCOMPARE(session->push(1), quint64(1));
    PushBrokerHandler *handler = testBroker(registry)->handler();
    handler->stored(QStringLiteral("s"), session->epoch() + 1, 1);
    handler->discarded(QStringLiteral("s"), session->epoch() + 1, 1, PushBroker::IoError);
    handler->stored(QStringLiteral("gone"), session->epoch(), 1);
    QCOMPARE(session->lastMessageId(), quint64(0));
    handler->stored(QStringLiteral("s"), session->epoch(), 1);
    QCOMPARE(session->lastMessageId(), quint64(1));
}

void tst_PushRegistry::durableDeletedSessionFailsItsReceipts()
{
    const auto log = std::make_shared<BrokerLog>();
    PushRegistry registry(openBroker(log));
    PushSession *session = registry.session(QStringLiteral("s"));
    const QFuture<PushReceipt> receipt = session->publish(1);
    QVERIFY(!receipt.isFinished());
    registry.deleteSession(QStringLiteral("s"));
    QVERIFY(receipt.isFinished());
    QCOMPARE(receipt.result().id, quint64(0));
    QCOMPARE(receipt.result().error, PushBroker::Unavailable);
}

void tst_PushRegistry::destructorClosesTheBrokerFirst()
{
    const auto log = std::make_shared<BrokerLog>();
    log->storeOnClose = true;
    QFuture<PushReceipt> receipt;
    {
        PushRegistry registry(openBroker(log));
        receipt = registry.session(QStringLiteral("s"))->publish(1);
        QVERIFY(!receipt.isFinished());
    }
    // close() stored it while the session still existed, so the receipt says so.
    QCOMPARE(log->calls.last(), QStringLiteral("close"));
    QVERIFY(receipt.isFinished());
    QCOMPARE(receipt.result().id, quint64(1));
    QCOMPARE(receipt.result().error, PushBroker::NoError);
}

void tst_PushRegistry::brokerSignalsChangesOnly()
{
    const auto log = std::make_shared<BrokerLog>();
    PushRegistry registry(openBroker(log));
    TestBroker *broker = testBroker(registry);
    QSignalSpy writable(broker, &PushBroker::writableChanged);
    QSignalSpy errors(broker, &PushBroker::errorOccurred);
    QVERIFY(broker->isWritable());
    broker->setWritable(true);
    QCOMPARE(writable.size(), 0);
    broker->setWritable(false);
    QVERIFY(!broker->isWritable()); // at once; the signal from the event loop
    QCOMPARE(writable.size(), 0);
    QTRY_COMPARE(writable.size(), 1);
    QCOMPARE(writable.at(0).at(0), QVariant(false));
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("broker error: disk")));
    broker->setError(PushBroker::StorageFull, QStringLiteral("disk"));
    broker->setError(PushBroker::StorageFull, QStringLiteral("disk 2"));
    QTRY_COMPARE(errors.size(), 1);
    QCOMPARE(errors.at(0).at(0).value<PushBroker::Error>(), PushBroker::StorageFull);
    QCoreApplication::processEvents();
    QCOMPARE(errors.size(), 1); // the same error again is no change
    QCOMPARE(broker->error(), PushBroker::StorageFull);
    QCOMPARE(broker->errorString(), QStringLiteral("disk 2"));
    // From another thread: queued to the broker's.
    QThread *worker = QThread::create([broker] { broker->setWritable(true); });
    worker->start();
    QVERIFY(worker->wait(10000));
    delete worker;
    QVERIFY(broker->isWritable());
    QTRY_COMPARE(writable.size(), 2);
    QCOMPARE(writable.at(1).at(0), QVariant(true));
}

QTEST_GUILESS_MAIN(tst_PushRegistry)
#include "tst_pushregistry.moc"
