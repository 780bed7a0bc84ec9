// SPDX-License-Identifier: MIT
// A small program written against the Go package's older API, ported line by line to QtPush
// with the rows of docs/core.md ("The older API"). The Go original:
//
//     s := push.NewSession("jobs", "worker", 2) // the session, its first client, a buffer of 2
//     s.NewClient("logger")
//     logged := make(chan interface{}, 3)
//     go func() {
//         for m := range s.PullChan("logger") {
//             logged <- m
//         }
//     }()
//     s.Push("build")
//     s.Push("test")
//     fmt.Println(s.Pull("worker"), s.Pull("worker")) // build test
//     go s.Push("deploy")
//     fmt.Println(s.Pull("worker"))                   // deploy: Pull blocked until it came
//     for i := 0; i < 3; i++ {
//         fmt.Println(<-logged)                       // build, test, deploy
//     }
//
// One difference is kept visible: a Go Push blocks while a client's channel is full, a QtPush
// push() never blocks and drops the oldest message instead (the program above never fills
// the buffer, so both print the same).
#include <QtPush/pushclient.h>
#include <QtPush/pushregistry.h>
#include <QtPush/pushsession.h>

#include <QtCore/QRegularExpression>
#include <QtCore/QThread>
#include <QtTest/QTest>

#include <memory>

class tst_GoPort : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void theOlderProgramPorted();
    void newSessionWithClientAndBuffer();
    void pullAndTryPullByClientId();
    void refusalsWarn();
};

void tst_GoPort::init()
{
    QTest::failOnWarning(QRegularExpression(QStringLiteral(".*")));
}

void tst_GoPort::theOlderProgramPorted()
{
    PushRegistry registry; // the Go package's session map
    // s := push.NewSession("jobs", "worker", 2)
    PushSession *s = registry.session(QStringLiteral("jobs"), QStringLiteral("worker"), 2);
    QVERIFY(s);
    // s.NewClient("logger"); the goroutine ranging over s.PullChan("logger")
    s->newClient(QStringLiteral("logger"));
    QStringList logged;
    connect(s->findClient(QStringLiteral("logger")), &PushClient::messageReceived, this,
            [&](const QVariant &m) { logged.append(m.toString()); });
    // s.Push("build"); s.Push("test")
    s->push(QStringLiteral("build"));
    s->push(QStringLiteral("test"));
    // s.Pull("worker"), s.Pull("worker")
    bool ok = false;
    QCOMPARE(s->pull(QStringLiteral("worker"), -1, &ok).toString(), QStringLiteral("build"));
    QVERIFY(ok);
    QCOMPARE(s->pull(QStringLiteral("worker"), -1, &ok).toString(), QStringLiteral("test"));
    QVERIFY(ok);
    // go s.Push("deploy"), then a Pull that blocks until it comes. The timeout only bounds a
    // broken build; a working one wakes on the push.
    std::unique_ptr<QThread> pusher(QThread::create([s] { s->push(QStringLiteral("deploy")); }));
    pusher->start();
    QCOMPARE(s->pull(QStringLiteral("worker"), 60000, &ok).toString(), QStringLiteral("deploy"));
    QVERIFY(ok);
    pusher->wait();
    // <-logged, three times
    QTRY_COMPARE(logged,
                 (QStringList{QStringLiteral("build"), QStringLiteral("test"),
                              QStringLiteral("deploy")}));
}

void tst_GoPort::newSessionWithClientAndBuffer()
{
    PushRegistry registry;
    PushSession *s = registry.session(7, QStringLiteral("first"), 3);
    QVERIFY(s);
    QCOMPARE(s, registry.findSession(QStringLiteral("7")));
    QCOMPARE(s->maxBuffer(), 3);
    QCOMPARE(s->clients(), QVariantList{QStringLiteral("first")});
    QCOMPARE(s->findClient(QStringLiteral("first"))->thread(), QThread::currentThread());
    // Again with another client: the same session, both clients, the newer buffer size.
    QCOMPARE(registry.session(7, QStringLiteral("second"), 5), s);
    QCOMPARE(s->count(), 2);
    QCOMPARE(s->maxBuffer(), 5);
}

void tst_GoPort::pullAndTryPullByClientId()
{
    PushRegistry registry;
    PushSession *s = registry.session(QStringLiteral("s"), QStringLiteral("c"), 2);
    QVariant message;
    QVERIFY(!s->tryPull(QStringLiteral("c"), &message));
    for (int i = 1; i <= 3; ++i)
        s->push(i); // one more than the buffer: 1 is dropped, as the oldest
    QVERIFY(s->tryPull(QStringLiteral("c"), &message));
    QCOMPARE(message.toInt(), 2);
    bool ok = false;
    QCOMPARE(s->pull(QStringLiteral("c"), 0, &ok).toInt(), 3);
    QVERIFY(ok);
    QVERIFY(!s->pull(QStringLiteral("c"), 0, &ok).isValid()); // empty: times out at once
    QVERIFY(!ok);
    s->findClient(QStringLiteral("c"))->close();
    QVERIFY(!s->pull(QStringLiteral("c"), -1, &ok).isValid()); // closed: never waits
    QVERIFY(!ok);
}

void tst_GoPort::refusalsWarn()
{
    PushRegistry registry;
    QTest::ignoreMessage(QtWarningMsg,
                         QRegularExpression(QStringLiteral("PushRegistry::session: refusing")));
    QVERIFY(!registry.session(QStringLiteral("s"), QStringLiteral("c"), 0));
    QTest::ignoreMessage(QtWarningMsg,
                         QRegularExpression(QStringLiteral("PushRegistry::session: refusing")));
    QVERIFY(!registry.session(QStringLiteral("s"), QString(), 4));
    PushSession *s = registry.session(QStringLiteral("s"));
    QTest::ignoreMessage(QtWarningMsg,
                         QRegularExpression(QStringLiteral("PushSession::pull: no client")));
    bool ok = true;
    QVERIFY(!s->pull(QStringLiteral("nobody"), -1, &ok).isValid());
    QVERIFY(!ok);
    QVariant message;
    QVERIFY(!s->tryPull(QStringLiteral("nobody"), &message));
}

QTEST_GUILESS_MAIN(tst_GoPort)
#include "tst_goport.moc"
