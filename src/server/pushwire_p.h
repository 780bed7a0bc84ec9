// SPDX-License-Identifier: MIT
#pragma once

// Internal: what goes on the wire, in one place (docs/protocol.md): the refusal table, message
// frames and JSON values. Not installed.

#include "pushprotocol_p.h"

#include <QtCore/QByteArray>
#include <QtCore/QJsonValue>
#include <QtCore/QString>
#include <QtCore/QVariant>

namespace PushWire {

//! Every refusal the server makes; each maps to one HTTP status, one WebSocket close code and
//! one JSON code (protocol.md: Errors).
enum class Refusal {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    TooLarge,
    HeadersTooLarge,
    RequestTimeout,
    TooManyRequests,
    Unavailable,
    InsufficientStorage,
    Internal,
};

int httpStatus(Refusal refusal);
QByteArray reasonPhrase(int status);
int closeCode(Refusal refusal);
QByteArray errorCode(Refusal refusal);
//! {"error":{"code":"CODE","message":"MESSAGE"}}
QByteArray errorBody(Refusal refusal, const QString &message);

//! Compact JSON text of any JSON value held in a QVariant (as QJsonValue::fromVariant() maps
//! it); a value JSON cannot hold becomes null.
QByteArray encodeJson(const QVariant &value);
//! Parses one JSON value of any kind (object, array, string, number, true, false, null), after
//! an optional byte order mark. Returns false with a reason on malformed JSON or invalid UTF-8.
bool decodeJson(const QByteArray &text, QVariant *value, QString *error);
//! A JSON string literal for \a text, byte for byte as QJsonDocument writes it.
QByteArray jsonString(const QString &text);
//! Appends the JSON string literal for \a text to \a out.
void appendJsonString(QByteArray &out, QStringView text);
//! A JSON number, as QJsonDocument writes a double (null for infinity and NaN).
QByteArray jsonNumber(double value);
//! {"clients":N,"pushed":N,"rate":R,"session":"S"}: one session in the admin stream's frames,
//! with its keys in the order QJsonDocument would give them.
QByteArray adminSessionJson(const QString &session, int clients, quint64 pushed, double rate);

//! {"id":ID,"session":"S","data":DATA}
QByteArray messageFrame(quint64 id, const QByteArray &sessionJson, const QByteArray &dataJson);
//! {"type":"hello","session":"S","epoch":"HEX","lastId":ID}: the first frame of a stream. Ids
//! compare only within one epoch; a client whose stored epoch differs starts afresh.
QByteArray helloFrame(const QByteArray &sessionJson, quint64 epoch, quint64 lastId);
//! {"type":"gap","from":FROM,"to":TO}
QByteArray gapFrame(quint64 from, quint64 to);
//! {"type":"ack","ref":REF,"id":ID}: a WebSocket push with a ref was stored as message ID.
QByteArray ackFrame(const QJsonValue &ref, quint64 id);
//! {"type":"ack","ref":REF,"error":{"code":..,"message":..}}: it was refused; nothing pushed.
QByteArray ackErrorFrame(const QJsonValue &ref, Refusal refusal, const QString &message);

} // namespace PushWire
