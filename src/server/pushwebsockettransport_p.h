// SPDX-License-Identifier: MIT
#pragma once

// Internal: the WebSocket transport (protocol.md: Receiving, Pushing).

#include "pushserver_p.h"
#include "pushstreamtransport_p.h"

#include <QtCore/QPointer>
#include <QtNetwork/QTcpSocket>
#include <QtWebSockets/QWebSocket>

#include <memory>

/*!
    One WebSocket connection of a client: streams its messages as text frames, takes
    {"op":"push"} frames, pings when the connection is quiet and drops one that stays silent.
    Ownership: the server owns it; it owns the QWebSocket.
*/
class PushWebSocketTransport : public PushStreamTransport
{
    Q_OBJECT
public:
    PushWebSocketTransport(PushServerPrivate *server, PushAttachment *attachment,
                           QWebSocket *socket, QTcpSocket *tcpSocket, const PushAccess &access);
    ~PushWebSocketTransport() override;

    QWebSocket *socket() const { return m_socket.get(); }
    void closeConnection(int webSocketCode, const QString &reason) override;
    //! Sends protocol.md's error frame, then closes with the refusal's code.
    void refuse(PushWire::Refusal refusal, const QString &message);
    //! Pings a connection quiet for \a intervalMs; drops one that left a ping unanswered as long.
    void checkAlive(qint64 nowMs, int intervalMs);
    void abort();

protected:
    void writeMessage(PushFrame &frame) override;
    void writeGap(quint64 from, quint64 to) override;
    void writeHello(const QByteArray &frame) override;
    qint64 backlog() const override;
    void flushSocket() override;

private:
    void onTextFrame(const QString &frame, bool isLastFrame);
    void onTextMessage(const QString &text);
    void onDisconnected();

    std::unique_ptr<QWebSocket> m_socket;
    QPointer<QTcpSocket> m_tcpSocket; // under m_socket; QWebSocket does not delete it
    PushAccess m_access;
    PushRateLimiter m_limiter;
    qint64 m_lastSeenMs;
    qint64 m_lastPingMs = 0;
    bool m_closing = false;
    qint64 m_messageChars = 0; // of the text message arriving in fragments
};
