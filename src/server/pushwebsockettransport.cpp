// SPDX-License-Identifier: MIT
#include "pushwebsockettransport_p.h"

#include "pushattachment_p.h"
#include "pushconnectionio_p.h"
#include "pushclock_p.h"
#include "pushops_p.h"
#include "pushmetrics_p.h"
#include "pushserverlogging_p.h"
#include "pushserversettings_p.h"

#include <utility>

namespace {

qint64 nowMs()
{
    return PushClock::steadyMs(); // pushclock_p.h: no timeout follows the wall clock
}

// A push frame is {"op":"push","data":DATA}: the envelope is allowed on top of the data limit,
// which onTextMessage() then checks exactly.
constexpr qint64 envelopeBytes = 256;

} // namespace

PushWebSocketTransport::PushWebSocketTransport(PushTransportHost *host, PushConnectionIo *io,
                                               const PushAccess &access)
    : PushStreamTransport(host, PushTransport::WebSocket), m_io(io),
      m_parser(host->settings().maxMessageBytes + envelopeBytes), m_access(access),
      m_lastSeenMs(nowMs())
{
    m_io->setParent(this);
    connect(m_io, &PushConnectionIo::readyRead, this, &PushWebSocketTransport::readFrames);
    connect(m_io, &PushConnectionIo::bytesSent, this, &PushWebSocketTransport::onBytesSent);
    connect(m_io, &PushConnectionIo::closed, this, [this] { end(EndReason::ConnectionClosed); });
}

PushWebSocketTransport::~PushWebSocketTransport() = default;

void PushWebSocketTransport::begin(const QByteArray &early)
{
    flushSocket(); // the hello frame and the catch-up
    parse(early);
    readFrames();
}

void PushWebSocketTransport::writeMessage(PushFrame &frame)
{
    // The first frame of a turn is shared with every other receiver of the push, not copied.
    m_pending.append(frame.webSocketFrame());
}

void PushWebSocketTransport::writeGap(quint64 from, quint64 to)
{
    m_pending.append(
            PushWebSocket::frame(PushWebSocket::Opcode::Text, PushWire::gapFrame(from, to)));
}

void PushWebSocketTransport::writeHello(const QByteArray &frame)
{
    m_pending.append(PushWebSocket::frame(PushWebSocket::Opcode::Text, frame));
}

void PushWebSocketTransport::flushSocket()
{
    if (m_pending.isEmpty())
        return;
    m_io->write(std::exchange(m_pending, QByteArray()));
    // What the kernel took at once is sent as well: a transport paused on a burst that it could
    // write whole gets no bytesSent() to resume on.
    onBytesSent();
}

qint64 PushWebSocketTransport::backlog() const
{
    return m_io->backlog() + m_pending.size();
}

void PushWebSocketTransport::sendNow(const QByteArray &frame)
{
    m_pending.append(frame);
    flushSocket();
}

void PushWebSocketTransport::readFrames()
{
    // On the stack: an idle connection holds no read buffer. A few reads a turn at most, so that
    // one busy peer cannot keep the others waiting; the rest is read on the next turn.
    char buffer[16 * 1024];
    for (int reads = 0; reads < 4; ++reads) {
        const qint64 count = m_io->read(buffer, sizeof buffer);
        if (count <= 0)
            return; // nothing now, or gone (closed() follows)
        m_lastSeenMs = nowMs();
        parse(QByteArrayView(buffer, count));
    }
}

void PushWebSocketTransport::parse(QByteArrayView bytes)
{
    if (bytes.isEmpty() || m_parser.isFinished())
        return; // after a close or an error, what still comes is read and dropped
    QList<PushWebSocket::Parser::Event> events;
    m_parser.feed(bytes, &events);
    for (const PushWebSocket::Parser::Event &event : std::as_const(events))
        handle(event);
}

void PushWebSocketTransport::handle(const PushWebSocket::Parser::Event &event)
{
    using Event = PushWebSocket::Parser::Event;
    switch (event.kind) {
    case Event::Text:
        onTextMessage(event.payload);
        return;
    case Event::Binary:
        refuse(PushWire::Refusal::BadRequest, QStringLiteral("binary frames are not supported"));
        return;
    case Event::Ping:
        // A peer that pings and never reads would have us keep every pong: past the high-water
        // mark pings go unanswered until the backlog drains, and a later one is answered
        // (RFC 6455 §5.5.3: only the most recent ping needs a pong).
        if (!m_closeSentMs && backlog() < highWaterBytes)
            sendNow(PushWebSocket::frame(PushWebSocket::Opcode::Pong, event.payload));
        return;
    case Event::Pong:
        return; // reading it was enough: m_lastSeenMs
    case Event::Close:
        // Our own close frame, if we sent it first, completed the handshake already; else echo
        // the peer's code, or send none when it sent none (RFC 6455 §5.5.1).
        sendClose(event.closeCode, {});
        return;
    case Event::Error:
        if (event.closeCode == PushWebSocket::closeTooBig) {
            refuse(PushWire::Refusal::TooLarge,
                   QStringLiteral("message exceeds %1 bytes")
                           .arg(m_host->settings().maxMessageBytes));
        } else {
            refuse(PushWire::Refusal::BadRequest, QString::fromLatin1(event.payload),
                   event.closeCode);
        }
        return;
    }
}

