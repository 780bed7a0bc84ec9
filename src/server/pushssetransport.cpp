// SPDX-License-Identifier: MIT
#include "pushssetransport_p.h"

#include "pushconnectionio_p.h"
#include "pushhttpconnection_p.h"
#include "pushserver_p.h"

#include <utility>

PushSseTransport::PushSseTransport(PushServerPrivate *server, PushAttachment *attachment,
                                   PushHttpConnection *connection)
    : PushStreamTransport(server, attachment), m_connection(connection)
{ }

void PushSseTransport::begin()
{
    m_connection->beginStream(QByteArrayLiteral("text/event-stream"));
    // The browser's EventSource reconnects after 2 s instead of its default 3 s.
    m_connection->write(QByteArrayLiteral("retry: 2000\n\n"));
    connect(m_connection->io(), &PushConnectionIo::bytesSent, this,
            &PushSseTransport::onBytesSent);
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
    if (!m_pending.isEmpty())
        m_connection->write(std::exchange(m_pending, QByteArray()));
}

qint64 PushSseTransport::backlog() const
{
    return m_connection->backlog() + m_pending.size();
}

void PushSseTransport::closeConnection(int webSocketCode, const QString &reason)
{
    Q_UNUSED(webSocketCode);
    Q_UNUSED(reason);
    flushSocket();
    m_connection->close();
}

void PushSseTransport::keepAlive()
{
    m_pending.append(QByteArrayLiteral(": keep-alive\n\n"));
    flushSocket();
}
