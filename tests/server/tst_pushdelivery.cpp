// SPDX-License-Identifier: MIT
// The delivery lifecycle that WebSocket, SSE and long-poll share (src/server/pushdelivery_p.h),
// with a fake transport that records its writes: hello then catch-up, the admit -> gap ->
// frame -> count step, flow control of a stream, and end() reported once.
#include "fakedeliveryhost.h"

#include <QtPush/pushclient.h>
#include <QtPush/pushregistry.h>
#include <QtPush/pushsession.h>

#include <QtTest/QtTest>

Q_DECLARE_METATYPE(PushDelivery::EndReason)

namespace {

//! A stream whose backlog the test sets, and whose sent bytes it reports.
class FakeStream : public PushStreamTransport
{
public:
    explicit FakeStream(FakeHost *host) : PushStreamTransport(host, PushTransport::Sse) { }

    void closeConnection(int webSocketCode, const QString &reason) override
    {
        closes.append(QStringLiteral("%1 %2").arg(webSocketCode).arg(reason));
    }
    //! The connection sent all but \a remaining bytes.
    void sent(qint64 remaining)
    {
        pending = remaining;
        onBytesSent();
    }

    qint64 pending = 0;
    QStringList log;
    QStringList closes;
    int flushed = 0;

protected:
    void writeMessage(PushFrame &frame) override
    {
        log.append(QString::number(frame.id));
        pending += 100 * 1024;
    }
    void writeGap(quint64 from, quint64 to) override
    {
        log.append(QStringLiteral("gap %1-%2").arg(from).arg(to));
    }
    qint64 backlog() const override { return pending; }
    void flushSocket() override { ++flushed; }
};

} // namespace

class tst_PushDelivery : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void helloThenCatchUpThenLive();
    void skipsBelowTheCursor();
    void gapThenMessage();
    void countsByTransport();
    void streamPausesAtHighWaterAndResumes();
    void streamFlushesOncePerTurn();
    void endIsIdempotent();
    void replacedStopsServingBeforeClosing();
    void shuttingDownLeavesStoppingToTheTransport();
    void streamClosesWithTheReasonsCode_data();
    void streamClosesWithTheReasonsCode();

private:
    PushAttachment *attach(PushDelivery *delivery, QList<PushSession::Message> *catchUp,
                           const PushResume &resume = {});

    std::unique_ptr<PushRegistry> m_registry;
    std::unique_ptr<FakeHost> m_host;
    std::unique_ptr<PushClientTable> m_table;
    PushSession *m_session = nullptr;
};

void tst_PushDelivery::init()
{
    m_registry = std::make_unique<PushRegistry>();
    m_host = std::make_unique<FakeHost>();
    m_table = std::make_unique<PushClientTable>(m_registry.get(), m_host->config, &m_host->parent);
    m_host->table = m_table.get();
    m_session = m_registry->session(QStringLiteral("s"));
    m_session->setRetainedMessages(100);
}

void tst_PushDelivery::cleanup()
{
    m_host->table = nullptr;
    m_table.reset();
    m_host.reset();
    m_registry.reset();
}

PushAttachment *tst_PushDelivery::attach(PushDelivery *delivery,
                                         QList<PushSession::Message> *catchUp,
                                         const PushResume &resume)
{
    QString why;
    return m_table->attach(m_session, QStringLiteral("c"), delivery->kind(), delivery, resume,
                           catchUp, &why);
}

void tst_PushDelivery::helloThenCatchUpThenLive()
{
    for (int i = 1; i <= 3; ++i)
        m_session->push(i);
    FakeDelivery delivery(m_host.get());
    QList<PushSession::Message> catchUp;
    PushResume resume;
    resume.hasSince = true;
    resume.since = 1;
    PushAttachment *attachment = attach(&delivery, &catchUp, resume);
    QVERIFY(attachment);
    delivery.start(attachment, catchUp);
    QCOMPARE(delivery.log, strings({"hello", "2", "3"}));
    m_session->push(4);
    QCOMPARE(delivery.log, strings({"hello", "2", "3", "4"}));
    QCOMPARE(attachment->expected, 5u);
}

