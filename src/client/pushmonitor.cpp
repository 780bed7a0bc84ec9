// SPDX-License-Identifier: MIT
#include <QtPush/pushmonitor.h>

#include "pushclientlogging_p.h"
#include "pushmonitormodels_p.h"
#include "pushprotocol_p.h"
#include "pushreconnectingsocket_p.h"

#include <QtCore/QJsonDocument>
#include <QtCore/QPointer>

#include <utility>

using Ending = PushReconnectingSocket::Ending;

class PushMonitorPrivate
{
public:
    explicit PushMonitorPrivate(PushMonitor *q) : q(q), socket(q)
    {
        socket.setRequestFactory([this] { return nextRequest(); });
        QObject::connect(&socket, &PushReconnectingSocket::connected, q, [this] { onConnected(); });
        QObject::connect(&socket, &PushReconnectingSocket::ended, q,
                         [this](const Ending &ending) { onEnded(ending); });
        QObject::connect(&socket, &PushReconnectingSocket::textMessageReceived, q,
                         [this](const QString &text) { onText(text); });
    }

    PushMonitor *q;
    QUrl url;
    QString token;
    QString watched;
    PushMonitor::Status status = PushMonitor::Idle;
    PushMonitor::Error error = PushMonitor::NoError;
    QString errorString;
    QVariantMap server;
    QDateTime serverTime;
    PushSessionsModel *sessions = nullptr;
    PushClientsModel *clients = nullptr;
    bool accessRefused = false; // an error frame said unauthorized/forbidden; its close follows
    // Bumped by open() and close(): a signal emission that a slot answered with one of them
    // must not be followed by stale state changes.
    quint64 generation = 0;
    // The connection, its liveness and the backoff; a child of q (last: it goes first).
    PushReconnectingSocket socket;

    // Guards the signals of one step: false once a slot reopened, closed or deleted q.
    struct Step
    {
        explicit Step(PushMonitorPrivate *d) : d(d), guard(d->q), generation(d->generation) { }
        bool unchanged() const { return guard && d->generation == generation; }
        PushMonitorPrivate *d;
        QPointer<PushMonitor> guard;
        quint64 generation;
    };

    void setStatus(PushMonitor::Status s)
    {
        if (status == s)
            return;
        status = s;
        Q_EMIT q->statusChanged();
    }
    // Records the error; returns whether errorChanged() is due.
    bool updateError(PushMonitor::Error e, const QString &text)
    {
        if (error == e && errorString == text)
            return false;
        error = e;
        errorString = text;
        return true;
    }
    void emitError(const Step &step)
    {
        if (!step.unchanged())
            return;
        const PushMonitor::Error e = error;
        Q_EMIT q->errorChanged();
        if (e != PushMonitor::NoError && step.unchanged())
            Q_EMIT q->errorOccurred(e);
    }
    void setError(PushMonitor::Error e, const QString &text)
    {
        const Step step(this);
        if (updateError(e, text))
            emitError(step);
    }

    QUrl eventsUrl() const
    {
        QUrl u = url;
        if (u.scheme() == QLatin1String("https"))
            u.setScheme(QStringLiteral("wss"));
        else if (u.scheme() == QLatin1String("http"))
            u.setScheme(QStringLiteral("ws"));
        QString path = u.path();
        while (path.endsWith(QLatin1Char('/')))
            path.chop(1);
        u.setPath(path + QLatin1String(PushProtocol::adminEventsPath));
        return u;
    }

    // Called by the socket before each attempt.
    QNetworkRequest nextRequest()
    {
        accessRefused = false;
        QNetworkRequest request(eventsUrl());
        if (!token.isEmpty())
            request.setRawHeader("Authorization", "Bearer " + token.toUtf8());
        return request;
    }

    void onConnected()
    {
        // The state first, the signals last: a slot sees the new state, and may close, reopen
        // or delete the monitor; after that, nothing stale is emitted.
        const Step step(this);
        const bool errorDue = updateError(PushMonitor::NoError, QString());
        const bool statusDue
                = std::exchange(status, PushMonitor::Connected) != PushMonitor::Connected;
        sendWatch();
        if (errorDue)
            emitError(step);
        if (statusDue && step.unchanged())
            Q_EMIT q->statusChanged();
        if (step.unchanged())
            Q_EMIT q->connected();
    }

