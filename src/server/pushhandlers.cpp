// SPDX-License-Identifier: MIT
// The server's HTTP handlers: what each route of protocol.md does once the router
// (pushrouter.cpp) let the request through and its token allows it (pushaccess.cpp).

#include <QtPush/pushclient.h>
#include <QtPush/pushregistry.h>
#include <QtPush/pushsession.h>

#include "pushadminstream_p.h"
#include "pushconnectionio_p.h"
#include "pushlongpoll_p.h"
#include "pushops_p.h"
#include "pushserver_p.h"
#include "pushssetransport_p.h"
#include "pushwebsockettransport_p.h"

#include <QtCore/QFile>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>

PushServerPrivate::Handler PushServerPrivate::handlerFor(PushRoute::Kind kind)
{
    // The route table's last column: PushRouter has the methods and the scope of each.
    switch (kind) {
    case PushRoute::Index:
        return &PushServerPrivate::handleIndex;
    case PushRoute::Health:
        return &PushServerPrivate::handleHealth;
    case PushRoute::Metrics:
        return &PushServerPrivate::handleMetrics;
    case PushRoute::Sessions:
        return &PushServerPrivate::handleList;
    case PushRoute::Session:
        return &PushServerPrivate::handleSession;
    case PushRoute::Client:
        return &PushServerPrivate::handleClient;
    case PushRoute::Push:
        return &PushServerPrivate::handlePush;
    case PushRoute::WebSocket:
        return &PushServerPrivate::handleWebSocket;
    case PushRoute::AdminEvents:
        return &PushServerPrivate::handleAdminEvents;
    case PushRoute::Events:
        return &PushServerPrivate::handleEvents;
    case PushRoute::Pull:
        return &PushServerPrivate::handlePull;
    case PushRoute::NotFound:
    case PushRoute::BadId:
        break;
    }
    return nullptr;
}

void PushServerPrivate::handleRequest(PushHttpConnection *connection,
                                      const PushHttpRequest &request)
{
    ++counters.requestsTotal;
    const PushRouting routing = PushRouter::route(request, config.secret, shuttingDown);
    switch (routing.action) {
    case PushRouting::Refuse:
        refuse(connection, routing.refusal, routing.message, routing.closeAfter, routing.headers);
        return;
    case PushRouting::Respond:
        if (routing.countsAsRefusal)
            counters.countRefusal(routing.refusal);
        connection->respond(routing.status, routing.contentType, routing.body, routing.headers);
        return;
    case PushRouting::Handle:
        break;
    }
    const PushRoute::Kind kind = routing.route.kind;
    // The upgrade is checked first: a request that is no WebSocket handshake gets 400 and a
    // close whatever its token.
    if ((kind == PushRoute::WebSocket || kind == PushRoute::AdminEvents)
        && !checkUpgrade(connection, request))
        return;
    PushAccess access;
    if (routing.scope) {
        const std::optional<PushAccess> allowed = authorize(connection, request, routing);
        if (!allowed)
            return;
        access = *allowed;
    }
    if (const Handler handler = handlerFor(kind))
        (this->*handler)(connection, request, routing, access);
}

void PushServerPrivate::refuse(PushHttpConnection *connection, PushWire::Refusal refusal,
                               const QString &message, bool closeAfter,
                               const QByteArray &extraHeaders)
{
    counters.countRefusal(refusal);
    connection->refuse(refusal, message, closeAfter, extraHeaders);
}

std::optional<PushAccess> PushServerPrivate::authorize(PushHttpConnection *connection,
                                                       const PushHttpRequest &request,
                                                       const PushRouting &routing)
{
    PushAccessInput input;
    input.secret = config.secret;
    if (!input.secret.isEmpty()) { // else nothing is read
        input.authorization = request.header(QByteArrayLiteral("authorization"));
        input.queryToken = routing.queryToken;
        input.now = QDateTime::currentDateTimeUtc();
    }
    input.scope = *routing.scope;
    input.session = routing.route.session;
    input.client = routing.route.client;
    const PushAccessDecision decision = pushDecideAccess(input);
    if (!decision.isAllowed()) {
        refuse(connection, *decision.refusal, decision.message);
        return std::nullopt;
    }
    return decision.access;
}

