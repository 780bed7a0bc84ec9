// SPDX-License-Identifier: MIT
#include "pushconnectionio_p.h"

#include <QtCore/QSocketNotifier>
#include <QtNetwork/QHostAddress>
#include <QtNetwork/QTcpSocket>

#include <memory>
#include <utility>

#ifdef Q_OS_UNIX
#include <cerrno>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

namespace {

QString formatPeer(const QHostAddress &address, quint16 port)
{
    return address.toString() + u':' + QString::number(port);
}

#ifdef Q_OS_UNIX

bool wouldBlock()
{
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}

/*
    A plain TCP connection as its bare, non-blocking descriptor: one read notifier, a write
    notifier only while a backlog waits, and no buffer between the caller and the kernel.
*/
class PushDescriptorIo final : public PushConnectionIo
{
public:
    PushDescriptorIo(int descriptor, QObject *parent)
        : PushConnectionIo(parent), m_descriptor(descriptor),
          m_readNotifier(descriptor, QSocketNotifier::Read)
    {
        // Frames are already gathered per event-loop turn; Nagle would only delay them.
        const int on = 1;
        ::setsockopt(descriptor, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        connect(&m_readNotifier, &QSocketNotifier::activated, this, [this] { Q_EMIT readyRead(); });
    }

    ~PushDescriptorIo() override { closeDescriptor(); }

    qint64 read(char *data, qint64 maxSize) override
    {
        if (m_descriptor < 0 || m_peerDone)
            return -1;
        const ssize_t count = ::recv(m_descriptor, data, size_t(maxSize), 0);
        if (count > 0)
            return count;
        if (count < 0 && wouldBlock())
            return 0;
        if (count == 0 && m_halfCloseAllowed && !m_closing) {
            // The peer's FIN: what it sent is all there is, and the answer may still go out.
            m_peerDone = true;
            m_readNotifier.setEnabled(false); // else it would report the end again and again
            return -1;
        }
        finish(); // 0: the peer closed; else an error such as a reset
        return -1;
    }

    void setHalfCloseAllowed(bool allowed) override
    {
        m_halfCloseAllowed = allowed;
        if (!allowed && m_peerDone)
            finish();
    }

    void setReadPaused(bool paused) override
    {
        if (m_descriptor >= 0 && !m_peerDone)
            m_readNotifier.setEnabled(!paused);
    }

    bool isWritable() const override { return m_descriptor >= 0 && !m_closing; }

    void write(const QByteArray &data) override
    {
        if (m_descriptor < 0 || m_closing || data.isEmpty())
            return;
        if (backlog() > 0) {
            m_backlog.append(data);
            return;
        }
        const ssize_t sent
                = ::send(m_descriptor, data.constData(), size_t(data.size()), MSG_NOSIGNAL);
        if (sent == data.size())
            return;
        if (sent < 0 && !wouldBlock()) {
            finish();
            return;
        }
        m_backlog = data.sliced(std::max<qsizetype>(sent, 0));
        m_backlogSent = 0;
        watchWritable(true);
    }

    qint64 backlog() const override { return m_backlog.size() - m_backlogSent; }

    void closeAfterWrites(bool waitForPeer) override
    {
        if (m_descriptor < 0 || m_closing)
            return;
        m_closing = true;
        m_waitForPeer = waitForPeer;
        if (backlog() == 0)
            halfClose();
    }

    void abort() override
    {
        // A reset, not a FIN: the peer learns at once that the connection is gone, even one
        // that half-closed and would otherwise wait for a FIN it already has.
        if (m_descriptor >= 0) {
            const linger reset = {1, 0};
            ::setsockopt(m_descriptor, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
        }
        finish();
    }

    QString peerName() const override
    {
        sockaddr_storage address = {};
        socklen_t size = sizeof address;
        if (m_descriptor < 0
            || ::getpeername(m_descriptor, reinterpret_cast<sockaddr *>(&address), &size) != 0)
            return QStringLiteral("(closed)");
        const QHostAddress host(reinterpret_cast<const sockaddr *>(&address));
        const quint16 port = address.ss_family == AF_INET6
                ? ntohs(reinterpret_cast<const sockaddr_in6 *>(&address)->sin6_port)
                : ntohs(reinterpret_cast<const sockaddr_in *>(&address)->sin_port);
        return formatPeer(host, port);
    }

private:
    void onWritable()
    {
        while (backlog() > 0) {
            const ssize_t sent = ::send(m_descriptor, m_backlog.constData() + m_backlogSent,
                                        size_t(backlog()), MSG_NOSIGNAL);
            if (sent > 0) {
                m_backlogSent += sent;
                continue;
            }
            if (sent < 0 && wouldBlock())
                break;
            finish();
            return;
        }
        if (backlog() == 0) {
            m_backlog = QByteArray(); // a slow reader's backlog is not kept once it is sent
            m_backlogSent = 0;
            watchWritable(false);
            if (m_closing)
                halfClose();
        } else if (m_backlogSent > m_backlog.size() / 2) {
            m_backlog.remove(0, m_backlogSent); // what was sent is not kept either
            m_backlogSent = 0;
        }
        Q_EMIT bytesSent();
    }

    void watchWritable(bool on)
    {
        if (!m_writeNotifier) {
            if (!on)
                return;
            m_writeNotifier
                    = std::make_unique<QSocketNotifier>(m_descriptor, QSocketNotifier::Write);
            connect(m_writeNotifier.get(), &QSocketNotifier::activated, this,
                    [this] { onWritable(); });
        }
        m_writeNotifier->setEnabled(on);
    }

    // After the last byte: FIN, but go on reading until the peer closes too, so that what it
    // still sends is not answered with a reset that would destroy what we sent last. A peer
    // that half-closed already has nothing more to send: then the connection is done.
    void halfClose()
    {
        if (m_peerDone || !m_waitForPeer) {
            finish();
            return;
        }
        ::shutdown(m_descriptor, SHUT_WR);
        m_readNotifier.setEnabled(true); // what still comes is read until the peer's FIN
    }

    void closeDescriptor()
    {
        if (m_descriptor < 0)
            return;
        m_readNotifier.setEnabled(false); // before the descriptor goes, as Qt requires
        m_writeNotifier.reset();
        ::close(m_descriptor);
        m_descriptor = -1;
    }

    // closed() is emitted from the event loop: a caller in the middle of a write (the 101
    // response, a flush of many connections) never finds itself deleted under its feet.
    void finish()
    {
        if (m_descriptor < 0)
            return;
        closeDescriptor();
        QMetaObject::invokeMethod(this, &PushConnectionIo::closed, Qt::QueuedConnection);
    }

    int m_descriptor;
    QSocketNotifier m_readNotifier;
    std::unique_ptr<QSocketNotifier> m_writeNotifier;
    QByteArray m_backlog;
    qsizetype m_backlogSent = 0;
    bool m_closing = false;
    bool m_waitForPeer = true;
    bool m_halfCloseAllowed = false;
    bool m_peerDone = false; // the peer half-closed; we may still write
};

#endif // Q_OS_UNIX

/*
    A connection kept as its QTcpSocket: TLS (QSslSocket), or where there is no descriptor to
    take.
*/
class PushSocketIo final : public PushConnectionIo
{
public:
    PushSocketIo(QTcpSocket *socket, QObject *parent) : PushConnectionIo(parent), m_socket(socket)
    {
        socket->setParent(this);
        socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
        // What the owner has not read yet waits in the kernel, not here without bound.
        socket->setReadBufferSize(readBufferBytes);
        connect(socket, &QTcpSocket::readyRead, this, &PushConnectionIo::readyRead);
        connect(socket, &QTcpSocket::bytesWritten, this, &PushConnectionIo::bytesSent);
        connect(socket, &QTcpSocket::disconnected, this, [this] { finish(); });
    }

    qint64 read(char *data, qint64 maxSize) override
    {
        if (m_gone)
            return -1;
        const qint64 count = m_socket->bytesAvailable() > 0 ? m_socket->read(data, maxSize) : 0;
        if (count >= 0)
            return count;
        finish();
        return -1;
    }

    void write(const QByteArray &data) override
    {
        if (m_gone)
            return;
        m_socket->write(data);
        m_socket->flush(); // the caller gathers what goes out in one turn already
    }

    // Qt closes a socket at the peer's FIN (TLS has no half-close of its own) and reads by
    // itself, within readBufferBytes.
    void setHalfCloseAllowed(bool) override { }
    void setReadPaused(bool) override { }
    bool isWritable() const override
    {
        return !m_gone && m_socket->state() == QAbstractSocket::ConnectedState;
    }

    qint64 backlog() const override { return m_socket->bytesToWrite(); }
    void closeAfterWrites(bool) override { m_socket->disconnectFromHost(); }
    void abort() override { m_socket->abort(); }

    QString peerName() const override
    {
        return formatPeer(m_socket->peerAddress(), m_socket->peerPort());
    }

private:
    void finish()
    {
        if (std::exchange(m_gone, true))
            return;
        QMetaObject::invokeMethod(this, &PushConnectionIo::closed, Qt::QueuedConnection);
    }

    static constexpr qint64 readBufferBytes = 256 * 1024;

    QTcpSocket *m_socket; // a child
    bool m_gone = false;
};

} // namespace

PushConnectionIo *PushConnectionIo::adopt(QTcpSocket *socket, QObject *parent)
{
#ifdef Q_OS_UNIX
    // QSslSocket is a QTcpSocket too, but its bytes on the wire are not ours to frame.
    if (!socket->inherits("QSslSocket") && socket->bytesToWrite() == 0) {
        const int descriptor = ::fcntl(int(socket->socketDescriptor()), F_DUPFD_CLOEXEC, 0);
        if (descriptor >= 0) {
            delete socket; // closes its own descriptor; the connection lives on in the copy
            return new PushDescriptorIo(descriptor, parent);
        }
        // Out of descriptors for the moment (EMFILE): the socket serves as it is.
    }
#endif
    return new PushSocketIo(socket, parent);
}
