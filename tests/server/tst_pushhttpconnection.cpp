// SPDX-License-Identifier: MIT
// The server's HTTP/1.1 connections seen from raw sockets: framing a proxy could read another
// way is refused and closes, a client that half-closes after its request is answered, header
// limits answer 431, and shutdown answers what keep-alive connections sent.
#include <QtPush/pushregistry.h>
#include <QtPush/pushserver.h>
#include <QtPush/pushsession.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QDeadlineTimer>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <cerrno>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>

namespace {

//! A plain TCP client, non-blocking, that can half-close; the server runs in the same thread,
//! so every wait turns the event loop.
class RawClient
{
public:
    explicit RawClient(quint16 port)
    {
        m_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address = {};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        // Loopback: the kernel completes the handshake before the server accepts.
        m_connected = ::connect(m_fd, reinterpret_cast<sockaddr *>(&address), sizeof address) == 0;
        ::fcntl(m_fd, F_SETFL, O_NONBLOCK);
    }
    ~RawClient() { ::close(m_fd); }

    bool isConnected() const { return m_connected; }

    //! Sends all of \a data, reading what comes meanwhile; false on an error or after 10 s.
    bool send(QByteArrayView data)
    {
        const QDeadlineTimer deadline(10000);
        while (!data.isEmpty() && !deadline.hasExpired()) {
            const ssize_t sent = ::send(m_fd, data.data(), size_t(data.size()), MSG_NOSIGNAL);
            if (sent > 0) {
                data = data.sliced(sent);
                continue;
            }
            if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
                return false;
            QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
            pump();
        }
        return data.isEmpty();
    }
    //! Waits until the server's kernel has acknowledged all that was sent (on loopback: it is
    //! in the server's receive buffer), turning the event loop only if \a serve.
    bool waitUntilDelivered(bool serve)
    {
        const QDeadlineTimer deadline(10000);
        int unsent = 0;
        while (::ioctl(m_fd, SIOCOUTQ, &unsent) == 0 && unsent > 0 && !deadline.hasExpired()) {
            if (serve)
                QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
        }
        return unsent == 0;
    }
    void halfClose() { ::shutdown(m_fd, SHUT_WR); }

    //! Reads what has come; notes the end of the stream or a reset.
    void pump()
    {
        char buffer[64 * 1024];
        while (!m_ended) {
            const ssize_t count = ::recv(m_fd, buffer, sizeof buffer, 0);
            if (count > 0) {
                m_received.append(buffer, count);
            } else if (count == 0) {
                m_ended = true;
            } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return;
            } else {
                m_reset = errno == ECONNRESET;
                m_ended = true;
            }
        }
    }
    //! Turns the event loop until the server closed the connection, or 10 s passed.
    bool waitForEnd()
    {
        const QDeadlineTimer deadline(10000);
        for (pump(); !m_ended && !deadline.hasExpired(); pump())
            QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
        return m_ended;
    }
    //! Turns the event loop until \a count whole responses came, or 10 s passed.
    bool waitForResponses(int count)
    {
        const QDeadlineTimer deadline(10000);
        for (pump(); statuses().size() < count && !m_ended && !deadline.hasExpired(); pump())
            QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
        return statuses().size() >= count;
    }

    //! The status of each whole response received, in order.
    QList<int> statuses() const
    {
        QList<int> result;
        qsizetype at = 0;
        for (;;) {
            const qsizetype headEnd = m_received.indexOf("\r\n\r\n", at);
            if (headEnd < 0 || !m_received.sliced(at).startsWith("HTTP/1.1 "))
                return result;
            const QByteArray head = m_received.sliced(at, headEnd - at).toLower();
            const qsizetype length = head.indexOf("\r\ncontent-length: ");
            const qsizetype bodyBytes = length < 0
                    ? 0
                    : head.sliced(length + 18, head.indexOf("\r\n", length + 2) - length - 18)
                              .toLongLong();
            if (m_received.size() < headEnd + 4 + bodyBytes)
                return result;
            result.append(m_received.sliced(at + 9, 3).toInt());
            at = headEnd + 4 + bodyBytes;
        }
    }
    const QByteArray &received() const { return m_received; }
    bool wasReset() const { return m_reset; }

private:
    int m_fd = -1;
    bool m_connected = false;
    bool m_ended = false;
    bool m_reset = false;
    QByteArray m_received;
};

QByteArray pushRequest(const QByteArray &session, const QByteArray &body)
{
    return "POST /v1/sessions/" + session + "/push HTTP/1.1\r\nHost: x\r\n"
            "Content-Type: application/json\r\nContent-Length: "
            + QByteArray::number(body.size()) + "\r\n\r\n" + body;
}

} // namespace

