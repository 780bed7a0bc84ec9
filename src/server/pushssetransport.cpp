// SPDX-License-Identifier: MIT
#include "pushssetransport_p.h"

#include "pushhttpconnection_p.h"
#include "pushserver_p.h"

#include <QtNetwork/QTcpSocket>

PushSseTransport::PushSseTransport(PushServerPrivate *server, PushAttachment *attachment,
                                   PushHttpConnection *connection)
    : PushStreamTransport(server, attachment), m_connection(connection)
{ }

void PushSseTransport::begin()
{
    m_connection->beginStream(QByteArrayLiteral("text/event-stream"));
    // The browser's EventSource reconnects after 2 s instead of its default 3 s.
    m_connection->write(QByteArrayLiteral("retry: 2000\n\n"));
    connect(m_connection->socket(), &QTcpSocket::bytesWritten, this,
            &PushSseTransport::onBytesSent);
}

void PushSseTransport::writeMessage(PushFrame &frame)
{
    m_connection->write(frame.event());
}

void PushSseTransport::writeGap(quint64 from, quint64 to)
{
    m_connection->write("event: gap\ndata: " + PushWire::gapFrame(from, to) + "\n\n");
}

void PushSseTransport::writeHello(const QByteArray &frame)
{
    m_connection->write("event: hello\ndata: " + frame + "\n\n");
}

void PushSseTransport::flushSocket()
{
    if (m_connection->socket())
        m_connection->socket()->flush();
}

qint64 PushSseTransport::backlog() const
{
    return m_connection->socket() ? m_connection->socket()->bytesToWrite() : 0;
}

void PushSseTransport::closeConnection(int webSocketCode, const QString &reason)
{
    Q_UNUSED(webSocketCode);
    Q_UNUSED(reason);
    m_connection->close();
}

void PushSseTransport::keepAlive()
{
    m_connection->write(QByteArrayLiteral(": keep-alive\n\n"));
}
