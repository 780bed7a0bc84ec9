// SPDX-License-Identifier: MIT
#include <QtPush/pushmonitor.h>

#include "pushclientlogging_p.h"
#include "pushhandshake_p.h"
#include "pushmonitormodels_p.h"

#include <QtCore/QElapsedTimer>
#include <QtCore/QJsonDocument>
#include <QtCore/QRandomGenerator>
#include <QtCore/QTimer>
#include <QtNetwork/QNetworkRequest>
#include <QtWebSockets/QWebSocket>

namespace {
constexpr int s_backoffStartMs = 250;
constexpr int s_backoffMaxMs = 10000;
constexpr qint64 s_stableMs = 10000; // a connection up this long resets the backoff
} // namespace

class PushMonitorPrivate
{
public:
    explicit PushMonitorPrivate(PushMonitor *q) : q(q) { }

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
    QWebSocket *socket = nullptr;
    QTimer retryTimer;
    QElapsedTimer upSince;
    int backoffMs = s_backoffStartMs;
    bool open = false;
    bool socketOpen = false;
    bool accessRefused = false; // an error frame said unauthorized/forbidden; its close follows

    void setStatus(PushMonitor::Status s)
    {
        if (status == s)
            return;
        status = s;
        Q_EMIT q->statusChanged();
    }
    void setError(PushMonitor::Error e, const QString &text)
    {
        if (error == e && errorString == text)
            return;
        error = e;
        errorString = text;
        Q_EMIT q->errorChanged();
        if (e != PushMonitor::NoError)
            Q_EMIT q->errorOccurred(e);
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
        u.setPath(path + QStringLiteral("/v1/admin/events"));
        return u;
    }

    void connectNow()
    {
        dropSocket();
        socket = new QWebSocket(QString(), QWebSocketProtocol::VersionLatest, q);
        QObject::connect(socket, &QWebSocket::connected, q, [this] { onConnected(); });
        QObject::connect(socket, &QWebSocket::disconnected, q, [this] { onDisconnected(); });
        QObject::connect(socket, &QWebSocket::textMessageReceived, q,
                         [this](const QString &text) { onText(text); });
        // QWebSocket::error, renamed errorOccurred in Qt 6.5.
        QObject::connect(socket, qOverload<QAbstractSocket::SocketError>(&QWebSocket::error), q,
                         [this](QAbstractSocket::SocketError e) {
                             if (!socketOpen)
                                 attemptFailed(e);
                         });
        QNetworkRequest request(eventsUrl());
        if (!token.isEmpty())
            request.setRawHeader("Authorization", "Bearer " + token.toUtf8());
        socket->open(request);
    }

    void dropSocket()
    {
        if (!socket)
            return;
        socket->disconnect(q);
        socket->abort();
        socket->deleteLater();
        socket = nullptr;
        socketOpen = false;
    }

    void onConnected()
    {
        socketOpen = true;
        accessRefused = false;
        upSince.start();
        setError(PushMonitor::NoError, QString());
        setStatus(PushMonitor::Connected);
        sendWatch();
        Q_EMIT q->connected();
    }

    void attemptFailed(QAbstractSocket::SocketError socketError)
    {
        const QString text = socket ? socket->errorString() : QString();
        const int status = refusedHandshakeStatus(socketError, text);
        if (status == 401 || status == 403) {
            // protocol.md: the admin stream needs an admin token; trying again cannot help.
            lost(PushMonitor::AccessError,
                 QStringLiteral("the server refused the upgrade with HTTP %1").arg(status), false);
        } else if (status != 0) {
            lost(PushMonitor::ConnectionError,
                 QStringLiteral("the server refused the upgrade with HTTP %1").arg(status), true);
        } else if (socketError != QAbstractSocket::UnknownSocketError) {
            lost(PushMonitor::ConnectionError, QStringLiteral("cannot connect: %1").arg(text),
                 true);
        } else {
            lost(PushMonitor::ConnectionError,
                 QStringLiteral("the connection closed during the handshake"), true);
        }
    }

