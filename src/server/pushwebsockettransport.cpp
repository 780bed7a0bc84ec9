// SPDX-License-Identifier: MIT
#include "pushwebsockettransport_p.h"

#include "pushserverlogging_p.h"

#include <QtCore/QDateTime>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>

PushWebSocketTransport::PushWebSocketTransport(PushServerPrivate *server,
                                               PushAttachment *attachment, QWebSocket *socket,
                                               QTcpSocket *tcpSocket, const PushAccess &access)
    : PushStreamTransport(server, attachment), m_socket(socket), m_tcpSocket(tcpSocket),
      m_access(access), m_lastSeenMs(QDateTime::currentMSecsSinceEpoch())
{
    m_socket->setParent(nullptr);
    // A push frame is {"op":"push","data":DATA}: allow the envelope on top of the data limit.
    // QWebSocket closes with 1009 past it, before buffering more (protocol.md: Limits).
    // QWebSocket closes with a bare 1009 past its own limits, which are set above ours so that
    // the transport refuses first, with the error frame (onTextFrame()).
    m_socket->setMaxAllowedIncomingMessageSize(2 * quint64(server->maxMessageBytes) + 1024);
    m_socket->setMaxAllowedIncomingFrameSize(2 * quint64(server->maxMessageBytes) + 1024);
    connect(m_socket.get(), &QWebSocket::textFrameReceived, this,
            &PushWebSocketTransport::onTextFrame);
    connect(m_socket.get(), &QWebSocket::textMessageReceived, this,
            &PushWebSocketTransport::onTextMessage);
    connect(m_socket.get(), &QWebSocket::binaryMessageReceived, this, [this] {
        refuse(PushWire::Refusal::BadRequest, QStringLiteral("binary frames are not supported"));
    });
    connect(m_socket.get(), &QWebSocket::pong, this,
            [this] { m_lastSeenMs = QDateTime::currentMSecsSinceEpoch(); });
    connect(m_socket.get(), &QWebSocket::bytesWritten, this, &PushWebSocketTransport::onBytesSent);
    connect(m_socket.get(), &QWebSocket::disconnected, this,
            &PushWebSocketTransport::onDisconnected);
}

PushWebSocketTransport::~PushWebSocketTransport()
{
    m_socket.reset();
    // A QWebSocket made by QWebSocketServer::handleConnection() leaves its socket behind. The
    // transport is deleted from the event loop, never inside one of the socket's signals.
    delete m_tcpSocket.data();
    m_server->connectionGone(); // QWebSocket cuts the socket's signals: it is counted here
}

void PushWebSocketTransport::writeMessage(PushFrame &frame)
{
    m_socket->sendTextMessage(frame.text());
}

void PushWebSocketTransport::writeGap(quint64 from, quint64 to)
{
    m_socket->sendTextMessage(QString::fromLatin1(PushWire::gapFrame(from, to)));
}

void PushWebSocketTransport::writeHello(const QByteArray &frame)
{
    m_socket->sendTextMessage(QString::fromUtf8(frame));
}

void PushWebSocketTransport::flushSocket()
{
    m_socket->flush();
}

qint64 PushWebSocketTransport::backlog() const
{
    return m_socket->bytesToWrite();
}

void PushWebSocketTransport::onTextFrame(const QString &frame, bool isLastFrame)
{
    // A message may come in fragments (RFC 6455 §5.4): bound it as it grows. The envelope
    // {"op":"push","data":...} is allowed on top of the data limit; onTextMessage() is exact.
    m_messageChars += frame.size();
    if (m_messageChars > m_server->maxMessageBytes + 256) {
        refuse(PushWire::Refusal::TooLarge,
               QStringLiteral("message exceeds %1 bytes").arg(m_server->maxMessageBytes));
    }
    if (isLastFrame)
        m_messageChars = 0;
}

void PushWebSocketTransport::onTextMessage(const QString &text)
{
    m_lastSeenMs = QDateTime::currentMSecsSinceEpoch();
    if (m_closing || !attachment())
        return;
    const QByteArray utf8 = text.toUtf8();
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(utf8, &parseError);
    const QJsonObject frame = document.object();
    if (parseError.error != QJsonParseError::NoError || !document.isObject()) {
        refuse(PushWire::Refusal::BadRequest,
               QStringLiteral("a frame must be a JSON object: %1").arg(parseError.errorString()));
        return;
    }
    if (frame.value(QStringLiteral("op")).toString() != QStringLiteral("push")
        || !frame.contains(QStringLiteral("data"))) {
        refuse(PushWire::Refusal::BadRequest,
               QStringLiteral("expected {\"op\":\"push\",\"data\":...}"));
        return;
    }
    if (!m_access.mayPush) {
        refuse(PushWire::Refusal::Forbidden, QStringLiteral("the token does not allow push"));
        return;
    }
    const QVariant data = frame.value(QStringLiteral("data")).toVariant();
    // The limit is on the data, as for an HTTP body; only a frame near it is measured exactly.
    if (utf8.size() > m_server->maxMessageBytes
        && PushWire::encodeJson(data).size() > m_server->maxMessageBytes) {
        refuse(PushWire::Refusal::TooLarge,
               QStringLiteral("message exceeds %1 bytes").arg(m_server->maxMessageBytes));
        return;
    }
    quint64 id = 0;
    int clients = 0;
    QString why;
    if (const auto refusal
        = m_server->push(attachment()->sessionKey, data, &m_limiter, &id, &clients, &why)) {
        refuse(*refusal, why);
    }
}

void PushWebSocketTransport::refuse(PushWire::Refusal refusal, const QString &message)
{
    if (m_closing)
        return;
    qCInfo(lcPushServer) << "closing WebSocket of" << m_socket->peerAddress() << ":" << message;
    m_server->countRefusal(refusal);
    m_socket->sendTextMessage(QString::fromUtf8(PushWire::errorBody(refusal, message)));
    closeConnection(PushWire::closeCode(refusal), message.left(100));
}

void PushWebSocketTransport::closeConnection(int webSocketCode, const QString &reason)
{
    if (m_closing)
        return;
    m_closing = true;
    m_socket->close(QWebSocketProtocol::CloseCode(webSocketCode), reason.left(120));
}

void PushWebSocketTransport::abort()
{
    m_socket->abort();
}

void PushWebSocketTransport::checkAlive(qint64 nowMs, int intervalMs)
{
    // A ping unanswered for an interval means the peer is gone (RFC 6455 §5.5.2-3).
    if (m_lastPingMs > m_lastSeenMs && nowMs - m_lastPingMs > intervalMs) {
        qCInfo(lcPushServer) << "dropping WebSocket of" << m_socket->peerAddress()
                             << ": no answer to a ping for" << (nowMs - m_lastPingMs) << "ms";
        m_socket->abort();
        return;
    }
    if (nowMs - m_lastSeenMs > intervalMs && m_lastPingMs <= m_lastSeenMs) {
        m_lastPingMs = nowMs;
        m_socket->ping();
    }
}

void PushWebSocketTransport::onDisconnected()
{
    m_server->webSocketEnded(this);
}
