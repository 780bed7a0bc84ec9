// SPDX-License-Identifier: MIT
#include "pushreconnectingsocket_p.h"

#include "pushclientlogging_p.h"
#include "pushhandshake_p.h"

#include <QtCore/QRandomGenerator>
#include <QtCore/QUrlQuery>
#include <QtWebSockets/QWebSocket>

#include <algorithm>
#include <utility>

namespace {

// Each delay is varied by ±20%, so that the clients of a restarted server do not all come back
// in the same instant.
constexpr double s_backoffJitter = 0.2;

// Tokens never reach the log (STYLE.md: Logging).
QUrl withoutToken(const QUrl &url)
{
    QUrl result = url;
    QUrlQuery query(result);
    if (!query.hasQueryItem(QStringLiteral("token")))
        return result;
    query.removeAllQueryItems(QStringLiteral("token"));
    result.setQuery(query);
    return result;
}

} // namespace

PushReconnectingSocket::PushReconnectingSocket(QObject *parent) : QObject(parent)
{
    m_reconnectTimer.setSingleShot(true);
    m_watchdogTimer.setSingleShot(true);
    connect(&m_reconnectTimer, &QTimer::timeout, this, &PushReconnectingSocket::connectNow);
    connect(&m_pingTimer, &QTimer::timeout, this, [this] {
        if (m_socket && m_open)
            m_socket->ping();
    });
    connect(&m_watchdogTimer, &QTimer::timeout, this, &PushReconnectingSocket::onWatchdog);
}

PushReconnectingSocket::~PushReconnectingSocket()
{
    // The socket, a child, outlives the members: cut it off first. Its destructor says
    // goodbye (1001).
    if (m_socket)
        disconnect(m_socket, nullptr, this, nullptr);
}

void PushReconnectingSocket::setRequestFactory(std::function<QNetworkRequest()> factory)
{
    m_requestFactory = std::move(factory);
}

PushReconnectingSocket::Timing PushReconnectingSocket::timing() const
{
    return m_timing;
}

void PushReconnectingSocket::setTiming(const Timing &timing)
{
    m_timing = timing;
}

void PushReconnectingSocket::open()
{
    m_reconnectTimer.stop();
    m_failedAttempts = 0;
    discard();
    connectNow();
}

int PushReconnectingSocket::reconnectLater()
{
    const int doublings = std::min(m_failedAttempts, 16); // far past any cap already
    const qint64 base
            = std::min(qint64(m_timing.firstBackoffMs) << doublings, qint64(m_timing.maxBackoffMs));
    ++m_failedAttempts;
    const double factor
            = 1.0 - s_backoffJitter + QRandomGenerator::global()->bounded(2 * s_backoffJitter);
    const int delayMs = int(double(base) * factor);
    m_reconnectTimer.start(delayMs);
    return delayMs;
}

void PushReconnectingSocket::reconnectNow()
{
    discard();
    m_reconnectTimer.start(0);
}

void PushReconnectingSocket::close()
{
    m_reconnectTimer.stop();
    m_failedAttempts = 0;
    QWebSocket *const socket = m_socket;
    if (!socket) {
        discard();
        return;
    }
    if (!m_open) {
        discard(); // aborts the attempt
        return;
    }
    // A polite close (RFC 6455 §7.1.2): the socket goes once the server answers, or once it is
    // given up on.
    m_socket = nullptr;
    discard();
    disconnect(socket, nullptr, this, nullptr);
    connect(socket, &QWebSocket::disconnected, socket, &QObject::deleteLater);
    QTimer::singleShot(m_timing.closeTimeoutMs, socket, &QWebSocket::abort);
    socket->close(QWebSocketProtocol::CloseCodeNormal);
}

bool PushReconnectingSocket::isActive() const
{
    return m_socket || m_reconnectTimer.isActive();
}

bool PushReconnectingSocket::sendTextMessage(const QString &text)
{
    if (!m_socket || !m_open)
        return false;
    m_socket->sendTextMessage(text);
    return true;
}

