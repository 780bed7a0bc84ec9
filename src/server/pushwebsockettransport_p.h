// SPDX-License-Identifier: MIT
#pragma once

// Internal: the WebSocket transport (protocol.md: Receiving, Pushing).

#include "pushaccess_p.h"
#include "pushratelimiter_p.h"
#include "pushtransporthost_p.h"
#include "pushstreamtransport_p.h"
#include "pushwebsocketframing_p.h"
#include "pushwire_p.h"

#include <QtCore/QJsonValue>

#include <functional>

class PushConnectionIo;

/*!
    One WebSocket connection of a client, after the handshake: streams its messages as text
    frames, takes {"op":"push"} frames (or hands text to another handler: the admin stream), answers pings, pings when the connection is quiet and
    drops one that stays silent, and closes with the closing handshake of RFC 6455 §7.

    Every message frame is encoded once per push for all receivers (PushFrame::webSocketFrame())
    and the frames of one event-loop turn go out in one write. Nothing is buffered per
    connection while it is idle: incoming bytes are read into a buffer on the stack and parsed
    at once, and only a message still arriving, or a backlog the kernel did not take, is held.

    The server counts the connection until the PushConnectionIo, a child, is destroyed.

    Ownership: the server owns it; it owns its PushConnectionIo.
*/
class PushWebSocketTransport : public PushStreamTransport
{
    Q_OBJECT
public:
    //! How long a closing connection may take to answer our close frame.
    static constexpr qint64 closeTimeoutMs = 5 * 1000;

    PushWebSocketTransport(PushTransportHost *host, PushConnectionIo *io, const PushAccess &access);
    ~PushWebSocketTransport() override;

    //! Parses \a early, bytes that came right behind the handshake, then reads as they arrive.
    void begin(const QByteArray &early);
    void closeConnection(int webSocketCode, const QString &reason) override;
    //! Sends protocol.md's error frame, then closes with \a closeCode, by default the
    //! refusal's code.
    void refuse(PushWire::Refusal refusal, const QString &message, int closeCode = 0);
    //! Pings a connection quiet for \a intervalMs; drops one that left a ping unanswered as
    //! long, or a close frame longer than closeTimeoutMs.
    void checkAlive(qint64 nowMs, int intervalMs);
    void abort();

    //! Hands every text message to \a handler instead of taking it as a push: the admin event
    //! stream speaks its own ops over the same framing and closing handshake.
    void setTextHandler(std::function<void(const QByteArray &)> handler);
    //! Queues a text frame of \a json, written at the end of this turn of the event loop;
    //! nothing is sent once the close frame is.
    void sendText(const QByteArrayView json);
    //! Bytes queued or written and not yet taken by the kernel.
    qint64 queuedBytes() const { return backlog(); }

protected:
    void writeMessage(PushFrame &frame) override;
    void writeGap(quint64 from, quint64 to) override;
    void writeHello(const QByteArray &frame) override;
    qint64 backlog() const override;
    void flushSocket() override;

private:
    void readFrames();
    void parse(QByteArrayView bytes);
    void handle(const PushWebSocket::Parser::Event &event);
    void onTextMessage(const QByteArray &utf8);
    //! Queues a control frame behind what is queued, and writes it all now.
    void sendNow(const QByteArray &frame);
    void sendClose(int code, QByteArrayView reason);
    void stopStreaming();
    void onPushed(const PushPushOutcome &outcome, const QJsonValue &ref);

    PushConnectionIo *m_io; // a child
    PushWebSocket::Parser m_parser;
    PushAccess m_access;
    std::function<void(const QByteArray &)> m_textHandler;
    PushRateLimiter m_limiter;
    QByteArray m_pending; // frames of this turn of the event loop, written by flushSocket()
    qint64 m_lastSeenMs;
    qint64 m_lastPingMs = 0;
    qint64 m_closeSentMs = 0; // 0 until our close frame is sent
};
