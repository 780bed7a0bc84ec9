// SPDX-License-Identifier: MIT
#pragma once

// Internal: the push operation, the same for HTTP, WebSocket and the admin stream. Not
// installed.

#include "pushtransporthost_p.h"

class PushSessionKeeper;
struct PushMetrics;
struct PushServerSettings;

/*!
    Pushes for a connection: checks its rate (pushRateLimit) and the session limit, makes the
    session when needed (PushSessionKeeper), pushes, counts, and keeps the retained budget.

    The outcome goes to a callback, not a return value: today the memory store numbers a message
    at once and the callback runs before push() returns, but a durable store answers after its
    commit, so every caller is already written to answer from the callback.

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
    PushPushOutcome pushNow(const PushPushRequest &request);

    PushSessionKeeper &m_sessions;
    PushMetrics &m_metrics;
    const PushServerSettings &m_settings;
};