class tst_PushHttpConnection : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void chunkedPushIsTaken();
    void framingAProxyCouldReadOtherwiseIsRefusedAndCloses_data();
    void framingAProxyCouldReadOtherwiseIsRefusedAndCloses();
    void requestWrittenWithFinIsAnswered();
    void pipelinedRequestsWithFinAreAllAnswered();
    void halfClosedLongPollIsAnsweredAtOnce();
    void headersOverTheLimitGet431_data();
    void headersOverTheLimitGet431();
    void shutdownAnswersWhatKeepAliveConnectionsSent();

private:
    quint64 lastId(const QString &session) const
    {
        PushSession *found = m_registry->findSession(session);
        return found ? found->lastMessageId() : 0;
    }

    std::unique_ptr<PushRegistry> m_registry;
    std::unique_ptr<PushServer> m_server;
};

void tst_PushHttpConnection::init()
{
    m_registry = std::make_unique<PushRegistry>();
    m_server = std::make_unique<PushServer>(m_registry.get());
    QVERIFY(m_server->listen(QHostAddress::LocalHost, 0));
}

void tst_PushHttpConnection::cleanup()
{
    m_server.reset();
    m_registry.reset();
}

void tst_PushHttpConnection::chunkedPushIsTaken()
{
    RawClient client(m_server->serverPort());
    QVERIFY(client.isConnected());
    const QByteArray chunked = "POST /v1/sessions/s/push HTTP/1.1\r\nHost: x\r\n"
                               "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
                               "\r\n3\r\n[1]\r\n0\r\n\r\n";
    QVERIFY(client.send(chunked));
    QVERIFY(client.waitForResponses(1));
    QVERIFY(client.send(pushRequest("s", "[2]"))); // the connection stays open
    QVERIFY(client.waitForResponses(2));
    QCOMPARE(client.statuses(), QList<int>({200, 200}));
    QCOMPARE(lastId(QStringLiteral("s")), 2u);
}

void tst_PushHttpConnection::framingAProxyCouldReadOtherwiseIsRefusedAndCloses_data()
{
    QTest::addColumn<QByteArray>("request");
    const QByteArray head = "POST /v1/sessions/s/push HTTP/1.1\r\nHost: x\r\n"
                            "Content-Type: application/json\r\n";
    QTest::addRow("chunk data not followed by CRLF")
            << head + "Transfer-Encoding: chunked\r\n\r\n3\r\n[1]XX0\r\n\r\n";
    QTest::addRow("Content-Length and Transfer-Encoding")
            << head + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n[1]\r\n0\r\n\r\n";
    QTest::addRow("two Content-Lengths")
            << head + "Content-Length: 3\r\nContent-Length: 3\r\n\r\n[1]";
    QTest::addRow("Transfer-Encoding not chunked") << head + "Transfer-Encoding: gzip\r\n\r\n[1]";
    QTest::addRow("obs-fold") << head + "X-A: b\r\n c\r\nContent-Length: 3\r\n\r\n[1]";
    QTest::addRow("bare LF")
            << QByteArray("POST /v1/sessions/s/push HTTP/1.1\nHost: x\nContent-Length: 3\n\n[1]");
    QTest::addRow("space before a colon") << head + "Content-Length : 3\r\n\r\n[1]";
}

void tst_PushHttpConnection::framingAProxyCouldReadOtherwiseIsRefusedAndCloses()
{
    QFETCH(QByteArray, request);
    RawClient client(m_server->serverPort());
    QVERIFY(client.isConnected());
    // A second request behind it: a proxy that framed the first one otherwise would see it.
    QVERIFY(client.send(QByteArray(request + pushRequest("s", "[2]"))));
    QVERIFY(client.waitForEnd());
    QVERIFY(!client.wasReset());
    QCOMPARE(client.statuses(), QList<int>({400}));
    QVERIFY(client.received().contains("Connection: close\r\n"));
    QVERIFY(client.received().contains("\"code\":\"bad_request\""));
    QCOMPARE(lastId(QStringLiteral("s")), 0u); // nothing was pushed
}

void tst_PushHttpConnection::requestWrittenWithFinIsAnswered()
{
    // RFC 9112 §9.6: a client may half-close once its request is written. Every push the
    // server carries out is answered before it closes.
    constexpr int tries = 100;
    int answered = 0;
    for (int i = 0; i < tries; ++i) {
        RawClient client(m_server->serverPort());
        QVERIFY(client.isConnected());
        QVERIFY(client.send(pushRequest("s", QByteArray::number(i))));
        client.halfClose();
        QVERIFY(client.waitForEnd());
        QVERIFY2(!client.wasReset(), qPrintable(QString::number(i)));
        if (client.statuses() == QList<int>({200}))
            ++answered;
    }
    QCOMPARE(answered, tries);
    QCOMPARE(lastId(QStringLiteral("s")), quint64(tries));
}

