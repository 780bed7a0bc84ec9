// SPDX-License-Identifier: MIT
#include <QtPush/pushremoteclient.h>

#include "pushclientlogging_p.h"
#include "pushhandshake_p.h"

#include <QtCore/QElapsedTimer>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QJsonValue>
#include <QtCore/QPointer>
#include <QtCore/QRandomGenerator>
#include <QtCore/QTimer>
#include <QtCore/QUrlQuery>
#include <QtWebSockets/QWebSocket>

#include <algorithm>
#include <utility>

namespace {

// Reconnect backoff: 250 ms doubling to 10 s, each delay varied by ±20% so that the clients of
// a restarted server do not all come back in the same instant.
constexpr int s_firstBackoffMs = 250;
constexpr int s_maxBackoffMs = 10000;
constexpr double s_backoffJitter = 0.2;
// A connection that stayed open this long was a good one: the next drop starts the backoff over.
constexpr int s_stableConnectionMs = s_maxBackoffMs;
// Liveness: a ping every interval; nothing received (frame or pong) for two intervals means a
// dead peer or a dead path, which TCP alone can take many minutes to notice.
constexpr int s_pingIntervalMs = 30000;
constexpr int s_silenceLimitMs = 2 * s_pingIntervalMs;
// QWebSocket in Qt 6.4 has no handshake timeout of its own.
constexpr int s_connectTimeoutMs = s_pingIntervalMs;
// How long a socket closed by close() may wait for the server's close frame (RFC 6455 §7.1.1).
constexpr int s_closeTimeoutMs = 5000;
// protocol.md: Names.
constexpr int s_maxIdBytes = 256;

// Close codes of docs/protocol.md (RFC 6455 §7.4.2: 4000-4999 are for applications).
constexpr int closeCodeClientDeleted = 4000;
constexpr int closeCodeReplaced = 4001;

// The refusals of protocol.md: Errors that say nothing about the token: worth another try.
bool isTransientRefusal(const QString &code)
{
    return code == QLatin1String("rate_limited") || code == QLatin1String("timeout")
            || code == QLatin1String("unavailable") || code == QLatin1String("internal");
}

// An error frame comes just before the server closes the connection (protocol.md: Errors).
PushRemoteClient::Error errorForRefusal(const QString &code)
{
    return code == QLatin1String("unauthorized") || code == QLatin1String("forbidden")
            ? PushRemoteClient::AccessError
            : PushRemoteClient::ConnectionError;
}

// A message id or gap bound: a positive integer (protocol.md: Names), or 0 when it is not one.
quint64 positiveId(const QJsonValue &value)
{
    const qint64 id = value.toInteger(0);
    return id > 0 ? quint64(id) : 0;
}

} // namespace

class PushRemoteClientPrivate
{
public:
    explicit PushRemoteClientPrivate(PushRemoteClient *q);

    bool checkSettings() const;
    QUrl webSocketUrl() const;
    QUrl loggedUrl() const;
    int nextBackoffMs();

    void connectNow();
    void discardSocket();
    void onConnected();
    void onDisconnected();
    void onSocketError(QAbstractSocket::SocketError socketError);
    void attemptFailed(QAbstractSocket::SocketError socketError);
    void onTextMessage(const QString &text);
    void onWatchdog();
    void handleMessage(const QJsonObject &frame);
    void handleControl(const QJsonObject &frame);
    void handleGap(const QJsonObject &frame);
    void handleHello(const QJsonObject &frame);
    void startOver();
    void handleRefusal(const QJsonObject &frame);
    void protocolError(const QString &why);
    enum Then { Retry, GiveUp };
    void connectionLost(PushRemoteClient::Error error, const QString &why, Then then);

    void setStatus(PushRemoteClient::Status status);
    bool updateError(PushRemoteClient::Error error, const QString &errorString);
    void setError(PushRemoteClient::Error error, const QString &errorString);

    PushRemoteClient *const q;
    QUrl url;
    QString session;
    QString client;
    QString token;
    PushRemoteClient::Status status = PushRemoteClient::Idle;
    quint64 lastMessageId = 0;
    PushRemoteClient::Error error = PushRemoteClient::NoError;
    QString errorString;

