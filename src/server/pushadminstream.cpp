// SPDX-License-Identifier: MIT
#include "pushadminstream_p.h"

#include "pushadminhub_p.h"
#include "pushserversettings_p.h"
#include "pushtransporthost_p.h"

#include "pushclock_p.h"
#include "pushops_p.h"
#include "pushserverlogging_p.h"
#include "pushwebsockettransport_p.h"

#include <QtPush/pushclient.h>
#include <QtPush/pushregistry.h>
#include <QtPush/pushsession.h>

#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>

#include <algorithm>

namespace {

QJsonObject sessionObject(const QString &sessionKey, const PushAdminSession &figures)
{
    return QJsonObject{{QStringLiteral("session"), sessionKey},
                       {QStringLiteral("clients"), figures.clients},
                       {QStringLiteral("pushed"), qint64(figures.pushed)},
                       {QStringLiteral("rate"), figures.rate}};
}

QJsonObject clientObject(const QString &clientKey, const PushAdminClient &figures)
{
    QJsonObject object{{QStringLiteral("client"), clientKey},
                       {QStringLiteral("transport"), QString::fromLatin1(figures.transport)},
                       {QStringLiteral("pending"), figures.pending}};
    if (figures.delivered >= 0)
        object.insert(QStringLiteral("delivered"), figures.delivered);
    if (figures.connectedSinceMs)
        object.insert(QStringLiteral("connectedSince"), figures.connectedSinceMs);
    if (figures.disconnectedSinceMs)
        object.insert(QStringLiteral("disconnectedSince"), figures.disconnectedSinceMs);
    return object;
}

//! \a object's fields, with \a type in front: an event is its object plus a type.
QJsonObject typed(const char *type, QJsonObject object)
{
    object.insert(QStringLiteral("type"), QLatin1String(type));
    return object;
}

} // namespace

PushAdminStream::PushAdminStream(PushAdminHub *hub, PushTransportHost *host,
                                 PushWebSocketTransport *transport)
    : QObject(transport), m_hub(hub), m_host(host), m_transport(transport)
{
    m_hub->add(this);
    m_transport->setTextHandler([this](const QByteArray &utf8) { onText(utf8); });
}

PushAdminStream::~PushAdminStream()
{
    m_hub->remove(this);
}

void PushAdminStream::start(const PushAdminState &state)
{
    sendSnapshot(state);
}

QByteArray adminSessionsJson(const QHash<QString, PushAdminSession> &sessions,
                             const QStringList *keys)
{
    // Written directly: a tick of 2,000 changed sessions took 5-8 ms through QJsonObject and
    // QJsonDocument, a third of the server's 20 ms stall budget (docs/benchmarks.md).
    QByteArray out;
    out.reserve(sessions.size() * 64 + 2);
    out.append('[');
    auto append = [&out](const QString &key, const PushAdminSession &figures) {
        if (out.size() > 1)
            out.append(',');
        out.append(PushWire::adminSessionJson(key, figures.clients, figures.pushed, figures.rate));
    };
    if (keys) {
        for (const QString &key : *keys)
            append(key, sessions.value(key));
    } else {
        for (auto it = sessions.cbegin(); it != sessions.cend(); ++it)
            append(it.key(), it.value());
    }
    out.append(']');
    return out;
}

bool PushAdminStream::send(const QJsonObject &frame)
{
    return sendText(QJsonDocument(frame).toJson(QJsonDocument::Compact));
}

bool PushAdminStream::sendText(const QByteArray &frame)
{
    if (m_congested)
        return false;
    // What is left of the last snapshot does not count: on a server of 100,000 sessions it is
    // megabytes, and counting it would answer a tool still reading one snapshot with another.
    const qint64 queued = m_transport->queuedBytes();
    m_snapshotBacklog = std::min(m_snapshotBacklog, queued);
    if (queued - m_snapshotBacklog > highWaterBytes) {
        // What is dropped now is replaced by a snapshot once the tool has caught up (tick()).
        qCInfo(lcPushServer) << "admin stream congested: dropping events until it drains";
        m_congested = true;
        return false;
    }
    m_transport->sendText(frame);
    return true;
}

