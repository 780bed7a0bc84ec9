// SPDX-License-Identifier: MIT
#include "pushwire_p.h"

#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QJsonValue>
#include <QtCore/QLocale>

#include <cmath>

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
        {Refusal::InsufficientStorage, 507, closeTryAgainLater, errorInsufficientStorage},
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
    case 507:
        return QByteArrayLiteral("Insufficient Storage"); // RFC 4918 §11.5
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

QByteArray ackFrame(const QJsonValue &ref, quint64 id)
{
    return QJsonDocument(QJsonObject{{QStringLiteral("type"), QStringLiteral("ack")},
                                     {QStringLiteral("ref"), ref},
                                     {QStringLiteral("id"), double(id)}})
            .toJson(QJsonDocument::Compact);
}

QByteArray ackErrorFrame(const QJsonValue &ref, Refusal refusal, const QString &message)
{
    const QJsonObject error{{QStringLiteral("code"), QString::fromLatin1(row(refusal).code)},
                            {QStringLiteral("message"), message}};
    return QJsonDocument(QJsonObject{{QStringLiteral("type"), QStringLiteral("ack")},
                                     {QStringLiteral("ref"), ref},
                                     {QStringLiteral("error"), error}})
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

void appendJsonString(QByteArray &out, QStringView text)
{
    // By hand, not through QJsonDocument: the admin stream writes thousands of session names a
    // second, and a QJsonValue round trip costs several times the escaping (docs/benchmarks.md:
    // Housekeeping). As Qt does: UTF-8, with a lone surrogate (which UTF-8 cannot hold) written
    // as a \u escape. tst_pushwire checks every code unit against QJsonDocument, byte for byte.
    static constexpr char hex[] = "0123456789abcdef";
    auto escape = [&out](char16_t unit) {
        out.append("\\u").append(hex[unit >> 12]).append(hex[(unit >> 8) & 0xf]);
        out.append(hex[(unit >> 4) & 0xf]).append(hex[unit & 0xf]);
    };
    out.reserve(out.size() + text.size() + 2);
    out.append('"');
    const qsizetype size = text.size();
    for (qsizetype i = 0; i < size; ++i) {
        const char16_t unit = text[i].unicode();
        if (unit < 0x80) {
            switch (unit) {
            case u'"': out.append("\\\""); break;
            case u'\\': out.append("\\\\"); break;
            case u'\b': out.append("\\b"); break;
            case u'\f': out.append("\\f"); break;
            case u'\n': out.append("\\n"); break;
            case u'\r': out.append("\\r"); break;
            case u'\t': out.append("\\t"); break;
            default:
                if (unit < 0x20)
                    escape(unit);
                else
                    out.append(char(unit));
            }
        } else if (unit < 0x800) {
            out.append(char(0xc0 | (unit >> 6))).append(char(0x80 | (unit & 0x3f)));
        } else if (QChar::isHighSurrogate(unit) && i + 1 < size
                   && QChar::isLowSurrogate(text[i + 1].unicode())) {
            const char32_t point = QChar::surrogateToUcs4(unit, text[++i].unicode());
            out.append(char(0xf0 | (point >> 18))).append(char(0x80 | ((point >> 12) & 0x3f)));
            out.append(char(0x80 | ((point >> 6) & 0x3f))).append(char(0x80 | (point & 0x3f)));
        } else if (QChar::isSurrogate(unit)) {
            escape(unit);
        } else {
            out.append(char(0xe0 | (unit >> 12))).append(char(0x80 | ((unit >> 6) & 0x3f)));
            out.append(char(0x80 | (unit & 0x3f)));
        }
    }
    out.append('"');
}

QByteArray jsonString(const QString &text)
{
    QByteArray out;
    appendJsonString(out, text);
    return out;
}

QByteArray jsonNumber(double value)
{
    // As QJsonDocument writes a double: the shortest form that reads back the same, integral
    // values without a fraction; JSON has no infinity or NaN.
    if (!std::isfinite(value))
        return "null";
    return QByteArray::number(value, 'g', QLocale::FloatingPointShortest);
}

QByteArray adminSessionJson(const QString &session, int clients, quint64 pushed, double rate)
{
    QByteArray out;
    out.reserve(64 + session.size());
    out.append("{\"clients\":").append(QByteArray::number(clients));
    out.append(",\"pushed\":").append(QByteArray::number(pushed));
    out.append(",\"rate\":").append(jsonNumber(rate));
    out.append(",\"session\":");
    appendJsonString(out, session);
    out.append('}');
    return out;
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