    void onEnded(const Ending &ending)
    {
        switch (ending.kind) {
        case Ending::Refused:
            if (ending.httpStatus == 401 || ending.httpStatus == 403) {
                // protocol.md: the admin stream needs an admin token; trying again cannot help.
                lost(ending, PushMonitor::AccessError, ending.why, false);
            } else {
                lost(ending, PushMonitor::ConnectionError, ending.why, true);
            }
            return;
        case Ending::Failed:
        case Ending::HandshakeTimedOut:
        case Ending::Silent:
            lost(ending, PushMonitor::ConnectionError, ending.why, true);
            return;
        case Ending::Closed:
            break;
        }
        const QString &reason = ending.closeReason;
        if (ending.closeCode == PushProtocol::closePolicyViolated
            && (accessRefused || reason.contains(QLatin1String(PushProtocol::errorForbidden))
                || reason.contains(QLatin1String(PushProtocol::errorUnauthorized)))) {
            lost(ending, PushMonitor::AccessError,
                 QStringLiteral("the server closed the stream with code 1008: %1").arg(reason),
                 false);
            return;
        }
        lost(ending, PushMonitor::ConnectionError,
             QStringLiteral("the connection closed (code %1)").arg(ending.closeCode), true);
    }

    // The socket is gone already. Models keep their rows: the next snapshot reconciles them.
    void lost(const Ending &ending, PushMonitor::Error e, const QString &text, bool retry)
    {
        if (retry) {
            const int delayMs = socket.reconnectLater();
            qCInfo(lcPushClient).noquote()
                    << "admin stream:" << text << "- trying again in" << delayMs << "ms";
        } else {
            qCWarning(lcPushClient).noquote() << "admin stream:" << text;
        }
        const Step step(this);
        const bool errorDue = updateError(e, text);
        const PushMonitor::Status newStatus = retry ? PushMonitor::Reconnecting : PushMonitor::Idle;
        const bool statusDue = std::exchange(status, newStatus) != newStatus;
        if (errorDue)
            emitError(step);
        if (statusDue && step.unchanged())
            Q_EMIT q->statusChanged();
        if (ending.wasOpen() && step.unchanged())
            Q_EMIT q->disconnected();
    }

    void send(const QJsonObject &o)
    {
        socket.sendTextMessage(QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Compact)));
    }

    void sendWatch()
    {
        if (!socket.isOpen())
            return;
        send({{QStringLiteral("op"), QStringLiteral("watch")},
              {QStringLiteral("session"),
               watched.isEmpty() ? QJsonValue(QJsonValue::Null) : QJsonValue(watched)}});
    }

    void applyServer(const QJsonObject &frame)
    {
        const QJsonValue time = frame.value(QLatin1String("time"));
        if (time.isDouble()) {
            const QDateTime t = QDateTime::fromMSecsSinceEpoch(qint64(time.toDouble()));
            if (t != serverTime) {
                serverTime = t;
                Q_EMIT q->serverTimeChanged();
            }
        }
        const QJsonValue figures = frame.value(QLatin1String("server"));
        if (figures.isObject()) {
            const QVariantMap map = figures.toObject().toVariantMap();
            if (map != server) {
                server = map;
                Q_EMIT q->serverChanged();
            }
        }
    }

    bool isWatched(const QJsonObject &frame) const
    {
        return !watched.isEmpty() && frame.value(QLatin1String("session")).toString() == watched;
    }

    void onText(const QString &text)
    {
        QJsonParseError parseError;
        const QJsonDocument doc = QJsonDocument::fromJson(text.toUtf8(), &parseError);
        if (!doc.isObject()) {
            qCWarning(lcPushClient) << "admin stream: a frame that is not a JSON object";
            return;
        }
        const QJsonObject frame = doc.object();
        if (frame.contains(QLatin1String("error"))) {
            const QJsonObject e = frame.value(QLatin1String("error")).toObject();
            const QString code = e.value(QLatin1String("code")).toString();
            const QString message = e.value(QLatin1String("message")).toString();
            const bool access = code == QLatin1String(PushProtocol::errorForbidden)
                    || code == QLatin1String(PushProtocol::errorUnauthorized);
            accessRefused = access;
            setError(access ? PushMonitor::AccessError : PushMonitor::ProtocolError,
                     QStringLiteral("%1: %2").arg(code, message));
            return;
        }
        const QString type = frame.value(QLatin1String("type")).toString();
        // A frame's changes emit signals one by one; once a slot reopened or closed the
        // monitor, the rest of the frame belongs to a connection that is gone.
        const Step step(this);
        using namespace PushMonitorModels;
        if (type == QLatin1String("snapshot")) {
            applyServer(frame);
            if (!step.unchanged())
                return;
            reconcile(sessions, frame.value(QLatin1String("sessions")).toArray());
            if (step.unchanged())
                Q_EMIT q->ticked();
        } else if (type == QLatin1String("sessionAdded")) {
            upsert(sessions, frame);
        } else if (type == QLatin1String("sessionRemoved")) {
            remove(sessions, frame.value(QLatin1String("session")).toString());
        } else if (type == QLatin1String("tick")) {
            applyServer(frame);
            if (!step.unchanged())
                return;
            for (const QJsonValue &v : frame.value(QLatin1String("sessions")).toArray())
                upsert(sessions, v.toObject());
            for (const QJsonValue &v : frame.value(QLatin1String("removed")).toArray())
                remove(sessions, v.toString());
            const QJsonObject watch = frame.value(QLatin1String("watch")).toObject();
            if (isWatched(watch)) {
                for (const QJsonValue &v : watch.value(QLatin1String("clients")).toArray())
                    upsert(clients, v.toObject());
                for (const QJsonValue &v : watch.value(QLatin1String("removed")).toArray())
                    remove(clients, v.toString());
            }
            if (step.unchanged())
                Q_EMIT q->ticked();
        } else if (type == QLatin1String("clients")) {
            if (isWatched(frame))
                reconcile(clients, frame.value(QLatin1String("clients")).toArray());
        } else if (type == QLatin1String("clientAdded")) {
            if (isWatched(frame))
                upsert(clients, frame);
        } else if (type == QLatin1String("clientRemoved")) {
            if (isWatched(frame))
                remove(clients, frame.value(QLatin1String("client")).toString());
        } else if (type == QLatin1String("pushed")) {
            Q_EMIT q->pushed(frame.value(QLatin1String("session")).toString(),
                             quint64(frame.value(QLatin1String("id")).toDouble()),
                             frame.value(QLatin1String("clients")).toInt());
        }
        // Other types are ignored, as the protocol asks.
    }
};

