// SPDX-License-Identifier: MIT
#pragma once

// Internal: RFC 6455 framing, server side. Parses the client's masked frames and encodes the
// server's unmasked ones; no I/O. Not installed. docs/server.md says why the server frames
// WebSockets itself (Dependencies).

#include <QtCore/QByteArray>
#include <QtCore/QByteArrayView>
#include <QtCore/QList>

namespace PushWebSocket {

enum class Opcode : quint8 {
    Continuation = 0x0,
    Text = 0x1,
    Binary = 0x2,
    Close = 0x8,
    Ping = 0x9,
    Pong = 0xA,
};

// Close codes of RFC 6455 §7.4.1 that the framing itself sends.
constexpr int closeNormal = 1000;
constexpr int closeGoingAway = 1001;
constexpr int closeProtocolError = 1002;
constexpr int closeNoStatus = 1005; //!< reported for a close frame without a code; never sent
constexpr int closeInvalidPayload = 1007;
constexpr int closeTooBig = 1009;

//! Sec-WebSocket-Accept for a client's Sec-WebSocket-Key (RFC 6455 §4.2.2).
QByteArray acceptKey(QByteArrayView key);
//! One unmasked, final frame: what a server sends (RFC 6455 §5.2).
QByteArray frame(Opcode opcode, QByteArrayView payload);
//! A close frame with \a code and as much of \a reason as fits in a control frame, cut at a
//! UTF-8 character boundary; for closeNoStatus, a close frame without a code or reason.
QByteArray closeFrame(int code, QByteArrayView reason);
//! Whether a close frame may carry \a code (RFC 6455 §7.4).
bool isValidCloseCode(int code);

/*!
    Parses the frames a client sends, incrementally: bytes go in as they arrive, in pieces of
    any size, and complete messages and control frames come out. It checks everything RFC 6455
    asks of a server: masking, reserved bits, opcodes, control frames (final, at most 125
    bytes), fragmentation order, close codes and UTF-8 text. A message longer than the limit is
    refused as soon as a frame header announces it, before its bytes are buffered.

    After an Error event, or a Close event, the parser ignores what follows.

    Ownership: a plain value type. Holds at most one incomplete frame header (14 bytes) and the
    message being assembled, which it releases once the message is complete.
*/
class Parser
{
public:
    struct Event
    {
        enum Kind { Text, Binary, Ping, Pong, Close, Error };
        Kind kind;
        QByteArray payload; //!< the message, the ping/pong data, the close or error reason
        int closeCode = 0; //!< Close: the peer's code (closeNoStatus if none); Error: ours
    };

    explicit Parser(qint64 maxMessageBytes) : m_maxMessageBytes(maxMessageBytes) { }

    //! Parses \a data and appends what it completes to \a events.
    void feed(QByteArrayView data, QList<Event> *events);
    //! True once a Close or an Error event came out: nothing more is parsed.
    bool isFinished() const { return m_finished; }
    //! Bytes held for a frame header or a message not yet complete.
    qint64 bufferedBytes() const { return m_headerSize + m_message.size() + m_control.size(); }

private:
    qsizetype takeHeader(QByteArrayView data, QList<Event> *events);
    void finishFrame(QList<Event> *events);
    void fail(int code, const char *reason, QList<Event> *events);

    const qint64 m_maxMessageBytes;
    bool m_finished = false;

    // The frame being read: its header until complete, then what remains of its payload.
    quint8 m_header[14] = {};
    int m_headerSize = 0;
    bool m_inPayload = false;
    Opcode m_opcode = Opcode::Continuation;
    bool m_final = false;
    quint8 m_mask[4] = {};
    quint64 m_payloadRead = 0;
    quint64 m_payloadSize = 0;

    QByteArray m_control; // a control frame's payload, at most 125 bytes
    QByteArray m_message; // a data message's payload so far
    Opcode m_messageOpcode = Opcode::Continuation; // Continuation: no message under way
};

} // namespace PushWebSocket
