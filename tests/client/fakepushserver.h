// SPDX-License-Identifier: MIT
#pragma once

#include <QtCore/QJsonObject>
#include <QtCore/QList>
#include <QtCore/QObject>
#include <QtCore/QPointer>
#include <QtCore/QStringList>
#include <QtCore/QUrl>
#include <QtNetwork/QTcpServer>
#include <QtWebSockets/QWebSocketProtocol>
#include <QtWebSockets/QWebSocketServer>

class QTcpSocket;
class QWebSocket;

/*!
    A stand-in for qtpush-server's WebSocket transport, for testing PushRemoteClient: it accepts
    upgrades on loopback, records what clients ask for and send, and lets the test write frames,
    drop connections or refuse upgrades with an HTTP status.

    It takes TCP connections itself and hands them to a QWebSocketServer (handleConnection()),
    as PushServer does, so that it can also answer an upgrade with a plain HTTP refusal.
    Ownership: owns its sockets. Threading: the test's thread only.
*/
class FakePushServer : public QObject
{
    Q_OBJECT
public:
    FakePushServer();
    ~FakePushServer() override;

    //! Listens on QHostAddress::LocalHost; \a port 0 picks a free one.
    bool listen(quint16 port = 0);
    //! Stops listening and aborts every connection, as a crashed server would.
    void stop();
    quint16 port() const { return m_port; }
    //! The base URL a PushRemoteClient is given: http://127.0.0.1:port.
    QUrl url() const;

    //! Answers later upgrades with \a status and a protocol.md error body; 0 accepts again.
    void setRefusal(int status) { m_refusal = status; }
    int refusedCount() const { return m_refusedCount; }

    //! How later connections go wrong without a word: a hung server or a dead path.
    enum class Silence {
        None, //!< upgrades are answered and the WebSockets live (the default)
        NoHandshake, //!< takes the TCP connection and never answers the upgrade
        AfterHandshake, //!< answers the upgrade (101), then neither reads nor writes: no pong
    };
    void setSilence(Silence silence) { m_silence = silence; }
    //! TCP connections taken so far, whatever became of them.
    int tcpConnectionCount() const { return m_tcpConnectionCount; }
    //! Connections that Silence::AfterHandshake upgraded so far.
    int silentUpgradeCount() const { return m_silentUpgradeCount; }

    //! The request URL of every accepted upgrade, oldest first.
    QList<QUrl> requestUrls() const { return m_requestUrls; }
    //! The text frames the clients sent, oldest first.
    QStringList receivedFrames() const { return m_receivedFrames; }
    //! Upgrades accepted so far.
    int connectionCount() const { return m_requestUrls.size(); }
    //! Connections still open.
    int openConnectionCount() const;
    //! The close code of the connection that ended last, or -1 before any ended.
    int lastCloseCode() const { return m_lastCloseCode; }

    //! Sends \a text to the newest connection; false when there is none.
    bool sendText(const QString &text);
    //! Sends \a frames to the newest connection in one turn of the event loop, so that the
    //! client reads them at once; false when there is none.
    bool sendTogether(const QList<QJsonObject> &frames);
    bool sendJson(const QJsonObject &frame);
    //! Sends {"id":id,"session":session,"data":data}.
    bool sendMessage(quint64 id, const QJsonValue &data,
                     const QString &session = QStringLiteral("s"));
    //! Aborts every connection without a close frame (a crash or a cut cable).
    void abortConnections();
    //! Closes every connection with \a code, as a WebSocket refusal does.
    void closeConnections(QWebSocketProtocol::CloseCode code, const QString &reason = {});

Q_SIGNALS:
    void clientConnected();
    void frameReceived();

private:
    void onTcpConnection();
    void onWebSocket();
    void refuse(QTcpSocket *socket);
    void upgradeSilently(QTcpSocket *socket);
    QWebSocket *newest() const;

    QTcpServer m_tcpServer;
    QWebSocketServer m_webSocketServer;
    quint16 m_port = 0;
    int m_refusal = 0;
    int m_refusedCount = 0;
    Silence m_silence = Silence::None;
    int m_tcpConnectionCount = 0;
    int m_silentUpgradeCount = 0;
    int m_lastCloseCode = -1;
    QList<QPointer<QTcpSocket>> m_tcpSockets;
    QList<QPointer<QWebSocket>> m_sockets;
    QList<QUrl> m_requestUrls;
    QStringList m_receivedFrames;
};
