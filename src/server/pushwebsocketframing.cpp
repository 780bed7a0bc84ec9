// SPDX-License-Identifier: MIT
#include "pushwebsocketframing_p.h"

#include <QtCore/QCryptographicHash>

#include <utility>

namespace PushWebSocket {

namespace {

constexpr int maxControlPayload = 125; // RFC 6455 §5.5
constexpr int maskBytes = 4;

bool isControl(Opcode opcode)
{
    return quint8(opcode) & 0x8;
}

bool isKnown(quint8 opcode)
{
    return opcode <= 0x2 || (opcode >= 0x8 && opcode <= 0xA);
}

} // namespace

QByteArray acceptKey(QByteArrayView key)
{
    QByteArray text = key.toByteArray();
    text.append("258EAFA5-E914-47DA-95CA-C5AB0DC85B11"); // RFC 6455 §1.3
    return QCryptographicHash::hash(text, QCryptographicHash::Sha1).toBase64();
}

QByteArray frame(Opcode opcode, QByteArrayView payload)
{
    QByteArray out;
    out.reserve(payload.size() + 10);
    out.append(char(0x80 | quint8(opcode))); // FIN; a server never masks
    const quint64 size = quint64(payload.size());
    if (size < 126) {
        out.append(char(size));
    } else if (size <= 0xFFFF) {
        out.append(char(126));
        out.append(char(size >> 8)).append(char(size));
    } else {
        out.append(char(127));
        for (int shift = 56; shift >= 0; shift -= 8)
            out.append(char(size >> shift));
    }
    out.append(payload);
    return out;
}

QByteArray closeFrame(int code, QByteArrayView reason)
{
    if (code == closeNoStatus)
        return frame(Opcode::Close, {}); // 1005 stands for "no code" and is never sent
    qsizetype cut = std::min<qsizetype>(reason.size(), maxControlPayload - 2);
    // Never split a UTF-8 sequence: a continuation byte is 10xxxxxx.
    while (cut > 0 && cut < reason.size() && (quint8(reason.at(cut)) & 0xC0) == 0x80)
        --cut;
    QByteArray payload;
    payload.append(char(code >> 8)).append(char(code));
    payload.append(reason.first(cut));
    return frame(Opcode::Close, payload);
}

bool isValidCloseCode(int code)
{
    // 1004-1006 and 1015 are reserved and never sent; 1012-1014 are registered with IANA.
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014)
            || (code >= 3000 && code <= 4999);
}

void Parser::feed(QByteArrayView data, QList<Event> *events)
{
    qsizetype at = 0;
    while (!m_finished && at < data.size()) {
        if (!m_inPayload) {
            at += takeHeader(data.sliced(at), events);
            if (m_inPayload && m_payloadSize == 0)
                finishFrame(events);
            continue;
        }
        const qsizetype count = qsizetype(
                std::min<quint64>(quint64(data.size() - at), m_payloadSize - m_payloadRead));
        QByteArray &target = isControl(m_opcode) ? m_control : m_message;
        const qsizetype start = target.size();
        target.resize(start + count);
        char *out = target.data() + start;
        const char *in = data.data() + at;
        for (qsizetype i = 0; i < count; ++i)
            out[i] = char(in[i] ^ m_mask[(m_payloadRead + quint64(i)) & 3]);
        m_payloadRead += quint64(count);
        at += count;
        if (m_payloadRead == m_payloadSize)
            finishFrame(events);
    }
}