void tst_PushDelivery::skipsBelowTheCursor()
{
    FakeDelivery delivery(m_host.get());
    QList<PushSession::Message> catchUp;
    PushAttachment *attachment = attach(&delivery, &catchUp);
    attachment->expected = 3;
    // Caught up twice (its own queue and the retained window): what it saw is skipped.
    catchUp = {{1, 1}, {2, 2}, {3, 3}, {3, 3}, {4, 4}};
    delivery.start(attachment, catchUp);
    QCOMPARE(delivery.log, strings({"hello", "3", "4"}));
    QCOMPARE(m_host->counters.gapsTotal, 0u);
    QCOMPARE(attachment->delivered, 2u);
}

void tst_PushDelivery::gapThenMessage()
{
    FakeDelivery delivery(m_host.get());
    QList<PushSession::Message> catchUp;
    PushAttachment *attachment = attach(&delivery, &catchUp);
    attachment->expected = 2;
    delivery.start(attachment, {{2, 2}, {5, 5}, {6, 6}, {9, 9}});
    QCOMPARE(delivery.log, strings({"hello", "2", "gap 3-4", "5", "6", "gap 7-8", "9"}));
    QCOMPARE(m_host->counters.gapsTotal, 2u);
    QCOMPARE(attachment->expected, 10u);
}

void tst_PushDelivery::countsByTransport()
{
    FakeDelivery poll(m_host.get(), PushTransport::Poll);
    QList<PushSession::Message> catchUp;
    PushAttachment *attachment = attach(&poll, &catchUp);
    poll.start(attachment, {{1, 1}, {2, 2}});
    QCOMPARE(m_host->counters.deliveriesTotal[int(PushTransport::Poll)], 2u);
    QCOMPARE(m_host->counters.deliveriesTotal[int(PushTransport::WebSocket)], 0u);
    QCOMPARE(m_host->counters.deliveries(), 2u);
    QCOMPARE(attachment->delivered, 2u);
}

void tst_PushDelivery::streamPausesAtHighWaterAndResumes()
{
    // Each message adds 100 KiB to the fake backlog: past 256 KiB the stream stops taking, and
    // the client's own buffer holds what comes.
    FakeStream stream(m_host.get());
    QList<PushSession::Message> catchUp;
    PushAttachment *attachment = attach(&stream, &catchUp);
    stream.start(attachment, catchUp);
    for (int i = 1; i <= 5; ++i)
        m_session->push(i);
    QCOMPARE(stream.log, strings({"1", "2", "3"}));
    PushClient *client = m_session->findClient(QStringLiteral("c"));
    QCOMPARE(client->pending(), 2);

    stream.sent(100 * 1024); // above the low-water mark: still paused
    QCOMPARE(stream.log.size(), 3);
    stream.sent(0); // drained: takes the client's queue, then live messages again
    QCOMPARE(stream.log, strings({"1", "2", "3", "4", "5"}));
    QCOMPARE(client->pending(), 0);
    stream.sent(0);
    m_session->push(6);
    QCOMPARE(stream.log.last(), QStringLiteral("6"));
}

void tst_PushDelivery::streamFlushesOncePerTurn()
{
    m_session->push(1);
    m_session->push(2);
    FakeStream stream(m_host.get());
    QList<PushSession::Message> catchUp;
    PushResume resume;
    resume.hasSince = true; // since=0: all the session retains
    PushAttachment *attachment = attach(&stream, &catchUp, resume);
    QCOMPARE(catchUp.size(), 2);
    stream.start(attachment, catchUp);
    QCOMPARE(stream.log, strings({"1", "2"}));
    QCOMPARE(m_host->flushes.size(), 1); // one flush for the turn
    stream.flushNow();
    QCOMPARE(stream.flushed, 1);
    stream.sent(0);
    m_session->push(3);
    QCOMPARE(stream.log.last(), QStringLiteral("3"));
    QCOMPARE(m_host->flushes.size(), 2);
}