    // The connection or connection attempt in progress; a child of q, deleted later because
    // it is often inside one of its own signals when it is given up.
    QWebSocket *socket = nullptr;
    QUrl attemptUrl; // the socket's URL without the token, for the log and errorString()
    bool socketOpen = false;
    quint64 sentSince = 0; // the socket's since
    // The session's epoch, from the last hello frame (docs/protocol.md: The hello frame and
    // epochs): message ids compare only within one.
    QString epoch;
    // The last refusal the server sent on this connection: explains the close that follows.
    QString refusalCode;
    QString refusalMessage;
    bool pushed = false; // on this connection
    bool refusalAnswersPush = false;

    int failedAttempts = 0; // since the last stable connection
    QTimer reconnectTimer;
    QTimer pingTimer;
    QTimer watchdogTimer; // connect timeout, then silence limit
    QElapsedTimer lastReceived;
    QElapsedTimer openSince;
    // Bumped by open() and close(): a signal emission that a slot answered with one of them
    // must not be followed by stale state changes.
    quint64 generation = 0;
};

PushRemoteClientPrivate::PushRemoteClientPrivate(PushRemoteClient *q) : q(q)
{
    reconnectTimer.setSingleShot(true);
    watchdogTimer.setSingleShot(true);
    pingTimer.setInterval(s_pingIntervalMs);
    QObject::connect(&reconnectTimer, &QTimer::timeout, q, [this] { connectNow(); });
    QObject::connect(&pingTimer, &QTimer::timeout, q, [this] {
        if (socket && socketOpen)
            socket->ping();
    });
    QObject::connect(&watchdogTimer, &QTimer::timeout, q, [this] { onWatchdog(); });
}

bool PushRemoteClientPrivate::checkSettings() const
{
    const QString scheme = url.scheme();
    if (!url.isValid() || url.host().isEmpty()
        || (scheme != QLatin1String("http") && scheme != QLatin1String("https")
            && scheme != QLatin1String("ws") && scheme != QLatin1String("wss"))) {
        qCWarning(lcPushClient) << "PushRemoteClient::open: url" << url
                                << "is not an http, https, ws or wss URL with a host";
        return false;
    }
    for (const QString &id : {session, client}) {
        if (id.isEmpty() || id.toUtf8().size() > s_maxIdBytes) {
            qCWarning(lcPushClient) << "PushRemoteClient::open: session and client ids must be"
                                    << "non-empty and at most" << s_maxIdBytes << "bytes; got"
                                    << session << "and" << client;
            return false;
        }
    }
    return true;
}

QUrl PushRemoteClientPrivate::webSocketUrl() const
{
    QUrl result = url;
    const QString scheme = url.scheme();
    if (scheme == QLatin1String("http"))
        result.setScheme(QStringLiteral("ws"));
    else if (scheme == QLatin1String("https"))
        result.setScheme(QStringLiteral("wss"));
    // A base URL may carry a path prefix (a server behind a reverse proxy).
    QString path = url.path(QUrl::FullyEncoded);
    while (path.endsWith(QLatin1Char('/')))
        path.chop(1);
    path += QLatin1String("/v1/sessions/") + QString::fromLatin1(QUrl::toPercentEncoding(session))
            + QLatin1String("/clients/") + QString::fromLatin1(QUrl::toPercentEncoding(client))
            + QLatin1String("/ws");
    result.setPath(path, QUrl::StrictMode);
    QStringList query;
    if (lastMessageId > 0) {
        query.append(QLatin1String("since=") + QString::number(lastMessageId));
        // With the epoch the server itself tells an id of an earlier life of the session.
        if (!epoch.isEmpty())
            query.append(QLatin1String("epoch=") + epoch);
    }
    if (!token.isEmpty())
        query.append(QLatin1String("token=") + QString::fromLatin1(QUrl::toPercentEncoding(token)));
    result.setQuery(query.isEmpty() ? QString() : query.join(QLatin1Char('&')), QUrl::StrictMode);
    result.setFragment(QString());
    return result;
}

// Tokens never reach the log (STYLE.md: Logging).
QUrl PushRemoteClientPrivate::loggedUrl() const
{
    QUrl result = webSocketUrl();
    QUrlQuery query(result);
    query.removeAllQueryItems(QStringLiteral("token"));
    result.setQuery(query);
    return result;
}

