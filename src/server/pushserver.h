// SPDX-License-Identifier: MIT
#pragma once

#include <QtPush/qtpushserver_export.h>

#include <QtCore/QObject>
#include <QtNetwork/QHostAddress>

#include <memory>

class PushRegistry;
class PushServerPrivate;
class QSslConfiguration;

/*!
    Serves a PushRegistry on one TCP port, as docs/protocol.md describes: WebSocket, Server-Sent
    Events, long-poll and HTTP push, plus listing, deleting, /healthz and /metrics.

    Every network client is a PushClient of the registry, created in the server's thread, so an
    in-process push reaches network clients and a network push reaches in-process ones.

    Ownership: the server does not own the registry, which must outlive it. The server owns its
    connections; deleting the server drops them at once (shutdown() closes them politely first).
    Threading: a PushServer lives in the thread that created it and serves all its connections
    from that thread's event loop; call its functions from that thread. None of them blocks.
*/
class QTPUSHSERVER_EXPORT PushServer : public QObject
{
    Q_OBJECT
    Q_PROPERTY(bool listening READ isListening NOTIFY listeningChanged)
    Q_PROPERTY(quint16 serverPort READ serverPort NOTIFY listeningChanged)
    Q_PROPERTY(int connectionCount READ connectionCount NOTIFY connectionCountChanged)
    Q_PROPERTY(Error error READ error NOTIFY errorOccurred)
public:
    enum Error {
        NoError = 0,
        ListenError, //!< the address or port could not be bound
        TlsError, //!< the TLS certificate or key could not be used
    };
    Q_ENUM(Error)

    explicit PushServer(PushRegistry *registry, QObject *parent = nullptr);
    ~PushServer() override;

    PushRegistry *registry() const;

    //! Starts accepting on \a address and \a port (0 picks a free port). Without a secret the
    //! server refuses a non-loopback address unless setAllowInsecureRemote(true) was called
    //! (protocol.md: Access). Returns false and sets error() and errorString() on failure,
    //! without logging: reporting it is the caller's.
    bool listen(const QHostAddress &address = QHostAddress::LocalHost, quint16 port = 0);
    bool isListening() const;
    QHostAddress serverAddress() const;
    quint16 serverPort() const;

    //! Stops accepting, closes WebSockets with 1001 (going away), answers pending long-polls
    //! with what they have, ends event streams, and emits shutdownFinished() once every
    //! connection is gone or after \a timeoutMs. Clients stay in the registry.
    void shutdown(int timeoutMs = 5000);
    //! Stops accepting and drops every connection at once, as if the process died; clients
    //! stay in the registry and their grace periods start. For tests of resumption.
    void abort();

    //! Open TCP connections of every kind.
    int connectionCount() const;

    //! HS256 secret for JWT access tokens; empty (the default) turns authentication off.
    QByteArray secret() const;
    void setSecret(const QByteArray &secret);
    //! Lets listen() bind a non-loopback address without a secret.
    void setAllowInsecureRemote(bool allow);

    //! TLS for every transport (https, wss); call before listen(). listen() fails with
    //! TlsError when the configuration has no certificate or no private key.
    void setSslConfiguration(const QSslConfiguration &configuration);

    //! Largest message data accepted, in bytes (64 KiB by default): a bigger HTTP body gets 413,
    //! a bigger WebSocket message close code 1009.
    qint64 maxMessageBytes() const;
    void setMaxMessageBytes(qint64 bytes);
    //! Concurrent TCP connections (0: no limit but the process's open-file limit); past it a
    //! request gets 503.
    int maxConnections() const;
    void setMaxConnections(int connections);
    //! Clients a session may have (0: no limit); a new one past it gets 503.
    int maxClientsPerSession() const;
    void setMaxClientsPerSession(int clients);
    //! Pushes per second that one connection may make, with bursts of as many but at least one
    //! (0: no limit); past it a push gets 429.
    double pushRateLimit() const;
    void setPushRateLimit(double pushesPerSecond);
    //! How long a disconnected client keeps its buffer before it is removed (60 s by default).
    int clientGracePeriod() const;
    void setClientGracePeriod(int milliseconds);
    //! How often a quiet WebSocket is pinged (30 s); one that leaves a ping unanswered for as long
    //! is dropped. Event streams get a keep-alive comment as often.
    int pingInterval() const;
    void setPingInterval(int milliseconds);
    //! Per-client buffer of undelivered messages for sessions the server creates (256). A slow
    //! reader holds at most this many; past it it gets a gap frame.
    int clientBuffer() const;
    void setClientBuffer(int messages);
    //! Messages a session the server creates keeps for `since=` resumption (1024), and for how
    //! long (300 s).
    int retainedMessages() const;
    void setRetainedMessages(int messages);
    int retentionPeriod() const;
    void setRetentionPeriod(int milliseconds);
    //! Bytes of undelivered messages per client, counted as decoded in memory
    //! (PushSession::estimateBytes()), for sessions the server creates (4 MiB; 0: no byte
    //! bound). Past it the oldest is dropped and the client gets a gap frame; a single message
    //! is always kept.
    qint64 clientBufferBytes() const;
    void setClientBufferBytes(qint64 bytes);
    //! Bytes that all sessions together retain for resumption, counted as decoded in memory
    //! (256 MiB; 0: no budget). When a push through the server takes the total past it, the
    //! largest sessions forget their oldest retained messages until the total is 7/8 of the
    //! budget; a client resuming from before them gets a gap frame.
    qint64 maxRetainedBytes() const;
    void setMaxRetainedBytes(qint64 bytes);
    //! Sessions the registry may hold before the server refuses to create another one with
    //! 503 (100,000; 0: no limit). Existing sessions stay usable.
    int maxSessions() const;
    void setMaxSessions(int sessions);

    Error error() const;
    QString errorString() const;

Q_SIGNALS:
    void listeningChanged();
    void connectionCountChanged();
    void errorOccurred(PushServer::Error error);
    void shutdownFinished();

private:
    std::unique_ptr<PushServerPrivate> d;
};
