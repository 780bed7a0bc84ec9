// SPDX-License-Identifier: MIT
#pragma once

// Internal: the push operation, the same for HTTP, WebSocket and the admin stream. Not
// installed.

#include "pushtransporthost_p.h"

#include <QtCore/QPointer>

class PushSession;
class PushSessionKeeper;
struct PushReceipt;
struct PushMetrics;
struct PushServerSettings;

/*!
    Pushes for a connection: checks its rate (pushRateLimit) and the session limit, makes the
    session when needed (PushSessionKeeper), pushes, counts, and keeps the retained budget.

    The outcome goes to a callback, not a return value: the memory broker numbers a message at
    once and the callback runs before push() returns; a durable broker (PushSqliteBroker)
    answers after the commit that stores the message, so that an answered push survives a
    crash. Store errors become 507 insufficient_storage (full) or 503 unavailable.

    Ownership: owned by PushServerPrivate. Not thread-safe: the server's thread.
*/
class PushPublisher
{
public:
    PushPublisher(PushSessionKeeper &sessions, PushMetrics &metrics,
                  const PushServerSettings &settings);

    //! PushTransportHost::push(): \a done runs once, in \a context's thread, never after
    //! \a context is destroyed.
    void push(const PushPushRequest &request, QObject *context, const PushPushDone &done);

private:
    //! The checks before a push (rate, session limit) and its session; null and \a refused set.
    PushSession *admit(const PushPushRequest &request, PushPushOutcome *refused);
    PushPushOutcome outcomeOf(const PushReceipt &receipt, const QPointer<PushSession> &session,
                              qint64 bytes);

    PushSessionKeeper &m_sessions;
    PushMetrics &m_metrics;
    const PushServerSettings &m_settings;
};
