// SPDX-License-Identifier: MIT
#pragma once

// Internal: the server's state, shared by its transports. Not installed.

#include <QtPush/pushserver.h>
#include <QtPush/pushtoken.h>

#include "pushadminfigures_p.h"
#include "pushattachment_p.h"
#include "pushhttpconnection_p.h"
#include "pushexpiry_p.h"
#include "pushratelimiter_p.h"
#include "pushwire_p.h"

#include <QtCore/QHash>
#include <QtCore/QPointer>
#include <QtCore/QSet>
#include <QtCore/QTimer>
#include <QtNetwork/QSslConfiguration>
#include <QtNetwork/QTcpServer>

#include <functional>
#include <memory>
#include <optional>

class PushAdminStream;
class PushChangeJournal;
class PushHttpConnection;
class PushLongPoll;
class PushSseTransport;
class PushStreamTransport;
class PushWebSocketTransport;

//! A message as it goes on the wire, encoded once for all the clients that get it.
struct PushFrame
{
    QString sessionKey;
    quint64 epoch = 0; // a session made again counts ids anew
    quint64 id = 0;
    QByteArray json; // {"id":..,"session":..,"data":..}
    const QByteArray &webSocketFrame(); // a WebSocket text frame
    const QByteArray &event(); // an SSE event
private:
    QByteArray m_webSocketFrame;
    QByteArray m_event;
};

//! The process's resident memory (Linux /proc/self/statm); 0 where that cannot be read.
qint64 residentBytes();

//! What a request may do, from its token (protocol.md: Access).
struct PushAccess
{
    bool mayPush = true;
};

class PushServerPrivate : public PushHttpConnectionOwner
{
public:
    explicit PushServerPrivate(PushServer *q, PushRegistry *registry);
    ~PushServerPrivate();

    // Used by transports.
    PushFrame &frame(const PushAttachment &attachment, quint64 id, const QVariant &data);
    void countDelivery(PushTransport transport);
    void countGap() { ++gapsTotal; }
    //! Flushes \a transport's connection at the end of this turn of the event loop.
    void flushLater(PushStreamTransport *transport);
    void flushAll();
    void countRefusal(PushWire::Refusal refusal) { ++refusalsTotal[PushWire::errorCode(refusal)]; }
    //! The transport \a owner no longer serves \a attachment; its grace period starts.
    void detach(PushAttachment *attachment, QObject *owner);
    void webSocketEnded(PushWebSocketTransport *transport);
    void sseEnded(PushSseTransport *transport);
    void pollEnded(PushLongPoll *poll);
    //! A push frame or request: checks the rate and pushes. Returns the refusal, if any.
    std::optional<PushWire::Refusal> push(const QString &sessionKey, const QVariant &data,
                                          PushRateLimiter *limiter, quint64 *id, int *clients,
                                          QString *why);
    //! Whether \a data, which came in a frame of \a frameBytes, is within maxMessageBytes: the
    //! limit is on the data, as for an HTTP body, and only a frame near it is measured exactly.
    bool fitsMessageLimit(qsizetype frameBytes, const QVariant &data) const;

    // Used by admin streams (protocol.md: The admin event stream).
    //! Every session as the streams were last told, and the server figures now; starts keeping
    //! that record when no stream was attached.
    PushAdminState adminSnapshot();
    PushAdminClient adminClient(const QString &sessionKey, PushClient *client) const;

    void onNewConnection();
    // PushHttpConnectionOwner
    void requestReceived(PushHttpConnection *connection, const PushHttpRequest &request) override;
    void inputEnded(PushHttpConnection *connection) override;
    void connectionClosed(PushHttpConnection *connection) override;
    void refusedWhileReading(PushWire::Refusal refusal) override { countRefusal(refusal); }
    void handleRequest(PushHttpConnection *connection, const PushHttpRequest &request);
    void onConnectionClosed(PushHttpConnection *connection);
    void countUntilDestroyed(QObject *connection);
    void connectionGone();
    // Housekeeping (pushhousekeeping.cpp): once a second, at a cost that grows with what
    // changed or fell due, not with what exists (docs/server.md: Scaling).
    void housekeeping();
    //! Removes the created session \a sessionKey if it is empty with nothing retained, or
    //! gives it the deadline when that may be so; \a changed: it changed since the last pass.
    void reviewSession(const QString &sessionKey, qint64 now, bool changed);
    //! Deletes the clients whose grace period ran out.
    void expireClients(qint64 now);
    //! Schedules every waiting client again, after the grace period changed.
    void rescheduleGracePeriods();
    //! Measures the rates of this second and sends every admin stream what changed: the
    //! sessions in \a changed and those whose rate was not 0.
    void adminTick(const QStringList &changed);
    QJsonObject serverFigures() const;
    void announceSessionAdded(const QString &sessionKey);
    void announceSessionRemoved(const QString &sessionKey);
    void checkShutdownFinished();
    //! Deletes every connection and transport now, without signals back into this object.
    void dropAll();

    PushServer *const q;
    PushRegistry *const registry;
    std::unique_ptr<QTcpServer> listener;
    QTimer housekeepingTimer;
    QTimer shutdownTimer;

    // Settings.
    QByteArray secret;
    bool allowInsecureRemote = false;
    std::optional<QSslConfiguration> sslConfiguration;
    qint64 maxMessageBytes = 64 * 1024;
    int maxConnections = 0;
    int maxClientsPerSession = 0;
    double pushRateLimit = 0;
    int clientGracePeriodMs = 60 * 1000;
    int pingIntervalMs = 30 * 1000;
    int clientBuffer = 256;
    int retainedMessages = 1024;
    int retentionPeriodMs = 300 * 1000;
    qint64 clientBufferBytes = 4 * 1024 * 1024;
    qint64 maxRetainedBytes = 256 * 1024 * 1024;
    int maxSessions = 100000;

