// SPDX-License-Identifier: MIT
#include "pushpublisher_p.h"

#include "pushclock_p.h"
#include "pushmetrics_p.h"
#include "pushratelimiter_p.h"
#include "pushserversettings_p.h"
#include "pushsessionkeeper_p.h"

#include <QtPush/pushsession.h>

#include <QtCore/QPointer>

PushPublisher::PushPublisher(PushSessionKeeper &sessions, PushMetrics &metrics,
                             const PushServerSettings &settings)
    : m_sessions(sessions), m_metrics(metrics), m_settings(settings)
{ }

void PushPublisher::push(const PushPushRequest &request, QObject *context, const PushPushDone &done)
{
    const QPointer<QObject> guard(context);
    const PushPushOutcome outcome = pushNow(request);
    // The memory store has numbered the message: the answer is now, in this thread.
    if (guard)
        done(outcome);
}

PushPushOutcome PushPublisher::pushNow(const PushPushRequest &request)
{
    PushPushOutcome outcome;
    const double rate = m_settings.pushRateLimit;
    if (!request.limiter->take(rate, PushClock::steadyMs())) {
        outcome.why = QStringLiteral("more than %1 pushes per second").arg(rate);
        outcome.refusal = PushWire::Refusal::TooManyRequests;
        return outcome;
    }
    if (!m_sessions.mayUseSession(request.sessionKey, &outcome.why)) {
        outcome.refusal = PushWire::Refusal::Unavailable;
        return outcome;
    }
    PushSession *session = m_sessions.sessionForWrite(request.sessionKey);
    if (!session) {
        outcome.why = QStringLiteral("the session could not be created");
        outcome.refusal = PushWire::Refusal::Internal;
        return outcome;
    }
    // Counted as decoded: a small body of many small values is many times larger in memory.
    const qint64 bytes = PushSession::estimateBytes(request.data);
    outcome.id = session->push(request.data, bytes);
    outcome.clients = session->count();
    ++m_metrics.pushesTotal;
    m_sessions.addRetained(bytes);
    return outcome;
}