void PushReconnectingSocket::connectNow()
{
    Q_ASSERT(!m_socket);
    const QNetworkRequest request = m_requestFactory ? m_requestFactory() : QNetworkRequest();
    m_attemptUrl = withoutToken(request.url());
    m_open = false;
    auto *const socket = new QWebSocket(QString(), QWebSocketProtocol::VersionLatest, this);
    m_socket = socket;
    // Every handler first checks that its socket is still the current one: discard() moves the
    // generation on, besides disconnecting, so even an emission Qt has already begun to deliver
    // cannot reach the new state.
    const quint64 generation = ++m_generation;
    connect(socket, &QWebSocket::connected, this, [this, generation] {
        if (generation == m_generation)
            onConnected();
    });
    connect(socket, &QWebSocket::disconnected, this, [this, generation] {
        if (generation == m_generation)
            onDisconnected();
    });
    // QWebSocket::error, renamed errorOccurred in Qt 6.5.
    connect(socket, qOverload<QAbstractSocket::SocketError>(&QWebSocket::error), this,
            [this, generation](QAbstractSocket::SocketError socketError) {
                if (generation == m_generation)
                    onError(socketError);
            });
    connect(socket, &QWebSocket::textMessageReceived, this,
            [this, generation](const QString &text) {
                if (generation != m_generation)
                    return;
                m_lastReceived.restart();
                Q_EMIT textMessageReceived(text);
            });
    connect(socket, &QWebSocket::binaryMessageReceived, this, [this, generation] {
        if (generation != m_generation)
            return;
        m_lastReceived.restart();
        Q_EMIT binaryMessageReceived();
    });
    connect(socket, &QWebSocket::pong, this, [this, generation] {
        if (generation == m_generation)
            m_lastReceived.restart();
    });
    m_watchdogTimer.start(m_timing.handshakeTimeoutMs);
    qCInfo(lcPushClient).noquote() << "connecting to" << m_attemptUrl.toString();
    // Last: QWebSocket::open() may report an error synchronously, which ends the attempt.
    socket->open(request);
}

// Cuts the current socket off, if any, and stops its timers.
void PushReconnectingSocket::discard()
{
    ++m_generation;
    m_watchdogTimer.stop();
    m_pingTimer.stop();
    m_open = false;
    if (QWebSocket *const old = std::exchange(m_socket, nullptr)) {
        disconnect(old, nullptr, this, nullptr);
        old->abort();
        // Often inside one of its own signals.
        old->deleteLater();
    }
}

void PushReconnectingSocket::end(const Ending &ending)
{
    if (m_open && m_openSince.elapsed() >= m_timing.stableMs)
        m_failedAttempts = 0; // a good connection: the next drop starts the backoff over
    discard();
    Q_EMIT ended(ending);
}

void PushReconnectingSocket::onConnected()
{
    m_open = true;
    m_openSince.start();
    m_lastReceived.start();
    m_watchdogTimer.start(m_timing.silenceLimitMs);
    m_pingTimer.start(m_timing.pingIntervalMs);
    qCInfo(lcPushClient).noquote() << "connected to" << m_attemptUrl.toString();
    Q_EMIT connected();
}

void PushReconnectingSocket::onDisconnected()
{
    if (!m_open) {
        // A failed TCP connect reports disconnected() before error(): QAbstractSocket changes
        // its state first. The socket's error is set by then.
        attemptFailed(m_socket->error());
        return;
    }
    Ending ending;
    ending.kind = Ending::Closed;
    ending.closeCode = m_socket->closeCode();
    ending.closeReason = m_socket->closeReason();
    end(ending);
}

void PushReconnectingSocket::onError(QAbstractSocket::SocketError socketError)
{
    if (m_open) {
        // An open connection that fails also disconnects; onDisconnected() handles that.
        qCDebug(lcPushClient).noquote()
                << "socket error on" << m_attemptUrl.toString() << ":" << m_socket->errorString();
        return;
    }
    attemptFailed(socketError);
}

void PushReconnectingSocket::attemptFailed(QAbstractSocket::SocketError socketError)
{
    const QString text = m_socket->errorString();
    qCDebug(lcPushClient) << "connection attempt failed:" << socketError << text;
    Ending ending;
    ending.httpStatus = refusedHandshakeStatus(socketError, text);
    if (ending.httpStatus != 0) {
        ending.kind = Ending::Refused;
        ending.why = QStringLiteral("the server refused the upgrade with HTTP %1")
                             .arg(ending.httpStatus);
    } else if (socketError != QAbstractSocket::UnknownSocketError) {
        ending.why = QStringLiteral("cannot connect: %1").arg(text);
    } else {
        ending.why = QStringLiteral("the connection closed during the handshake");
    }
    end(ending);
}

void PushReconnectingSocket::onWatchdog()
{
    if (!m_socket)
        return;
    Ending ending;
    if (!m_open) {
        ending.kind = Ending::HandshakeTimedOut;
        ending.why = QStringLiteral("no WebSocket handshake within %1 ms")
                             .arg(m_timing.handshakeTimeoutMs);
        end(ending);
        return;
    }
    const qint64 silentMs = m_lastReceived.elapsed();
    if (silentMs < m_timing.silenceLimitMs) {
        m_watchdogTimer.start(int(m_timing.silenceLimitMs - silentMs));
        return;
    }
    ending.kind = Ending::Silent;
    ending.why = QStringLiteral("nothing received for %1 ms (no frame, no pong)").arg(silentMs);
    end(ending);
}
