// SPDX-License-Identifier: MIT
#pragma once

// Internal: the one WebSocket connection handling of PushRemoteClient and PushMonitor. Not
// installed; exported only so that tests can shorten its timeouts (findChild() on the owner).

#include <QtPush/qtpushclient_export.h>

#include <QtCore/QElapsedTimer>
#include <QtCore/QObject>
#include <QtCore/QTimer>
#include <QtCore/QUrl>
#include <QtNetwork/QAbstractSocket>
#include <QtNetwork/QNetworkRequest>

#include <functional>

class QWebSocket;

/*!
    A QWebSocket that its owner reconnects: it makes the attempts, times out a handshake that
    does not finish, pings an open connection and drops it when nothing (no frame, no pong)
    arrived for a while, closes politely, and computes the backoff between attempts. The owner
    decides what an ending means: ended() reports it with the socket already gone and nothing
    scheduled, and the owner calls reconnectLater() to try again or leaves it stopped.

    Each QWebSocket it makes carries a generation: open(), close(), reconnectNow() and every
    ending move it on and cut the old socket off, so that nothing an old socket emits (a frame
    behind the one whose slot reopened the owner, a disconnect in flight) reaches the new
    state. Each signal is emitted last in its handler, so a slot may close, reopen or (with
    deleteLater()) delete the owner.

    Ownership: a child of its owner, whose private part holds it; the QWebSockets are its
    children. Threading: its thread only. Nothing blocks.
*/
class QTPUSHCLIENT_EXPORT PushReconnectingSocket : public QObject
{
    Q_OBJECT
public:
    //! Every interval it uses, in milliseconds. The defaults are those the owners document.
    struct Timing
    {
        int firstBackoffMs = 250; //!< doubled per failed attempt, varied by ±20%
        int maxBackoffMs = 10000;
        int stableMs = 10000; //!< a connection open this long starts the backoff over
        int handshakeTimeoutMs = 30000; //!< QWebSocket in Qt 6.4 has no timeout of its own
        int pingIntervalMs = 30000;
        int silenceLimitMs = 60000; //!< two unanswered pings: a dead peer or path
        int closeTimeoutMs = 5000; //!< for the server's close frame (RFC 6455 §7.1.1)
    };

    //! How a connection, or an attempt at one, ended.
    struct Ending
    {
        enum Kind {
            Refused, //!< the server answered the upgrade with httpStatus
            Failed, //!< no connection: TCP, TLS or the handshake failed
            HandshakeTimedOut, //!< no answer to the upgrade within handshakeTimeoutMs
            Closed, //!< an open connection was closed (closeCode, closeReason) or dropped
            Silent, //!< nothing arrived on an open connection for silenceLimitMs
        };
        Kind kind = Failed;
        int httpStatus = 0;
        //! As QWebSocket reports it: 1000 also for a connection dropped without a close frame.
        int closeCode = 0;
        QString closeReason;
        //! What happened, for an error string; empty for Closed, whose owner words it.
        QString why;

        bool wasOpen() const { return kind == Closed || kind == Silent; }
    };

    explicit PushReconnectingSocket(QObject *parent = nullptr);
    ~PushReconnectingSocket() override;

    //! Called before each attempt for the request to open; it may note what it sends.
    void setRequestFactory(std::function<QNetworkRequest()> factory);
    Timing timing() const;
    //! For tests: takes effect from the next attempt on.
    void setTiming(const Timing &timing);

    //! Connects now with a fresh backoff, dropping any connection or attempt in progress.
    void open();
    //! Connects again after the next backoff delay and returns the delay. For after ended().
    int reconnectLater();
    //! Drops the connection and connects again at once, without counting a failure.
    void reconnectNow();
    //! Stops: an open connection is closed with 1000 (and given up if the server does not
    //! answer within closeTimeoutMs), an attempt is aborted, a reconnect cancelled. Emits
    //! nothing.
    void close();

    //! Whether a connection or an attempt is in progress, or a reconnect is scheduled.
    bool isActive() const;
    //! Whether the handshake completed and the connection stands.
    bool isOpen() const { return m_open; }
    //! The URL of the newest attempt without a `token` query item, for logs and errors.
    QUrl attemptUrl() const { return m_attemptUrl; }
    //! Sends a text frame; false when not open.
    bool sendTextMessage(const QString &text);

Q_SIGNALS:
    void connected();
    void textMessageReceived(const QString &text);
    void binaryMessageReceived();
    void ended(const PushReconnectingSocket::Ending &ending);

private:
    void connectNow();
    void discard();
    void end(const Ending &ending);
    void onConnected();
    void onDisconnected();
    void onError(QAbstractSocket::SocketError socketError);
    void attemptFailed(QAbstractSocket::SocketError socketError);
    void onWatchdog();

    std::function<QNetworkRequest()> m_requestFactory;
    Timing m_timing;
    QWebSocket *m_socket = nullptr; // the connection or attempt in progress
    quint64 m_generation = 0; // of m_socket; moved on whenever a socket is cut off
    bool m_open = false;
    QUrl m_attemptUrl;
    int m_failedAttempts = 0; // since the last stable connection
    QTimer m_reconnectTimer;
    QTimer m_pingTimer;
    QTimer m_watchdogTimer; // the handshake timeout, then the silence limit
    QElapsedTimer m_lastReceived;
    QElapsedTimer m_openSince;
};