void tst_PushDelivery::endIsIdempotent()
{
    FakeDelivery delivery(m_host.get());
    QList<PushSession::Message> catchUp;
    PushAttachment *attachment = attach(&delivery, &catchUp);
    delivery.start(attachment, catchUp);
    delivery.end(PushDelivery::EndReason::ConnectionClosed);
    delivery.end(PushDelivery::EndReason::ConnectionClosed);
    delivery.end(PushDelivery::EndReason::Replaced);
    delivery.end(PushDelivery::EndReason::ShuttingDown);
    QCOMPARE(m_host->ended, QList<PushDelivery *>{&delivery});
    QCOMPARE(m_host->stopped, QList<PushDelivery *>{&delivery});
    QVERIFY(!delivery.attachment());
    QVERIFY(!attachment->owner);
    // No message is taken after the end.
    const qsizetype written = delivery.log.size();
    m_session->push(1);
    QCOMPARE(delivery.log.size(), written);
}

void tst_PushDelivery::replacedStopsServingBeforeClosing()
{
    FakeDelivery delivery(m_host.get());
    QList<PushSession::Message> catchUp;
    PushAttachment *attachment = attach(&delivery, &catchUp);
    delivery.start(attachment, catchUp);
    delivery.end(PushDelivery::EndReason::Replaced);
    delivery.end(PushDelivery::EndReason::ClientDeleted); // closes once
    QCOMPARE(delivery.log,
             QStringList({QStringLiteral("hello"),
                          QStringLiteral("close %1").arg(int(PushDelivery::EndReason::Replaced))}));
    QCOMPARE(m_host->stopped, QList<PushDelivery *>{&delivery});
    QVERIFY(m_host->ended.isEmpty()); // until its connection is gone
    delivery.end(PushDelivery::EndReason::ConnectionClosed);
    QCOMPARE(m_host->ended, QList<PushDelivery *>{&delivery});
}

void tst_PushDelivery::shuttingDownLeavesStoppingToTheTransport()
{
    // An event stream serves until its client closes (as before the split): ShuttingDown only
    // asks the transport to close.
    FakeDelivery delivery(m_host.get());
    QList<PushSession::Message> catchUp;
    PushAttachment *attachment = attach(&delivery, &catchUp);
    delivery.start(attachment, catchUp);
    delivery.end(PushDelivery::EndReason::ShuttingDown);
    QCOMPARE(delivery.attachment(), attachment);
    QVERIFY(m_host->stopped.isEmpty());
    QCOMPARE(delivery.log.last(),
             QStringLiteral("close %1").arg(int(PushDelivery::EndReason::ShuttingDown)));
}

void tst_PushDelivery::streamClosesWithTheReasonsCode_data()
{
    QTest::addColumn<PushDelivery::EndReason>("reason");
    QTest::addColumn<QString>("close");
    QTest::addColumn<bool>("stillServing");

    QTest::newRow("replaced") << PushDelivery::EndReason::Replaced
                              << "4001 replaced by a newer connection" << false;
    QTest::newRow("client deleted")
            << PushDelivery::EndReason::ClientDeleted << "4000 the client was deleted" << false;
    QTest::newRow("shutting down")
            << PushDelivery::EndReason::ShuttingDown << "1001 the server is shutting down" << true;
}

void tst_PushDelivery::streamClosesWithTheReasonsCode()
{
    QFETCH(PushDelivery::EndReason, reason);
    QFETCH(QString, close);
    QFETCH(bool, stillServing);

    FakeStream stream(m_host.get());
    QList<PushSession::Message> catchUp;
    PushAttachment *attachment = attach(&stream, &catchUp);
    stream.start(attachment, catchUp);
    stream.end(reason);
    stream.end(reason);
    QCOMPARE(stream.closes, QStringList{close});
    QCOMPARE(stream.attachment() != nullptr, stillServing);
}

QTEST_MAIN(tst_PushDelivery)
#include "tst_pushdelivery.moc"