int PushRemoteClientPrivate::nextBackoffMs()
{
    const int doublings = std::min(failedAttempts, 6); // 250 ms << 6 is past the cap already
    const int base = std::min(s_firstBackoffMs << doublings, s_maxBackoffMs);
    ++failedAttempts;
    const double factor
            = 1.0 - s_backoffJitter + QRandomGenerator::global()->bounded(2 * s_backoffJitter);
    return int(base * factor);
}

void PushRemoteClientPrivate::connectNow()
{
    Q_ASSERT(!socket);
    socketOpen = false;
    refusalCode.clear();
    refusalMessage.clear();
    pushed = false;
    refusalAnswersPush = false;
    socket = new QWebSocket(QString(), QWebSocketProtocol::VersionLatest, q);
    QWebSocket *const current = socket;
    // Every handler checks that the signal comes from the current socket: one given up may
    // still be closing.
    QObject::connect(current, &QWebSocket::connected, q, [this, current] {
        if (current == socket)
            onConnected();
    });
    QObject::connect(current, &QWebSocket::disconnected, q, [this, current] {
        if (current == socket)
            onDisconnected();
    });
    // QWebSocket::error, renamed errorOccurred in Qt 6.5.
    QObject::connect(current, qOverload<QAbstractSocket::SocketError>(&QWebSocket::error), q,
                     [this, current](QAbstractSocket::SocketError socketError) {
                         if (current == socket)
                             onSocketError(socketError);
                     });
    QObject::connect(current, &QWebSocket::textMessageReceived, q,
                     [this, current](const QString &text) {
                         if (current == socket)
                             onTextMessage(text);
                     });
    QObject::connect(current, &QWebSocket::binaryMessageReceived, q, [this, current] {
        if (current != socket)
            return;
        lastReceived.restart();
        protocolError(QStringLiteral("a binary frame (protocol.md: only text frames)"));
    });
    QObject::connect(current, &QWebSocket::pong, q, [this, current] {
        if (current == socket)
            lastReceived.restart();
    });
    attemptUrl = loggedUrl();
    sentSince = lastMessageId;
    watchdogTimer.start(s_connectTimeoutMs);
    qCInfo(lcPushClient).noquote() << "connecting to" << attemptUrl.toString();
    // Last: QWebSocket::open() may report an error synchronously, which gives the socket up.
    current->open(webSocketUrl());
}

void PushRemoteClientPrivate::discardSocket()
{
    watchdogTimer.stop();
    pingTimer.stop();
    if (!socket)
        return;
    QWebSocket *const old = std::exchange(socket, nullptr);
    socketOpen = false;
    QObject::disconnect(old, nullptr, q, nullptr);
    old->abort();
    old->deleteLater();
}

void PushRemoteClientPrivate::onConnected()
{
    socketOpen = true;
    openSince.start();
    lastReceived.start();
    watchdogTimer.start(s_silenceLimitMs);
    pingTimer.start();
    qCInfo(lcPushClient).noquote() << "connected to" << attemptUrl.toString();
    // The trouble that error() described is over; NoError is not an error to signal.
    error = PushRemoteClient::NoError;
    errorString.clear();
    const QPointer<PushRemoteClient> guard(q);
    const quint64 current = generation;
    setStatus(PushRemoteClient::Connected);
    if (guard && generation == current)
        Q_EMIT q->connected();
}

