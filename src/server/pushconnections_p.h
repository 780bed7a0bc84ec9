// SPDX-License-Identifier: MIT
#pragma once

// Internal: the server's connections, from accept to close. Not installed.

#include "pushmetrics_p.h"
#include "pushratelimiter_p.h"

#include <QtCore/QHash>
#include <QtCore/QSet>

#include <functional>

class PushDelivery;
class PushHttpConnection;
class PushHttpConnectionOwner;
class PushLongPoll;
class PushSseTransport;
class PushWebSocketTransport;
class QTcpServer;
struct PushServerSettings;

/*!
    Every connection of the server: it accepts TCP connections (answering 503 past
    maxConnections), counts them until they are destroyed, keeps the sets of HTTP connections,
    WebSockets, event streams and long-polls, applies their timeouts, pings and keep-alives
    once a second (sweep()), and closes them for shutdown() and abort().

    Invariants: connectionCount() counts every accepted socket until its last object (the HTTP
    connection's or a transport's PushConnectionIo, or the refused socket) is destroyed; a
    delivery is in exactly one set from the moment it serves until forget().

    Ownership: owned by PushServerPrivate; the connections and transports are children of
    \c parent (the PushServer), which deletes them. Not thread-safe: the server's thread.
*/
class PushConnections
{
public:
    //! \a countChanged runs after the count went up or down (not while dropAll() deletes).
    PushConnections(QObject *parent, const PushServerSettings &settings, PushMetrics &metrics,
                    PushHttpConnectionOwner *owner, std::function<void()> countChanged);

    //! Takes every connection \a listener has pending.
    void accept(QTcpServer *listener);
    //! Counts \a connection (an accepted socket or its PushConnectionIo) until destroyed.
    void countUntilDestroyed(QObject *connection);

    int connectionCount() const { return m_tcpConnections; }
    PushConnectionFigures figures() const;
    //! The rate limiter of pushes on \a connection.
    PushRateLimiter *limiter(PushHttpConnection *connection) { return &m_http[connection]; }
    PushLongPoll *longPoll(PushHttpConnection *connection) const
    {
        return m_longPolls.value(connection);
    }

    void add(PushWebSocketTransport *transport) { m_webSockets.insert(transport); }
    void add(PushSseTransport *stream) { m_eventStreams.insert(stream); }
    void add(PushLongPoll *poll);
    //! \a delivery ended: no set holds it any more.
    void forget(PushDelivery *delivery);
    //! The HTTP connection closed: it is forgotten, and deleted later.
    void httpClosed(PushHttpConnection *connection);

    //! Request, idle and drain timeouts, pings, event-stream keep-alives; once a second.
    void sweep(qint64 nowMs);
    //! Ends every delivery (ShuttingDown) and closes HTTP connections once idle.
    void shutdown();
    //! Resets every connection now.
    void abort();
    //! Forgets every connection without signals back into the server (its destructor, which
    //! then deletes them).
    void clear();

private:
    void onGone();

    QObject *const m_parent;
    const PushServerSettings &m_settings;
    PushMetrics &m_metrics;
    PushHttpConnectionOwner *const m_owner;
    const std::function<void()> m_countChanged;
    int m_tcpConnections = 0;
    bool m_destroying = false;
    QHash<PushHttpConnection *, PushRateLimiter> m_http;
    QSet<PushWebSocketTransport *> m_webSockets;
    QSet<PushSseTransport *> m_eventStreams;
    QHash<PushHttpConnection *, PushLongPoll *> m_longPolls;
    qint64 m_lastKeepAliveMs = 0;
    qint64 m_lastCapacityWarningMs = 0;
    int m_refusedSinceWarning = 0;
};
