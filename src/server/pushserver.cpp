// SPDX-License-Identifier: MIT
#include <QtPush/pushclient.h>
#include <QtPush/pushregistry.h>
#include <QtPush/pushserver.h>
#include <QtPush/pushsession.h>

#include "pushadminstream_p.h"
#include "pushchangejournal_p.h"
#include "pushclock_p.h"
#include "pushconnectionio_p.h"
#include "pushhttpconnection_p.h"
#include "pushlongpoll_p.h"
#include "pushops_p.h"
#include "pushroute_p.h"
#include "pushserver_p.h"
#include "pushserverlogging_p.h"
#include "pushssetransport_p.h"
#include "pushwebsockettransport_p.h"

#include <QtCore/QDateTime>
#include <QtCore/QFile>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QUrlQuery>
#include <QtNetwork/QTcpSocket>

#include <algorithm>
#include <cmath>
#if QT_CONFIG(ssl)
#include <QtNetwork/QSslCertificate>
#include <QtNetwork/QSslKey>
#include <QtNetwork/QSslServer>
#include <QtNetwork/QSslSocket>
#endif

namespace {

bool parseResume(const QUrlQuery &query, const QByteArray &lastEventId, PushResume *resume,
                 QString *problem)
{
    bool ok = true;
    if (query.hasQueryItem(QStringLiteral("since"))) {
        resume->since = query.queryItemValue(QStringLiteral("since")).toULongLong(&ok);
        resume->hasSince = true;
    }
    if (!ok) {
        *problem = QStringLiteral("since must be a message id");
        return false;
    }
    // protocol.md: a Last-Event-ID that is not a number is ignored, so that a browser's
    // EventSource, which never retries after a refusal, stays connected.
    bool isNumber = false;
    const quint64 lastId = lastEventId.trimmed().toULongLong(&isNumber);
    if (isNumber) {
        resume->since = lastId;
        resume->hasSince = true;
    }
    if (query.hasQueryItem(QStringLiteral("epoch"))) {
        resume->epoch = query.queryItemValue(QStringLiteral("epoch")).toULongLong(&ok, 16);
        resume->hasEpoch = true;
        if (!ok) {
            *problem = QStringLiteral("epoch must be the hexadecimal number of a hello frame");
            return false;
        }
    }
    return true;
}

bool isLoopbackOrigin(const QByteArray &origin)
{
    const QString host = QUrl(QString::fromLatin1(origin)).host();
    return host == QLatin1String("localhost") || QHostAddress(host).isLoopback();
}

constexpr int maxWaitSeconds = 60; // protocol.md: Receiving
constexpr int defaultWaitSeconds = 30;

} // namespace

// PushFrame

const QByteArray &PushFrame::webSocketFrame()
{
    if (m_webSocketFrame.isEmpty())
        m_webSocketFrame = PushWebSocket::frame(PushWebSocket::Opcode::Text, json);
    return m_webSocketFrame;
}

const QByteArray &PushFrame::event()
{
    if (m_event.isEmpty())
        m_event = "id: " + QByteArray::number(id) + "\ndata: " + json + "\n\n";
    return m_event;
}

// PushServerPrivate

PushServerPrivate::PushServerPrivate(PushServer *q, PushRegistry *registry)
    : q(q), registry(registry)
{
    housekeepingTimer.setInterval(1000);
    QObject::connect(&housekeepingTimer, &QTimer::timeout, q, [this] { housekeeping(); });
    shutdownTimer.setSingleShot(true);
    QObject::connect(&shutdownTimer, &QTimer::timeout, q, [this] {
        qCInfo(lcPushServer) << "shutdown: dropping" << tcpConnections
                             << "connections that did not close in time";
        this->q->abort();
        Q_EMIT this->q->shutdownFinished();
    });
    startedAtMs = PushClock::steadyMs();
    changes = std::make_unique<PushChangeJournal>(registry);
    // Queued: a session the server makes for a connecting client is announced with that
    // client in it.
    QObject::connect(
            registry, &PushRegistry::sessionAdded, q,
            [this](const QString &sessionKey) { announceSessionAdded(sessionKey); },
            Qt::QueuedConnection);
    QObject::connect(
            registry, &PushRegistry::sessionRemoved, q,
            [this](const QString &sessionKey) { announceSessionRemoved(sessionKey); },
            Qt::QueuedConnection);
}

PushServerPrivate::~PushServerPrivate() = default;

void PushServerPrivate::setError(PushServer::Error newError, const QString &message)
{
    errorString = message;
    if (error == newError)
        return;
    error = newError;
    Q_EMIT q->errorOccurred(newError);
}

PushFrame &PushServerPrivate::frame(const PushAttachment &attachment, quint64 id,
                                    const QVariant &data)
{
    // A push reaches the clients of a session one after another: one encoding serves them all.
    if (lastFrame.id != id || lastFrame.epoch != attachment.sessionEpoch
        || lastFrame.sessionKey != attachment.sessionKey) {
        lastFrame = PushFrame();
        lastFrame.sessionKey = attachment.sessionKey;
        lastFrame.epoch = attachment.sessionEpoch;
        lastFrame.id = id;
        lastFrame.json
                = PushWire::messageFrame(id, attachment.sessionJson, PushWire::encodeJson(data));
    }
    return lastFrame;
}

void PushServerPrivate::flushLater(PushStreamTransport *transport)
{
    toFlush.append(transport);
    if (flushQueued)
        return;
    flushQueued = true;
    QMetaObject::invokeMethod(
            q, [this] { flushAll(); }, Qt::QueuedConnection);
}

void PushServerPrivate::flushAll()
{
    flushQueued = false;
    const QList<QPointer<PushStreamTransport>> transports = std::exchange(toFlush, {});
    for (const QPointer<PushStreamTransport> &transport : transports) {
        if (transport)
            transport->flushNow();
    }
}

