// SPDX-License-Identifier: MIT
#pragma once

// Internal: what a pushed HTTP body and a WebSocket text frame say, decoded without I/O, so that
// the transports only act on the result and the decoding is fuzzed on its own
// (tests/fuzz/fuzz_pushbody, tests/fuzz/fuzz_websocketop). Not installed.

#include <QtCore/QByteArray>
#include <QtCore/QJsonValue>
#include <QtCore/QString>
#include <QtCore/QVariant>

#include <optional>

namespace PushOps {

//! The data of an HTTP push (protocol.md: Pushing, This server): for a \a contentType starting
//! with text/ (any case) the body as a string, which must be UTF-8 (an initial byte order mark
//! is a signature and is dropped, RFC 3629 §6); for any other type, or none, exactly one JSON
//! value. Returns nullopt, and in \a problem the reason, for a body that does not decode.
std::optional<QVariant> decodePushBody(const QByteArray &contentType, const QByteArray &body,
                                       QString *problem);

//! The data of a text frame on a client's WebSocket, {"op":"push","data":DATA} (protocol.md:
//! Pushing), with an optional "ref" (a string of at most 64 bytes or an integer, set in \a ref;
//! undefined when absent) that asks for an ack; other members are ignored. Returns nullopt, and
//! in \a problem the reason, for anything else.
std::optional<QVariant> decodeClientFrame(const QByteArray &utf8, QString *problem,
                                          QJsonValue *ref = nullptr);

//! Whether \a data, which came in a frame of \a frameBytes, is within \a limit bytes: the limit
//! is on the data, as for an HTTP body, and only a frame near it is measured exactly.
bool fitsMessageLimit(qsizetype frameBytes, const QVariant &data, qint64 limit);

//! An op of the admin event stream (protocol.md: The admin event stream).
struct AdminOp
{
    enum Kind { Watch, Push };
    Kind kind = Watch;
    QString session; //!< a valid id; for Watch a null string stops watching
    QVariant data; //!< Push: the data
};

//! A text frame on the admin stream: {"op":"watch","session":S} with S an id or null, or
//! {"op":"push","session":S,"data":DATA} with S an id; other members are ignored. Returns
//! nullopt, and in \a problem the reason, for anything else.
std::optional<AdminOp> decodeAdminFrame(const QByteArray &utf8, QString *problem);

} // namespace PushOps
