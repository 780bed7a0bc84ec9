// SPDX-License-Identifier: MIT
#pragma once

// Internal: the sessions the server makes, and the memory they retain. Not installed.

#include "pushexpiry_p.h"

#include <QtCore/QHash>
#include <QtCore/QSet>
#include <QtCore/QString>

class PushRegistry;
class PushSession;
struct PushServerSettings;

/*!
    Keeps the sessions this server makes: it makes them with the server's settings
    (sessionForWrite()), bounds their number (mayUseSession()) and what all sessions retain
    (maxRetainedBytes, by trimming the largest), and removes a session it made once it is empty
    with nothing retained (review(), from housekeeping). An application's own sessions keep
    their settings and are never removed here.

    Invariants: every key in the expiry queue is a session this server made; retainedEstimate()
    is at least what all sessions retain, and exact after each measurement. Deadlines are on
    the steady clock (pushclock_p.h).

    Ownership: owned by PushServerPrivate; holds the registry, which outlives it. Not
    thread-safe: the server's thread.
*/
class PushSessionKeeper
{
public:
    PushSessionKeeper(PushRegistry *registry, const PushServerSettings &settings);

    //! Takes on the sessions a durable broker recovered that a server made (PushBroker::
    //! ServerMade): the current settings, review and expiry. Once, at the server's start.
    void adoptRecovered(qint64 now);

    //! The session \a sessionKey, made with the server's settings when it does not exist; null
    //! when the registry cannot make it.
    PushSession *sessionForWrite(const QString &sessionKey);
    //! Whether \a sessionKey exists or may be created within maxSessions; else sets \a why.
    bool mayUseSession(const QString &sessionKey, QString *why) const;
    //! Counts \a bytes more retained (a push through the server) and, past maxRetainedBytes,
    //! measures what all sessions retain and trims the largest.
    void addRetained(qint64 bytes);
    //! Removes the made session \a sessionKey if it is empty with nothing retained, or gives it
    //! the deadline when that may be so; \a changed: it changed since the last pass.
    void review(const QString &sessionKey, qint64 now, bool changed);
    //! The made sessions whose deadline is \a now or earlier (review() them).
    QStringList takeDue(qint64 now) { return m_expiry.takeDue(now); }
    qint64 retainedEstimate() const { return m_retainedEstimate; }

private:
    //! Measures what all sessions retain and, past maxRetainedBytes, trims the largest.
    void enforceRetainedBudget();
    void forget(const QString &sessionKey);
    void applySettings(PushSession *session) const;

    PushRegistry *const m_registry;
    const PushServerSettings &m_settings;
    QSet<QString> m_created; // sessions this server made
    PushDeadlines m_expiry; // made sessions that may be removed then
    QHash<QString, qint64> m_changedAt; // made sessions: the pass that last saw a change
    // At least what all sessions retain, in bytes: pushes through the server add to it, and
    // enforceRetainedBudget() sets it to the exact total.
    qint64 m_retainedEstimate = 0;
    qint64 m_lastBudgetLogMs = 0;
};