PushAttachment *PushServerPrivate::attach(const QString &sessionKey, const QString &clientKey,
                                          PushTransport transport, PushDelivery *owner,
                                          const PushResume &resume,
                                          QList<PushSession::Message> *catchUp, QString *why)
{
    if (!sessions.mayUseSession(sessionKey, why))
        return nullptr;
    PushSession *session = sessions.sessionForWrite(sessionKey);
    if (!session) {
        *why = QStringLiteral("the session could not be created");
        return nullptr;
    }
    const int maxClients = config.maxClientsPerSession;
    if (maxClients > 0 && !session->exists(clientKey) && session->count() >= maxClients) {
        *why = QStringLiteral("session %1 is at its limit of %2 clients")
                       .arg(sessionKey)
                       .arg(maxClients);
        return nullptr;
    }
    return clients.attach(session, clientKey, transport, owner, resume, catchUp, why);
}

void PushServerPrivate::handleIndex(PushHttpConnection *connection, const PushHttpRequest &,
                                    const PushRouting &, const PushAccess &)
{
    QFile page(QStringLiteral(":/qtpush/demo/index.html"));
    page.open(QIODevice::ReadOnly);
    connection->respond(200, QByteArrayLiteral("text/html; charset=utf-8"), page.readAll());
}

void PushServerPrivate::handleHealth(PushHttpConnection *connection, const PushHttpRequest &,
                                     const PushRouting &, const PushAccess &)
{
    connection->respond(200, QByteArrayLiteral("application/json"),
                        QByteArrayLiteral("{\"status\":\"ok\"}"));
}

void PushServerPrivate::handleMetrics(PushHttpConnection *connection, const PushHttpRequest &,
                                      const PushRouting &, const PushAccess &)
{
    connection->respond(200, QByteArrayLiteral("text/plain; version=0.0.4"),
                        pushMetricsText(counters, connections.figures(), registry));
}

void PushServerPrivate::handleList(PushHttpConnection *connection, const PushHttpRequest &,
                                   const PushRouting &, const PushAccess &)
{
    QJsonArray list;
    const QVariantList ids = registry->sessions();
    for (const QVariant &id : ids) {
        PushSession *session = registry->findSession(id);
        if (!session)
            continue;
        list.append(QJsonObject{{QStringLiteral("session"), session->keyString()},
                                {QStringLiteral("clients"), session->count()}});
    }
    connection->respond(200, QByteArrayLiteral("application/json"),
                        QJsonDocument(list).toJson(QJsonDocument::Compact));
}

void PushServerPrivate::handleSession(PushHttpConnection *connection,
                                      const PushHttpRequest &request, const PushRouting &routing,
                                      const PushAccess &)
{
    const QString &sessionKey = routing.route.session;
    if (request.method == "DELETE") {
        registry->deleteSession(sessionKey);
        connection->respond(204, {}, {});
        return;
    }
    PushSession *session = registry->findSession(sessionKey);
    if (!session) {
        refuse(connection, PushWire::Refusal::NotFound,
               QStringLiteral("no session %1").arg(sessionKey));
        return;
    }
    QJsonArray list;
    const QVariantList ids = session->clients();
    for (const QVariant &id : ids) {
        PushClient *client = session->findClient(id);
        if (!client)
            continue;
        const PushAttachment *attachment = clients.find(sessionKey, client->keyString());
        const QByteArray transport
                = attachment ? transportName(attachment->transport) : QByteArrayLiteral("local");
        list.append(QJsonObject{{QStringLiteral("client"), client->keyString()},
                                {QStringLiteral("transport"), QString::fromLatin1(transport)},
                                {QStringLiteral("pending"), client->pending()}});
    }
    const QJsonObject body{{QStringLiteral("session"), session->keyString()},
                           {QStringLiteral("clients"), list}};
    connection->respond(200, QByteArrayLiteral("application/json"),
                        QJsonDocument(body).toJson(QJsonDocument::Compact));
}

