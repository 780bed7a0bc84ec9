// SPDX-License-Identifier: MIT
#include <QtPush/pushremoteclient.h>

#include "pushclientlogging_p.h"
#include "pushprotocol_p.h"
#include "pushreconnectingsocket_p.h"

#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QJsonValue>
#include <QtCore/QPointer>
#include <QtWebSockets/QWebSocketProtocol>

#include <utility>

namespace {

using Ending = PushReconnectingSocket::Ending;

// The refusals of protocol.md: Errors that say nothing about the token: worth another try.
bool isTransientRefusal(const QString &code)
{
    using namespace PushProtocol;
    return code == QLatin1String(errorRateLimited) || code == QLatin1String(errorTimeout)
            || code == QLatin1String(errorUnavailable) || code == QLatin1String(errorInternal);
}

// An error frame comes just before the server closes the connection (protocol.md: Errors).
PushRemoteClient::Error errorForRefusal(const QString &code)
{
    return code == QLatin1String(PushProtocol::errorUnauthorized)
                    || code == QLatin1String(PushProtocol::errorForbidden)
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
    QNetworkRequest nextRequest();

    void onConnected();
    void onEnded(const Ending &ending);
    void onClosed(const Ending &ending);
    void onTextMessage(const QString &text);
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

    quint64 sentSince = 0; // the connection's since
    // The session's epoch, from the last hello frame (docs/protocol.md: The hello frame and
    // epochs): message ids compare only within one.
    QString epoch;
    // The last refusal the server sent on this connection: explains the close that follows.
    QString refusalCode;
    QString refusalMessage;
    bool pushed = false; // on this connection
    bool refusalAnswersPush = false;

    // Bumped by open() and close(): a signal emission that a slot answered with one of them
    // must not be followed by stale state changes.
    quint64 generation = 0;
    // The connection, its liveness and the backoff; a child of q (last: it goes first).
    PushReconnectingSocket socket;
};

PushRemoteClientPrivate::PushRemoteClientPrivate(PushRemoteClient *q) : q(q), socket(q)
{
    socket.setRequestFactory([this] { return nextRequest(); });
    QObject::connect(&socket, &PushReconnectingSocket::connected, q, [this] { onConnected(); });
    QObject::connect(&socket, &PushReconnectingSocket::ended, q,
                     [this](const Ending &ending) { onEnded(ending); });
    QObject::connect(&socket, &PushReconnectingSocket::textMessageReceived, q,
                     [this](const QString &text) { onTextMessage(text); });
    QObject::connect(&socket, &PushReconnectingSocket::binaryMessageReceived, q, [this] {
        protocolError(QStringLiteral("a binary frame (protocol.md: only text frames)"));
    });
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
        if (id.isEmpty() || id.toUtf8().size() > PushProtocol::maxIdBytes) {
            qCWarning(lcPushClient) << "PushRemoteClient::open: session and client ids must be"
                                    << "non-empty and at most" << PushProtocol::maxIdBytes
                                    << "bytes; got" << session << "and" << client;
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

// Called by the socket before each attempt.
QNetworkRequest PushRemoteClientPrivate::nextRequest()
{
    refusalCode.clear();
    refusalMessage.clear();
    pushed = false;
    refusalAnswersPush = false;
    sentSince = lastMessageId;
    return QNetworkRequest(webSocketUrl());
}

void PushRemoteClientPrivate::onConnected()
{
    // The trouble that error() described is over; NoError is not an error to signal.
    error = PushRemoteClient::NoError;
    errorString.clear();
    const QPointer<PushRemoteClient> guard(q);
    const quint64 current = generation;
    setStatus(PushRemoteClient::Connected);
    if (guard && generation == current)
        Q_EMIT q->connected();
}

void PushRemoteClientPrivate::onEnded(const Ending &ending)
{
    switch (ending.kind) {
    case Ending::Closed:
        onClosed(ending);
        return;
    case Ending::Refused:
        // protocol.md: Errors: 401 no or bad token, 403 a token that does not allow this.
        connectionLost(ending.httpStatus == 401 || ending.httpStatus == 403
                               ? PushRemoteClient::AccessError
                               : PushRemoteClient::ConnectionError,
                       ending.why,
                       ending.httpStatus == 401 || ending.httpStatus == 403 ? GiveUp : Retry);
        return;
    case Ending::Failed:
    case Ending::HandshakeTimedOut:
    case Ending::Silent:
        connectionLost(PushRemoteClient::ConnectionError, ending.why, Retry);
        return;
    }
}

void PushRemoteClientPrivate::onClosed(const Ending &ending)
{
    const int code = ending.closeCode;
    const QString &reason = ending.closeReason;
    if (code == PushProtocol::closeClientDeleted || code == PushProtocol::closeReplaced) {
        // docs/protocol.md: an operator deleted this client, or the same client id connected
        // from elsewhere: connecting again would undo the one or fight the other.
        connectionLost(PushRemoteClient::ConnectionError,
                       QStringLiteral("the server closed the connection with code %1: %2")
                               .arg(code)
                               .arg(reason),
                       GiveUp);
        return;
    }
    if (code == PushProtocol::closePolicyViolated && !isTransientRefusal(refusalCode)) {
        const QString what = refusalMessage.isEmpty() ? reason : refusalMessage;
        if (refusalAnswersPush && refusalCode != QLatin1String(PushProtocol::errorUnauthorized)) {
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

void PushRemoteClientPrivate::onTextMessage(const QString &text)
{
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
                       .arg(socket.attemptUrl().toString(), newEpoch,
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
    socket.reconnectNow();
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
    const QString where = socket.attemptUrl().toString();
    qCWarning(lcPushClient).noquote() << "ignoring" << why << "from" << where;
    setError(PushRemoteClient::ProtocolError, QStringLiteral("ignored %1 from %2").arg(why, where));
}

void PushRemoteClientPrivate::connectionLost(PushRemoteClient::Error newError, const QString &why,
                                             Then then)
{
    // The socket is gone already, and nothing is scheduled.
    const bool wasConnected = status == PushRemoteClient::Connected;
    const QString where = socket.attemptUrl().toString();

    PushRemoteClient::Status newStatus = PushRemoteClient::Idle;
    if (then == GiveUp) {
        qCWarning(lcPushClient).noquote() << "giving up on" << where << ":" << why;
    } else {
        const int delayMs = socket.reconnectLater();
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

// d's socket goes first, with a goodbye (1001) to an open connection.
PushRemoteClient::~PushRemoteClient() = default;

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
    d->setStatus(Connecting);
    if (d->status == Connecting && !d->socket.isActive())
        d->socket.open(); // unless a slot of statusChanged() closed the client already
}

void PushRemoteClient::close()
{
    ++d->generation;
    d->socket.close();
    const bool wasConnected = d->status == Connected;
    if (d->status == Idle)
        return;
    qCInfo(lcPushClient).noquote() << "closed" << d->socket.attemptUrl().toString();
    const QPointer<PushRemoteClient> guard(this);
    const quint64 current = d->generation;
    d->setStatus(Idle);
    if (wasConnected && guard && d->generation == current)
        Q_EMIT disconnected();
}

bool PushRemoteClient::push(const QVariant &message)
{
    if (d->status != Connected || !d->socket.isOpen()) {
        qCWarning(lcPushClient) << "PushRemoteClient::push: not connected (status" << d->status
                                << "); the message is dropped";
        return false;
    }
    const QJsonObject frame{{QStringLiteral("op"), QStringLiteral("push")},
                            {QStringLiteral("data"), QJsonValue::fromVariant(message)}};
    d->pushed = true;
    d->socket.sendTextMessage(
            QString::fromUtf8(QJsonDocument(frame).toJson(QJsonDocument::Compact)));
    return true;
}