void PushServerPrivate::countDelivery(PushTransport transport)
{
    ++deliveriesTotal[int(transport)];
}

void PushServerPrivate::onNewConnection()
{
    while (QTcpSocket *socket = listener->nextPendingConnection()) {
        ++tcpConnections;
        Q_EMIT q->connectionCountChanged();
        if (maxConnections > 0 && tcpConnections > maxConnections) {
            // Refused with a real answer, so that the client knows to back off.
            // Once per 10 s at most: a flood of connections must not become a flood of logs.
            if (PushClock::steadyMs() - lastCapacityWarningMs > 10 * 1000) {
                qCWarning(lcPushServer)
                        << "refusing connection from" << socket->peerAddress() << ": already"
                        << maxConnections << "connections;" << refusedSinceWarning
                        << "more refused since the last "
                           "warning";
                lastCapacityWarningMs = PushClock::steadyMs();
                refusedSinceWarning = 0;
            } else {
                ++refusedSinceWarning;
            }
            countRefusal(PushWire::Refusal::Unavailable);
            countUntilDestroyed(socket);
            socket->setParent(q); // deleted with the server if the peer never reads
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
        httpConnections.insert(new PushHttpConnection(io, maxMessageBytes, this, q), {});
    }
}

void PushServerPrivate::requestReceived(PushHttpConnection *connection,
                                        const PushHttpRequest &request)
{
    handleRequest(connection, request);
}

void PushServerPrivate::inputEnded(PushHttpConnection *connection)
{
    if (PushLongPoll *poll = longPolls.value(connection))
        poll->finish(); // a client that half-closed is answered now
}

void PushServerPrivate::connectionClosed(PushHttpConnection *connection)
{
    onConnectionClosed(connection);
}

void PushServerPrivate::countUntilDestroyed(QObject *connection)
{
    QObject::connect(connection, &QObject::destroyed, q, [this] { connectionGone(); });
}

void PushServerPrivate::connectionGone()
{
    --tcpConnections;
    if (destroying)
        return;
    Q_EMIT q->connectionCountChanged();
    checkShutdownFinished();
}

void PushServerPrivate::onConnectionClosed(PushHttpConnection *connection)
{
    httpConnections.remove(connection);
    if (PushLongPoll *poll = longPolls.take(connection)) {
        if (PushAttachment *attachment = poll->attachment())
            detach(attachment, poll);
        poll->release();
        poll->deleteLater();
    }
    connection->deleteLater();
}

void PushServerPrivate::refuse(PushHttpConnection *connection, PushWire::Refusal refusal,
                               const QString &message, bool closeAfter,
                               const QByteArray &extraHeaders)
{
    countRefusal(refusal);
    connection->refuse(refusal, message, closeAfter, extraHeaders);
}

std::optional<PushAccess>
PushServerPrivate::authorize(PushHttpConnection *connection, const PushHttpRequest &request,
                             const QByteArray &queryToken, PushToken::Scope scope,
                             const QString &session, const QString &client)
{
    if (secret.isEmpty())
        return PushAccess{};
    QByteArray token;
    const QByteArray authorization = request.header(QByteArrayLiteral("authorization"));
    if (authorization.size() > 7
        && authorization.first(7).compare("Bearer ", Qt::CaseInsensitive) == 0)
        token = authorization.mid(7).trimmed();
    else
        token = queryToken; // browsers cannot set headers on WebSocket and EventSource
    if (token.isEmpty()) {
        refuse(connection, PushWire::Refusal::Unauthorized, QStringLiteral("a token is required"));
        return std::nullopt;
    }
    PushToken::VerifyError verifyError;
    const std::optional<PushToken> claims
            = PushToken::verify(token, secret, QDateTime::currentDateTimeUtc(), &verifyError);
    if (!claims) {
        refuse(connection, PushWire::Refusal::Unauthorized,
               verifyError == PushToken::VerifyError::Expired
                       ? QStringLiteral("the token has expired")
                       : QStringLiteral("the token is not valid"));
        return std::nullopt;
    }
    // admin is the operator's scope: it may do anything on any session.
    if (claims->scopes.testFlag(PushToken::Admin))
        return PushAccess{true};
    if (scope == PushToken::Admin || !claims->scopes.testFlag(scope)) {
        refuse(connection, PushWire::Refusal::Forbidden,
               QStringLiteral("the token's scope does not allow this"));
        return std::nullopt;
    }
    if (claims->session != session) {
        refuse(connection, PushWire::Refusal::Forbidden,
               QStringLiteral("the token is for another session"));
        return std::nullopt;
    }
    if (!client.isEmpty() && !claims->client.isEmpty() && claims->client != client) {
        refuse(connection, PushWire::Refusal::Forbidden,
               QStringLiteral("the token is for another client"));
        return std::nullopt;
    }
    return PushAccess{claims->scopes.testFlag(PushToken::Push)};
}

void PushServerPrivate::handleRequest(PushHttpConnection *connection,
                                      const PushHttpRequest &request)
{
    ++requestsTotal;
    const PushRoute route = PushRoute::parse(request.path);
    if (route.kind == PushRoute::NotFound) {
        refuse(connection, PushWire::Refusal::NotFound,
               QStringLiteral("no such path: %1").arg(QString::fromLatin1(request.path.left(200))),
               request.upgrade);
        return;
    }
    if (route.kind == PushRoute::BadId) {
        refuse(connection, PushWire::Refusal::BadRequest, route.problem, request.upgrade);
        return;
    }
    const QByteArray origin = request.header(QByteArrayLiteral("origin"));
    if (secret.isEmpty() && !origin.isEmpty() && !isLoopbackOrigin(origin)) {
        // Without a secret only loopback is trusted: a page from elsewhere that a local browser
        // runs must not reach the sessions (protocol.md: Access).
        refuse(connection, PushWire::Refusal::Forbidden,
               QStringLiteral("a server without a secret serves pages from loopback only"),
               request.upgrade);
        return;
    }
    if (request.method == "OPTIONS" && !origin.isEmpty()) {
        // A browser's CORS preflight (Fetch standard): any origin may call, with a token.
        connection->respond(204, {}, {},
                            "Access-Control-Allow-Methods: " + route.allowHeader()
                                    + ", OPTIONS\r\nAccess-Control-Allow-Headers: Authorization, "
                                      "Content-Type, Last-Event-ID\r\nAccess-Control-Max-Age: "
                                      "600\r\n");
        return;
    }
    if (!route.allows(request.method)) {
        countRefusal(PushWire::Refusal::MethodNotAllowed);
        connection->respond(405, QByteArrayLiteral("application/json"),
                            PushWire::errorBody(PushWire::Refusal::MethodNotAllowed,
                                                QStringLiteral("%1 is not allowed here")
                                                        .arg(QString::fromLatin1(request.method))),
                            "Allow: " + route.allowHeader() + "\r\n");
        return;
    }
    if (shuttingDown && route.kind != PushRoute::Health && route.kind != PushRoute::Index) {
        refuse(connection, PushWire::Refusal::Unavailable,
               QStringLiteral("the server is shutting down"), true);
        return;
    }

    const QUrlQuery query(QString::fromUtf8(request.query));
    const QByteArray queryToken
            = query.queryItemValue(QStringLiteral("token"), QUrl::FullyDecoded).toUtf8();
    // A browser's EventSource resends its first URL with a newer Last-Event-ID: it wins.
    const QByteArray lastEventId = route.kind == PushRoute::Events
            ? request.header(QByteArrayLiteral("last-event-id"))
            : QByteArray();
    PushResume resume;
    QString problem;
    if (!parseResume(query, lastEventId, &resume, &problem)) {
        refuse(connection, PushWire::Refusal::BadRequest, problem, request.upgrade);
        return;
    }

    switch (route.kind) {
    case PushRoute::Index: {
        QFile page(QStringLiteral(":/qtpush/demo/index.html"));
        page.open(QIODevice::ReadOnly);
        connection->respond(200, QByteArrayLiteral("text/html; charset=utf-8"), page.readAll());
        return;
    }
    case PushRoute::Health:
        connection->respond(200, QByteArrayLiteral("application/json"),
                            QByteArrayLiteral("{\"status\":\"ok\"}"));
        return;
    case PushRoute::Metrics:
        if (authorize(connection, request, queryToken, PushToken::Admin, {}, {}))
            connection->respond(200, QByteArrayLiteral("text/plain; version=0.0.4"), metricsText());
        return;
    case PushRoute::Sessions:
        if (authorize(connection, request, queryToken, PushToken::Admin, {}, {}))
            handleList(connection);
        return;
    case PushRoute::Session:
        if (!authorize(connection, request, queryToken, PushToken::Admin, route.session, {}))
            return;
        if (request.method == "DELETE") {
            registry->deleteSession(route.session);
            connection->respond(204, {}, {});
        } else {
            handleSession(connection, route.session);
        }
        return;
    case PushRoute::Client:
        if (!authorize(connection, request, queryToken, PushToken::Admin, route.session,
                       route.client))
            return;
        if (PushSession *session = registry->findSession(route.session))
            session->deleteClient(route.client);
        connection->respond(204, {}, {});
        return;
    case PushRoute::Push:
        if (authorize(connection, request, queryToken, PushToken::Push, route.session, {}))
            handlePush(connection, request, route.session);
        return;
    case PushRoute::WebSocket:
        if (!checkUpgrade(connection, request))
            return;
        if (const auto access = authorize(connection, request, queryToken, PushToken::Subscribe,
                                          route.session, route.client)) {
            handleUpgrade(connection, request, route.session, route.client, resume, *access);
        }
        return;
    case PushRoute::AdminEvents:
        if (!checkUpgrade(connection, request))
            return;
        if (const auto access = authorize(connection, request, queryToken, PushToken::Admin, {}, {})) {
            upgradeNow(connection, request, *access,
                       [this](PushWebSocketTransport *transport, const QByteArray &early) {
                           startAdminStream(transport, early);
                       });
        }
        return;
    case PushRoute::Events:
        if (authorize(connection, request, queryToken, PushToken::Subscribe, route.session,
                      route.client)) {
            handleEvents(connection, route.session, route.client, resume);
        }
        return;
    case PushRoute::Pull: {
        int waitSeconds = defaultWaitSeconds;
        if (query.hasQueryItem(QStringLiteral("wait"))) {
            bool ok = false;
            waitSeconds = query.queryItemValue(QStringLiteral("wait")).toInt(&ok);
            if (!ok || waitSeconds < 0) {
                refuse(connection, PushWire::Refusal::BadRequest,
                       QStringLiteral("wait must be a number of seconds"));
                return;
            }
            waitSeconds = std::min(waitSeconds, maxWaitSeconds);
        }
        if (authorize(connection, request, queryToken, PushToken::Subscribe, route.session,
                      route.client)) {
            handlePull(connection, route.session, route.client, resume, waitSeconds * 1000);
        }
        return;
    }
    case PushRoute::NotFound:
    case PushRoute::BadId:
        break;
    }
}

PushSession *PushServerPrivate::sessionForWrite(const QString &sessionKey)
{
    if (PushSession *existing = registry->findSession(sessionKey))
        return existing;
    // The server's settings apply to the sessions it creates; an application's own stay as set.
    PushSession *session = registry->session(sessionKey);
    if (session) {
        createdSessions.insert(sessionKey);
        session->setMaxBuffer(clientBuffer);
        session->setMaxBufferBytes(clientBufferBytes);
        session->setRetainedMessages(retainedMessages);
        session->setRetentionPeriod(retentionPeriodMs);
        session->setMaxRetainedBytes(maxRetainedBytes);
    }
    return session;
}

bool PushServerPrivate::mayUseSession(const QString &sessionKey, QString *why) const
{
    if (maxSessions <= 0 || registry->count() < maxSessions || registry->exists(sessionKey))
        return true;
    *why = QStringLiteral("the server is at its limit of %1 sessions").arg(maxSessions);
    return false;
}

void PushServerPrivate::enforceRetainedBudget()
{
    QList<std::pair<qint64, QPointer<PushSession>>> sizes;
    qint64 total = 0;
    const QVariantList ids = registry->sessions();
    for (const QVariant &id : ids) {
        PushSession *session = registry->findSession(id);
        const qint64 bytes = session ? session->retainedBytes() : 0;
        if (bytes > 0) {
            sizes.append({bytes, session});
            total += bytes;
        }
    }
    retainedEstimate = total;
    if (maxRetainedBytes <= 0 || total <= maxRetainedBytes)
        return;
    // Down to 7/8 of the budget, so that the next measurement is a while away. The largest
    // sessions are cut to one common size ("water-filling"): whoever pushes the most loses its
    // own oldest history first, and small sessions keep theirs (docs/server.md: Memory budget).
    const qint64 target = maxRetainedBytes - maxRetainedBytes / 8;
    std::sort(sizes.begin(), sizes.end(),
              [](const auto &a, const auto &b) { return a.first > b.first; });
    qint64 cap = 0;
    qint64 prefix = 0;
    for (qsizetype k = 1; k <= sizes.size(); ++k) {
        prefix += sizes.at(k - 1).first;
        const qint64 level = (target - (total - prefix)) / k; // the top k cut to level
        if (k == sizes.size() || level >= sizes.at(k).first) {
            cap = std::max<qint64>(level, 0);
            break;
        }
    }
    for (const auto &[bytes, session] : std::as_const(sizes)) {
        if (bytes <= cap)
            break;
        if (!session)
            continue;
        retainedEstimate -= session->trimRetained(cap);
        // A created session left empty goes at the next housekeeping, not at its old deadline.
        if (createdSessions.contains(session->keyString()))
            sessionExpiry.schedule(session->keyString(), PushClock::steadyMs());
    }
    // Once a minute at most: a flood of large pushes must not become a flood of logs.
    const qint64 now = PushClock::steadyMs();
    if (lastBudgetLogMs == 0 || now - lastBudgetLogMs > 60 * 1000) {
        lastBudgetLogMs = now;
        qCInfo(lcPushServer) << "retained messages reached" << total << "bytes of a budget of"
                             << maxRetainedBytes << "; the largest sessions now keep at most"
                             << cap << "bytes each";
    }
}

std::optional<PushWire::Refusal> PushServerPrivate::push(const QString &sessionKey,
                                                         const QVariant &data,
                                                         PushRateLimiter *limiter, quint64 *id,
                                                         int *clients, QString *why)
{
    if (!limiter->take(pushRateLimit, PushClock::steadyMs())) {
        *why = QStringLiteral("more than %1 pushes per second").arg(pushRateLimit);

        return PushWire::Refusal::TooManyRequests;
    }
    if (!mayUseSession(sessionKey, why))
        return PushWire::Refusal::Unavailable;
    PushSession *session = sessionForWrite(sessionKey);
    if (!session) {
        *why = QStringLiteral("the session could not be created");
        return PushWire::Refusal::Internal;
    }
    // Counted as decoded: a small body of many small values is many times larger in memory.
    const qint64 bytes = PushSession::estimateBytes(data);
    *id = session->push(data, bytes);
    *clients = session->count();
    ++pushesTotal;
    retainedEstimate += bytes;
    if (maxRetainedBytes > 0 && retainedEstimate > maxRetainedBytes)
        enforceRetainedBudget();
    return std::nullopt;
}

void PushServerPrivate::handlePush(PushHttpConnection *connection, const PushHttpRequest &request,
                                   const QString &sessionKey)
{
    QString problem;
    const std::optional<QVariant> data = PushOps::decodePushBody(
            request.header(QByteArrayLiteral("content-type")), request.body, &problem);
    if (!data) {
        refuse(connection, PushWire::Refusal::BadRequest, problem);
        return;
    }
    quint64 id = 0;
    int clients = 0;
    QString why;
    if (const auto refusal
        = push(sessionKey, *data, &httpConnections[connection], &id, &clients, &why)) {
        refuse(connection, *refusal, why, false,
               *refusal == PushWire::Refusal::TooManyRequests
                       ? QByteArrayLiteral("Retry-After: 1\r\n")
                       : QByteArray());
        return;
    }
    connection->respond(200, QByteArrayLiteral("application/json"),
                        "{\"id\":" + QByteArray::number(id)
                                + ",\"clients\":" + QByteArray::number(clients) + '}');
}

void PushServerPrivate::handleList(PushHttpConnection *connection)
{
    QJsonArray list;
    const QVariantList sessions = registry->sessions();
    for (const QVariant &id : sessions) {
        PushSession *session = registry->findSession(id);
        if (!session)
            continue;
        list.append(QJsonObject{{QStringLiteral("session"), session->keyString()},
                                {QStringLiteral("clients"), session->count()}});
    }
    connection->respond(200, QByteArrayLiteral("application/json"),
                        QJsonDocument(list).toJson(QJsonDocument::Compact));
}

void PushServerPrivate::handleSession(PushHttpConnection *connection, const QString &sessionKey)
{
    PushSession *session = registry->findSession(sessionKey);
    if (!session) {
        refuse(connection, PushWire::Refusal::NotFound,
               QStringLiteral("no session %1").arg(sessionKey));
        return;
    }
    QJsonArray clients;
    const QVariantList ids = session->clients();
    for (const QVariant &id : ids) {
        PushClient *client = session->findClient(id);
        if (!client)
            continue;
        const auto attachment = attachments.value(attachmentKey(sessionKey, client->keyString()));
        const QByteArray transport
                = attachment ? transportName(attachment->transport) : QByteArrayLiteral("local");
        clients.append(QJsonObject{{QStringLiteral("client"), client->keyString()},
                                   {QStringLiteral("transport"), QString::fromLatin1(transport)},
                                   {QStringLiteral("pending"), client->pending()}});
    }
    const QJsonObject body{{QStringLiteral("session"), session->keyString()},
                           {QStringLiteral("clients"), clients}};
    connection->respond(200, QByteArrayLiteral("application/json"),
                        QJsonDocument(body).toJson(QJsonDocument::Compact));
}

PushAttachment *PushServerPrivate::attach(const QString &sessionKey, const QString &clientKey,
                                          PushTransport transport, QObject *owner,
                                          const PushResume &resume,
                                          QList<PushSession::Message> *catchUp, QString *why)
{
    if (!mayUseSession(sessionKey, why))
        return nullptr;
    PushSession *session = sessionForWrite(sessionKey);
    if (!session) {
        *why = QStringLiteral("the session could not be created");
        return nullptr;
    }
    if (maxClientsPerSession > 0 && !session->exists(clientKey)
        && session->count() >= maxClientsPerSession) {
        *why = QStringLiteral("session %1 is at its limit of %2 clients")
                       .arg(sessionKey)
                       .arg(maxClientsPerSession);
        return nullptr;
    }
    const QString key = attachmentKey(sessionKey, clientKey);
    std::shared_ptr<PushAttachment> &attachment = attachments[key];
    if (attachment && attachment->owner) // the same client connects again: the newest wins
        closeOwner(attachment.get(), PushProtocol::closeReplaced,
                   QStringLiteral("replaced by a newer connection"));
    const bool existed = session->exists(clientKey);
    // Read before the client exists: a push in between (from another thread) then shows as a
    // gap, never as a message silently skipped.
    const quint64 lastBefore = session->lastMessageId();
    PushClient *client = session->newClient(clientKey);
    if (!client) {
        attachments.remove(key);
        *why = QStringLiteral("the client could not be created");
        return nullptr;
    }
    if (!attachment || attachment->client != client) {
        attachment = std::make_shared<PushAttachment>();
        attachment->client = client;
        attachment->sessionKey = sessionKey;
        attachment->clientKey = clientKey;
        attachment->sessionJson = PushWire::jsonString(session->keyString());
        attachment->sessionEpoch = session->epoch();
        QObject::connect(client, &PushClient::closed, q, [this, key] { onClientClosed(key); });
        // A new client owes nothing older; one the application made may have an older queue.
        attachment->expected = existed ? 0 : lastBefore + 1;
    }
    attachment->transport = transport;
    attachment->owner = owner;
    attachment->detachedAtMs = 0;
    attachment->detachedSteadyMs = 0;
    graceExpiry.cancel(key);
    attachment->connectedSinceMs = PushClock::wallMs();
    *catchUp = catchUpMessages(attachment.get(), resume);
    return attachment.get();
}

void PushServerPrivate::detach(PushAttachment *attachment, QObject *owner)
{
    if (attachment->owner != owner)
        return;
    attachment->owner = nullptr;
    attachment->detachedAtMs = PushClock::wallMs();
    attachment->detachedSteadyMs = PushClock::steadyMs();
    graceExpiry.schedule(attachmentKey(attachment->sessionKey, attachment->clientKey),
                         attachment->detachedSteadyMs + clientGracePeriodMs + 1);
    attachment->transport = PushTransport::None; // protocol.md: listed as none while it waits
}

void PushServerPrivate::closeOwner(PushAttachment *attachment, int webSocketCode,
                                   const QString &reason)
{
    QObject *owner = attachment->owner;
    detach(attachment, owner);
    if (auto *stream = qobject_cast<PushStreamTransport *>(owner)) {
        stream->release();
        stream->closeConnection(webSocketCode, reason);
    } else if (auto *poll = qobject_cast<PushLongPoll *>(owner)) {
        poll->finish();
    }
}

void PushServerPrivate::onClientClosed(const QString &key)
{
    // The client was deleted (DELETE, its grace period ran out, or by the application).
    const std::shared_ptr<PushAttachment> attachment = attachments.take(key);
    graceExpiry.cancel(key);
    if (attachment && attachment->owner)
        closeOwner(attachment.get(), PushProtocol::closeClientDeleted,
                   QStringLiteral("the client was deleted"));
}

void PushServerPrivate::handleUpgrade(PushHttpConnection *connection,
                                      const PushHttpRequest &request, const QString &sessionKey,
                                      const QString &clientKey, const PushResume &resume,
                                      const PushAccess &access)
{
    QString why;
    if (!mayUseSession(sessionKey, &why)) {
        refuse(connection, PushWire::Refusal::Unavailable, why, true);
        return;
    }
    PushSession *session = registry->findSession(sessionKey);
    if (maxClientsPerSession > 0 && session && !session->exists(clientKey)
        && session->count() >= maxClientsPerSession) {
        refuse(connection, PushWire::Refusal::Unavailable,
               QStringLiteral("session %1 is at its limit of %2 clients")
                       .arg(sessionKey)
                       .arg(maxClientsPerSession),
               true);
        return;
    }
    upgradeNow(connection, request, access,
               [this, sessionKey, clientKey, resume](PushWebSocketTransport *transport,
                                                     const QByteArray &early) {
                   startWebSocket(transport, early, sessionKey, clientKey, resume);
               });
}

bool PushServerPrivate::checkUpgrade(PushHttpConnection *connection,
                                     const PushHttpRequest &request)
{
    if (!request.upgrade || !request.http11
        || request.header(QByteArrayLiteral("upgrade")).toLower() != "websocket"
        || request.header(QByteArrayLiteral("sec-websocket-key")).isEmpty()) {
        refuse(connection, PushWire::Refusal::BadRequest,
               QStringLiteral("this path takes an HTTP/1.1 WebSocket upgrade (RFC 6455)"),
               true);
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
        std::function<void(PushWebSocketTransport *, const QByteArray &)> begin)
{
    const QByteArray acceptKey = PushWebSocket::acceptKey(
            request.header(QByteArrayLiteral("sec-websocket-key")).trimmed());
    QByteArray early; // frames sent behind the request
    PushConnectionIo *io = connection->takeIo(&early);
    // From here the transport counts the connection, until it is destroyed.
    QObject::disconnect(io, &QObject::destroyed, q, nullptr);
    io->setHalfCloseAllowed(false); // a WebSocket peer that half-closes is gone
    io->setReadPaused(false);
    // RFC 6455 §4.2.2. No subprotocol and no extension is offered (protocol.md: WebSocket
    // details).
    io->write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
              "Connection: Upgrade\r\nSec-WebSocket-Accept: "
              + acceptKey + "\r\n\r\n");
    auto *transport = new PushWebSocketTransport(this, io, access);
    webSockets.insert(transport);
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
    transport->setAttachment(attachment);
    transport->start(catchUp);
    transport->begin(early);
}

void PushServerPrivate::startAdminStream(PushWebSocketTransport *transport,
                                         const QByteArray &early)
{
    auto *stream = new PushAdminStream(this, transport);
    stream->start(adminSnapshot());
    transport->begin(early);
}

void PushServerPrivate::webSocketEnded(PushWebSocketTransport *transport)
{
    webSockets.remove(transport);
    if (PushAttachment *attachment = transport->attachment())
        detach(attachment, transport);
    transport->release();
    transport->deleteLater();
}

void PushServerPrivate::handleEvents(PushHttpConnection *connection, const QString &sessionKey,
                                     const QString &clientKey, const PushResume &resume)
{
    auto *stream = new PushSseTransport(this, nullptr, connection);
    QList<PushSession::Message> catchUp;
    QString why;
    PushAttachment *attachment
            = attach(sessionKey, clientKey, PushTransport::Sse, stream, resume, &catchUp, &why);
    if (!attachment) {
        delete stream;
        refuse(connection, PushWire::Refusal::Unavailable, why);
        return;
    }
    eventStreams.insert(stream);
    stream->setAttachment(attachment);
    stream->begin();
    stream->start(catchUp);
}

void PushServerPrivate::sseEnded(PushSseTransport *transport)
{
    eventStreams.remove(transport);
    if (PushAttachment *attachment = transport->attachment())
        detach(attachment, transport);
    transport->release();
    transport->deleteLater();
}

void PushServerPrivate::handlePull(PushHttpConnection *connection, const QString &sessionKey,
                                   const QString &clientKey, const PushResume &resume, int waitMs)
{
    auto *poll = new PushLongPoll(this, nullptr, connection);
    QList<PushSession::Message> catchUp;
    QString why;
    PushAttachment *attachment
            = attach(sessionKey, clientKey, PushTransport::Poll, poll, resume, &catchUp, &why);
    if (!attachment) {
        delete poll;
        refuse(connection, PushWire::Refusal::Unavailable, why);
        return;
    }
    longPolls.insert(connection, poll);
    poll->setAttachment(attachment);
    poll->start(catchUp, waitMs);
}

void PushServerPrivate::pollEnded(PushLongPoll *poll)
{
    longPolls.remove(poll->connection());
    if (PushAttachment *attachment = poll->attachment())
        detach(attachment, poll);
    poll->release();
    poll->deleteLater();
}

PushAdminClient PushServerPrivate::adminClient(const QString &sessionKey, PushClient *client) const
{
    PushAdminClient figures;
    figures.pending = client->pending();
    const auto attachment = attachments.value(attachmentKey(sessionKey, client->keyString()));
    if (!attachment) {
        figures.transport = QByteArrayLiteral("local");
        return figures;
    }
    figures.transport = transportName(attachment->transport);
    figures.delivered = qint64(attachment->delivered);
    if (attachment->transport == PushTransport::None)
        figures.disconnectedSinceMs = attachment->detachedAtMs;
    else
        figures.connectedSinceMs = attachment->connectedSinceMs;
    return figures;
}

bool PushServerPrivate::fitsMessageLimit(qsizetype frameBytes, const QVariant &data) const
{
    return frameBytes <= maxMessageBytes || PushWire::encodeJson(data).size() <= maxMessageBytes;
}

QByteArray PushServerPrivate::metricsText() const
{
    // Prometheus text exposition format 0.0.4.
    int clients = 0;
    qint64 retainedBytes = 0;
    const QVariantList sessions = registry->sessions();
    for (const QVariant &id : sessions) {
        if (PushSession *session = registry->findSession(id)) {
            clients += session->count();
            retainedBytes += session->retainedBytes();
        }
    }
    const qint64 rssBytes = residentBytes();
    QByteArray text;
    auto metric = [&text](const char *name, const char *type, const char *help) {
        text.append("# HELP ").append(name).append(' ').append(help).append('\n');
        text.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    };
    metric("qtpush_connections", "gauge", "Open TCP connections.");
    text.append("qtpush_connections ").append(QByteArray::number(tcpConnections)).append('\n');
    metric("qtpush_websockets", "gauge", "Open WebSocket connections.");
    text.append("qtpush_websockets ").append(QByteArray::number(webSockets.size())).append('\n');
    metric("qtpush_sessions", "gauge", "Sessions in the registry.");
    text.append("qtpush_sessions ").append(QByteArray::number(sessions.size())).append('\n');
    metric("qtpush_clients", "gauge", "Clients of all sessions, network and in-process.");
    text.append("qtpush_clients ").append(QByteArray::number(clients)).append('\n');
    metric("qtpush_pushes_total", "counter", "Messages pushed through this server.");
    text.append("qtpush_pushes_total ").append(QByteArray::number(pushesTotal)).append('\n');
    metric("qtpush_deliveries_total", "counter", "Messages written to network clients.");
    for (PushTransport transport :
         {PushTransport::WebSocket, PushTransport::Sse, PushTransport::Poll}) {
        text.append("qtpush_deliveries_total{transport=\"").append(transportName(transport));
        text.append("\"} ")
                .append(QByteArray::number(deliveriesTotal[int(transport)]))
                .append('\n');
    }
    metric("qtpush_gaps_total", "counter", "Gap frames sent for messages a client missed.");
    text.append("qtpush_gaps_total ").append(QByteArray::number(gapsTotal)).append('\n');
    metric("qtpush_http_requests_total", "counter", "HTTP requests parsed.");
    text.append("qtpush_http_requests_total ")
            .append(QByteArray::number(requestsTotal))
            .append('\n');
    metric("qtpush_refusals_total", "counter", "Requests and frames refused, by error code.");
    for (auto it = refusalsTotal.cbegin(); it != refusalsTotal.cend(); ++it) {
        text.append("qtpush_refusals_total{code=\"").append(it.key()).append("\"} ");
        text.append(QByteArray::number(it.value())).append('\n');
    }
    metric("qtpush_retained_bytes", "gauge",
           "Bytes of messages sessions retain for resumption, counted as decoded.");
    text.append("qtpush_retained_bytes ").append(QByteArray::number(retainedBytes)).append('\n');
    metric("qtpush_resident_memory_bytes", "gauge", "Resident memory of the process.");
    text.append("qtpush_resident_memory_bytes ").append(QByteArray::number(rssBytes)).append('\n');
    metric("qtpush_uptime_seconds", "gauge", "Seconds since the server was created.");
    text.append("qtpush_uptime_seconds ")
            .append(QByteArray::number((PushClock::steadyMs() - startedAtMs) / 1000))
            .append('\n');
    return text;
}

void PushServerPrivate::dropAll()
{
    destroying = true;
    // Everything the server made is its child, also what waits for deleteLater() still.
    const QList<QObject *> children = q->findChildren<QObject *>(Qt::FindDirectChildrenOnly);
    for (QObject *child : children) {
        child->disconnect();
    }
    webSockets.clear();
    eventStreams.clear();
    longPolls.clear();
    httpConnections.clear();
    qDeleteAll(children);
}

void PushServerPrivate::checkShutdownFinished()
{
    if (!shuttingDown || !shutdownTimer.isActive() || tcpConnections > 0)
        return;
    shutdownTimer.stop();
    qCInfo(lcPushServer) << "shutdown complete";
    Q_EMIT q->shutdownFinished();
}

// PushServer

PushServer::PushServer(PushRegistry *registry, QObject *parent)
    : QObject(parent), d(std::make_unique<PushServerPrivate>(this, registry))
{ }

PushServer::~PushServer()
{
    abort();
    d->dropAll();
}

PushRegistry *PushServer::registry() const
{
    return d->registry;
}

bool PushServer::listen(const QHostAddress &address, quint16 port)
{
    if (isListening()) {
        qCWarning(lcPushServer) << "PushServer::listen: already listening on" << serverAddress()
                                << serverPort();
        return false;
    }
    if (d->secret.isEmpty() && !d->allowInsecureRemote && !address.isLoopback()) {
        // protocol.md: Access. Anyone who reaches the port could read every session.
        d->setError(ListenError,
                    QStringLiteral("refusing to listen on %1 without a secret; set one, or allow "
                                   "insecure remote access explicitly")
                            .arg(address.toString()));
        return false; // errorString() says why; the caller reports it (no second log line)
    }
#if QT_CONFIG(ssl)
    if (d->sslConfiguration) {
        // Checked now: a server that cannot complete a handshake must not seem to listen.
        const char *problem = !QSslSocket::supportsSsl()           ? "this Qt has no TLS backend"
                : d->sslConfiguration->localCertificate().isNull() ? "no certificate is set"
                : d->sslConfiguration->privateKey().isNull()       ? "no private key is set"
                                                                   : nullptr;
        if (problem) {
            d->setError(TlsError,
                        QStringLiteral("cannot serve TLS on %1 port %2: %3")
                                .arg(address.toString())
                                .arg(port)
                                .arg(QLatin1String(problem)));
            return false;
        }
        auto server = std::make_unique<QSslServer>();
        server->setSslConfiguration(*d->sslConfiguration);
        QObject::connect(server.get(), &QSslServer::errorOccurred, this,
                         [](QSslSocket *socket, QAbstractSocket::SocketError error) {
                             qCInfo(lcPushServer) << "TLS handshake with" << socket->peerAddress()
                                                  << "failed:" << error;
                         });
        d->listener = std::move(server);
    } else
#endif
    {
        d->listener = std::make_unique<QTcpServer>();
    }
    // Connections are taken as fast as they come; the kernel's backlog queues the rest.
    d->listener->setMaxPendingConnections(std::numeric_limits<int>::max());
    d->listener->setListenBacklogSize(4096); // bursts of connects (the kernel caps it: somaxconn)
    QObject::connect(d->listener.get(), &QTcpServer::pendingConnectionAvailable, this,
                     [this] { d->onNewConnection(); });
    if (!d->listener->listen(address, port)) {
        d->setError(ListenError,
                    QStringLiteral("cannot listen on %1 port %2: %3")
                            .arg(address.toString())
                            .arg(port)
                            .arg(d->listener->errorString()));
        d->listener.reset();
        return false;
    }
    d->shuttingDown = false;
    d->housekeepingTimer.start();
    qCInfo(lcPushServer, "listening on %s port %u", qUtf8Printable(serverAddress().toString()),
           unsigned(serverPort()));
    Q_EMIT listeningChanged();
    return true;
}

bool PushServer::isListening() const
{
    return d->listener && d->listener->isListening();
}

QHostAddress PushServer::serverAddress() const
{
    return d->listener ? d->listener->serverAddress() : QHostAddress();
}

quint16 PushServer::serverPort() const
{
    return d->listener ? d->listener->serverPort() : 0;
}

void PushServer::shutdown(int timeoutMs)
{
    qCInfo(lcPushServer) << "shutting down:" << d->tcpConnections << "connections to close";
    const bool wasListening = isListening();
    if (d->listener)
        d->listener->close();
    d->shuttingDown = true;
    d->shutdownTimer.start(timeoutMs);
    const auto sockets = d->webSockets.values();
    for (PushWebSocketTransport *transport : sockets)
        transport->closeConnection(PushWebSocket::closeGoingAway,
                                   QStringLiteral("the server is shutting down"));
    const auto polls = d->longPolls.values();
    for (PushLongPoll *poll : polls)
        poll->finish();
    const auto streams = d->eventStreams.values();
    for (PushSseTransport *stream : streams)
        stream->closeConnection(PushWebSocket::closeGoingAway, {});
    const auto connections = d->httpConnections.keys();
    for (PushHttpConnection *connection : connections) {
        if (d->httpConnections.contains(connection))
            connection->closeWhenIdle();
    }
    if (wasListening)
        Q_EMIT listeningChanged();
    d->checkShutdownFinished();
}

void PushServer::abort()
{
    const bool wasListening = isListening();
    if (d->listener)
        d->listener->close();
    d->housekeepingTimer.stop();
    const auto sockets = d->webSockets.values();
    for (PushWebSocketTransport *transport : sockets)
        transport->abort();
    const auto connections = d->httpConnections.keys();
    for (PushHttpConnection *connection : connections) {
        if (d->httpConnections.contains(connection))
            connection->abort();
    }
    const auto streams = d->eventStreams.values();
    for (PushSseTransport *stream : streams)
        stream->abort();
    if (wasListening)
        Q_EMIT listeningChanged();
}

int PushServer::connectionCount() const
{
    return d->tcpConnections;
}

QByteArray PushServer::secret() const
{
    return d->secret;
}

void PushServer::setSecret(const QByteArray &secret)
{
    if (!secret.isEmpty() && secret.size() < 32) {
        // RFC 7518 §3.2: an HS256 key must have at least 256 bits.
        qCWarning(lcPushServer,
                  "PushServer::setSecret: a secret of %d byte%s is weak; use at "
                  "least 32 random bytes",
                  int(secret.size()), secret.size() == 1 ? "" : "s");
    }
    d->secret = secret;
}

void PushServer::setAllowInsecureRemote(bool allow)
{
    d->allowInsecureRemote = allow;
}

void PushServer::setSslConfiguration(const QSslConfiguration &configuration)
{
    d->sslConfiguration = configuration;
}

qint64 PushServer::maxMessageBytes() const
{
    return d->maxMessageBytes;
}

void PushServer::setMaxMessageBytes(qint64 bytes)
{
    if (bytes < 1) {
        qCWarning(lcPushServer) << "PushServer::setMaxMessageBytes: refusing" << bytes;
        return;
    }
    d->maxMessageBytes = bytes;
}

int PushServer::maxConnections() const
{
    return d->maxConnections;
}

void PushServer::setMaxConnections(int connections)
{
    d->maxConnections = std::max(0, connections);
}

int PushServer::maxClientsPerSession() const
{
    return d->maxClientsPerSession;
}

void PushServer::setMaxClientsPerSession(int clients)
{
    d->maxClientsPerSession = std::max(0, clients);
}

double PushServer::pushRateLimit() const
{
    return d->pushRateLimit;
}

void PushServer::setPushRateLimit(double pushesPerSecond)
{
    d->pushRateLimit = std::max(0.0, pushesPerSecond);
}

int PushServer::clientGracePeriod() const
{
    return d->clientGracePeriodMs;
}

void PushServer::setClientGracePeriod(int milliseconds)
{
    d->clientGracePeriodMs = std::max(0, milliseconds);
    d->rescheduleGracePeriods();
}

int PushServer::pingInterval() const
{
    return d->pingIntervalMs;
}

void PushServer::setPingInterval(int milliseconds)
{
    if (milliseconds < 100) {
        qCWarning(lcPushServer) << "PushServer::setPingInterval: refusing" << milliseconds
                                << "ms (at least 100)";
        return;
    }
    d->pingIntervalMs = milliseconds;
}

int PushServer::clientBuffer() const
{
    return d->clientBuffer;
}

void PushServer::setClientBuffer(int messages)
{
    if (messages < 1) {
        qCWarning(lcPushServer) << "PushServer::setClientBuffer: refusing" << messages;
        return;
    }
    d->clientBuffer = messages;
}

int PushServer::retainedMessages() const
{
    return d->retainedMessages;
}

void PushServer::setRetainedMessages(int messages)
{
    d->retainedMessages = std::max(0, messages);
}

int PushServer::retentionPeriod() const
{
    return d->retentionPeriodMs;
}

void PushServer::setRetentionPeriod(int milliseconds)
{
    d->retentionPeriodMs = std::max(0, milliseconds);
}

qint64 PushServer::clientBufferBytes() const
{
    return d->clientBufferBytes;
}

void PushServer::setClientBufferBytes(qint64 bytes)
{
    d->clientBufferBytes = std::max<qint64>(0, bytes);
}

qint64 PushServer::maxRetainedBytes() const
{
    return d->maxRetainedBytes;
}

void PushServer::setMaxRetainedBytes(qint64 bytes)
{
    d->maxRetainedBytes = std::max<qint64>(0, bytes);
}

int PushServer::maxSessions() const
{
    return d->maxSessions;
}

void PushServer::setMaxSessions(int sessions)
{
    d->maxSessions = std::max(0, sessions);
}

PushServer::Error PushServer::error() const
{
    return d->error;
}

QString PushServer::errorString() const
{
    return d->errorString;
}