void PushServerPrivate::handleClient(PushHttpConnection *connection, const PushHttpRequest &,
                                     const PushRouting &routing, const PushAccess &)
{
    if (PushSession *session = registry->findSession(routing.route.session))
        session->deleteClient(routing.route.client);
    connection->respond(204, {}, {});
}

void PushServerPrivate::handlePush(PushHttpConnection *connection, const PushHttpRequest &request,
                                   const PushRouting &routing, const PushAccess &)
{
    QString problem;
    const std::optional<QVariant> data = PushOps::decodePushBody(
            request.header(QByteArrayLiteral("content-type")), request.body, &problem);
    if (!data) {
        refuse(connection, PushWire::Refusal::BadRequest, problem);
        return;
    }
    // The connection stays in its handling state until done answers: at once from the memory
    // store, after its commit from a durable one. Gone first, it takes the answer with it.
    push({routing.route.session, *data, connections.limiter(connection)}, connection,
         [this, connection](const PushPushOutcome &outcome) {
             if (outcome.refusal) {
                 refuse(connection, *outcome.refusal, outcome.why, false,
                        *outcome.refusal == PushWire::Refusal::TooManyRequests
                                ? QByteArrayLiteral("Retry-After: 1\r\n")
                                : QByteArray());
                 return;
             }
             connection->respond(200, QByteArrayLiteral("application/json"),
                                 "{\"id\":" + QByteArray::number(outcome.id) + ",\"clients\":"
                                         + QByteArray::number(outcome.clients) + '}');
         });
}

void PushServerPrivate::handleWebSocket(PushHttpConnection *connection,
                                        const PushHttpRequest &request, const PushRouting &routing,
                                        const PushAccess &access)
{
    const QString &sessionKey = routing.route.session;
    const QString &clientKey = routing.route.client;
    QString why;
    if (!sessions.mayUseSession(sessionKey, &why)) {
        refuse(connection, PushWire::Refusal::Unavailable, why, true);
        return;
    }
    PushSession *session = registry->findSession(sessionKey);
    const int maxClients = config.maxClientsPerSession;
    if (maxClients > 0 && session && !session->exists(clientKey)
        && session->count() >= maxClients) {
        refuse(connection, PushWire::Refusal::Unavailable,
               QStringLiteral("session %1 is at its limit of %2 clients")
                       .arg(sessionKey)
                       .arg(maxClients),
               true);
        return;
    }
    const PushResume resume = routing.resume;
    upgradeNow(connection, request, access,
               [this, sessionKey, clientKey, resume](PushWebSocketTransport *transport,
                                                     const QByteArray &early) {
                   startWebSocket(transport, early, sessionKey, clientKey, resume);
               });
}

void PushServerPrivate::handleAdminEvents(PushHttpConnection *connection,
                                          const PushHttpRequest &request, const PushRouting &,
                                          const PushAccess &access)
{
    upgradeNow(connection, request, access,
               [this](PushWebSocketTransport *transport, const QByteArray &early) {
                   auto *stream = new PushAdminStream(&admin, this, transport);
                   stream->start(admin.snapshot());
                   transport->begin(early);
               });
}

