// SPDX-License-Identifier: MIT
#pragma once

// Internal: the server's parts, composed. Not installed.

#include <QtPush/pushserver.h>

#include "pushaccess_p.h"
#include "pushadminhub_p.h"
#include "pushclienttable_p.h"
#include "pushconnections_p.h"
#include "pushdelivery_p.h"
#include "pushhttpconnection_p.h"
#include "pushmetrics_p.h"
#include "pushpublisher_p.h"
#include "pushrouter_p.h"
#include "pushserversettings_p.h"
#include "pushsessionkeeper_p.h"
#include "pushtransporthost_p.h"

#include <QtCore/QPointer>
#include <QtCore/QTimer>
#include <QtNetwork/QSslConfiguration>
#include <QtNetwork/QTcpServer>

#include <functional>
#include <memory>
#include <optional>

class PushChangeJournal;
class PushWebSocketTransport;

/*!
    The server behind PushServer: it composes the parts, each with one job, and is the one
    PushTransportHost the transports see.

    - PushConnections: accept, count, the sets of connections, timeouts, shutdown and abort.
    - PushRouter (pushrouter.cpp) and pushDecideAccess() (pushaccess.cpp): what a request may
      do; the handlers (pushhandlers.cpp) then do it.
    - PushClientTable: network clients and the delivery serving each; grace periods.
    - PushSessionKeeper: the sessions the server makes, their limit, expiry and retained budget.
    - PushPublisher: the push operation of HTTP, WebSocket and the admin stream.
    - PushMetrics: the counters and /metrics; PushAdminHub: the admin streams' record.
    - Housekeeping (pushhousekeeping.cpp): the one-second tick that calls the parts.

    Ownership: owned by its PushServer, which is the parent of every connection and transport;
    it outlives them all (PushServer's destructor deletes them first, dropAll()). Not
    thread-safe: the server's thread.
*/
class PushServerPrivate : public PushHttpConnectionOwner, public PushTransportHost
{
public:
    explicit PushServerPrivate(PushServer *q, PushRegistry *registry);
    ~PushServerPrivate();

    // PushTransportHost
    QObject *transportParent() override { return q; }
    const PushServerSettings &settings() const override { return config; }
    PushMetrics &metrics() override { return counters; }
    PushFrame &frame(const PushAttachment &attachment, quint64 id, const QVariant &data) override;
    void flushLater(PushStreamTransport *transport) override;
    void push(const PushPushRequest &request, QObject *context, PushPushDone done) override;
    void deliveryStopped(PushDelivery *delivery) override;
    void deliveryEnded(PushDelivery *delivery) override;

    // PushHttpConnectionOwner
    void requestReceived(PushHttpConnection *connection, const PushHttpRequest &request) override;
    void inputEnded(PushHttpConnection *connection) override;
    void connectionClosed(PushHttpConnection *connection) override;
    void refusedWhileReading(PushWire::Refusal refusal) override { counters.countRefusal(refusal); }

    //! Housekeeping (pushhousekeeping.cpp): once a second, at a cost that grows with what
    //! changed or fell due, not with what exists (docs/server.md: Scaling).
    void housekeeping();
    void checkShutdownFinished();
    //! Deletes every connection and transport now, without signals back into this object.
    void dropAll();
    void setError(PushServer::Error error, const QString &message);

    PushServer *const q;
    PushRegistry *const registry;
    std::unique_ptr<QTcpServer> listener;
    QTimer housekeepingTimer;
    QTimer shutdownTimer;

    PushServerSettings config;
    std::optional<QSslConfiguration> sslConfiguration;
    PushServer::Error error = PushServer::NoError;
    QString errorString;
    bool shuttingDown = false;
    bool adoptedRecovered = false; // the sessions a durable broker recovered (first listen())

    PushMetrics counters;
    PushConnections connections;
    PushClientTable clients;
    PushSessionKeeper sessions;
    PushPublisher publisher;
    PushAdminHub admin;
    // What changed in the registry since the last housekeeping (pushchangejournal_p.h).
    std::unique_ptr<PushChangeJournal> changes;

private:
    void flushAll();

    // Handlers (pushhandlers.cpp).
    using Handler = void (PushServerPrivate::*)(PushHttpConnection *, const PushHttpRequest &,
                                                const PushRouting &, const PushAccess &);
    static Handler handlerFor(PushRoute::Kind kind);
    void handleRequest(PushHttpConnection *connection, const PushHttpRequest &request);
    void refuse(PushHttpConnection *connection, PushWire::Refusal refusal, const QString &message,
                bool closeAfter = false, const QByteArray &extraHeaders = {});
    std::optional<PushAccess> authorize(PushHttpConnection *connection,
                                        const PushHttpRequest &request, const PushRouting &routing);
    //! Attaches a client for a delivery, within maxSessions and maxClientsPerSession.
    PushAttachment *attach(const QString &sessionKey, const QString &clientKey,
                           PushTransport transport, PushDelivery *owner, const PushResume &resume,
                           QList<PushSession::Message> *catchUp, QString *why);
    void handleIndex(PushHttpConnection *connection, const PushHttpRequest &request,
                     const PushRouting &routing, const PushAccess &access);
    void handleHealth(PushHttpConnection *connection, const PushHttpRequest &request,
                      const PushRouting &routing, const PushAccess &access);
    void handleMetrics(PushHttpConnection *connection, const PushHttpRequest &request,
                       const PushRouting &routing, const PushAccess &access);
    void handleList(PushHttpConnection *connection, const PushHttpRequest &request,
                    const PushRouting &routing, const PushAccess &access);
    void handleSession(PushHttpConnection *connection, const PushHttpRequest &request,
                       const PushRouting &routing, const PushAccess &access);
    void handleClient(PushHttpConnection *connection, const PushHttpRequest &request,
                      const PushRouting &routing, const PushAccess &access);
    void handlePush(PushHttpConnection *connection, const PushHttpRequest &request,
                    const PushRouting &routing, const PushAccess &access);
    void handleWebSocket(PushHttpConnection *connection, const PushHttpRequest &request,
                         const PushRouting &routing, const PushAccess &access);
    void handleAdminEvents(PushHttpConnection *connection, const PushHttpRequest &request,
                           const PushRouting &routing, const PushAccess &access);
    void handleEvents(PushHttpConnection *connection, const PushHttpRequest &request,
                      const PushRouting &routing, const PushAccess &access);
    void handlePull(PushHttpConnection *connection, const PushHttpRequest &request,
                    const PushRouting &routing, const PushAccess &access);
    //! Refuses an upgrade request that breaks RFC 6455 §4.1-4.2; true when it is one to take.
    bool checkUpgrade(PushHttpConnection *connection, const PushHttpRequest &request);
    //! Takes the connection, answers 101 and hands \a begin the transport and the bytes that
    //! came behind the request.
    void upgradeNow(PushHttpConnection *connection, const PushHttpRequest &request,
                    const PushAccess &access,
                    const std::function<void(PushWebSocketTransport *, const QByteArray &)> &begin);
    void startWebSocket(PushWebSocketTransport *transport, const QByteArray &early,
                        const QString &sessionKey, const QString &clientKey,
                        const PushResume &resume);

    PushFrame lastFrame; // frame()'s cache: a push reaches a session's clients one by one
    QList<QPointer<PushStreamTransport>> toFlush;
    bool flushQueued = false;
};
