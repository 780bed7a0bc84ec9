// SPDX-License-Identifier: MIT
#include "fakepushserver.h"

#include <QtCore/QCryptographicHash>
#include <QtCore/QJsonDocument>
#include <QtNetwork/QTcpSocket>
#include <QtWebSockets/QWebSocket>

#include <algorithm>

FakePushServer::FakePushServer()
    : m_webSocketServer(QStringLiteral("fake qtpush-server"), QWebSocketServer::NonSecureMode)
{
    connect(&m_tcpServer, &QTcpServer::newConnection, this, &FakePushServer::onTcpConnection);
    connect(&m_webSocketServer, &QWebSocketServer::newConnection, this,
            &FakePushServer::onWebSocket);
}

FakePushServer::~FakePushServer()
{
    // The WebSockets first: each uses a TCP socket that the TCP server owns.
    for (const QPointer<QWebSocket> &socket : std::as_const(m_sockets))
        delete socket.data();
    for (const QPointer<QTcpSocket> &socket : std::as_const(m_tcpSockets))
        delete socket.data();
}

bool FakePushServer::listen(quint16 port)
{
    if (!m_tcpServer.listen(QHostAddress::LocalHost, port))
        return false;
    m_port = m_tcpServer.serverPort();
    return true;
}

void FakePushServer::stop()
{
    m_tcpServer.close();
    abortConnections();
    for (const QPointer<QTcpSocket> &socket : std::as_const(m_tcpSockets)) {
        if (socket)
            socket->abort();
    }
}

QUrl FakePushServer::url() const
{
    return QUrl(QStringLiteral("http://127.0.0.1:%1").arg(m_port));
}

int FakePushServer::openConnectionCount() const
{
    return int(std::count_if(m_sockets.cbegin(), m_sockets.cend(), [](const auto &socket) {
        return socket && socket->state() == QAbstractSocket::ConnectedState;
    }));
}

bool FakePushServer::sendText(const QString &text)
{
    QWebSocket *socket = newest();
    if (!socket)
        return false;
    socket->sendTextMessage(text);
    return true;
}

bool FakePushServer::sendTogether(const QList<QJsonObject> &frames)
{
    QWebSocket *socket = newest();
    if (!socket)
        return false;
    // All written before the event loop runs again: the client, in this thread too, finds
    // them all waiting when it reads, and its QWebSocket delivers them in one go.
    for (const QJsonObject &frame : frames)
        socket->sendTextMessage(
                QString::fromUtf8(QJsonDocument(frame).toJson(QJsonDocument::Compact)));
    return true;
}

bool FakePushServer::sendJson(const QJsonObject &frame)
{
    return sendText(QString::fromUtf8(QJsonDocument(frame).toJson(QJsonDocument::Compact)));
}

bool FakePushServer::sendMessage(quint64 id, const QJsonValue &data, const QString &session)
{
    return sendJson({{QStringLiteral("id"), qint64(id)},
                     {QStringLiteral("session"), session},
                     {QStringLiteral("data"), data}});
}

void FakePushServer::abortConnections()
{
    for (const QPointer<QWebSocket> &socket : std::as_const(m_sockets)) {
        if (socket)
            socket->abort();
    }
}

void FakePushServer::closeConnections(QWebSocketProtocol::CloseCode code, const QString &reason)
{
    for (const QPointer<QWebSocket> &socket : std::as_const(m_sockets)) {
        if (socket && socket->state() == QAbstractSocket::ConnectedState)
            socket->close(code, reason);
    }
}

void FakePushServer::onTcpConnection()
{
    while (QTcpSocket *socket = m_tcpServer.nextPendingConnection()) {
        m_tcpSockets.append(socket);
        ++m_tcpConnectionCount;
        if (m_silence == Silence::NoHandshake) {
            // Read and drop what comes, answer nothing: the TCP connection stays up.
            connect(socket, &QTcpSocket::readyRead, socket, [socket] { socket->readAll(); });
        } else if (m_silence == Silence::AfterHandshake) {
            connect(socket, &QTcpSocket::readyRead, this,
                    [this, socket] { upgradeSilently(socket); });
        } else if (m_refusal != 0) {
            connect(socket, &QTcpSocket::readyRead, this, [this, socket] { refuse(socket); });
            connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
        } else {
            m_webSocketServer.handleConnection(socket);
        }
    }
}

void FakePushServer::refuse(QTcpSocket *socket)
{
    // Answer once the request's header is complete, as a server that checked the token would.
    if (socket->property("refused").toBool() || !socket->peek(1 << 16).contains("\r\n\r\n"))
        return;
    socket->setProperty("refused", true);
    socket->readAll();
    const QByteArray body = QByteArrayLiteral(
            R"({"error":{"code":"refused","message":"refused by the fake server"}})");
    const QByteArray reason = m_refusal == 401 ? "Unauthorized"
            : m_refusal == 403                 ? "Forbidden"
            : m_refusal == 503                 ? "Service Unavailable"
                                               : "Refused";
    socket->write("HTTP/1.1 " + QByteArray::number(m_refusal) + ' ' + reason
                  + "\r\nContent-Type: application/json\r\nContent-Length: "
                  + QByteArray::number(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
    socket->disconnectFromHost();
    ++m_refusedCount;
}

void FakePushServer::upgradeSilently(QTcpSocket *socket)
{
    if (socket->property("upgraded").toBool()) {
        socket->readAll(); // frames and pings, never answered
        return;
    }
    const QByteArray head = socket->peek(1 << 16);
    if (!head.contains("\r\n\r\n"))
        return;
    socket->setProperty("upgraded", true);
    socket->readAll();
    QByteArray key;
    for (const QByteArray &line : head.split('\n')) {
        if (line.toLower().startsWith("sec-websocket-key:"))
            key = line.mid(line.indexOf(':') + 1).trimmed();
    }
    // RFC 6455 §4.2.2.
    const QByteArray input = key + QByteArrayLiteral("258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    const QByteArray accept = QCryptographicHash::hash(input, QCryptographicHash::Sha1).toBase64();
    socket->write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\nSec-WebSocket-Accept: "
                  + accept + "\r\n\r\n");
    ++m_silentUpgradeCount;
}

void FakePushServer::onWebSocket()
{
    while (QWebSocket *socket = m_webSocketServer.nextPendingConnection()) {
        socket->setParent(this);
        m_sockets.append(socket);
        m_requestUrls.append(socket->requestUrl());
        connect(socket, &QWebSocket::textMessageReceived, this, [this](const QString &text) {
            m_receivedFrames.append(text);
            Q_EMIT frameReceived();
        });
        connect(socket, &QWebSocket::disconnected, this,
                [this, socket] { m_lastCloseCode = socket->closeCode(); });
        Q_EMIT clientConnected();
    }
}

QWebSocket *FakePushServer::newest() const
{
    for (auto it = m_sockets.crbegin(); it != m_sockets.crend(); ++it) {
        if (*it && (*it)->state() == QAbstractSocket::ConnectedState)
            return *it;
    }
    return nullptr;
}