    void onDisconnected()
    {
        if (!socket)
            return;
        const bool wasOpen = socketOpen;
        const int code = int(socket->closeCode());
        const QString reason = socket->closeReason();
        if (!wasOpen) {
            attemptFailed(QAbstractSocket::UnknownSocketError);
            return;
        }
        if (code == 1008
            && (accessRefused || reason.contains(QLatin1String("forbidden"))
                || reason.contains(QLatin1String("unauthorized")))) {
            lost(PushMonitor::AccessError,
                 QStringLiteral("the server closed the stream with code 1008: %1").arg(reason),
                 false);
            return;
        }
        if (upSince.isValid() && upSince.elapsed() >= s_stableMs)
            backoffMs = s_backoffStartMs;
        lost(PushMonitor::ConnectionError,
             QStringLiteral("the connection closed (code %1)").arg(code), true);
    }

    // Models keep their rows: the next snapshot reconciles them.
    void lost(PushMonitor::Error e, const QString &text, bool retry)
    {
        const bool wasOpen = socketOpen;
        dropSocket();
        if (retry)
            qCInfo(lcPushClient).noquote() << "admin stream:" << text << "- trying again";
        else
            qCWarning(lcPushClient).noquote() << "admin stream:" << text;
        setError(e, text);
        if (retry && open) {
            setStatus(PushMonitor::Reconnecting);
            const double jitter = 0.8 + 0.4 * QRandomGenerator::global()->generateDouble();
            retryTimer.start(int(backoffMs * jitter));
            backoffMs = qMin(backoffMs * 2, s_backoffMaxMs);
        } else {
            open = false;
            setStatus(PushMonitor::Idle);
        }
        if (wasOpen)
            Q_EMIT q->disconnected();
    }

    void send(const QJsonObject &o)
    {
        socket->sendTextMessage(QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Compact)));
    }

    void sendWatch()
    {
        if (!socketOpen)
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
            const bool access
                    = code == QLatin1String("forbidden") || code == QLatin1String("unauthorized");
            accessRefused = access;
            setError(access ? PushMonitor::AccessError : PushMonitor::ProtocolError,
                     QStringLiteral("%1: %2").arg(code, message));
            return;
        }
        const QString type = frame.value(QLatin1String("type")).toString();
        using namespace PushMonitorModels;
        if (type == QLatin1String("snapshot")) {
            applyServer(frame);
            reconcile(sessions, frame.value(QLatin1String("sessions")).toArray());
            Q_EMIT q->ticked();
        } else if (type == QLatin1String("sessionAdded")) {
            upsert(sessions, frame);
        } else if (type == QLatin1String("sessionRemoved")) {
            remove(sessions, frame.value(QLatin1String("session")).toString());
        } else if (type == QLatin1String("tick")) {
            applyServer(frame);
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
    d->retryTimer.setSingleShot(true);
    connect(&d->retryTimer, &QTimer::timeout, this, [this] {
        if (d->open)
            d->connectNow();
    });
}

PushMonitor::~PushMonitor()
{
    if (d->socket)
        d->socket->disconnect(this);
}

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
    if (d->open)
        return;
    d->open = true;
    d->backoffMs = s_backoffStartMs;
    d->setError(NoError, QString());
    d->setStatus(Connecting);
    d->connectNow();
}

void PushMonitor::close()
{
    const bool wasOpen = d->socketOpen;
    d->open = false;
    d->retryTimer.stop();
    if (d->socket) {
        d->socket->disconnect(this);
        d->socket->close();
        d->socket->deleteLater();
        d->socket = nullptr;
        d->socketOpen = false;
    }
    d->setStatus(Idle);
    if (wasOpen)
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
    if (!d->socketOpen || session.isEmpty()) {
        qCWarning(lcPushClient) << "PushMonitor::pushTo: not connected, or no session";
        return false;
    }
    d->send({{QStringLiteral("op"), QStringLiteral("push")},
             {QStringLiteral("session"), session},
             {QStringLiteral("data"), QJsonValue::fromVariant(data)}});
    return true;
}