void PushRemoteClientPrivate::onDisconnected()
{
    if (!socketOpen) {
        // A failed TCP connect reports disconnected() before error(): QAbstractSocket changes
        // its state first. The socket's error is set by then.
        attemptFailed(socket->error());
        return;
    }
    const int code = socket->closeCode();
    const QString reason = socket->closeReason();
    if (code == closeCodeClientDeleted || code == closeCodeReplaced) {
        // docs/protocol.md: an operator deleted this client, or the same client id connected
        // from elsewhere: connecting again would undo the one or fight the other.
        connectionLost(PushRemoteClient::ConnectionError,
                       QStringLiteral("the server closed the connection with code %1: %2")
                               .arg(code)
                               .arg(reason),
                       GiveUp);
        return;
    }
    if (code == QWebSocketProtocol::CloseCodePolicyViolated && !isTransientRefusal(refusalCode)) {
        const QString what = refusalMessage.isEmpty() ? reason : refusalMessage;
        if (refusalAnswersPush && refusalCode != QLatin1String("unauthorized")) {
            // The server refused a push of ours (a token without the push scope) and closed
            // the connection with it. Receiving was allowed: connect again; the handshake
            // tells if the token itself is no good any more.
            connectionLost(PushRemoteClient::AccessError,
                           QStringLiteral("the server refused a push and closed the connection "
                                          "with code 1008 (policy): %1")
                                   .arg(what),
                           Retry);
            return;
        }
        // protocol.md: Errors: 1008 is the refusal of the token; trying again cannot help.
        connectionLost(
                PushRemoteClient::AccessError,
                QStringLiteral("the server closed the connection with code 1008 (policy): %1")
                        .arg(what),
                GiveUp);
        return;
    }
    QString why;
    if (!refusalMessage.isEmpty())
        why = QStringLiteral("the server closed the connection with code %1: %2 (%3)")
                      .arg(code)
                      .arg(refusalMessage, refusalCode);
    else if (!reason.isEmpty())
        why = QStringLiteral("the server closed the connection with code %1: %2")
                      .arg(code)
                      .arg(reason);
    else if (code != QWebSocketProtocol::CloseCodeNormal)
        why = QStringLiteral("the server closed the connection with code %1").arg(code);
    else // QWebSocket reports a connection that dropped without a close frame as 1000 too
        why = QStringLiteral("the connection was closed or dropped");
    connectionLost(PushRemoteClient::ConnectionError, why, Retry);
}

void PushRemoteClientPrivate::onSocketError(QAbstractSocket::SocketError socketError)
{
    if (socketOpen) {
        // An open connection that fails also disconnects; onDisconnected() handles that.
        qCDebug(lcPushClient).noquote()
                << "socket error on" << attemptUrl.toString() << ":" << socket->errorString();
        return;
    }
    attemptFailed(socketError);
}

void PushRemoteClientPrivate::attemptFailed(QAbstractSocket::SocketError socketError)
{
    const QString text = socket->errorString();
    qCDebug(lcPushClient) << "connection attempt failed:" << socketError << text;
    const int status = refusedHandshakeStatus(socketError, text);
    if (status == 401 || status == 403) {
        // protocol.md: Errors: no or bad token, or a token that does not allow this.
        connectionLost(PushRemoteClient::AccessError,
                       QStringLiteral("the server refused the upgrade with HTTP %1").arg(status),
                       GiveUp);
    } else if (status != 0) {
        connectionLost(PushRemoteClient::ConnectionError,
                       QStringLiteral("the server refused the upgrade with HTTP %1").arg(status),
                       Retry);
    } else if (socketError != QAbstractSocket::UnknownSocketError) {
        connectionLost(PushRemoteClient::ConnectionError,
                       QStringLiteral("cannot connect: %1").arg(text), Retry);
    } else {
        connectionLost(PushRemoteClient::ConnectionError,
                       QStringLiteral("the connection closed during the handshake"), Retry);
    }
}

void PushRemoteClientPrivate::onWatchdog()
{
    if (!socket)
        return;
    if (!socketOpen) {
        connectionLost(
                PushRemoteClient::ConnectionError,
                QStringLiteral("no WebSocket handshake within %1 ms").arg(s_connectTimeoutMs),
                Retry);
        return;
    }
    const qint64 silentMs = lastReceived.elapsed();
    if (silentMs < s_silenceLimitMs) {
        watchdogTimer.start(int(s_silenceLimitMs - silentMs));
        return;
    }
    connectionLost(PushRemoteClient::ConnectionError,
                   QStringLiteral("nothing received for %1 ms (no frame, no pong)").arg(silentMs),
                   Retry);
}

