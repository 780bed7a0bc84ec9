// SPDX-License-Identifier: MIT
#pragma once

// Internal: the admin event stream (protocol.md: The admin event stream). Not installed.

#include "pushadminfigures_p.h"
#include "pushratelimiter_p.h"

#include <QtCore/QHash>
#include <QtCore/QObject>
#include <QtCore/QPointer>
#include <QtCore/QString>

class PushAdminHub;
class PushSession;
struct PushPushOutcome;
class PushTransportHost;
class PushWebSocketTransport;

/*!
    One admin event stream: tells one operator's tool the sessions, the clients of the session
    it watches, and the server's figures, as they change. It remembers what it last told the
    tool about the clients of the session it watches; the server keeps one record of what every
    stream was told about the sessions (PushAdminHub) and hands each tick
    only what changed, so a tick costs what changed, not what exists. Figures are absolute
    values, so that an event and a tick that say the same thing do no harm.

    Flow control: while the connection has more than highWaterBytes unsent, besides what is
    left of the last snapshot, it writes nothing and forgets what it would have said; once the
    backlog is under lowWaterBytes it sends a fresh snapshot instead. A slow tool costs bounded
    memory (a snapshot and highWaterBytes) and still ends up right.

    Ownership: a child of its WebSocket transport, which the server owns; it is destroyed with
    the connection.
*/
class PushAdminStream : public QObject
{
    Q_OBJECT
public:
    static constexpr qint64 highWaterBytes = 256 * 1024;
    static constexpr qint64 lowWaterBytes = 64 * 1024;
    //! Watch ops a second, on average: each lists a session's clients.
    static constexpr double watchRate = 20;

    PushAdminStream(PushAdminHub *hub, PushTransportHost *host, PushWebSocketTransport *transport);
    ~PushAdminStream() override;

    //! Sends the snapshot of \a state; then the stream takes ops and events.
    void start(const PushAdminState &state);
    //! Sends what changed since the last tick: \a state holds the sessions that changed.
    void tick(const PushAdminState &state);
    void sessionAdded(const QString &sessionKey, const PushAdminSession &figures);
    void sessionRemoved(const QString &sessionKey);

private:
    void onText(const QByteArray &utf8);
    void watch(const QString &sessionKey);
    void followWatchedSession();
    void onClientAdded(const QString &clientKey);
    void onClientRemoved(const QString &clientKey);
    QHash<QString, PushAdminClient> measureClients() const;
    PushAdminClient measureClient(const QString &clientKey) const;
    void sendSnapshot(const PushAdminState &state);
    void sendClients();
    //! The push op, which came in a frame of \a frameBytes.
    void push(const QString &sessionKey, const QVariant &data, qsizetype frameBytes);
    void onPushed(const QString &sessionKey, const PushPushOutcome &outcome);
    //! Sends \a frame unless the connection is congested; false when it was dropped.
    bool send(const QJsonObject &frame);
    bool sendText(const QByteArray &frame); // false, sending nothing, while congested

    PushAdminHub *const m_hub;
    PushTransportHost *const m_host;
    PushWebSocketTransport *const m_transport;
    bool m_watching = false;
    QString m_watchedKey;
    QPointer<PushSession> m_watchedSession; // null until the watched session exists
    QHash<QString, PushAdminClient> m_clients; // of the watched session, as last told
    bool m_congested = false;
    qint64 m_snapshotBacklog = 0; // what is still unsent of the last snapshot, at most
    PushRateLimiter m_watchLimiter;
    PushRateLimiter m_pushLimiter;
};