qsizetype Parser::takeHeader(QByteArrayView data, QList<Event> *events)
{
    const auto headerSize = [this] {
        if (m_headerSize < 2)
            return 2;
        const int lengthCode = m_header[1] & 0x7F;
        return 2 + (lengthCode == 126 ? 2 : lengthCode == 127 ? 8 : 0) + maskBytes;
    };
    qsizetype taken = 0;
    while (m_headerSize < headerSize() && taken < data.size()) {
        m_header[m_headerSize++] = quint8(data.at(taken++));
        if (m_headerSize != 2)
            continue;
        // The first two bytes say enough to refuse most bad frames at once.
        const quint8 opcode = m_header[0] & 0x0F;
        m_final = m_header[0] & 0x80;
        if (m_header[0] & 0x70) {
            fail(closeProtocolError, "reserved bits are set, and no extension was negotiated",
                 events);
        } else if (!isKnown(opcode)) {
            fail(closeProtocolError, "unknown opcode", events);
        } else if (!(m_header[1] & 0x80)) {
            fail(closeProtocolError, "a client's frames must be masked", events);
        } else if (isControl(Opcode(opcode)) && !m_final) {
            fail(closeProtocolError, "a control frame must not be fragmented", events);
        } else if (isControl(Opcode(opcode)) && (m_header[1] & 0x7F) > maxControlPayload) {
            fail(closeProtocolError, "a control frame carries at most 125 bytes", events);
        } else if (Opcode(opcode) == Opcode::Continuation
                   && m_messageOpcode == Opcode::Continuation) {
            fail(closeProtocolError, "a continuation frame without a message to continue", events);
        } else if ((Opcode(opcode) == Opcode::Text || Opcode(opcode) == Opcode::Binary)
                   && m_messageOpcode != Opcode::Continuation) {
            fail(closeProtocolError, "a new message began before the last one ended", events);
        }
        if (m_finished)
            return taken;
        m_opcode = Opcode(opcode);
    }
    if (m_headerSize < headerSize())
        return taken; // wait for the rest of the header

    const int lengthCode = m_header[1] & 0x7F;
    int at = 2;
    quint64 size = quint64(lengthCode);
    if (lengthCode >= 126) {
        const int lengthBytes = lengthCode == 126 ? 2 : 8;
        size = 0;
        for (int i = 0; i < lengthBytes; ++i)
            size = (size << 8) | m_header[at++];
        if (size >> 63) {
            fail(closeProtocolError, "the frame length is out of range", events);
            return taken;
        }
    }
    if (!isControl(m_opcode) && quint64(m_message.size()) + size > quint64(m_maxMessageBytes)) {
        // Refused before a byte of it is held.
        fail(closeTooBig, "the message is too big", events);
        return taken;
    }
    for (int i = 0; i < maskBytes; ++i)
        m_mask[i] = m_header[at++];
    if (!isControl(m_opcode) && m_opcode != Opcode::Continuation)
        m_messageOpcode = m_opcode;
    if (!isControl(m_opcode))
        m_message.reserve(m_message.size() + qsizetype(size));
    m_payloadSize = size;
    m_payloadRead = 0;
    m_inPayload = true;
    return taken;
}

void Parser::finishFrame(QList<Event> *events)
{
    m_inPayload = false;
    m_headerSize = 0;
    switch (m_opcode) {
    case Opcode::Ping:
        events->append({Event::Ping, std::exchange(m_control, {})});
        return;
    case Opcode::Pong:
        events->append({Event::Pong, std::exchange(m_control, {})});
        return;
    case Opcode::Close: {
        const QByteArray payload = std::exchange(m_control, {});
        if (payload.size() == 1) {
            fail(closeProtocolError, "a close frame's payload must be empty or begin with a code",
                 events);
            return;
        }
        int code = closeNoStatus;
        QByteArray reason;
        if (payload.size() >= 2) {
            code = (quint8(payload.at(0)) << 8) | quint8(payload.at(1));
            reason = payload.sliced(2);
            if (!isValidCloseCode(code)) {
                fail(closeProtocolError, "the close code is not one a peer may send", events);
                return;
            }
            if (!reason.isValidUtf8()) {
                fail(closeInvalidPayload, "the close reason is not valid UTF-8", events);
                return;
            }
        }
        m_finished = true;
        events->append({Event::Close, reason, code});
        return;
    }
    case Opcode::Continuation:
    case Opcode::Text:
    case Opcode::Binary:
        break;
    }
    if (!m_final)
        return; // the message goes on in continuation frames
    const Opcode kind = std::exchange(m_messageOpcode, Opcode::Continuation);
    QByteArray message = std::exchange(m_message, {});
    if (kind == Opcode::Text && !message.isValidUtf8()) {
        fail(closeInvalidPayload, "a text message must be valid UTF-8", events);
        return;
    }
    events->append({kind == Opcode::Text ? Event::Text : Event::Binary, std::move(message)});
}

void Parser::fail(int code, const char *reason, QList<Event> *events)
{
    m_finished = true;
    m_headerSize = 0;
    m_message = QByteArray();
    m_control = QByteArray();
    events->append({Event::Error, QByteArray(reason), code});
}

} // namespace PushWebSocket