void PushRemoteClientPrivate::onTextMessage(const QString &text)
{
    lastReceived.restart();
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(text.toUtf8(), &parseError);
    if (parseError.error != QJsonParseError::NoError || !document.isObject()) {
        protocolError(QStringLiteral("a frame that is not a JSON object (%1)")
                              .arg(parseError.error != QJsonParseError::NoError
                                           ? parseError.errorString()
                                           : QStringLiteral("a JSON array")));
        return;
    }
    const QJsonObject frame = document.object();
    if (frame.contains(QLatin1String("type")))
        handleControl(frame);
    else if (frame.contains(QLatin1String("error")))
        handleRefusal(frame);
    else
        handleMessage(frame);
}

void PushRemoteClientPrivate::handleMessage(const QJsonObject &frame)
{
    const quint64 id = positiveId(frame.value(QLatin1String("id")));
    if (id == 0 || !frame.contains(QLatin1String("data"))) {
        protocolError(QStringLiteral("a message frame without a positive id or without data"));
        return;
    }
    if (id <= lastMessageId) {
        // A resumed connection may repeat what the last one delivered (protocol.md: since).
        qCDebug(lcPushClient) << "ignoring message" << id << ": already at" << lastMessageId;
        return;
    }
    qCDebug(lcPushClient) << "message" << id << frame.value(QLatin1String("data"));
    lastMessageId = id;
    const QPointer<PushRemoteClient> guard(q);
    Q_EMIT q->lastMessageIdChanged();
    if (guard)
        Q_EMIT q->messageReceived(frame.value(QLatin1String("data")).toVariant());
}

void PushRemoteClientPrivate::handleControl(const QJsonObject &frame)
{
    const QJsonValue type = frame.value(QLatin1String("type"));
    if (!type.isString()) {
        protocolError(QStringLiteral("a control frame whose type is not a string"));
        return;
    }
    if (type.toString() == QLatin1String("gap"))
        handleGap(frame);
    else if (type.toString() == QLatin1String("hello"))
        handleHello(frame);
    else // protocol.md: Receiving: a client ignores control frames it does not know.
        qCDebug(lcPushClient) << "ignoring control frame" << type.toString();
}

void PushRemoteClientPrivate::handleGap(const QJsonObject &frame)
{
    const quint64 from = positiveId(frame.value(QLatin1String("from")));
    const quint64 to = positiveId(frame.value(QLatin1String("to")));
    if (from == 0 || to < from) {
        protocolError(QStringLiteral("a gap frame without positive ids from <= to"));
        return;
    }
    qCDebug(lcPushClient) << "gap: messages" << from << "to" << to << "are lost";
    const QPointer<PushRemoteClient> guard(q);
    if (to > lastMessageId) {
        // A resume must not ask for them again: the server could only report the gap again.
        lastMessageId = to;
        Q_EMIT q->lastMessageIdChanged();
    }
    if (guard)
        Q_EMIT q->gap(from, to);
}

void PushRemoteClientPrivate::handleHello(const QJsonObject &frame)
{
    const QString newEpoch = frame.value(QLatin1String("epoch")).toString();
    const qint64 newestId = frame.value(QLatin1String("lastId")).toInteger(-1);
    if (newEpoch.isEmpty() || newestId < 0) {
        protocolError(QStringLiteral("a hello frame without an epoch or a lastId"));
        return;
    }
    // Ids restart at 1 when the server restarts or the session is made again. A position from
    // an earlier life shows as another epoch, or, for one set by setLastMessageId(), as an id
    // the session has not reached yet.
    const bool earlierLife
            = (!epoch.isEmpty() && newEpoch != epoch) || sentSince > quint64(newestId);
    const QString oldEpoch = std::exchange(epoch, newEpoch);
    if (!earlierLife || lastMessageId == 0)
        return;
    qCInfo(lcPushClient).noquote()
            << QStringLiteral("the session of %1 started over (epoch %2 after %3): resuming from "
                              "its first retained message")
                       .arg(attemptUrl.toString(), newEpoch,
                            oldEpoch.isEmpty() ? QStringLiteral("an unknown one") : oldEpoch);
    lastMessageId = 0;
    const QPointer<PushRemoteClient> guard(q);
    const quint64 current = generation;
    Q_EMIT q->lastMessageIdChanged();
    // The server applied the old since to the new life, skipping its messages up to it, or all
    // of them when it was beyond: ask again with since=0 (docs/protocol.md, as above). A new
    // life without messages yet has nothing to skip.
    if (guard && generation == current && sentSince > 0 && newestId > 0)
        startOver();
}

