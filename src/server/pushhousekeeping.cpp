// SPDX-License-Identifier: MIT
// The server's housekeeping: timeouts, expiry of sessions and clients, and the admin streams'
// ticks, once a second (docs/server.md: Scaling).
//
// Its cost must grow with what changed or fell due in that second, not with what exists: a
// server holding 100,000 retained sessions would otherwise stall its event loop for a walk over
// all of them every second, and once more for every admin stream. So the registry reports the
// sessions that changed (PushChangeJournal), deadlines wait in PushDeadlines, and the admin
// streams get the sessions whose figures changed, measured against one record the server keeps.

#include <QtPush/pushclient.h>
#include <QtPush/pushregistry.h>
#include <QtPush/pushsession.h>

#include "pushadminstream_p.h"
#include "pushchangejournal_p.h"
#include "pushclock_p.h"
#include "pushhttpconnection_p.h"
#include "pushlongpoll_p.h"
#include "pushserver_p.h"
#include "pushserverlogging_p.h"
#include "pushssetransport_p.h"
#include "pushwebsockettransport_p.h"

#include <QtCore/QFile>

#include <cmath>

qint64 residentBytes()
{
    QFile status(QStringLiteral("/proc/self/statm"));
    if (!status.open(QIODevice::ReadOnly))
        return 0;
    const QList<QByteArray> fields = status.readAll().split(' ');
    return fields.size() > 1 ? fields.at(1).toLongLong() * 4096 : 0;
}

void PushServerPrivate::housekeeping()
{
    const qint64 now = PushClock::steadyMs();
    const QList<PushHttpConnection *> connections = httpConnections.keys();
    for (PushHttpConnection *connection : connections) {
        if (httpConnections.contains(connection))
            connection->checkTimeouts();
    }
    const QList<PushWebSocketTransport *> sockets = webSockets.values();
    for (PushWebSocketTransport *transport : sockets) {
        if (webSockets.contains(transport))
            transport->checkAlive(now, pingIntervalMs);
    }
    // Event streams: a comment every ping interval keeps proxies from timing them out.
    if (now - lastKeepAliveMs >= pingIntervalMs) {
        lastKeepAliveMs = now;
        for (PushSseTransport *stream : std::as_const(eventStreams))
            stream->keepAlive();
    }
    // Sessions the server made that have no clients left and nothing retained: without this,
    // every id anyone ever pushed to would stay in memory. A session is looked at when it
    // changed, and when what it retains may have aged out.
    const QStringList changed = changes->takeChanged();
    for (const QString &sessionKey : changed)
        reviewSession(sessionKey, now, true);
    const QStringList due = sessionExpiry.takeDue(now);
    for (const QString &sessionKey : due)
        reviewSession(sessionKey, now, false);
    expireClients(now);
    adminTick(changed);
}

void PushServerPrivate::reviewSession(const QString &sessionKey, qint64 now, bool changed)
{
    if (!createdSessions.contains(sessionKey))
        return;
    PushSession *session = registry->findSession(sessionKey);
    if (!session) { // deleted by an admin or the application
        createdSessions.remove(sessionKey);
        sessionChangedAt.remove(sessionKey);
        sessionExpiry.cancel(sessionKey);
        return;
    }
    if (changed)
        sessionChangedAt.insert(sessionKey, now);
    if (session->count() > 0) {
        sessionExpiry.cancel(sessionKey); // the change that empties it brings it back here
        return;
    }
    quint64 oldestRetained = 0;
    const quint64 lastId = session->lastMessageId();
    session->messagesAfter(lastId, &oldestRetained); // prunes by age; copies nothing
    if (oldestRetained > lastId) {
        createdSessions.remove(sessionKey);
        sessionChangedAt.remove(sessionKey);
        sessionExpiry.cancel(sessionKey);
        registry->deleteSession(sessionKey);
        return;
    }
    // Its newest message came by its last change, so all it retains has aged out one period
    // after that. A deadline it has already stays when a push moves that end: falling due
    // early costs one more look, which schedules the right one, while moving it on every push
    // would cost a busy session a reordering of the set every second. Without a period it is
    // kept until it changes.
    const int period = session->retentionPeriod();
    if (period <= 0)
        sessionExpiry.cancel(sessionKey);
    else if (!sessionExpiry.contains(sessionKey)) {
        qint64 due = sessionChangedAt.value(sessionKey, now) + period + 1;
        if (due <= now) // still retaining: the application lengthened its period
            due = now + period + 1;
        sessionExpiry.schedule(sessionKey, due);
    }
}

void PushServerPrivate::expireClients(qint64 now)
{
    const QStringList due = graceExpiry.takeDue(now);
    for (const QString &key : due) {
        const std::shared_ptr<PushAttachment> attachment = attachments.value(key);
        if (!attachment || attachment->owner || attachment->detachedSteadyMs == 0)
            continue; // back, or gone
        if (now - attachment->detachedSteadyMs <= clientGracePeriodMs) { // the period grew
            graceExpiry.schedule(key, attachment->detachedSteadyMs + clientGracePeriodMs + 1);
            continue;
        }
        qCDebug(lcPushServer) << "client" << attachment->clientKey << "of session"
                              << attachment->sessionKey
                              << "did not come back within its grace period";
        if (PushSession *session = registry->findSession(attachment->sessionKey))
            session->deleteClient(attachment->clientKey); // closed() removes the attachment
        attachments.remove(key);
    }
}

void PushServerPrivate::rescheduleGracePeriods()
{
    for (auto it = attachments.cbegin(); it != attachments.cend(); ++it) {
        const PushAttachment &attachment = **it;
        if (!attachment.owner && attachment.detachedSteadyMs != 0)
            graceExpiry.schedule(it.key(), attachment.detachedSteadyMs + clientGracePeriodMs + 1);
    }
}