void PushAdminStream::sendSnapshot(const PushAdminState &state)
{
    QStringList keys = state.sessions.keys();
    std::sort(keys.begin(), keys.end());
    // Keys in the order QJsonDocument writes them, as this frame was written before.
    const QByteArray frame = "{\"interval\":" + QByteArray::number(m_hub->tickIntervalMs())
            + ",\"server\":" + QJsonDocument(state.server).toJson(QJsonDocument::Compact)
            + ",\"sessions\":" + adminSessionsJson(state.sessions, &keys)
            + ",\"time\":" + QByteArray::number(state.timeMs) + ",\"type\":\"snapshot\"}";
    if (sendText(frame))
        m_snapshotBacklog = m_transport->queuedBytes();
}

void PushAdminStream::tick(const PushAdminState &state)
{
    if (m_congested) {
        if (m_transport->queuedBytes() > lowWaterBytes)
            return;
        m_congested = false;
        sendSnapshot(m_hub->snapshot());
        if (m_watching) {
            followWatchedSession();
            sendClients();
        }
        return;
    }
    // Keys in the order QJsonDocument writes them, as this frame was written before. The
    // server encodes the changed sessions once for every stream (PushAdminState::sessionsJson):
    // a tick costs what changed, however many sessions and streams exist.
    QByteArray frame = "{";
    if (!state.removed.isEmpty())
        frame += "\"removed\":"
                + QJsonDocument(QJsonArray::fromStringList(state.removed))
                          .toJson(QJsonDocument::Compact)
                + ',';
    frame += "\"server\":" + QJsonDocument(state.server).toJson(QJsonDocument::Compact) + ',';
    if (!state.sessions.isEmpty())
        frame += "\"sessions\":" + state.sessionsJson + ',';
    frame += "\"time\":" + QByteArray::number(state.timeMs) + ",\"type\":\"tick\"";

    if (m_watching) {
        followWatchedSession();
        const QHash<QString, PushAdminClient> now = measureClients();
        QJsonArray changedClients;
        for (auto it = now.cbegin(); it != now.cend(); ++it) {
            auto known = m_clients.find(it.key());
            if (known != m_clients.end() && *known == it.value())
                continue;
            changedClients.append(clientObject(it.key(), it.value()));
        }
        QJsonArray removedClients;
        for (auto it = m_clients.cbegin(); it != m_clients.cend(); ++it) {
            if (!now.contains(it.key()))
                removedClients.append(it.key());
        }
        m_clients = now;
        if (!changedClients.isEmpty() || !removedClients.isEmpty()) {
            QJsonObject watch{{QStringLiteral("session"), m_watchedKey}};
            if (!changedClients.isEmpty())
                watch.insert(QStringLiteral("clients"), changedClients);
            if (!removedClients.isEmpty())
                watch.insert(QStringLiteral("removed"), removedClients);
            frame += ",\"watch\":" + QJsonDocument(watch).toJson(QJsonDocument::Compact);
        }
    }
    sendText(frame + '}');
}

void PushAdminStream::sessionAdded(const QString &sessionKey, const PushAdminSession &figures)
{
    if (m_congested)
        return; // the snapshot after the congestion tells it
    send(typed("sessionAdded", sessionObject(sessionKey, figures)));
    if (m_watching && sessionKey == m_watchedKey) {
        // The watched session exists at last: its clients are announced from now on.
        followWatchedSession();
        sendClients();
    }
}

void PushAdminStream::sessionRemoved(const QString &sessionKey)
{
    if (m_congested)
        return;
    send(QJsonObject{{QStringLiteral("type"), QStringLiteral("sessionRemoved")},
                     {QStringLiteral("session"), sessionKey}});
}

void PushAdminStream::onText(const QByteArray &utf8)
{
    QString problem;
    const std::optional<PushOps::AdminOp> op = PushOps::decodeAdminFrame(utf8, &problem);
    if (!op) {
        m_transport->refuse(PushWire::Refusal::BadRequest, problem);
        return;
    }
    if (op->kind == PushOps::AdminOp::Push) {
        push(op->session, op->data, utf8.size());
        return;
    }
    if (!m_watchLimiter.take(watchRate, PushClock::steadyMs())) {
        m_transport->refuse(PushWire::Refusal::TooManyRequests,
                            QStringLiteral("more than %1 watch ops per second").arg(watchRate));
        return;
    }
    watch(op->session);
}

