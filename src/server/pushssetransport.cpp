// SPDX-License-Identifier: MIT
#include "pushssetransport_p.h"

#include "pushconnectionio_p.h"
#include "pushhttpconnection_p.h"
#include "pushtransporthost_p.h"
#include "pushwire_p.h"

#include <QtCore/QTimer>

#include <utility>

PushSseTransport::PushSseTransport(PushTransportHost *host, PushHttpConnection *connection)
    : PushStreamTransport(host, PushTransport::Sse), m_connection(connection)
{ }

PushSseTransport::~PushSseTransport() = default;

void PushSseTransport::begin()
{
    m_connection->beginStream(QByteArrayLiteral("text/event-stream"));
    // The stream takes the connection as a WebSocket does: an idle stream then costs what an
    // idle WebSocket costs, with no HTTP connection object beside it (docs/benchmarks.md).
    QByteArray unread; // nothing the client sends after its request means anything here
    m_io = m_connection->takeIo(&unread);
    m_connection = nullptr;
    m_io->setParent(this);
    m_io->setHalfCloseAllowed(false); // an EventSource that goes away closes its side
    m_io->setReadPaused(false);
    connect(m_io, &PushConnectionIo::readyRead, this, &PushSseTransport::dropInput);
    connect(m_io, &PushConnectionIo::bytesSent, this, &PushSseTransport::onBytesSent);
    connect(m_io, &PushConnectionIo::closed, this, [this] { end(EndReason::ConnectionClosed); });
    // The browser's EventSource reconnects after 2 s instead of its default 3 s.
    m_io->write(QByteArrayLiteral("retry: 2000\n\n"));
}

void PushSseTransport::dropInput()
{
    char buffer[4096];
    while (m_io->read(buffer, sizeof buffer) > 0) { }
}

void PushSseTransport::writeMessage(PushFrame &frame)
{
    m_pending.append(frame.event());
}

void PushSseTransport::writeGap(quint64 from, quint64 to)
{
    m_pending.append("event: gap\ndata: " + PushWire::gapFrame(from, to) + "\n\n");
}

void PushSseTransport::writeHello(const QByteArray &frame)
{
    m_pending.append("event: hello\ndata: " + frame + "\n\n");
    flushAtEndOfTurn();
}

void PushSseTransport::flushSocket()
{
    if (!m_pending.isEmpty() && m_io)
        m_io->write(std::exchange(m_pending, QByteArray()));
}

qint64 PushSseTransport::backlog() const
{
    return (m_io ? m_io->backlog() : 0) + m_pending.size();
}

void PushSseTransport::closeConnection(int webSocketCode, const QString &reason)
{
    Q_UNUSED(webSocketCode);
    Q_UNUSED(reason);
    if (!m_io || !m_io->isWritable())
        return;
    flushSocket();
    m_io->closeAfterWrites(); // then reads until the client's FIN
    // A client that never closes its side is reset (PushHttpConnection::drainTimeoutMs).
    QTimer::singleShot(PushHttpConnection::drainTimeoutMs, this, [this] { m_io->abort(); });
}

void PushSseTransport::abort()
{
    if (m_io)
        m_io->abort();
}

void PushSseTransport::keepAlive()
{
    m_pending.append(QByteArrayLiteral(": keep-alive\n\n"));
    flushSocket();
}