quint64 PushServerPrivate::deliveries() const
{
    quint64 total = 0;
    for (quint64 count : deliveriesTotal)
        total += count;
    return total;
}

QJsonObject PushServerPrivate::serverFigures() const
{
    return QJsonObject{
            {QStringLiteral("connections"), tcpConnections},
            {QStringLiteral("webSockets"), int(webSockets.size())},
            {QStringLiteral("eventStreams"), int(eventStreams.size())},
            {QStringLiteral("longPolls"), int(longPolls.size())},
            {QStringLiteral("sessions"), registry->count()},
            {QStringLiteral("clients"), adminClients},
            {QStringLiteral("pushes"), qint64(pushesTotal)},
            {QStringLiteral("deliveries"), qint64(deliveries())},
            {QStringLiteral("pushRate"), pushRate},
            {QStringLiteral("deliveryRate"), deliveryRate},
            {QStringLiteral("residentBytes"), residentBytes()},
            {QStringLiteral("uptime"), (PushClock::steadyMs() - startedAtMs) / 1000},
    };
}

PushAdminState PushServerPrivate::adminSnapshot()
{
    if (!adminTracking) {
        // The first stream: one walk over the registry, after which ticks look only at what
        // changed (the journal reports every change from now on).
        adminTracking = true;
        adminSessions.clear();
        ratedSessions.clear();
        adminClients = 0;
        const QVariantList ids = registry->sessions();
        adminSessions.reserve(ids.size());
        for (const QVariant &id : ids) {
            PushSession *session = registry->findSession(id);
            if (!session)
                continue;
            const PushAdminSession figures{session->count(), session->lastMessageId(), 0};
            adminClients += figures.clients;
            adminSessions.insert(session->keyString(), figures);
        }
        lastAdminTickMs = PushClock::steadyMs();
        deliveriesAtLastTick = deliveries();
        pushRate = deliveryRate = 0;
    }
    PushAdminState state;
    state.timeMs = PushClock::wallMs();
    state.server = serverFigures();
    state.sessions = adminSessions;
    return state;
}

void PushServerPrivate::adminTick(const QStringList &changed)
{
    if (adminStreams.isEmpty()) {
        // Nobody watches: no record to keep. The next stream's snapshot starts it afresh.
        if (adminTracking) {
            adminTracking = false;
            adminSessions = {};
            ratedSessions = {};
            adminClients = 0;
            pushRate = deliveryRate = 0;
        }
        return;
    }
    if (!adminTracking)
        adminSnapshot();
    const qint64 now = PushClock::steadyMs();
    const double seconds = double(now - lastAdminTickMs) / 1000.0;
    auto perSecond = [seconds](quint64 count) {
        return seconds > 0 ? std::round(double(count) / seconds * 10) / 10 : 0.0;
    };
    // What may differ from the record: sessions that changed, and those that had a rate, which
    // drops to 0 in a second without pushes.
    QSet<QString> candidates = std::exchange(ratedSessions, {});
    for (const QString &sessionKey : changed)
        candidates.insert(sessionKey);
    PushAdminState state; // sessions: those that changed
    quint64 pushedThisTick = 0;
    for (const QString &sessionKey : std::as_const(candidates)) {
        PushSession *session = registry->findSession(sessionKey);
        const auto known = adminSessions.constFind(sessionKey);
        const bool isKnown = known != adminSessions.cend();
        if (!session) {
            if (isKnown) {
                adminClients -= known->clients;
                adminSessions.erase(known);
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
            ratedSessions.insert(sessionKey);
        if (isKnown && *known == figures)
            continue;
        adminClients += figures.clients - (isKnown ? known->clients : 0);
        adminSessions.insert(sessionKey, figures);
        state.sessions.insert(sessionKey, figures);
    }
    const quint64 delivered = deliveries();
    pushRate = perSecond(pushedThisTick);
    deliveryRate = perSecond(delivered - deliveriesAtLastTick);
    deliveriesAtLastTick = delivered;
    lastAdminTickMs = now;
    state.timeMs = PushClock::wallMs();
    state.server = serverFigures();
    state.sessionsJson = adminSessionsJson(state.sessions);

    const QList<PushAdminStream *> streams = adminStreams.values();
    for (PushAdminStream *stream : streams)
        stream->tick(state);
}

void PushServerPrivate::announceSessionAdded(const QString &sessionKey)
{
    if (!adminTracking || adminSessions.contains(sessionKey))
        return; // nobody watches, or a tick told them already
    PushSession *session = registry->findSession(sessionKey);
    if (!session)
        return; // deleted again meanwhile: its removal follows
    const PushAdminSession figures{session->count(), session->lastMessageId(), 0};
    adminSessions.insert(sessionKey, figures);
    adminClients += figures.clients;
    const QList<PushAdminStream *> streams = adminStreams.values();
    for (PushAdminStream *stream : streams)
        stream->sessionAdded(sessionKey, figures);
}

void PushServerPrivate::announceSessionRemoved(const QString &sessionKey)
{
    if (registry->findSession(sessionKey))
        return; // made again meanwhile: the streams already know it, or learn it by tick
    const auto known = adminSessions.constFind(sessionKey);
    if (known == adminSessions.cend())
        return; // never told, or a tick told its removal already
    adminClients -= known->clients;
    adminSessions.erase(known);
    const QList<PushAdminStream *> streams = adminStreams.values();
    for (PushAdminStream *stream : streams)
        stream->sessionRemoved(sessionKey);
}
