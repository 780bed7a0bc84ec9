// SPDX-License-Identifier: MIT
// PushChangeJournal (src/core/pushchangejournal_p.h): the sessions that changed, for the
// server's housekeeping. Internal, but exported from the core library.
#include <QtPush/pushclient.h>
#include <QtPush/pushregistry.h>
#include <QtPush/pushsession.h>

#include "pushchangejournal_p.h"

#include <QtCore/QThread>
#include <QtTest/QTest>

#include <atomic>
#include <memory>
#include <vector>

namespace {

QStringList sorted(QStringList list)
{
    list.sort();
    return list;
}

} // namespace

class tst_PushChangeJournal : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void reportsEachKindOfChangeOnce();
    void quietSessionsAreNotReported();
    void everyJournalSeesEveryChange();
    void aLaterJournalSeesChangesMarkedForAnEarlierOne();
    void survivesItsRegistry();
    void noChangeIsLostToConcurrentPushes();
};

void tst_PushChangeJournal::reportsEachKindOfChangeOnce()
{
    PushRegistry registry;
    PushChangeJournal journal(&registry);
    PushSession *a = registry.session(QStringLiteral("a"));
    PushSession *b = registry.session(QStringLiteral("b"));
    QCOMPARE(sorted(journal.takeChanged()),
             (QStringList{QStringLiteral("a"), QStringLiteral("b")}));
    QVERIFY(journal.takeChanged().isEmpty());

    a->push(1);
    a->push(2); // marked already: reported once
    QCOMPARE(journal.takeChanged(), QStringList{QStringLiteral("a")});
    b->newClient(QStringLiteral("c"));
    QCOMPARE(journal.takeChanged(), QStringList{QStringLiteral("b")});
    b->deleteClient(QStringLiteral("c"));
    QCOMPARE(journal.takeChanged(), QStringList{QStringLiteral("b")});
    PushClient *direct = a->newClient(QStringLiteral("d"));
    QCOMPARE(journal.takeChanged(), QStringList{QStringLiteral("a")});
    delete direct; // leaves its session without deleteClient()
    QCOMPARE(journal.takeChanged(), QStringList{QStringLiteral("a")});
    registry.deleteSession(QStringLiteral("b"));
    QCOMPARE(journal.takeChanged(), QStringList{QStringLiteral("b")});
}

void tst_PushChangeJournal::quietSessionsAreNotReported()
{
    PushRegistry registry;
    for (int i = 0; i < 100; ++i)
        registry.session(i);
    PushChangeJournal journal(&registry); // after they were made
    QVERIFY(journal.takeChanged().isEmpty());
    registry.findSession(42)->push(QStringLiteral("x"));
    QCOMPARE(journal.takeChanged(), QStringList{QStringLiteral("42")});
}

void tst_PushChangeJournal::everyJournalSeesEveryChange()
{
    PushRegistry registry;
    PushSession *a = registry.session(QStringLiteral("a"));
    PushChangeJournal first(&registry);
    PushChangeJournal second(&registry);
    a->push(1);
    QCOMPARE(first.takeChanged(), QStringList{QStringLiteral("a")});
    // The first drained it and cleared the mark; the second still holds it, and a new change
    // after the drain reaches both.
    a->push(2);
    QCOMPARE(second.takeChanged(), QStringList{QStringLiteral("a")});
    QCOMPARE(first.takeChanged(), QStringList{QStringLiteral("a")});
    QVERIFY(second.takeChanged().isEmpty());
}

void tst_PushChangeJournal::aLaterJournalSeesChangesMarkedForAnEarlierOne()
{
    PushRegistry registry;
    PushSession *a = registry.session(QStringLiteral("a"));
    {
        PushChangeJournal gone(&registry);
        a->push(1); // marked, never drained
    }
    PushChangeJournal journal(&registry);
    a->push(2);
    QCOMPARE(journal.takeChanged(), QStringList{QStringLiteral("a")});
}

void tst_PushChangeJournal::survivesItsRegistry()
{
    auto registry = std::make_unique<PushRegistry>();
    PushChangeJournal journal(registry.get());
    registry->session(QStringLiteral("a"))->push(1);
    registry.reset();
    QCOMPARE(journal.takeChanged(), QStringList{QStringLiteral("a")});
    QVERIFY(journal.takeChanged().isEmpty());
}

void tst_PushChangeJournal::noChangeIsLostToConcurrentPushes()
{
    // Pushers in other threads, a drain in this one: after the pushers stop, one more drain
    // must leave no session whose last message the consumer has not seen reported after it.
    PushRegistry registry;
    constexpr int sessions = 50;
    for (int i = 0; i < sessions; ++i)
        registry.session(i);
    PushChangeJournal journal(&registry);
    std::atomic<bool> stop{false};
    std::vector<std::unique_ptr<QThread>> pushers;
    for (int t = 0; t < 3; ++t) {
        pushers.emplace_back(QThread::create([&registry, &stop, t] {
            for (int n = 0; !stop.load(); ++n)
                registry.findSession((n * 7 + t) % sessions)->push(n);
        }));
        pushers.back()->start();
    }
    // What the consumer knows of each session: its last id when last reported.
    QHash<QString, quint64> seen;
    auto drain = [&] {
        const QStringList changed = journal.takeChanged();
        for (const QString &key : changed)
            seen[key] = registry.findSession(key)->lastMessageId();
    };
    for (int round = 0; round < 200; ++round)
        drain();
    stop.store(true);
    for (const auto &pusher : pushers)
        QVERIFY(pusher->wait(30000));
    drain();
    for (int i = 0; i < sessions; ++i) {
        const QString key = QString::number(i);
        QCOMPARE(seen.value(key), registry.findSession(key)->lastMessageId());
    }
}

QTEST_GUILESS_MAIN(tst_PushChangeJournal)
#include "tst_pushchangejournal.moc"
