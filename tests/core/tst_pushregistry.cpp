// SPDX-License-Identifier: MIT
#include <QtPush/pushclient.h>
#include <QtPush/pushregistry.h>
#include <QtPush/pushsession.h>

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
};

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

QTEST_GUILESS_MAIN(tst_PushRegistry)
#include "tst_pushregistry.moc"