PushMonitor::PushMonitor(QObject *parent)
    : QObject(parent), d(std::make_unique<PushMonitorPrivate>(this))
{
    d->sessions = new PushSessionsModel(this);
    d->clients = new PushClientsModel(this);
}

// d's socket goes first, with a goodbye (1001) to an open connection.
PushMonitor::~PushMonitor() = default;

QUrl PushMonitor::url() const
{
    return d->url;
}
void PushMonitor::setUrl(const QUrl &url)
{
    if (d->url == url)
        return;
    d->url = url;
    Q_EMIT urlChanged();
}
QString PushMonitor::token() const
{
    return d->token;
}
void PushMonitor::setToken(const QString &token)
{
    if (d->token == token)
        return;
    d->token = token;
    Q_EMIT tokenChanged();
}
PushMonitor::Status PushMonitor::status() const
{
    return d->status;
}
PushMonitor::Error PushMonitor::error() const
{
    return d->error;
}
QString PushMonitor::errorString() const
{
    return d->errorString;
}
QString PushMonitor::watchedSession() const
{
    return d->watched;
}
void PushMonitor::setWatchedSession(const QString &session)
{
    if (d->watched == session)
        return;
    d->watched = session;
    PushMonitorModels::setSession(d->clients, session);
    d->sendWatch();
    Q_EMIT watchedSessionChanged();
}
QVariantMap PushMonitor::server() const
{
    return d->server;
}
QDateTime PushMonitor::serverTime() const
{
    return d->serverTime;
}
PushSessionsModel *PushMonitor::sessions() const
{
    return d->sessions;
}
PushClientsModel *PushMonitor::clients() const
{
    return d->clients;
}

void PushMonitor::open()
{
    if (d->status != Idle)
        return;
    ++d->generation;
    const PushMonitorPrivate::Step step(d.get());
    const bool errorDue = d->updateError(NoError, QString());
    d->status = Connecting;
    if (errorDue)
        d->emitError(step);
    if (step.unchanged())
        Q_EMIT statusChanged();
    if (step.unchanged() && !d->socket.isActive())
        d->socket.open(); // unless a slot closed the monitor already
}

void PushMonitor::close()
{
    ++d->generation;
    const bool wasOpen = d->socket.isOpen();
    d->socket.close();
    const PushMonitorPrivate::Step step(d.get());
    d->setStatus(Idle);
    if (wasOpen && step.unchanged())
        Q_EMIT disconnected();
}

bool PushMonitor::push(const QVariant &data)
{
    if (d->watched.isEmpty()) {
        qCWarning(lcPushClient) << "PushMonitor::push: no session is watched";
        return false;
    }
    return pushTo(d->watched, data);
}

bool PushMonitor::pushTo(const QString &session, const QVariant &data)
{
    if (!d->socket.isOpen() || session.isEmpty()) {
        qCWarning(lcPushClient) << "PushMonitor::pushTo: not connected, or no session";
        return false;
    }
    d->send({{QStringLiteral("op"), QStringLiteral("push")},
             {QStringLiteral("session"), session},
             {QStringLiteral("data"), QJsonValue::fromVariant(data)}});
    return true;
}
