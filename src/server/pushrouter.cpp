// SPDX-License-Identifier: MIT
#include "pushrouter_p.h"

#include "pushaccess_p.h"

#include <QtCore/QUrlQuery>

#include <algorithm>

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

PushRouting refusal(PushRouting routing, PushWire::Refusal refusal, const QString &message,
                    bool closeAfter)
{
    routing.action = PushRouting::Refuse;
    routing.refusal = refusal;
    routing.message = message;
    routing.closeAfter = closeAfter;
    return routing;
}

} // namespace

std::optional<PushToken::Scope> PushRouter::requiredScope(PushRoute::Kind kind)
{
    switch (kind) {
    case PushRoute::Metrics:
    case PushRoute::Sessions:
    case PushRoute::Session:
    case PushRoute::Client:
    case PushRoute::AdminEvents:
        return PushToken::Admin;
    case PushRoute::Push:
        return PushToken::Push;
    case PushRoute::WebSocket:
    case PushRoute::Events:
    case PushRoute::Pull:
        return PushToken::Subscribe;
    case PushRoute::Index:
    case PushRoute::Health:
    case PushRoute::NotFound:
    case PushRoute::BadId:
        break;
    }
    return std::nullopt;
}

PushRouting PushRouter::route(const PushHttpRequest &request, const QByteArray &secret,
                              bool shuttingDown)
{
    PushRouting routing;
    routing.route = PushRoute::parse(request.path);
    const PushRoute &route = routing.route;
    if (route.kind == PushRoute::NotFound) {
        return refusal(
                routing, PushWire::Refusal::NotFound,
                QStringLiteral("no such path: %1").arg(QString::fromLatin1(request.path.left(200))),
                request.upgrade);
    }
    if (route.kind == PushRoute::BadId)
        return refusal(routing, PushWire::Refusal::BadRequest, route.problem, request.upgrade);
    const QByteArray origin = request.header(QByteArrayLiteral("origin"));
    if (!pushOriginAllowed(secret, origin)) {
        return refusal(routing, PushWire::Refusal::Forbidden,
                       QStringLiteral("a server without a secret serves pages from loopback only"),
                       request.upgrade);
    }
    if (request.method == "OPTIONS" && !origin.isEmpty()) {
        // A browser's CORS preflight (Fetch standard): any origin may call, with a token.
        routing.action = PushRouting::Respond;
        routing.status = 204;
        routing.headers = "Access-Control-Allow-Methods: " + route.allowHeader()
                + ", OPTIONS\r\nAccess-Control-Allow-Headers: Authorization, "
                  "Content-Type, Last-Event-ID\r\nAccess-Control-Max-Age: "
                  "600\r\n";
        return routing;
    }
    if (!route.allows(request.method)) {
        routing.action = PushRouting::Respond;
        routing.countsAsRefusal = true;
        routing.refusal = PushWire::Refusal::MethodNotAllowed;
        routing.status = 405;
        routing.contentType = QByteArrayLiteral("application/json");
        routing.body = PushWire::errorBody(
                PushWire::Refusal::MethodNotAllowed,
                QStringLiteral("%1 is not allowed here").arg(QString::fromLatin1(request.method)));
        routing.headers = "Allow: " + route.allowHeader() + "\r\n";
        return routing;
    }
    if (shuttingDown && route.kind != PushRoute::Health && route.kind != PushRoute::Index) {
        return refusal(routing, PushWire::Refusal::Unavailable,
                       QStringLiteral("the server is shutting down"), true);
    }

    const QUrlQuery query(QString::fromUtf8(request.query));
    routing.queryToken = query.queryItemValue(QStringLiteral("token"), QUrl::FullyDecoded).toUtf8();
    // A browser's EventSource resends its first URL with a newer Last-Event-ID: it wins.
    const QByteArray lastEventId = route.kind == PushRoute::Events
            ? request.header(QByteArrayLiteral("last-event-id"))
            : QByteArray();
    QString problem;
    if (!parseResume(query, lastEventId, &routing.resume, &problem))
        return refusal(routing, PushWire::Refusal::BadRequest, problem, request.upgrade);
    if (route.kind == PushRoute::Pull) {
        int waitSeconds = defaultWaitSeconds;
        if (query.hasQueryItem(QStringLiteral("wait"))) {
            bool ok = false;
            waitSeconds = query.queryItemValue(QStringLiteral("wait")).toInt(&ok);
            if (!ok || waitSeconds < 0) {
                return refusal(routing, PushWire::Refusal::BadRequest,
                               QStringLiteral("wait must be a number of seconds"), false);
            }
            waitSeconds = std::min(waitSeconds, maxWaitSeconds);
        }
        routing.waitMs = waitSeconds * 1000;
    }
    routing.scope = requiredScope(route.kind);
    return routing;
}
