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
    a drop the client reconnects with exponential backoff (250 ms doubling to 10 s, each delay
    varied by ±20%; a connection that stayed open 10 s starts it over) and resumes with
    `since=<lastMessageId>`, so that the server's client buffer or retention bridges the outage;
    a message repeated after a resume is dropped, and what cannot be bridged is reported by gap().
    It pings every 30 s, and drops and reconnects a connection on which nothing (no frame, no
    pong) arrived for 60 s, or whose handshake took more than 30 s.

    It stops for good, with AccessError and status Idle, only when the server refuses the token:
    an upgrade answered with HTTP 401 or 403, or close code 1008 (protocol.md: Errors). Two
    1008s are retried: one whose error frame names a passing condition (`rate_limited`,
    `timeout`, `unavailable`, `internal`), and one whose error frame answers a push of this
    connection (qtpush-server refuses a push with a subscribe-only token that way); the latter
    still sets AccessError. Every other failure is a ConnectionError and retried. Qt 6.4's
    QWebSocket reports a refused upgrade only through its error text, "Unhandled http status code:
    401 (Unauthorized)"; the status is read from that text.

    Message ids restart at 1 when the server restarts or the session is made again, under a new
    epoch that the server's hello frame names (docs/protocol.md: The hello frame and epochs).
    When a hello shows that lastMessageId() belongs to an earlier life, the client resets it to
    0 and, if the new life has messages, reconnects at once with `since=0`, so that it gets what
    the new life retains instead of skipping it.

    error() describes the newest trouble; a connection that opens clears it to NoError without
    signalling. errorOccurred() is emitted when error() changes to another error.

    Ownership: an ordinary QObject; its parent or its creator owns it. Do not delete it in a slot
    connected to one of its signals; use deleteLater().
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
        Idle, //!< not opened, or closed by close()
        Connecting, //!< the first connection is being made
        Connected, //!< the WebSocket is open
        Reconnecting, //!< the connection dropped; waiting out the backoff or connecting again
    };
    Q_ENUM(Status)

    enum Error {
        NoError = 0,
        ConnectionError, //!< the server could not be reached or the connection dropped
        AccessError, //!< the server refused the token (the client stops reconnecting), or a push
        ProtocolError, //!< the server sent something this client cannot read
    };
    Q_ENUM(Error)

    explicit PushRemoteClient(QObject *parent = nullptr);
    ~PushRemoteClient() override;

    //! The settings below take effect on the next connection, not on an open one.
    QUrl url() const;
    void setUrl(const QUrl &url);
    QString session() const;
    void setSession(const QString &session);
    QString client() const;
    void setClient(const QString &client);
    //! JWT sent as `?token=`; empty for a server without a secret. Never logged.
    QString token() const;
    void setToken(const QString &token);

    Status status() const;
    //! The id of the newest message received, or the last one a gap() reported lost; sent as
    //! `since` on reconnect.
    quint64 lastMessageId() const;
    //! Resumes after \a id on the next connection (for a client that stored its position).
    //! When the server's hello frame shows that the session has not reached \a id, the
    //! position is from an earlier life of the session and the client starts over at 0.
    void setLastMessageId(quint64 id);

    Error error() const;
    QString errorString() const;

public Q_SLOTS:
    //! Connects, and keeps reconnecting until close() or an AccessError. Does nothing when not
    //! Idle; with no valid url, session or client, warns and does nothing.
    void open();
    //! Closes the connection (code 1000) and stops reconnecting; status() is Idle on return, and
    //! disconnected() is emitted before it returns if the client was connected.
    void close();
    //! Pushes \a message to every client of the session, this one included. Returns false (with
    //! a warning) when not connected: a push is not queued across an outage.
    bool push(const QVariant &message);

Q_SIGNALS:
    //! A message's data (QJsonValue::toVariant()); lastMessageId() is already its id.
    void messageReceived(const QVariant &message);
    //! Messages \a from to \a to (inclusive) of the session will never arrive. Emitted in order
    //! with messageReceived(), after lastMessageId() moved to \a to.
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
