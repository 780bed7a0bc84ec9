// SPDX-License-Identifier: MIT
#pragma once

#include <QtPush/qtpushclient_export.h>

#include <QtCore/QObject>
#include <QtCore/QUrl>
#include <QtCore/QVariant>

#include <memory>

class PushRemoteClientPrivate;

/*!
    A client of a session on a qtpush-server, over WebSocket (docs/protocol.md: Receiving).

    Set url() to the server's base URL (http://host:port, or https:// for TLS) and the session
    and client ids, then call open(). Messages arrive through messageReceived() in id order. After
    a drop the client reconnects with exponential backoff (250 ms doubling to 10 s, with jitter)
    and resumes with `since=<lastMessageId>`, so that the server's client buffer or retention
    bridges the outage; what cannot be bridged is reported by gap().

    Ownership: an ordinary QObject; its parent or its creator owns it.
    Threading: lives in the thread that created it and emits there; call it from that thread.
    No function blocks.
*/
class QTPUSHCLIENT_EXPORT PushRemoteClient : public QObject
{
    Q_OBJECT
    Q_PROPERTY(QUrl url READ url WRITE setUrl NOTIFY urlChanged)
    Q_PROPERTY(QString session READ session WRITE setSession NOTIFY sessionChanged)
    Q_PROPERTY(QString client READ client WRITE setClient NOTIFY clientChanged)
    Q_PROPERTY(QString token READ token WRITE setToken NOTIFY tokenChanged)
    Q_PROPERTY(Status status READ status NOTIFY statusChanged)
    Q_PROPERTY(quint64 lastMessageId READ lastMessageId NOTIFY lastMessageIdChanged)
public:
    enum Status {
        Idle,         //!< not opened, or closed by close()
        Connecting,   //!< the first connection is being made
        Connected,    //!< the WebSocket is open
        Reconnecting, //!< the connection dropped; waiting out the backoff or connecting again
    };
    Q_ENUM(Status)

    enum Error {
        NoError = 0,
        ConnectionError, //!< the server could not be reached or the connection dropped
        AccessError,     //!< the server refused the token (the client stops reconnecting)
        ProtocolError,   //!< the server sent something this client cannot read
    };
    Q_ENUM(Error)

    explicit PushRemoteClient(QObject *parent = nullptr);
    ~PushRemoteClient() override;

    QUrl url() const;
    void setUrl(const QUrl &url);
    QString session() const;
    void setSession(const QString &session);
    QString client() const;
    void setClient(const QString &client);
    //! JWT sent as `?token=`; empty for a server without a secret.
    QString token() const;
    void setToken(const QString &token);

    Status status() const;
    //! The id of the newest message received; sent as `since` on reconnect.
    quint64 lastMessageId() const;
    //! Resumes after \a id on the next connection (for a client that stored its position).
    void setLastMessageId(quint64 id);

    Error error() const;
    QString errorString() const;

public Q_SLOTS:
    //! Connects, and keeps reconnecting until close().
    void open();
    //! Closes the connection (code 1000) and stops reconnecting.
    void close();
    //! Pushes \a message to every client of the session, this one included. Returns false (with
    //! a warning) when not connected: a push is not queued across an outage.
    bool push(const QVariant &message);

Q_SIGNALS:
    void messageReceived(const QVariant &message);
    //! Messages \a from to \a to (inclusive) of the session will never arrive.
    void gap(quint64 from, quint64 to);
    void connected();
    void disconnected();
    void urlChanged();
    void sessionChanged();
    void clientChanged();
    void tokenChanged();
    void statusChanged();
    void lastMessageIdChanged();
    void errorOccurred(PushRemoteClient::Error error);

private:
    std::unique_ptr<PushRemoteClientPrivate> d;
};