// Reconnects at once for the new since, without counting a failure.
void PushRemoteClientPrivate::startOver()
{
    discardSocket();
    reconnectTimer.start(0);
    const QPointer<PushRemoteClient> guard(q);
    const quint64 current = generation;
    setStatus(PushRemoteClient::Reconnecting);
    if (guard && generation == current)
        Q_EMIT q->disconnected();
}

void PushRemoteClientPrivate::handleRefusal(const QJsonObject &frame)
{
    const QJsonObject refusal = frame.value(QLatin1String("error")).toObject();
    const QString code = refusal.value(QLatin1String("code")).toString();
    if (code.isEmpty()) {
        protocolError(QStringLiteral("an error frame without a code"));
        return;
    }
    refusalCode = code;
    refusalMessage = refusal.value(QLatin1String("message")).toString();
    refusalAnswersPush = pushed;
    // Logged with the close that follows (protocol.md: Errors: the error, then a close frame).
    qCDebug(lcPushClient) << "the server refused:" << code << refusalMessage;
    setError(errorForRefusal(code),
             QStringLiteral("the server refused: %1 (%2)").arg(refusalMessage, code));
}

void PushRemoteClientPrivate::protocolError(const QString &why)
{
    // One bad frame does not make the connection useless: keep it (protocol.md: Errors).
    qCWarning(lcPushClient).noquote() << "ignoring" << why << "from" << attemptUrl.toString();
    setError(PushRemoteClient::ProtocolError,
             QStringLiteral("ignored %1 from %2").arg(why, attemptUrl.toString()));
}

void PushRemoteClientPrivate::connectionLost(PushRemoteClient::Error newError, const QString &why,
                                             Then then)
{
    const bool wasConnected = status == PushRemoteClient::Connected;
    const bool stable = wasConnected && openSince.elapsed() >= s_stableConnectionMs;
    const QString where = attemptUrl.toString();
    discardSocket();

    PushRemoteClient::Status newStatus = PushRemoteClient::Idle;
    if (then == GiveUp) {
        qCWarning(lcPushClient).noquote() << "giving up on" << where << ":" << why;
        failedAttempts = 0;
    } else {
        if (stable)
            failedAttempts = 0;
        const int delayMs = nextBackoffMs();
        reconnectTimer.start(delayMs);
        newStatus = PushRemoteClient::Reconnecting;
        // A drop is worth a warning; the failed attempts of an outage that follow are not.
        if (wasConnected)
            qCWarning(lcPushClient).noquote()
                    << "lost" << where << ":" << why << "; reconnecting in" << delayMs << "ms";
        else
            qCInfo(lcPushClient).noquote()
                    << where << ":" << why << "; trying again in" << delayMs << "ms";
    }

    // The state first, the signals last: a slot sees the new state, and may close, reopen or
    // delete the client; after that, nothing stale is emitted.
    const QPointer<PushRemoteClient> guard(q);
    const quint64 current = generation;
    const auto unchanged = [&] { return guard && generation == current; };
    const bool errorChanged = updateError(newError, where + QLatin1String(": ") + why);
    setStatus(newStatus);
    if (wasConnected && unchanged())
        Q_EMIT q->disconnected();
    if (errorChanged && unchanged())
        Q_EMIT q->errorOccurred(newError);
}

void PushRemoteClientPrivate::setStatus(PushRemoteClient::Status newStatus)
{
    if (status == newStatus)
        return;
    status = newStatus;
    Q_EMIT q->statusChanged();
}

// Records the error; returns whether errorOccurred() is due (QWebSocketServerPrivate::setError).
bool PushRemoteClientPrivate::updateError(PushRemoteClient::Error newError,
                                          const QString &newErrorString)
{
    errorString = newErrorString;
    return std::exchange(error, newError) != newError;
}

void PushRemoteClientPrivate::setError(PushRemoteClient::Error newError,
                                       const QString &newErrorString)
{
    if (updateError(newError, newErrorString))
        Q_EMIT q->errorOccurred(newError);
}

// ---- PushRemoteClient ----------------------------------------------------------------------