void PushWebSocketTransport::setTextHandler(std::function<void(const QByteArray &)> handler)
{
    m_textHandler = std::move(handler);
}

void PushWebSocketTransport::sendText(const QByteArrayView json)
{
    if (m_closeSentMs)
        return;
    m_pending.append(PushWebSocket::frame(PushWebSocket::Opcode::Text, json));
    flushAtEndOfTurn();
}

void PushWebSocketTransport::onTextMessage(const QByteArray &utf8)
{
    if (m_closeSentMs)
        return;
    if (m_textHandler) {
        m_textHandler(utf8);
        return;
    }
    if (!attachment())
        return;
    QString problem;
    QJsonValue ref;
    const std::optional<QVariant> data = PushOps::decodeClientFrame(utf8, &problem, &ref);
    if (!data) {
        refuse(PushWire::Refusal::BadRequest, problem);
        return;
    }
    if (!m_access.mayPush) {
        refuse(PushWire::Refusal::Forbidden, QStringLiteral("the token does not allow push"));
        return;
    }
    const qint64 limit = m_host->settings().maxMessageBytes;
    if (!PushOps::fitsMessageLimit(utf8.size(), *data, limit)) {
        refuse(PushWire::Refusal::TooLarge, QStringLiteral("message exceeds %1 bytes").arg(limit));
        return;
    }
    m_host->push({attachment()->sessionKey, *data, &m_limiter}, this,
                 [this, ref](const PushPushOutcome &outcome) { onPushed(outcome, ref); });
}

void PushWebSocketTransport::onPushed(const PushPushOutcome &outcome, const QJsonValue &ref)
{
    if (ref.isUndefined()) {
        // The sender's echo comes as any client's message; only a refusal is answered here.
        if (outcome.refusal)
            refuse(*outcome.refusal, outcome.why);
        return;
    }
    // Asked for an ack: it says the id once stored, or why not, and the connection stays.
    if (outcome.refusal) {
        m_host->metrics().countRefusal(*outcome.refusal);
        sendText(PushWire::ackErrorFrame(ref, *outcome.refusal, outcome.why));
    } else {
        sendText(PushWire::ackFrame(ref, outcome.id));
    }
}

void PushWebSocketTransport::refuse(PushWire::Refusal refusal, const QString &message,
                                    int closeCode)
{
    if (m_closeSentMs)
        return;
    qCInfo(lcPushServer) << "closing WebSocket of" << m_io->peerName() << ":" << message;
    m_host->metrics().countRefusal(refusal);
    m_pending.append(PushWebSocket::frame(PushWebSocket::Opcode::Text,
                                          PushWire::errorBody(refusal, message)));
    sendClose(closeCode ? closeCode : PushWire::closeCode(refusal), message.toUtf8());
}

void PushWebSocketTransport::closeConnection(int webSocketCode, const QString &reason)
{
    sendClose(webSocketCode, reason.toUtf8());
}

void PushWebSocketTransport::sendClose(int code, QByteArrayView reason)
{
    if (m_closeSentMs)
        return;
    m_closeSentMs = nowMs();
    stopStreaming();
    sendNow(PushWebSocket::closeFrame(code, reason));
    // FIN after the close frame; reading goes on until the peer's close frame and FIN, so that
    // a peer still sending sees our close frame, not a reset (RFC 6455 §7.1.1).
    m_io->closeAfterWrites();
}

void PushWebSocketTransport::stopStreaming()
{
    // Nothing goes out after a close frame: the client's grace period starts now, so that its
    // messages wait in its buffer for the next connection instead of going nowhere.
    stopServing();
}

void PushWebSocketTransport::abort()
{
    m_io->abort();
}

void PushWebSocketTransport::checkAlive(qint64 nowMs, int intervalMs)
{
    if (m_closeSentMs) {
        if (nowMs - m_closeSentMs > closeTimeoutMs)
            m_io->abort();
        return;
    }
    // A ping unanswered for an interval means the peer is gone (RFC 6455 §5.5.2-3).
    if (m_lastPingMs > m_lastSeenMs && nowMs - m_lastPingMs > intervalMs) {
        qCInfo(lcPushServer) << "dropping WebSocket of" << m_io->peerName()
                             << ": no answer to a ping for" << (nowMs - m_lastPingMs) << "ms";
        m_io->abort();
        return;
    }
    if (nowMs - m_lastSeenMs > intervalMs && m_lastPingMs <= m_lastSeenMs) {
        m_lastPingMs = nowMs;
        sendNow(PushWebSocket::frame(PushWebSocket::Opcode::Ping, {}));
    }
}
