// SPDX-License-Identifier: MIT
#include "pushpublisher_p.h"

#include "pushclock_p.h"
#include "pushmetrics_p.h"
#include "pushratelimiter_p.h"
#include "pushserversettings_p.h"
#include "pushsessionkeeper_p.h"

#include <QtPush/pushsession.h>

#include <QtCore/QFuture>
#include <QtCore/QPointer>

PushPublisher::PushPublisher(PushSessionKeeper &sessions, PushMetrics &metrics,
                             const PushServerSettings &settings)
    : m_sessions(sessions), m_metrics(metrics), m_settings(settings)
{ }

void PushPublisher::push(const PushPushRequest &request, QObject *context, const PushPushDone &done)
{
    PushPushOutcome refused;
    PushSession *session = admit(request, &refused);
    if (!session) {
        done(refused);
        return;
    }
    // Counted as decoded: a small body of many small values is many times larger in memory.
    const qint64 bytes = PushSession::estimateBytes(request.data);
    QFuture<PushReceipt> receipt = session->publish(request.data, bytes);
    const QPointer<PushSession> guard(session);
    auto answer = [this, guard, bytes, done](const PushReceipt &receipt) {
        done(outcomeOf(receipt, guard, bytes));
    };
    // The memory broker has numbered it already: the answer comes now, in this turn. A durable
    // one finishes the receipt after its commit, in its writer's thread; the answer then comes
    // in the context's thread, and not at all once the context (the connection) is gone.
    if (receipt.isFinished())
        answer(receipt.result());
    else
        receipt.then(context, answer);
}

PushSession *PushPublisher::admit(const PushPushRequest &request, PushPushOutcome *refused)
{
    const double rate = m_settings.pushRateLimit;
    if (!request.limiter->take(rate, PushClock::steadyMs())) {
        refused->why = QStringLiteral("more than %1 pushes per second").arg(rate);
        refused->refusal = PushWire::Refusal::TooManyRequests;
        return nullptr;
    }
    if (!m_sessions.mayUseSession(request.sessionKey, &refused->why)) {
        refused->refusal = PushWire::Refusal::Unavailable;
        return nullptr;
    }
    PushSession *session = m_sessions.sessionForWrite(request.sessionKey);
    if (!session) {
        refused->why = QStringLiteral("the session could not be created");
        refused->refusal = PushWire::Refusal::Internal;
    }
    return session;
}

PushPushOutcome PushPublisher::outcomeOf(const PushReceipt &receipt,
                                         const QPointer<PushSession> &session, qint64 bytes)
{
    PushPushOutcome outcome;
    switch (receipt.error) {
    case PushBroker::NoError:
        outcome.id = receipt.id;
        outcome.clients = session ? session->count() : 0;
        ++m_metrics.pushesTotal;
        m_sessions.addRetained(bytes);
        break;
    case PushBroker::StorageFull:
        outcome.refusal = PushWire::Refusal::InsufficientStorage;
        outcome.why = QStringLiteral("the store is full; nothing was pushed");
        break;
    default:
        outcome.refusal = PushWire::Refusal::Unavailable;
        outcome.why = QStringLiteral("the store cannot take pushes now; nothing was pushed");
        break;
    }
    return outcome;
}
