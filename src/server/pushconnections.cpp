// SPDX-License-Identifier: MIT
#include "pushconnections_p.h"

#include "pushclock_p.h"
#include "pushconnectionio_p.h"
#include "pushhttpconnection_p.h"
#include "pushlongpoll_p.h"
#include "pushserverlogging_p.h"
#include "pushserversettings_p.h"
#include "pushssetransport_p.h"
#include "pushwebsockettransport_p.h"

#include <QtNetwork/QTcpServer>
#include <QtNetwork/QTcpSocket>

PushConnections::PushConnections(QObject *parent, const PushServerSettings &settings,
                                 PushMetrics &metrics, PushHttpConnectionOwner *owner,
                                 std::function<void()> countChanged)
    : m_parent(parent), m_settings(settings), m_metrics(metrics), m_owner(owner),
      m_countChanged(std::move(countChanged))
{ }

void PushConnections::accept(QTcpServer *listener)
{
    while (QTcpSocket *socket = listener->nextPendingConnection()) {
        ++m_tcpConnections;
        m_countChanged();
        const int maxConnections = m_settings.maxConnections;
        if (maxConnections > 0 && m_tcpConnections > maxConnections) {
            // Refused with a real answer, so that the client knows to back off.
            // Once per 10 s at most: a flood of connections must not become a flood of logs.
            if (PushClock::steadyMs() - m_lastCapacityWarningMs > 10 * 1000) {
                qCWarning(lcPushServer)
                        << "refusing connection from" << socket->peerAddress() << ": already"
                        << maxConnections << "connections;" << m_refusedSinceWarning
                        << "more refused since the last "
                           "warning";
                m_lastCapacityWarningMs = PushClock::steadyMs();
                m_refusedSinceWarning = 0;
            } else {
                ++m_refusedSinceWarning;
            }
            m_metrics.countRefusal(PushWire::Refusal::Unavailable);
            countUntilDestroyed(socket);
            socket->setParent(m_parent); // deleted with the server if the peer never reads
            const QByteArray body = PushWire::errorBody(
                    PushWire::Refusal::Unavailable,
                    QStringLiteral("the server is at its limit of %1 connections")
                            .arg(maxConnections));
            socket->write("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                          "Content-Length: "
                          + QByteArray::number(body.size()) + "\r\nConnection: close\r\n\r\n"
                          + body);
            socket->disconnectFromHost();
            QObject::connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
            continue;
        }
        // A plain connection becomes its bare descriptor here: an idle event stream or
        // keep-alive connection then holds no socket buffers (docs/benchmarks.md).
        PushConnectionIo *io = PushConnectionIo::adopt(socket, nullptr);
        countUntilDestroyed(io);
        m_http.insert(new PushHttpConnection(io, m_settings.maxMessageBytes, m_owner, m_parent),
                      {});
    }
}

void PushConnections::countUntilDestroyed(QObject *connection)
{
    QObject::connect(connection, &QObject::destroyed, m_parent, [this] { onGone(); });
}

void PushConnections::onGone()
{
    --m_tcpConnections;
    if (m_destroying)
        return;
    m_countChanged();
}

PushConnectionFigures PushConnections::figures() const
{
    return {m_tcpConnections, int(m_webSockets.size()), int(m_eventStreams.size()),
            int(m_longPolls.size())};
}

void PushConnections::add(PushLongPoll *poll)
{
    m_longPolls.insert(poll->connection(), poll);
}

void PushConnections::forget(PushDelivery *delivery)
{
    switch (delivery->kind()) {
    case PushTransport::WebSocket:
        m_webSockets.remove(static_cast<PushWebSocketTransport *>(delivery));
        return;
    case PushTransport::Sse:
        m_eventStreams.remove(static_cast<PushSseTransport *>(delivery));
        return;
    case PushTransport::Poll: {
        auto *poll = static_cast<PushLongPoll *>(delivery);
        const auto it = m_longPolls.constFind(poll->connection());
        if (it != m_longPolls.cend() && *it == poll)
            m_longPolls.erase(it);
        return;
    }
    case PushTransport::None:
        return;
    }
}

void PushConnections::httpClosed(PushHttpConnection *connection)
{
    m_http.remove(connection);
    if (PushLongPoll *poll = m_longPolls.value(connection))
        poll->end(PushDelivery::EndReason::ConnectionClosed);
    connection->deleteLater();
}

void PushConnections::sweep(qint64 now)
{
    const QList<PushHttpConnection *> connections = m_http.keys();
    for (PushHttpConnection *connection : connections) {
        if (m_http.contains(connection))
            connection->checkTimeouts();
    }
    const QList<PushWebSocketTransport *> sockets = m_webSockets.values();
    for (PushWebSocketTransport *transport : sockets) {
        if (m_webSockets.contains(transport))
            transport->checkAlive(now, m_settings.pingIntervalMs);
    }
    // Event streams: a comment every ping interval keeps proxies from timing them out.
    if (now - m_lastKeepAliveMs >= m_settings.pingIntervalMs) {
        m_lastKeepAliveMs = now;
        for (PushSseTransport *stream : std::as_const(m_eventStreams))
            stream->keepAlive();
    }
}

void PushConnections::shutdown()
{
    const auto sockets = m_webSockets.values();
    for (PushWebSocketTransport *transport : sockets)
        transport->end(PushDelivery::EndReason::ShuttingDown);
    const auto polls = m_longPolls.values();
    for (PushLongPoll *poll : polls)
        poll->end(PushDelivery::EndReason::ShuttingDown);
    const auto streams = m_eventStreams.values();
    for (PushSseTransport *stream : streams)
        stream->end(PushDelivery::EndReason::ShuttingDown);
    const auto connections = m_http.keys();
    for (PushHttpConnection *connection : connections) {
        if (m_http.contains(connection))
            connection->closeWhenIdle();
    }
}

void PushConnections::abort()
{
    const auto sockets = m_webSockets.values();
    for (PushWebSocketTransport *transport : sockets)
        transport->abort();
    const auto connections = m_http.keys();
    for (PushHttpConnection *connection : connections) {
        if (m_http.contains(connection))
            connection->abort();
    }
    const auto streams = m_eventStreams.values();
    for (PushSseTransport *stream : streams)
        stream->abort();
}

void PushConnections::clear()
{
    m_destroying = true;
    m_webSockets.clear();
    m_eventStreams.clear();
    m_longPolls.clear();
    m_http.clear();
}