    PushServer::Error error = PushServer::NoError;
    QString errorString;
    bool shuttingDown = false;
    bool destroying = false;

    // Connections.
    int tcpConnections = 0;
    QHash<PushHttpConnection *, PushRateLimiter> httpConnections;
    QSet<PushWebSocketTransport *> webSockets;
    QSet<PushSseTransport *> eventStreams;
    QHash<PushHttpConnection *, PushLongPoll *> longPolls;

    // Admin event streams, and what their rates are measured against.
    QSet<PushAdminStream *> adminStreams;
    bool adminTracking = false; // the record below is kept: a stream is attached
    QHash<QString, PushAdminSession> adminSessions; // every session, as the streams know it
    QSet<QString> ratedSessions; // their last rate was not 0, so the next tick looks again
    int adminClients = 0; // the clients of adminSessions
    qint64 lastAdminTickMs = 0; // steady clock
    quint64 deliveriesAtLastTick = 0;
    double pushRate = 0;
    double deliveryRate = 0;

    // Network clients, by the length of sessionKey, '\0', sessionKey and clientKey.
    QHash<QString, std::shared_ptr<PushAttachment>> attachments;
    // Sessions this server made, which it also removes once they are empty and expired.
    QSet<QString> createdSessions;
    // At least what all sessions retain, in bytes: pushes through the server add to it, and
    // enforceRetainedBudget() sets it to the exact total.
    qint64 retainedEstimate = 0;
    qint64 lastBudgetLogMs = 0;
    // What changed in the registry since the last housekeeping, and what falls due when: the
    // sessions above that may be removed then, and the clients in their grace period (by
    // attachment key). All deadlines are on the steady clock (pushclock_p.h).
    std::unique_ptr<PushChangeJournal> changes;
    PushDeadlines sessionExpiry;
    QHash<QString, qint64> sessionChangedAt; // created sessions: the pass that last saw a change
    PushDeadlines graceExpiry;

    // Metrics (protocol.md: /metrics).
    quint64 pushesTotal = 0;
    quint64 deliveriesTotal[4] = {};
    quint64 gapsTotal = 0;
    quint64 requestsTotal = 0;
    QHash<QByteArray, quint64> refusalsTotal;
    qint64 startedAtMs = 0; // steady clock, for the uptime
    qint64 lastKeepAliveMs = 0;
    qint64 lastCapacityWarningMs = 0;
    int refusedSinceWarning = 0;

    PushFrame lastFrame;
    QList<QPointer<PushStreamTransport>> toFlush;
    bool flushQueued = false;

    void setError(PushServer::Error error, const QString &message);
    quint64 deliveries() const;

private:
    void refuse(PushHttpConnection *connection, PushWire::Refusal refusal, const QString &message,
                bool closeAfter = false, const QByteArray &extraHeaders = {});
    std::optional<PushAccess> authorize(PushHttpConnection *connection,
                                        const PushHttpRequest &request, const QByteArray &query,
                                        PushToken::Scope scope, const QString &session,
                                        const QString &client);
    PushSession *sessionForWrite(const QString &sessionKey);
    //! Whether \a sessionKey exists or may be created within maxSessions; else sets \a why.
    bool mayUseSession(const QString &sessionKey, QString *why) const;
    //! Measures what all sessions retain and, past maxRetainedBytes, trims the largest.
    void enforceRetainedBudget();
    PushAttachment *attach(const QString &sessionKey, const QString &clientKey,
                           PushTransport transport, QObject *owner, const PushResume &resume,
                           QList<PushSession::Message> *catchUp, QString *why);
    void closeOwner(PushAttachment *attachment, int webSocketCode, const QString &reason);
    void onClientClosed(const QString &key);

    void handlePush(PushHttpConnection *connection, const PushHttpRequest &request,
                    const QString &sessionKey);
    void handleList(PushHttpConnection *connection);
    void handleSession(PushHttpConnection *connection, const QString &sessionKey);
    //! Refuses an upgrade request that breaks RFC 6455 §4.1-4.2; true when it is one to take.
    bool checkUpgrade(PushHttpConnection *connection, const PushHttpRequest &request);
    void handleUpgrade(PushHttpConnection *connection, const PushHttpRequest &request,
                       const QString &sessionKey, const QString &clientKey,
                       const PushResume &resume, const PushAccess &access);
    //! Takes the connection, answers 101 and hands \a begin the transport and the bytes that
    //! came behind the request.
    void upgradeNow(PushHttpConnection *connection, const PushHttpRequest &request,
                    const PushAccess &access,
                    std::function<void(PushWebSocketTransport *, const QByteArray &)> begin);
    void startWebSocket(PushWebSocketTransport *transport, const QByteArray &early,
                        const QString &sessionKey, const QString &clientKey,
                        const PushResume &resume);
    void startAdminStream(PushWebSocketTransport *transport, const QByteArray &early);
    void handleEvents(PushHttpConnection *connection, const QString &sessionKey,
                      const QString &clientKey, const PushResume &resume);
    void handlePull(PushHttpConnection *connection, const QString &sessionKey,
                    const QString &clientKey, const PushResume &resume, int waitMs);
    QByteArray metricsText() const;
};
