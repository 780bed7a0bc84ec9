// SPDX-License-Identifier: MIT
// The limits of one HTTP connection (src/server/pushhttpconnection_p.h) on a fake steady clock
// and a fake byte stream: 413 at Content-Length, 431 past 16 KiB of head, 408 for a request
// not complete in 30 s, the idle close after 120 s, and the 5 s drain of a closing connection.
// tst_pushhttpconnection checks the same connection over real sockets, without timing.
#include "pushconnectionio_p.h"
#include "pushhttpconnection_p.h"

#include <QtTest/QtTest>

namespace {

qint64 fakeNow = 0;
qint64 fakeClock()
{
    return fakeNow;
}

//! A connection's bytes without a socket: the test feeds input and reads what was written.
class FakeIo : public PushConnectionIo
{
public:
    qint64 read(char *data, qint64 maxSize) override
    {
        if (input.isEmpty())
            return 0;
        const qint64 count = std::min<qint64>(maxSize, input.size());
        memcpy(data, input.constData(), size_t(count));
        input.remove(0, count);
        return count;
    }
    void setHalfCloseAllowed(bool) override { }
    void setReadPaused(bool) override { }
    bool isWritable() const override { return !closing && !aborted; }
    void write(const QByteArray &data) override { written.append(data); }
    qint64 backlog() const override { return 0; }
    void closeAfterWrites(bool waitForPeer) override
    {
        closing = true;
        waitsForPeer = waitForPeer;
    }
    void abort() override { aborted = true; }
    QString peerName() const override { return QStringLiteral("fake"); }

    //! Delivers \a bytes as if they had arrived.
    void receive(const QByteArray &bytes)
    {
        input.append(bytes);
        Q_EMIT readyRead();
    }

    QByteArray input;
    QByteArray written;
    bool closing = false;
    bool waitsForPeer = false;
    bool aborted = false;
};

//! Answers /healthz with 200; records refusals.
class Owner : public PushHttpConnectionOwner
{
public:
    void requestReceived(PushHttpConnection *connection, const PushHttpRequest &request) override
    {
        requests.append(request.path);
        connection->respond(200, QByteArrayLiteral("application/json"), QByteArrayLiteral("{}"));
    }
    void inputEnded(PushHttpConnection *) override { }
    void connectionClosed(PushHttpConnection *) override { ++closed; }
    void refusedWhileReading(PushWire::Refusal refusal) override { refusals.append(refusal); }

    QByteArrayList requests;
    QList<PushWire::Refusal> refusals;
    int closed = 0;
};

int status(const QByteArray &written)
{
    return written.startsWith("HTTP/1.1 ") ? written.mid(9, 3).toInt() : 0;
}

} // namespace

class tst_PushHttpLimits : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void bodyOverTheLimitGets413();
    void headOverTheLimitGets431();
    void requestNotCompleteIn30sGets408();
    void idleConnectionClosesAfter120s();
    void activityRestartsTheIdleTime();
    void closingConnectionIsResetAfter5s();

private:
    FakeIo *m_io = nullptr;
    Owner m_owner;
    std::unique_ptr<PushHttpConnection> m_connection;
};

void tst_PushHttpLimits::init()
{
    fakeNow = 1000000;
    PushHttpConnection::setSteadyClock(&fakeClock);
    m_owner = Owner();
    m_io = new FakeIo; // the connection's child
    m_connection = std::make_unique<PushHttpConnection>(m_io, 1024, &m_owner, nullptr);
}

void tst_PushHttpLimits::cleanup()
{
    m_connection.reset();
    PushHttpConnection::setSteadyClock(nullptr);
}

void tst_PushHttpLimits::bodyOverTheLimitGets413()
{
    m_io->receive("POST /v1/sessions/s/push HTTP/1.1\r\nHost: x\r\nContent-Length: 1025\r\n\r\n");
    QCOMPARE(status(m_io->written), 413);
    QVERIFY(m_io->written.contains("\"code\":\"too_large\""));
    QCOMPARE(m_owner.refusals, QList<PushWire::Refusal>{PushWire::Refusal::TooLarge});
    QVERIFY(m_owner.requests.isEmpty());
    QVERIFY(m_io->closing); // where the next request would start is unknown

    // At the limit it is taken.
    auto *io = new FakeIo;
    PushHttpConnection atLimit(io, 1024, &m_owner, nullptr);
    io->receive("POST /v1/sessions/s/push HTTP/1.1\r\nHost: x\r\nContent-Length: 1024\r\n\r\n"
                + QByteArray(1024, 'a'));
    QCOMPARE(status(io->written), 200);
}

void tst_PushHttpLimits::headOverTheLimitGets431()
{
    m_io->receive("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + QByteArray(17 * 1024, 'a')
                  + "\r\n\r\n");
    QCOMPARE(status(m_io->written), 431);
    QCOMPARE(m_owner.refusals, QList<PushWire::Refusal>{PushWire::Refusal::HeadersTooLarge});
    QVERIFY(m_io->closing);
}

void tst_PushHttpLimits::requestNotCompleteIn30sGets408()
{
    m_io->receive("GET /healthz HTTP/1.1\r\nHost:");
    fakeNow += PushHttpConnection::requestTimeoutMs;
    m_connection->checkTimeouts();
    QVERIFY(m_io->written.isEmpty());
    fakeNow += 1;
    m_connection->checkTimeouts();
    QCOMPARE(status(m_io->written), 408);
    QCOMPARE(m_owner.refusals, QList<PushWire::Refusal>{PushWire::Refusal::RequestTimeout});
    QVERIFY(m_io->closing);
}

void tst_PushHttpLimits::idleConnectionClosesAfter120s()
{
    fakeNow += PushHttpConnection::idleTimeoutMs;
    m_connection->checkTimeouts();
    QVERIFY(!m_io->closing);
    fakeNow += 1;
    m_connection->checkTimeouts();
    QVERIFY(m_io->closing);
    QVERIFY(m_io->written.isEmpty()); // closed without an answer: nothing was asked
    QVERIFY(m_owner.refusals.isEmpty());
}

void tst_PushHttpLimits::activityRestartsTheIdleTime()
{
    fakeNow += 100 * 1000;
    m_io->receive("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    QCOMPARE(status(m_io->written), 200);
    fakeNow += PushHttpConnection::idleTimeoutMs;
    m_connection->checkTimeouts();
    QVERIFY(!m_io->closing); // 120 s since the answer, not since the connection
    fakeNow += 1;
    m_connection->checkTimeouts();
    QVERIFY(m_io->closing);
}

void tst_PushHttpLimits::closingConnectionIsResetAfter5s()
{
    m_io->receive("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX: "
                  + QByteArray(100, 'a')); // a request cut short: the close lingers
    m_connection->closeWhenIdle();
    QVERIFY(m_io->closing);
    QVERIFY(m_io->waitsForPeer);
    fakeNow += PushHttpConnection::drainTimeoutMs;
    m_connection->checkTimeouts();
    QVERIFY(!m_io->aborted);
    fakeNow += 1;
    m_connection->checkTimeouts();
    QVERIFY(m_io->aborted); // a client that neither reads nor closes
}

QTEST_GUILESS_MAIN(tst_PushHttpLimits)
#include "tst_pushhttplimits.moc"
