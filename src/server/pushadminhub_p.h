// SPDX-License-Identifier: MIT
#pragma once

// Internal: what the admin event streams are told, kept once for all of them. Not installed.

#include "pushadminfigures_p.h"

#include <QtCore/QHash>
#include <QtCore/QSet>
#include <QtCore/QString>
#include <QtCore/QTimer>

class PushAdminStream;
class PushClient;
class PushClientTable;
class PushConnections;
class PushRegistry;
struct PushMetrics;

/*!
    The admin event streams' side of the server (protocol.md: The admin event stream): it keeps
    one record of what every stream was told about the sessions, measures the rates once a tick
    against it and hands each stream the same state, and announces sessions added and removed
    between ticks. While no stream is attached it keeps nothing.

    Invariants: while tracking, the record holds every session of the registry as the streams
    were last told it, and clients() is the sum of its clients.

    Ownership: owned by PushServerPrivate; the streams register themselves (add(), remove())
    and belong to their WebSocket transports. Not thread-safe: the server's thread.
*/
class PushAdminHub
{
public:
    PushAdminHub(PushRegistry *registry, const PushMetrics &metrics,
                 const PushConnections &connections, const PushClientTable &clients,
                 const QTimer &tickTimer);

    PushRegistry *registry() const { return m_registry; }
    //! The streams' tick, in milliseconds (the housekeeping interval).
    int tickIntervalMs() const { return m_tickTimer.interval(); }
    void add(PushAdminStream *stream) { m_streams.insert(stream); }
    void remove(PushAdminStream *stream) { m_streams.remove(stream); }

    //! Every session as the streams were last told, and the server figures now; starts keeping
    //! that record when no stream was attached.
    PushAdminState snapshot();
    //! Measures the rates of this second and sends every stream what changed: the sessions in
    //! \a changed and those whose rate was not 0.
    void tick(const QStringList &changed);
    void announceSessionAdded(const QString &sessionKey);
    void announceSessionRemoved(const QString &sessionKey);
    //! The figures of \a client of \a sessionKey, for a stream watching that session.
    PushAdminClient adminClient(const QString &sessionKey, PushClient *client) const;
    //! The server object of the streams' snapshot and ticks.
    QJsonObject serverFigures() const;

private:
    PushRegistry *const m_registry;
    const PushMetrics &m_metrics;
    const PushConnections &m_connections;
    const PushClientTable &m_clients;
    const QTimer &m_tickTimer;

    QSet<PushAdminStream *> m_streams;
    bool m_tracking = false; // the record below is kept: a stream is attached
    QHash<QString, PushAdminSession> m_sessions; // every session, as the streams know it
    QSet<QString> m_rated; // their last rate was not 0, so the next tick looks again
    int m_clientCount = 0; // the clients of m_sessions
    qint64 m_lastTickMs = 0; // steady clock
    quint64 m_deliveriesAtLastTick = 0;
    double m_pushRate = 0;
    double m_deliveryRate = 0;
};
