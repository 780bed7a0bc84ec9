// SPDX-License-Identifier: MIT
#include "pushroute_p.h"

#include "pushprotocol_p.h"

#include <QtCore/QList>
#include <QtCore/QStringDecoder>

namespace {

using PushProtocol::maxIdBytes; // protocol.md: Names

bool isHexDigit(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool decodeId(const QByteArray &segment, QString *id, QString *problem)
{
    // QByteArray::fromPercentEncoding() turns "%" and two non-hex characters into some byte
    // ("%g0" into "p"), which would give one id several spellings (RFC 3986 §2.1: "%" HEXDIG
    // HEXDIG).
    for (qsizetype i = segment.indexOf('%'); i >= 0; i = segment.indexOf('%', i + 1)) {
        if (i + 2 >= segment.size() || !isHexDigit(segment.at(i + 1))
            || !isHexDigit(segment.at(i + 2))) {
            *problem = QStringLiteral("an id must be percent-encoded as %XX with hex digits");
            return false;
        }
    }
    const QByteArray bytes = QByteArray::fromPercentEncoding(segment);
    if (bytes.isEmpty() || bytes.size() > maxIdBytes) {
        *problem = QStringLiteral("an id must be 1 to %1 bytes").arg(maxIdBytes);
        return false;
    }
    QStringDecoder decoder(QStringDecoder::Utf8, QStringDecoder::Flag::Stateless);
    *id = decoder(bytes);
    if (decoder.hasError()) {
        *problem = QStringLiteral("an id must be UTF-8");
        return false;
    }
    return true;
}

} // namespace

bool PushRoute::isValidId(const QString &id, QString *problem)
{
    const qsizetype bytes = id.toUtf8().size(); // a QString from JSON is valid Unicode already
    if (bytes == 0 || bytes > maxIdBytes) {
        *problem = QStringLiteral("an id must be 1 to %1 bytes").arg(maxIdBytes);
        return false;
    }
    return true;
}

PushRoute PushRoute::parse(const QByteArray &path)
{
    PushRoute route;
    if (path == "/") {
        route.kind = Index;
        return route;
    }
    if (path == "/healthz") {
        route.kind = Health;
        return route;
    }
    if (path == "/metrics") {
        route.kind = Metrics;
        return route;
    }
    if (path == PushProtocol::adminEventsPath) {
        route.kind = AdminEvents;
        return route;
    }
    const QList<QByteArray> parts = path.split('/');
    // parts[0] is the empty text before the leading slash.
    if (parts.size() < 3 || !parts.at(0).isEmpty() || parts.at(1) != "v1"
        || parts.at(2) != "sessions")
        return route;
    if (parts.size() == 3) {
        route.kind = Sessions;
        return route;
    }
    Kind kind = NotFound;
    if (parts.size() == 4)
        kind = Session;
    else if (parts.size() == 5 && parts.at(4) == "push")
        kind = Push;
    else if (parts.size() == 6 && parts.at(4) == "clients")
        kind = Client;
    else if (parts.size() == 7 && parts.at(4) == "clients" && parts.at(6) == "ws")
        kind = WebSocket;
    else if (parts.size() == 7 && parts.at(4) == "clients" && parts.at(6) == "events")
        kind = Events;
    else if (parts.size() == 7 && parts.at(4) == "clients" && parts.at(6) == "pull")
        kind = Pull;
    if (kind == NotFound)
        return route;
    if (!decodeId(parts.at(3), &route.session, &route.problem)
        || (parts.size() >= 6 && !decodeId(parts.at(5), &route.client, &route.problem))) {
        route.kind = BadId;
        return route;
    }
    route.kind = kind;
    return route;
}

bool PushRoute::allows(const QByteArray &method) const
{
    switch (kind) {
    case Push:
        return method == "POST";
    case Session:
        return method == "GET" || method == "DELETE";
    case Client:
        return method == "DELETE";
    case Index:
    case Health:
    case Metrics:
    case Sessions:
    case WebSocket:
    case Events:
    case Pull:
    case AdminEvents:
        return method == "GET";
    case NotFound:
    case BadId:
        return true;
    }
    return false;
}

QByteArray PushRoute::allowHeader() const
{
    switch (kind) {
    case Push:
        return QByteArrayLiteral("POST");
    case Session:
        return QByteArrayLiteral("GET, DELETE");
    case Client:
        return QByteArrayLiteral("DELETE");
    default:
        return QByteArrayLiteral("GET");
    }
}