void PushAdminStream::watch(const QString &sessionKey)
{
    if (m_watchedSession)
        m_watchedSession->disconnect(this);
    m_watchedSession = nullptr;
    m_clients.clear();
    m_watching = !sessionKey.isNull();
    m_watchedKey = sessionKey;
    if (!m_watching)
        return;
    followWatchedSession();
    sendClients();
}

void PushAdminStream::followWatchedSession()
{
    PushSession *session = m_hub->registry()->findSession(m_watchedKey);
    if (session == m_watchedSession)
        return;
    if (m_watchedSession)
        m_watchedSession->disconnect(this);
    m_watchedSession = session;
    if (!session)
        return;
    // Queued: the server attaches a network client right after the core makes it, and the
    // announcement should name its transport.
    connect(session, &PushSession::clientAdded, this, &PushAdminStream::onClientAdded,
            Qt::QueuedConnection);
    connect(session, &PushSession::clientRemoved, this, &PushAdminStream::onClientRemoved,
            Qt::QueuedConnection);
}

void PushAdminStream::onClientAdded(const QString &clientKey)
{
    if (m_congested || !m_watchedSession || m_clients.contains(clientKey))
        return;
    PushClient *client = m_watchedSession->findClient(clientKey);
    if (!client)
        return; // gone again: its removal is on the way
    const PushAdminClient figures = m_hub->adminClient(m_watchedKey, client);
    m_clients.insert(clientKey, figures);
    QJsonObject event = typed("clientAdded", clientObject(clientKey, figures));
    event.insert(QStringLiteral("session"), m_watchedKey);
    send(event);
}

void PushAdminStream::onClientRemoved(const QString &clientKey)
{
    if (m_congested || !m_clients.remove(clientKey))
        return;
    send(QJsonObject{{QStringLiteral("type"), QStringLiteral("clientRemoved")},
                     {QStringLiteral("session"), m_watchedKey},
                     {QStringLiteral("client"), clientKey}});
}

QHash<QString, PushAdminClient> PushAdminStream::measureClients() const
{
    QHash<QString, PushAdminClient> clients;
    if (!m_watchedSession)
        return clients;
    const QVariantList ids = m_watchedSession->clients();
    clients.reserve(ids.size());
    for (const QVariant &id : ids) {
        if (PushClient *client = m_watchedSession->findClient(id))
            clients.insert(client->keyString(), m_hub->adminClient(m_watchedKey, client));
    }
    return clients;
}

void PushAdminStream::sendClients()
{
    m_clients = measureClients();
    QStringList keys = m_clients.keys();
    std::sort(keys.begin(), keys.end());
    QJsonArray clients;
    for (const QString &key : std::as_const(keys))
        clients.append(clientObject(key, m_clients.value(key)));
    send(QJsonObject{{QStringLiteral("type"), QStringLiteral("clients")},
                     {QStringLiteral("session"), m_watchedKey},
                     {QStringLiteral("clients"), clients}});
}

void PushAdminStream::push(const QString &sessionKey, const QVariant &data,
                           qsizetype frameBytes)
{
    const qint64 limit = m_host->settings().maxMessageBytes;
    if (!PushOps::fitsMessageLimit(frameBytes, data, limit)) {
        m_transport->refuse(PushWire::Refusal::TooLarge,
                            QStringLiteral("message exceeds %1 bytes").arg(limit));
        return;
    }
    m_host->push(
            {sessionKey, data, &m_pushLimiter}, this,
            [this, sessionKey](const PushPushOutcome &outcome) { onPushed(sessionKey, outcome); });
}

void PushAdminStream::onPushed(const QString &sessionKey, const PushPushOutcome &outcome)
{
    if (outcome.refusal) {
        m_transport->refuse(*outcome.refusal, outcome.why);
        return;
    }
    const quint64 id = outcome.id;
    const int clients = outcome.clients;
    // The answer is owed even when events are being dropped: the tool waits for it.
    m_transport->sendText(QJsonDocument(QJsonObject{{QStringLiteral("type"), QStringLiteral("pushed")},
                                                    {QStringLiteral("session"), sessionKey},
                                                    {QStringLiteral("id"), qint64(id)},
                                                    {QStringLiteral("clients"), clients}})
                                  .toJson(QJsonDocument::Compact));
}
