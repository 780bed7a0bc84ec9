// SPDX-License-Identifier: MIT
#include "pushadminhub_p.h"

#include "pushadminstream_p.h"
#include "pushclienttable_p.h"
#include "pushclock_p.h"
#include "pushconnections_p.h"
#include "pushmetrics_p.h"

#include <QtPush/pushregistry.h>
#include <QtPush/pushsession.h>

#include <cmath>

PushAdminHub::PushAdminHub(PushRegistry *registry, const PushMetrics &metrics,
                           const PushConnections &connections, const PushClientTable &clients,
                           const QTimer &tickTimer)
    : m_registry(registry), m_metrics(metrics), m_connections(connections), m_clients(clients),
      m_tickTimer(tickTimer)
{ }

PushAdminClient PushAdminHub::adminClient(const QString &sessionKey, PushClient *client) const
{
    return m_clients.adminClient(sessionKey, client);
}

QJsonObject PushAdminHub::serverFigures() const
{
    const PushConnectionFigures connections = m_connections.figures();
    return QJsonObject{
            {QStringLiteral("connections"), connections.connections},
            {QStringLiteral("webSockets"), connections.webSockets},
            {QStringLiteral("eventStreams"), connections.eventStreams},
            {QStringLiteral("longPolls"), connections.longPolls},
            {QStringLiteral("sessions"), m_registry->count()},
            {QStringLiteral("clients"), m_clientCount},
            {QStringLiteral("pushes"), qint64(m_metrics.pushesTotal)},
            {QStringLiteral("deliveries"), qint64(m_metrics.deliveries())},
            {QStringLiteral("pushRate"), m_pushRate},
            {QStringLiteral("deliveryRate"), m_deliveryRate},
            {QStringLiteral("residentBytes"), residentBytes()},
            {QStringLiteral("uptime"), m_metrics.uptimeSeconds()},
    };
}

PushAdminState PushAdminHub::snapshot()
{
    if (!m_tracking) {
        // The first stream: one walk over the registry, after which ticks look only at what
        // changed (the journal reports every change from now on).
        m_tracking = true;
        m_sessions.clear();
        m_rated.clear();
        m_clientCount = 0;
        const QVariantList ids = m_registry->sessions();
        m_sessions.reserve(ids.size());
        for (const QVariant &id : ids) {
            PushSession *session = m_registry->findSession(id);
            if (!session)
                continue;
            const PushAdminSession figures{session->count(), session->lastMessageId(), 0};
            m_clientCount += figures.clients;
            m_sessions.insert(session->keyString(), figures);
        }
        m_lastTickMs = PushClock::steadyMs();
        m_deliveriesAtLastTick = m_metrics.deliveries();
        m_pushRate = m_deliveryRate = 0;
    }
    PushAdminState state;
    state.timeMs = PushClock::wallMs();
    state.server = serverFigures();
    state.sessions = m_sessions;
    return state;
}

void PushAdminHub::tick(const QStringList &changed)
{
    if (m_streams.isEmpty()) {
        // Nobody watches: no record to keep. The next stream's snapshot starts it afresh.
        if (m_tracking) {
            m_tracking = false;
            m_sessions = {};
            m_rated = {};
            m_clientCount = 0;
            m_pushRate = m_deliveryRate = 0;
        }
        return;
    }
    if (!m_tracking)
        snapshot();
    const qint64 now = PushClock::steadyMs();
    const double seconds = double(now - m_lastTickMs) / 1000.0;
    auto perSecond = [seconds](quint64 count) {
        return seconds > 0 ? std::round(double(count) / seconds * 10) / 10 : 0.0;
    };
    // What may differ from the record: sessions that changed, and those that had a rate, which
    // drops to 0 in a second without pushes.
    QSet<QString> candidates = std::exchange(m_rated, {});
    for (const QString &sessionKey : changed)
        candidates.insert(sessionKey);
    PushAdminState state; // sessions: those that changed
    quint64 pushedThisTick = 0;
    for (const QString &sessionKey : std::as_const(candidates)) {
        PushSession *session = m_registry->findSession(sessionKey);
        const auto known = m_sessions.constFind(sessionKey);
        const bool isKnown = known != m_sessions.cend();
        if (!session) {
            if (isKnown) {
                m_clientCount -= known->clients;
                m_sessions.erase(known);
                state.removed.append(sessionKey);
            }
            continue;
        }
        PushAdminSession figures{session->count(), session->lastMessageId(), 0};
        // A session made again since the last tick counts from 0.
        const quint64 before = isKnown ? std::min(known->pushed, figures.pushed) : 0;
        figures.rate = perSecond(figures.pushed - before);
        pushedThisTick += figures.pushed - before;
        if (figures.rate > 0)
            m_rated.insert(sessionKey);
        if (isKnown && *known == figures)
            continue;
        m_clientCount += figures.clients - (isKnown ? known->clients : 0);
        m_sessions.insert(sessionKey, figures);
        state.sessions.insert(sessionKey, figures);
    }
    const quint64 delivered = m_metrics.deliveries();
    m_pushRate = perSecond(pushedThisTick);
    m_deliveryRate = perSecond(delivered - m_deliveriesAtLastTick);
    m_deliveriesAtLastTick = delivered;
    m_lastTickMs = now;
    state.timeMs = PushClock::wallMs();
    state.server = serverFigures();
    state.sessionsJson = adminSessionsJson(state.sessions);

    const QList<PushAdminStream *> streams = m_streams.values();
    for (PushAdminStream *stream : streams)
        stream->tick(state);
}

void PushAdminHub::announceSessionAdded(const QString &sessionKey)
{
    if (!m_tracking || m_sessions.contains(sessionKey))
        return; // nobody watches, or a tick told them already
    PushSession *session = m_registry->findSession(sessionKey);
    if (!session)
        return; // deleted again meanwhile: its removal follows
    const PushAdminSession figures{session->count(), session->lastMessageId(), 0};
    m_sessions.insert(sessionKey, figures);
    m_clientCount += figures.clients;
    const QList<PushAdminStream *> streams = m_streams.values();
    for (PushAdminStream *stream : streams)
        stream->sessionAdded(sessionKey, figures);
}

void PushAdminHub::announceSessionRemoved(const QString &sessionKey)
{
    if (m_registry->findSession(sessionKey))
        return; // made again meanwhile: the streams already know it, or learn it by tick
    const auto known = m_sessions.constFind(sessionKey);
    if (known == m_sessions.cend())
        return; // never told, or a tick told its removal already
    m_clientCount -= known->clients;
    m_sessions.erase(known);
    const QList<PushAdminStream *> streams = m_streams.values();
    for (PushAdminStream *stream : streams)
        stream->sessionRemoved(sessionKey);
}
