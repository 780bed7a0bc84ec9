// SPDX-License-Identifier: MIT
#include <QtPush/pushclient.h>
#include <QtPush/pushsession.h>

#include "pushcorelogging_p.h"
#include "pushsession_p.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QDeadlineTimer>
#include <QtCore/QEvent>
#include <QtCore/QMetaMethod>
#include <QtCore/QThread>

namespace {
// Posted when messageReceived gets a receiver, and after a move to another thread: handled in
// the client's (new) thread, where its queue may be touched.
const QEvent::Type AttachEvent = static_cast<QEvent::Type>(QEvent::registerEventType());

bool isMessageReceived(const QMetaMethod &signal)
{
    return signal == QMetaMethod::fromSignal(&PushClient::messageReceived);
}

const QEvent::Type PendingEvent = static_cast<QEvent::Type>(QEvent::registerEventType());
} // namespace

void postPendingChanged(PushClientState *client)
{
    if (client->client && !client->pendingPosted.exchange(true, std::memory_order_relaxed))
        QCoreApplication::postEvent(client->client, new QEvent(PendingEvent));
}

PushClient::PushClient(std::unique_ptr<PushClientPrivate> dd) : d(std::move(dd)) { }

PushClient::~PushClient()
{
    PushSessionState &session = *d->session;
    {
        QMutexLocker locker(&session.mutex);
        d->state->client = nullptr;
        // Deleted directly rather than through the session: leave the session too.
        if (session.clients.value(d->state->keyString) == d->state) {
            session.clients.remove(d->state->keyString);
            session.markChanged();
            if (PushSession *owner = session.session) {
                // Queued: we hold the mutex, and the session may live in another thread.
                QMetaObject::invokeMethod(
                        owner,
                        [owner, key = d->state->keyString] {
                            Q_EMIT owner->clientRemoved(key);
                            Q_EMIT owner->countChanged();
                        },
                        Qt::QueuedConnection);
            }
        }
    }
    session.close(d->state, false);
    // Leave the thread's group now, while the thread surely runs: an empty group's dispatcher
    // is deleted later in this thread, which a thread that finishes first would never do.
    session.detach(d->state);
}

QVariant PushClient::key() const
{
    return d->state->key;
}

QString PushClient::keyString() const
{
    return d->state->keyString;
}

PushSession *PushClient::session() const
{
    QMutexLocker locker(&d->session->mutex);
    return d->session->session;
}

int PushClient::pending() const
{
    return d->session->pending(d->state);
}

quint64 PushClient::lastMessageId() const
{
    return d->state->lastId.load(std::memory_order_relaxed);
}

bool PushClient::tryPull(QVariant *message)
{
    if (!message) {
        qCWarning(lcPushCore) << "PushClient::tryPull: message is null for client"
                              << d->state->keyString;
        return false;
    }
    if (thread() != QThread::currentThread()) {
        qCWarning(lcPushCore) << "PushClient::tryPull: client" << d->state->keyString
                              << "lives in another thread; pull from its thread or move it";
        return false;
    }
    // Local references: a slot run by the delivery below may delete this very client.
    const PushSessionStatePtr session = d->session;
    const PushClientStatePtr state = d->state;
    PushMessage taken;
    if (!session->takeQueued(state, &taken))
        return false;
    *message = std::move(taken.data);
    return true;
}

QVariant PushClient::pull(int timeoutMs, bool *ok)
{
    if (ok)
        *ok = false;
    const QDeadlineTimer deadline(timeoutMs < 0 ? QDeadlineTimer(QDeadlineTimer::Forever)
                                                : QDeadlineTimer(timeoutMs));
    PushSessionState &session = *d->session;
    for (;;) {
        QVariant message;
        if (tryPull(&message)) {
            if (ok)
                *ok = true;
            return message;
        }
        if (thread() != QThread::currentThread() || isClosed())
            return {};
        const PushThreadGroupPtr group = [&] {
            QMutexLocker locker(&session.mutex);
            return d->state->group;
        }();
        if (group && group->draining) {
            qCWarning(lcPushCore) << "PushClient::pull: client" << d->state->keyString
                                  << "would wait inside its own thread's delivery; use tryPull";
            return {};
        }
        QMutexLocker locker(&session.mutex);
        // Re-checked under the mutex that pushes and close() take, so no wake-up is lost.
        if (!group || !group->inbox.isEmpty() || group->droppedLast != 0 || isClosed())
            continue;
        ++group->waiters;
        const bool woken = group->wakeCondition.wait(&session.mutex, deadline);
        --group->waiters;
        if (!woken && deadline.hasExpired() && group->inbox.isEmpty())
            return {};
    }
}

void PushClient::close()
{
    d->session->close(d->state, false);
}

bool PushClient::isClosed() const
{
    return d->state->closed.load();
}

void PushClient::deleteSelf()
{
    PushSession *owner = session();
    if (owner)
        owner->deleteClient(d->state->key);
    else
        d->session->close(d->state, true);
}

bool PushClient::event(QEvent *event)
{
    if (event->type() == QEvent::ThreadChange) {
        // The last event in the old thread: hand the queue over, then rejoin from the new one.
        if (isClosed()) {
            d->session->detach(d->state);
        } else {
            d->session->leaveThread(d->state);
            QCoreApplication::postEvent(this, new QEvent(AttachEvent));
        }
    } else if (event->type() == PendingEvent) {
        // Cleared before reading, so a change made after the read posts another event.
        d->state->pendingPosted.store(false, std::memory_order_relaxed);
        const int now = pending();
        if (d->state->notifiedPending.exchange(now, std::memory_order_relaxed) != now)
            Q_EMIT pendingChanged();
        return true;
    } else if (event->type() == AttachEvent) {
        if (!isClosed()) {
            // Local references: a slot run by the flush may delete this very client.
            const PushSessionStatePtr session = d->session;
            const PushClientStatePtr state = d->state;
            session->refreshAndFlush(state);
        }
        return true;
    }
    return QObject::event(event);
}

void PushClient::connectNotify(const QMetaMethod &signal)
{
    // Runs under Qt's connection lock, possibly in another thread: only flag the change and let
    // the client's own thread look at its receivers and start streaming its backlog.
    if (isMessageReceived(signal)) {
        d->state->receiversChanged.store(true);
        QCoreApplication::postEvent(this, new QEvent(AttachEvent));
    } else if (signal == QMetaMethod::fromSignal(&PushClient::pendingChanged)) {
        // From now on changes post a PendingEvent; the new receiver read pending() itself, so
        // the next change is announced whatever the last announced value was.
        d->state->notifiedPending.store(-1, std::memory_order_relaxed);
        d->state->watchesPending.store(true, std::memory_order_relaxed);
    }
}

void PushClient::disconnectNotify(const QMetaMethod &signal)
{
    // Also called from a receiver's destructor: flag only; the next delivery re-checks.
    if (!signal.isValid() || isMessageReceived(signal))
        d->state->receiversChanged.store(true);
}
