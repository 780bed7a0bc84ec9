// SPDX-License-Identifier: MIT
#include "pushsessionkeeper_p.h"

#include "pushclock_p.h"
#include "pushregistry_p.h"
#include "pushserverlogging_p.h"
#include "pushserversettings_p.h"

#include <QtPush/pushregistry.h>
#include <QtPush/pushsession.h>

#include <QtCore/QPointer>

#include <algorithm>

PushSessionKeeper::PushSessionKeeper(PushRegistry *registry, const PushServerSettings &settings)
    : m_registry(registry), m_settings(settings)
{ }

void PushSessionKeeper::adoptRecovered(qint64 now)
{
    // Sessions this server made before a restart (a durable broker kept them): they get the
    // settings as they are now, and expire as if made by this run.
    const QStringList keys
            = PushRegistryPrivate::get(m_registry)->keysWithFlag(PushBroker::ServerMade);
    for (const QString &key : keys) {
        PushSession *session = m_registry->findSession(key);
        if (!session)
            continue;
        m_created.insert(key);
        applySettings(session);
        review(key, now, true);
    }
    if (!keys.isEmpty())
        enforceRetainedBudget(); // measures what they brought back
}

void PushSessionKeeper::applySettings(PushSession *session) const
{
    session->setMaxBuffer(m_settings.clientBuffer);
    session->setMaxBufferBytes(m_settings.clientBufferBytes);
    session->setRetainedMessages(m_settings.retainedMessages);
    session->setRetentionPeriod(m_settings.retentionPeriodMs);
    session->setMaxRetainedBytes(m_settings.maxRetainedBytes);
}

PushSession *PushSessionKeeper::sessionForWrite(const QString &sessionKey)
{
    if (PushSession *existing = m_registry->findSession(sessionKey))
        return existing;
    // The server's settings apply to the sessions it creates; an application's own stay as set.
    // Marked as made by the server, so that a durable broker remembers it may expire it.
    PushSession *session = PushRegistryPrivate::get(m_registry)->session(sessionKey,
                                                                         PushBroker::ServerMade);
    if (session) {
        m_created.insert(sessionKey);
        applySettings(session);
    }
    return session;
}

bool PushSessionKeeper::mayUseSession(const QString &sessionKey, QString *why) const
{
    const int maxSessions = m_settings.maxSessions;
    if (maxSessions <= 0 || m_registry->count() < maxSessions || m_registry->exists(sessionKey))
        return true;
    *why = QStringLiteral("the server is at its limit of %1 sessions").arg(maxSessions);
    return false;
}

void PushSessionKeeper::addRetained(qint64 bytes)
{
    m_retainedEstimate += bytes;
    if (m_settings.maxRetainedBytes > 0 && m_retainedEstimate > m_settings.maxRetainedBytes)
        enforceRetainedBudget();
}

void PushSessionKeeper::enforceRetainedBudget()
{
    const qint64 maxRetainedBytes = m_settings.maxRetainedBytes;
    QList<std::pair<qint64, QPointer<PushSession>>> sizes;
    qint64 total = 0;
    const QVariantList ids = m_registry->sessions();
    for (const QVariant &id : ids) {
        PushSession *session = m_registry->findSession(id);
        const qint64 bytes = session ? session->retainedBytes() : 0;
        if (bytes > 0) {
            sizes.append({bytes, session});
            total += bytes;
        }
    }
    m_retainedEstimate = total;
    if (maxRetainedBytes <= 0 || total <= maxRetainedBytes)
        return;
    // Down to 7/8 of the budget, so that the next measurement is a while away. The largest
    // sessions are cut to one common size ("water-filling"): whoever pushes the most loses its
    // own oldest history first, and small sessions keep theirs (docs/server.md: Memory budget).
    const qint64 target = maxRetainedBytes - maxRetainedBytes / 8;
    std::sort(sizes.begin(), sizes.end(),
              [](const auto &a, const auto &b) { return a.first > b.first; });
    qint64 cap = 0;
    qint64 prefix = 0;
    for (qsizetype k = 1; k <= sizes.size(); ++k) {
        prefix += sizes.at(k - 1).first;
        const qint64 level = (target - (total - prefix)) / k; // the top k cut to level
        if (k == sizes.size() || level >= sizes.at(k).first) {
            cap = std::max<qint64>(level, 0);
            break;
        }
    }
    for (const auto &[bytes, session] : std::as_const(sizes)) {
        if (bytes <= cap)
            break;
        if (!session)
            continue;
        m_retainedEstimate -= session->trimRetained(cap);
        // A created session left empty goes at the next housekeeping, not at its old deadline.
        if (m_created.contains(session->keyString()))
            m_expiry.schedule(session->keyString(), PushClock::steadyMs());
    }
    // Once a minute at most: a flood of large pushes must not become a flood of logs.
    const qint64 now = PushClock::steadyMs();
    if (m_lastBudgetLogMs == 0 || now - m_lastBudgetLogMs > 60 * 1000) {
        m_lastBudgetLogMs = now;
        qCInfo(lcPushServer) << "retained messages reached" << total << "bytes of a budget of"
                             << maxRetainedBytes << "; the largest sessions now keep at most" << cap
                             << "bytes each";
    }
}

void PushSessionKeeper::forget(const QString &sessionKey)
{
    m_created.remove(sessionKey);
    m_changedAt.remove(sessionKey);
    m_expiry.cancel(sessionKey);
}

void PushSessionKeeper::review(const QString &sessionKey, qint64 now, bool changed)
{
    if (!m_created.contains(sessionKey))
        return;
    PushSession *session = m_registry->findSession(sessionKey);
    if (!session) { // deleted by an admin or the application
        forget(sessionKey);
        return;
    }
    if (changed)
        m_changedAt.insert(sessionKey, now);
    if (session->count() > 0) {
        m_expiry.cancel(sessionKey); // the change that empties it brings it back here
        return;
    }
    quint64 oldestRetained = 0;
    const quint64 lastId = session->lastMessageId();
    session->messagesAfter(lastId, &oldestRetained); // prunes by age; copies nothing
    if (oldestRetained > lastId) {
        // Not while a durable store still stores a push to it (its receipt would fail): the
        // store marks the session changed once it has, which brings it back here.
        if (PushRegistryPrivate::get(m_registry)->release(sessionKey))
            forget(sessionKey);
        return;
    }
    // Its newest message came by its last change, so all it retains has aged out one period
    // after that. A deadline it has already stays when a push moves that end: falling due
    // early costs one more look, which schedules the right one, while moving it on every push
    // would cost a busy session a reordering of the set every second. Without a period it is
    // kept until it changes.
    const int period = session->retentionPeriod();
    if (period <= 0)
        m_expiry.cancel(sessionKey);
    else if (!m_expiry.contains(sessionKey)) {
        qint64 due = m_changedAt.value(sessionKey, now) + period + 1;
        if (due <= now) // still retaining: the application lengthened its period
            due = now + period + 1;
        m_expiry.schedule(sessionKey, due);
    }
}