PushRemoteClient::PushRemoteClient(QObject *parent)
    : QObject(parent), d(std::make_unique<PushRemoteClientPrivate>(this))
{ }

PushRemoteClient::~PushRemoteClient()
{
    // The socket, a child, outlives d: cut it off first. Its destructor says goodbye (1001).
    if (d->socket)
        QObject::disconnect(d->socket, nullptr, this, nullptr);
}

QUrl PushRemoteClient::url() const
{
    return d->url;
}

void PushRemoteClient::setUrl(const QUrl &url)
{
    if (d->url == url)
        return;
    d->url = url;
    Q_EMIT urlChanged();
}

QString PushRemoteClient::session() const
{
    return d->session;
}

void PushRemoteClient::setSession(const QString &session)
{
    if (d->session == session)
        return;
    d->session = session;
    Q_EMIT sessionChanged();
}

QString PushRemoteClient::client() const
{
    return d->client;
}

void PushRemoteClient::setClient(const QString &client)
{
    if (d->client == client)
        return;
    d->client = client;
    Q_EMIT clientChanged();
}

QString PushRemoteClient::token() const
{
    return d->token;
}

void PushRemoteClient::setToken(const QString &token)
{
    if (d->token == token)
        return;
    d->token = token;
    Q_EMIT tokenChanged();
}

PushRemoteClient::Status PushRemoteClient::status() const
{
    return d->status;
}

quint64 PushRemoteClient::lastMessageId() const
{
    return d->lastMessageId;
}

void PushRemoteClient::setLastMessageId(quint64 id)
{
    d->epoch.clear(); // the position's life is unknown: only the hello's lastId can tell
    if (d->lastMessageId == id)
        return;
    d->lastMessageId = id;
    Q_EMIT lastMessageIdChanged();
}

PushRemoteClient::Error PushRemoteClient::error() const
{
    return d->error;
}

QString PushRemoteClient::errorString() const
{
    return d->errorString;
}

void PushRemoteClient::open()
{
    if (d->status != Idle) {
        qCDebug(lcPushClient) << "PushRemoteClient::open: already open";
        return;
    }
    if (!d->checkSettings())
        return;
    ++d->generation;
    d->failedAttempts = 0;
    d->setStatus(Connecting);
    if (d->status == Connecting && !d->socket && !d->reconnectTimer.isActive())
        d->connectNow(); // unless a slot of statusChanged() closed the client already
}

void PushRemoteClient::close()
{
    ++d->generation;
    d->reconnectTimer.stop();
    d->watchdogTimer.stop();
    d->pingTimer.stop();
    d->failedAttempts = 0;
    const bool wasConnected = d->status == Connected;
    if (QWebSocket *const socket = std::exchange(d->socket, nullptr)) {
        QObject::disconnect(socket, nullptr, this, nullptr);
        if (d->socketOpen) {
            // A polite close (RFC 6455 §7.1.2): the socket goes once the server answers, or
            // once it is given up on.
            connect(socket, &QWebSocket::disconnected, socket, &QObject::deleteLater);
            QTimer::singleShot(s_closeTimeoutMs, socket, &QWebSocket::abort);
            socket->close(QWebSocketProtocol::CloseCodeNormal);
        } else {
            socket->abort();
            socket->deleteLater();
        }
        d->socketOpen = false;
    }
    if (d->status == Idle)
        return;
    qCInfo(lcPushClient).noquote() << "closed" << d->attemptUrl.toString();
    const QPointer<PushRemoteClient> guard(this);
    const quint64 current = d->generation;
    d->setStatus(Idle);
    if (wasConnected && guard && d->generation == current)
        Q_EMIT disconnected();
}

bool PushRemoteClient::push(const QVariant &message)
{
    if (d->status != Connected || !d->socket) {
        qCWarning(lcPushClient) << "PushRemoteClient::push: not connected (status" << d->status
                                << "); the message is dropped";
        return false;
    }
    const QJsonObject frame{{QStringLiteral("op"), QStringLiteral("push")},
                            {QStringLiteral("data"), QJsonValue::fromVariant(message)}};
    d->pushed = true;
    d->socket->sendTextMessage(
            QString::fromUtf8(QJsonDocument(frame).toJson(QJsonDocument::Compact)));
    return true;
}