bool PushServerPrivate::checkUpgrade(PushHttpConnection *connection, const PushHttpRequest &request)
{
    if (!request.upgrade || !request.http11
        || request.header(QByteArrayLiteral("upgrade")).toLower() != "websocket"
        || request.header(QByteArrayLiteral("sec-websocket-key")).isEmpty()) {
        refuse(connection, PushWire::Refusal::BadRequest,
               QStringLiteral("this path takes an HTTP/1.1 WebSocket upgrade (RFC 6455)"), true);
        return false;
    }
    if (QByteArray::fromBase64(request.header(QByteArrayLiteral("sec-websocket-key")).trimmed())
                .size()
        != 16) {
        refuse(connection, PushWire::Refusal::BadRequest,
               QStringLiteral("Sec-WebSocket-Key must be 16 bytes in base64 (RFC 6455 §4.1)"),
               true);
        return false;
    }
    if (request.header(QByteArrayLiteral("sec-websocket-version")).trimmed() != "13") {
        // RFC 6455 §4.4: name the version this server speaks.
        refuse(connection, PushWire::Refusal::BadRequest,
               QStringLiteral("only WebSocket version 13 is supported"), true,
               QByteArrayLiteral("Sec-WebSocket-Version: 13\r\n"));
        return false;
    }
    return true;
}

void PushServerPrivate::upgradeNow(
        PushHttpConnection *connection, const PushHttpRequest &request, const PushAccess &access,
        const std::function<void(PushWebSocketTransport *, const QByteArray &)> &begin)
{
    const QByteArray acceptKey = PushWebSocket::acceptKey(
            request.header(QByteArrayLiteral("sec-websocket-key")).trimmed());
    QByteArray early; // frames sent behind the request
    // The connection stays counted until its PushConnectionIo, which the transport takes as
    // its child, is destroyed (PushConnections::countUntilDestroyed()).
    PushConnectionIo *io = connection->takeIo(&early);
    io->setHalfCloseAllowed(false); // a WebSocket peer that half-closes is gone
    io->setReadPaused(false);
    // RFC 6455 §4.2.2. No subprotocol and no extension is offered (protocol.md: WebSocket
    // details).
    io->write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
              "Connection: Upgrade\r\nSec-WebSocket-Accept: "
              + acceptKey + "\r\n\r\n");
    auto *transport = new PushWebSocketTransport(this, io, access);
    connections.add(transport);
    begin(transport, early);
}

void PushServerPrivate::startWebSocket(PushWebSocketTransport *transport, const QByteArray &early,
                                       const QString &sessionKey, const QString &clientKey,
                                       const PushResume &resume)
{
    QList<PushSession::Message> catchUp;
    QString why;
    PushAttachment *attachment = attach(sessionKey, clientKey, PushTransport::WebSocket, transport,
                                        resume, &catchUp, &why);
    if (!attachment) {
        transport->refuse(PushWire::Refusal::Unavailable, why);
        return;
    }
    transport->start(attachment, catchUp);
    transport->begin(early);
}

void PushServerPrivate::handleEvents(PushHttpConnection *connection, const PushHttpRequest &,
                                     const PushRouting &routing, const PushAccess &)
{
    auto *stream = new PushSseTransport(this, connection);
    QList<PushSession::Message> catchUp;
    QString why;
    PushAttachment *attachment = attach(routing.route.session, routing.route.client,
                                        PushTransport::Sse, stream, routing.resume, &catchUp, &why);
    if (!attachment) {
        delete stream;
        refuse(connection, PushWire::Refusal::Unavailable, why);
        return;
    }
    connections.add(stream);
    stream->begin();
    stream->start(attachment, catchUp);
}

void PushServerPrivate::handlePull(PushHttpConnection *connection, const PushHttpRequest &,
                                   const PushRouting &routing, const PushAccess &)
{
    auto *poll = new PushLongPoll(this, connection, routing.waitMs);
    QList<PushSession::Message> catchUp;
    QString why;
    PushAttachment *attachment = attach(routing.route.session, routing.route.client,
                                        PushTransport::Poll, poll, routing.resume, &catchUp, &why);
    if (!attachment) {
        delete poll;
        refuse(connection, PushWire::Refusal::Unavailable, why);
        return;
    }
    connections.add(poll);
    poll->start(attachment, catchUp);
}