void tst_PushHttpConnection::pipelinedRequestsWithFinAreAllAnswered()
{
    RawClient client(m_server->serverPort());
    QVERIFY(client.isConnected());
    const QByteArray requests = pushRequest("s", "1") + pushRequest("s", "2")
            + "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + pushRequest("s", "3");
    QVERIFY(client.send(requests));
    client.halfClose();
    QVERIFY(client.waitForEnd());
    QVERIFY(!client.wasReset());
    QCOMPARE(client.statuses().size(), 4);
    QCOMPARE(client.statuses().at(0), 200);
    QCOMPARE(client.statuses().at(3), 200);
    QCOMPARE(lastId(QStringLiteral("s")), 3u);
}

void tst_PushHttpConnection::halfClosedLongPollIsAnsweredAtOnce()
{
    RawClient client(m_server->serverPort());
    QVERIFY(client.isConnected());
    // A wait far longer than waitForEnd() allows: only the half-close can end it in time.
    QVERIFY(client.send(QByteArray("GET /v1/sessions/s/clients/c/pull?wait=60 HTTP/1.1\r\n"
                                   "Host: x\r\n\r\n")));
    client.halfClose();
    QVERIFY(client.waitForEnd());
    QVERIFY(!client.wasReset());
    QCOMPARE(client.statuses(), QList<int>({200}));
    QVERIFY(client.received().endsWith("\r\n\r\n[]"));
}

void tst_PushHttpConnection::headersOverTheLimitGet431_data()
{
    QTest::addColumn<QByteArray>("request");
    for (int kib : {20, 100}) {
        const QByteArray big(kib * 1024, 'a');
        QTest::addRow("%d KiB header", kib)
                << "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + big + "\r\n\r\n";
        QTest::addRow("%d KiB request line", kib)
                << "GET /v1/health?" + big + " HTTP/1.1\r\nHost: x\r\n\r\n";
    }
}

void tst_PushHttpConnection::headersOverTheLimitGet431()
{
    QFETCH(QByteArray, request);
    RawClient client(m_server->serverPort());
    QVERIFY(client.isConnected());
    QVERIFY(client.send(request));
    QVERIFY(client.waitForEnd());
    QVERIFY(!client.wasReset()); // the server read what followed its answer
    QCOMPARE(client.statuses(), QList<int>({431}));
    QVERIFY(client.received().contains("\"code\":\"headers_too_large\""));
}

void tst_PushHttpConnection::shutdownAnswersWhatKeepAliveConnectionsSent()
{
    // Keep-alive connections that pushed once, then sent another push (or part of one) just
    // as the server shuts down: each gets an answer, none a reset, and every push carried out
    // was answered 200.
    constexpr int count = 20;
    std::vector<std::unique_ptr<RawClient>> clients;
    for (int i = 0; i < count; ++i) {
        clients.push_back(std::make_unique<RawClient>(m_server->serverPort()));
        QVERIFY(clients.back()->isConnected());
        QVERIFY(clients.back()->send(pushRequest("s", "1")));
        QVERIFY(clients.back()->waitForResponses(1));
    }
    QCOMPARE(lastId(QStringLiteral("s")), quint64(count));
    for (int i = 0; i < count; ++i) {
        const QByteArray request = pushRequest("s", "2");
        // The last few send only part of their request.
        QVERIFY(clients[i]->send(i < count - 4 ? request : request.first(request.size() - 3)));
        QVERIFY(clients[i]->waitUntilDelivered(false)); // in the server's kernel, not yet read
    }
    QSignalSpy finished(m_server.get(), &PushServer::shutdownFinished);
    m_server->shutdown(60000);
    int ok = 0;
    for (const auto &client : clients) {
        QVERIFY(client->waitForEnd());
        QVERIFY(!client->wasReset());
        const QList<int> statuses = client->statuses();
        QCOMPARE(statuses.size(), 2);
        QCOMPARE(statuses.first(), 200);
        QVERIFY2(statuses.last() == 200 || statuses.last() == 503,
                 qPrintable(QString::number(statuses.last())));
        if (statuses.last() == 200)
            ++ok;
    }
    QCOMPARE(lastId(QStringLiteral("s")), quint64(count + ok));
    QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, 20000);
}

QTEST_GUILESS_MAIN(tst_PushHttpConnection)
#include "tst_pushhttpconnection.moc"
