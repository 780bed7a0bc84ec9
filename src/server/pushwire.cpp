// SPDX-License-Identifier: MIT
#include "pushwire_p.h"

#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QJsonValue>

namespace PushWire {

namespace {

struct RefusalRow
{
    Refusal refusal;
    int status;
    int closeCode; // RFC 6455 §7.4.1
    const char *code;
};

// The one table of protocol.md: Errors.
using namespace PushProtocol;
constexpr RefusalRow refusalTable[] = {
        {Refusal::BadRequest, 400, closePolicyViolated, errorBadRequest},
        {Refusal::Unauthorized, 401, closePolicyViolated, errorUnauthorized},
        {Refusal::Forbidden, 403, closePolicyViolated, errorForbidden},
        {Refusal::NotFound, 404, closePolicyViolated, errorNotFound},
        {Refusal::MethodNotAllowed, 405, closePolicyViolated, errorMethodNotAllowed},
        {Refusal::TooLarge, 413, closeTooBig, errorTooLarge},
        {Refusal::HeadersTooLarge, 431, closeTooBig, errorHeadersTooLarge},
        {Refusal::RequestTimeout, 408, closePolicyViolated, errorTimeout},
        {Refusal::TooManyRequests, 429, closePolicyViolated, errorRateLimited},
        {Refusal::Unavailable, 503, closeTryAgainLater, errorUnavailable},
        {Refusal::Internal, 500, closeInternalError, errorInternal},
};

const RefusalRow &row(Refusal refusal)
{
    for (const RefusalRow &r : refusalTable) {
        if (r.refusal == refusal)
            return r;
    }
    Q_UNREACHABLE();
    return refusalTable[0];
}

} // namespace

int httpStatus(Refusal refusal)
{
    return row(refusal).status;
}

int closeCode(Refusal refusal)
{
    return row(refusal).closeCode;
}

QByteArray errorCode(Refusal refusal)
{
    return QByteArray(row(refusal).code);
}

QByteArray reasonPhrase(int status)
{
    switch (status) {
    case 200:
        return QByteArrayLiteral("OK");
    case 204:
        return QByteArrayLiteral("No Content");
    case 400:
        return QByteArrayLiteral("Bad Request");
    case 401:
        return QByteArrayLiteral("Unauthorized");
    case 403:
        return QByteArrayLiteral("Forbidden");
    case 404:
        return QByteArrayLiteral("Not Found");
    case 405:
        return QByteArrayLiteral("Method Not Allowed");
    case 408:
        return QByteArrayLiteral("Request Timeout");
    case 413:
        return QByteArrayLiteral("Payload Too Large");
    case 429:
        return QByteArrayLiteral("Too Many Requests");
    case 431:
        return QByteArrayLiteral("Request Header Fields Too Large");
    case 500:
        return QByteArrayLiteral("Internal Server Error");
    case 503:
        return QByteArrayLiteral("Service Unavailable");
    }
    return QByteArrayLiteral("Status");
}

QByteArray errorBody(Refusal refusal, const QString &message)
{
    const QJsonObject error{{QStringLiteral("code"), QString::fromLatin1(row(refusal).code)},
                            {QStringLiteral("message"), message}};
    return QJsonDocument(QJsonObject{{QStringLiteral("error"), error}})
            .toJson(QJsonDocument::Compact);
}

QByteArray encodeJson(const QVariant &value)
{
    // QJsonDocument holds only objects and arrays: wrap any value in an array, then unwrap.
    const QJsonValue json = QJsonValue::fromVariant(value);
    if (json.isObject())
        return QJsonDocument(json.toObject()).toJson(QJsonDocument::Compact);
    if (json.isArray())
        return QJsonDocument(json.toArray()).toJson(QJsonDocument::Compact);
    const QByteArray wrapped = QJsonDocument(QJsonArray{json}).toJson(QJsonDocument::Compact);
    return wrapped.mid(1, wrapped.size() - 2);
}

bool decodeJson(const QByteArray &text, QVariant *value, QString *error)
{
    QJsonParseError parseError;
    // RFC 8259 §8.1: a parser may ignore an initial byte order mark. QJsonDocument::fromJson()
    // does, so the WebSocket frames take one; inside the brackets it would be an error.
    const QByteArrayView bom("\xEF\xBB\xBF");
    const QByteArray wrapped = '[' + (text.startsWith(bom) ? text.sliced(bom.size()) : text) + ']';
    const QJsonDocument document = QJsonDocument::fromJson(wrapped, &parseError);
    if (parseError.error != QJsonParseError::NoError || !document.isArray()
        || document.array().size() != 1) {
        if (error) {
            *error = parseError.error != QJsonParseError::NoError
                    ? parseError.errorString()
                    : QStringLiteral("expected exactly one JSON value");
        }
        return false;
    }
    *value = document.array().first().toVariant();
    return true;
}

QByteArray jsonString(const QString &text)
{
    return encodeJson(QVariant(text));
}

QByteArray messageFrame(quint64 id, const QByteArray &sessionJson, const QByteArray &dataJson)
{
    QByteArray frame;
    frame.reserve(32 + sessionJson.size() + dataJson.size());
    frame.append("{\"id\":").append(QByteArray::number(id)).append(",\"session\":");
    frame.append(sessionJson).append(",\"data\":").append(dataJson).append('}');
    return frame;
}

QByteArray helloFrame(const QByteArray &sessionJson, quint64 epoch, quint64 lastId)
{
    // The epoch is a string: JSON numbers lose 64-bit integers in JavaScript.
    return "{\"type\":\"hello\",\"session\":" + sessionJson + ",\"epoch\":\""
            + QByteArray::number(epoch, 16).rightJustified(16, '0')
            + "\",\"lastId\":" + QByteArray::number(lastId) + '}';
}

QByteArray gapFrame(quint64 from, quint64 to)
{
    return "{\"type\":\"gap\",\"from\":" + QByteArray::number(from)
            + ",\"to\":" + QByteArray::number(to) + '}';
}

} // namespace PushWire
