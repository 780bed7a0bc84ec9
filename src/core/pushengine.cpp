// SPDX-License-Identifier: MIT
// The fan-out engine (pushsession_p.h): push() and everything that delivers, in one translation
// unit so that the hot path inlines: inboxes, the dispatcher that drains them in each receiving
// thread, client queues, and clients joining and leaving threads.
#include <QtPush/pushclient.h>
#include <QtPush/pushsession.h>

#include "pushcorelogging_p.h"
#include "pushsession_p.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QEvent>
#include <QtCore/QMetaMethod>
#include <QtCore/QThread>

#include <algorithm>
#include <utility>

namespace {

const QEvent::Type WakeEvent = static_cast<QEvent::Type>(QEvent::registerEventType());

// Lives in a receiving thread and drains its group's inbox when a push from another thread
// wakes it: one posted event per batch, however many messages and clients the batch holds.
class PushDispatcher : public QObject
{
public:
    PushDispatcher(std::weak_ptr<PushSessionState> session, std::weak_ptr<PushThreadGroup> group)
        : m_session(std::move(session)), m_group(std::move(group))
    { }

    bool event(QEvent *event) override
    {
        if (event->type() != WakeEvent)
            return QObject::event(event);
        const PushSessionStatePtr session = m_session.lock();
        const PushThreadGroupPtr group = m_group.lock();
        if (session && group) {
            // Saved and restored: a slot's nested event loop can re-enter this handler.
            const bool outer = std::exchange(group->dispatching, true);
            session->drain(group.get());
            group->dispatching = outer;
        }
        return true;
    }

private:
    std::weak_ptr<PushSessionState> m_session;
    std::weak_ptr<PushThreadGroup> m_group;
};

// How many ids of the contiguous run [first, last] come after \a afterId (0 for an empty run).
quint64 idsAfter(quint64 first, quint64 last, quint64 afterId)
{
    first = std::max(first, afterId + 1);
    return last >= first && last != 0 ? last - first + 1 : 0;
}

QMetaMethod messageReceivedSignal()
{
    static const QMetaMethod method = QMetaMethod::fromSignal(&PushClient::messageReceived);
    return method;
}

} // namespace

quint64 PushSessionState::push(const QVariant &data, qint64 bytes)
{
    // The memory broker's path pays this one test (pushsession_p.h: Brokers).
    if (Q_UNLIKELY(mode != Mode::Memory)) {
        if (mode == Mode::Durable)
            return pushDurable(data, bytes, nullptr);
        publishRemote(data, bytes);
        return 0;
    }
    if (bytes < 0) // not counted by the caller: estimated only where a byte bound needs it
        bytes = countsBytes.load(std::memory_order_relaxed) ? PushSession::estimateBytes(data) : 0;
    QThread *const self = QThread::currentThread();
    PushThreadGroupPtr direct;
    PushMessage message;
    Limits limits;
    {
        QMutexLocker locker(&mutex);
        if (shutDown)
            return 0;
        message = {++lastId, data, bytes};
        limits = limitsLocked();
        if (retainLimit > 0) {
            const qint64 now = retentionPeriodMs > 0 ? steadyMilliseconds() : 0;
            retained.append({message, now});
            retainedBytes += bytes;
            pruneRetainedLocked(now);
        }
        for (const PushThreadGroupPtr &group : std::as_const(groups)) {
            // The pusher's own thread takes the message without a hop, unless older messages
            // still wait in its inbox (order) or it is inside its own delivery (re-entrancy).
            if (group->thread == self && group->inbox.isEmpty() && group->droppedLast == 0
                && !group->draining) {
                direct = group;
                continue;
            }
            appendToInboxLocked(group.get(), message, limits);
        }
        for (const PushClientStatePtr &client : std::as_const(homeless)) {
            if (!client->closed.load(std::memory_order_relaxed))
                enqueue(client.get(), message, limits);
        }
    }
    markChanged();
    if (direct) {
        direct->draining = true;
        deliver(direct.get(), message, limits);
        direct->draining = false;
        if (direct->hasInbox.load(std::memory_order_relaxed))
            drain(direct.get()); // what other threads or nested pushes queued meanwhile
        else
            sweep(direct.get());
    }
    return message.id;
}

void PushSessionState::pruneRetainedLocked(qint64 nowMs)
{
    qsizetype drop = std::max<qsizetype>(retained.size() - retainLimit, 0);
    if (retentionPeriodMs > 0) {
        while (drop < retained.size() && nowMs - retained.at(drop).pushedAtMs > retentionPeriodMs)
            ++drop;
    }
    dropRetainedLocked(drop);
    // The newest message stays, however large (invariants: one message alone is kept).
    drop = 0;
    for (qint64 bytes = retainedBytes;
         retainLimitBytes > 0 && bytes > retainLimitBytes && drop < retained.size() - 1;)
        bytes -= retained.at(drop++).message.bytes;
    dropRetainedLocked(drop);
}

void PushSessionState::dropRetainedLocked(qsizetype count)
{
    for (qsizetype i = 0; i < count; ++i)
        retainedBytes -= retained.at(i).message.bytes;
    if (count > 0)
        retained.remove(0, count);
}

void PushSessionState::appendToInboxLocked(PushThreadGroup *group, const PushMessage &message,
                                           Limits limits)
{
    // No client can hold more than maxBuffer messages or maxBufferBytes, so neither does the
    // inbox that feeds them.
    auto fits = [group, &message, limits] {
        return group->inbox.size() < limits.maxBuffer
                && (limits.maxBufferBytes <= 0 || group->inbox.isEmpty()
                    || group->inboxBytes + message.bytes <= limits.maxBufferBytes);
    };
    auto dropped = [group](quint64 id) {
        if (group->droppedLast == 0)
            group->droppedFirst = id;
        group->droppedLast = id;
    };
    if (limits.policy == PushSession::DropNewest) {
        // Once one is dropped, so is every later one until the drain: the run stays contiguous.
        if (group->droppedLast != 0 || !fits()) {
            dropped(message.id);
        } else {
            group->inbox.append(message);
            group->inboxBytes += message.bytes;
        }
    } else {
        while (!group->inbox.isEmpty() && !fits()) {
            const PushMessage first = group->inbox.takeFirst();
            group->inboxBytes -= first.bytes;
            dropped(first.id);
        }
        group->inbox.append(message);
        group->inboxBytes += message.bytes;
    }
    group->hasInbox.store(true, std::memory_order_relaxed);
    if (group->waiters > 0)
        group->wakeCondition.wakeAll();
    if (!group->wakePosted) {
        group->wakePosted = true;
        QCoreApplication::postEvent(group->dispatcher, new QEvent(WakeEvent));
    }
}

void PushSessionState::enqueue(PushClientState *client, const PushMessage &message, Limits limits)
{
    const bool full = client->queue.size() >= limits.maxBuffer
            || (limits.maxBufferBytes > 0 && !client->queue.isEmpty()
                && client->queuedBytes + message.bytes > limits.maxBufferBytes);
    if (full && limits.policy == PushSession::DropNewest) {
        ++client->droppedUnreported;
        return;
    }
    client->queue.append(message);
    client->queuedBytes += message.bytes;
    // The oldest make room (also when the bounds were lowered); the new message alone stays.
    while (client->queue.size() > limits.maxBuffer
           || (limits.maxBufferBytes > 0 && client->queue.size() > 1
               && client->queuedBytes > limits.maxBufferBytes)) {
        takeFirstQueued(client);
        ++client->droppedUnreported;
    }
    client->queued.store(int(client->queue.size()), std::memory_order_relaxed);
    notePendingChanged(client);
}

PushMessage PushSessionState::takeFirstQueued(PushClientState *client)
{
    PushMessage message = client->queue.takeFirst();
    client->queuedBytes -= message.bytes;
    return message;
}

void PushSessionState::deliver(PushThreadGroup *group, const PushMessage &message, Limits limits)
{
    // Index-based: a slot may add clients (appended) or delete them (entries cleared).
    for (qsizetype i = 0; i < group->members.size(); ++i) {
        PushClientState *client = group->members.at(i).get();
        if (client)
            deliverTo(group, client, message, limits);
    }
}

void PushSessionState::deliverTo(PushThreadGroup *group, PushClientState *client,
                                 const PushMessage &message, Limits limits)
{
    if (message.id <= client->afterId || client->closed.load(std::memory_order_relaxed))
        return;
    startStreamingIfConnected(client);
    if (client->streaming && client->queue.isEmpty() && client->client) {
        client->lastId.store(message.id, std::memory_order_relaxed);
        Q_EMIT client->client->messageReceived(message.data);
        return;
    }
    const int droppedBefore = client->droppedUnreported;
    enqueue(client, message, limits);
    if (client->droppedUnreported != droppedBefore)
        group->needsSweep = true;
}

void PushSessionState::drain(PushThreadGroup *group)
{
    if (group->draining)
        return; // the delivery this call is nested in picks up what is new
    // A slot may delete the thread's last client, which can release the group: keep it alive.
    const PushThreadGroupPtr keepAlive = group->shared_from_this();
    group->draining = true;
    // The batch and the inbox trade storage each round, so a busy inbox stops reallocating.
    QList<PushMessage> batch;
    for (;;) {
        quint64 droppedFirst = 0;
        quint64 droppedLast = 0;
        Limits limits;
        {
            QMutexLocker locker(&mutex);
            batch.swap(group->inbox);
            group->inboxBytes = 0;
            std::swap(droppedFirst, group->droppedFirst);
            std::swap(droppedLast, group->droppedLast);
            group->wakePosted = false;
            group->hasInbox.store(false, std::memory_order_relaxed);
            limits = limitsLocked();
        }
        if (droppedLast != 0) {
            // The run of ids the inbox dropped counts against every client that was there for it.
            for (const PushClientStatePtr &client : std::as_const(group->members)) {
                const quint64 dropped
                        = client ? idsAfter(droppedFirst, droppedLast, client->afterId) : 0;
                if (dropped > 0) {
                    client->droppedUnreported += int(dropped);
                    group->needsSweep = true;
                }
            }
        }
        if (batch.isEmpty())
            break;
        for (const PushMessage &message : std::as_const(batch))
            deliver(group, message, limits);
        batch.clear(); // keeps its capacity for the inbox, and drops the payloads outside the lock
    }
    group->draining = false;
    sweep(group);
}

void PushSessionState::sweep(PushThreadGroup *group)
{
    if (group->needsSweep) {
        group->needsSweep = false;
        for (qsizetype i = 0; i < group->members.size(); ++i) {
            const PushClientStatePtr client = group->members.at(i);
            if (!client)
                continue;
            startStreamingIfConnected(client.get());
            reportOverflow(client.get());
        }
    }
    prune(group);
}

void PushSessionState::prune(PushThreadGroup *group)
{
    // A plain load first: this runs after every direct push, and the flag is rarely set.
    if (group->draining || !group->needsPrune.load(std::memory_order_relaxed)
        || !group->needsPrune.exchange(false, std::memory_order_relaxed))
        return;
    group->removed.clear();
    group->members.removeIf([](const PushClientStatePtr &client) {
        if (client && !client->closed.load(std::memory_order_relaxed))
            return false;
        if (client) {
            client->queue.clear();
            client->queuedBytes = 0;
            client->queued.store(0, std::memory_order_relaxed);
            client->memberIndex = -1;
        }
        return true;
    });
    for (qsizetype i = 0; i < group->members.size(); ++i)
        group->members.at(i)->memberIndex = i;
    group->liveMembers = group->members.size();
    releaseIfEmpty(group);
}

void PushSessionState::releaseIfEmpty(PushThreadGroup *group)
{
    // Only the group's own thread adds members, so an empty group stays empty while we drop it.
    if (group->liveMembers > 0 || group->draining)
        return;
    const PushThreadGroupPtr keepAlive = group->shared_from_this(); // until we are done with it
    group->members.clear();
    group->removed.clear();
    {
        QMutexLocker locker(&mutex);
        const qsizetype index = groups.indexOf(group->shared_from_this());
        if (index < 0)
            return;
        groups.removeAt(index); // from now on no pusher posts to the dispatcher
    }
    // Deleted now where possible: a deleteLater() would never run if the thread ends first.
    if (group->dispatching)
        group->dispatcher->deleteLater();
    else
        delete group->dispatcher;
    group->dispatcher = nullptr;
}

void PushSessionState::startStreamingIfConnected(PushClientState *client)
{
    // isSignalConnected() takes Qt's connection lock, so it runs only after connectNotify or
    // disconnectNotify flagged a change, never per message.
    if (!client->receiversChanged.load(std::memory_order_relaxed))
        return;
    client->receiversChanged.store(false, std::memory_order_relaxed);
    client->streaming
            = client->client && client->client->isSignalConnected(messageReceivedSignal());
    flush(client); // the backlog first, before anything newer
}

void PushSessionState::flush(PushClientState *client)
{
    while (client->streaming && client->client && !client->queue.isEmpty()
           && !client->closed.load(std::memory_order_relaxed)) {
        const PushMessage message = takeFirstQueued(client);
        client->queued.store(int(client->queue.size()), std::memory_order_relaxed);
        client->lastId.store(message.id, std::memory_order_relaxed);
        notePendingChanged(client);
        Q_EMIT client->client->messageReceived(message.data);
    }
}

void PushSessionState::reportOverflow(PushClientState *client)
{
    const int dropped = std::exchange(client->droppedUnreported, 0);
    if (dropped > 0 && client->client) {
        qCDebug(lcPushCore) << "client" << client->keyString << "dropped" << dropped << "messages";
        Q_EMIT client->client->overflowed(dropped);
    }
}

void PushSessionState::joinCurrentThread(const PushClientStatePtr &client)
{
    QThread *const self = QThread::currentThread();
    // Only this thread writes client->group (under the mutex), so reading it here needs no lock.
    if (client->group && client->group->thread == self)
        return;
    PushThreadGroupPtr group;
    int droppedWhileHomeless = 0;
    {
        QMutexLocker locker(&mutex);
        Q_ASSERT(!client->group);
        for (const PushThreadGroupPtr &candidate : std::as_const(groups)) {
            if (candidate->thread == self) {
                group = candidate;
                break;
            }
        }
        if (!group) {
            group = std::make_shared<PushThreadGroup>();
            group->thread = self;
            // Created in the calling thread, which is the group's: the dispatcher lives there.
            group->dispatcher = new PushDispatcher(weak_from_this(), group);
            groups.append(group);
        }
        homeless.removeOne(client);
        client->group = group;
        // What came before is in its queue already (or not for it); Durable: what is not stored
        // yet reaches it through storedUpTo().
        client->afterId = visibleIdLocked();
        droppedWhileHomeless = client->droppedUnreported;
    }
    client->memberIndex = group->members.size();
    group->members.append(client);
    ++group->liveMembers;
    if (droppedWhileHomeless > 0)
        reportOverflow(client.get());
}

void PushSessionState::leaveThread(const PushClientStatePtr &client)
{
    PushThreadGroupPtr group;
    {
        QMutexLocker locker(&mutex);
        group = client->group;
        if (!group)
            return;
        // Take along what the old thread's inbox holds for this client, then let pushes queue
        // for it directly until it joins its new thread.
        const Limits limits = limitsLocked();
        for (const PushMessage &message : std::as_const(group->inbox)) {
            if (message.id > client->afterId)
                enqueue(client.get(), message, limits);
        }
        client->droppedUnreported
                += int(idsAfter(group->droppedFirst, group->droppedLast, client->afterId));
        client->group.reset();
        homeless.append(client);
        // Look at the receivers again once in the new thread, and stream the backlog from there.
        client->receiversChanged.store(true, std::memory_order_relaxed);
    }
    removeMember(group.get(), client);
}

void PushSessionState::detach(const PushClientStatePtr &client)
{
    PushThreadGroupPtr group;
    {
        QMutexLocker locker(&mutex);
        group = std::exchange(client->group, nullptr);
        homeless.removeOne(client);
    }
    if (group)
        removeMember(group.get(), client);
}

void PushSessionState::removeMember(PushThreadGroup *group, const PushClientStatePtr &client)
{
    const qsizetype index = std::exchange(client->memberIndex, -1);
    if (index >= 0 && index < group->members.size() && group->members.at(index) == client) {
        // Compacted by the next prune, not here: O(1) per client. A delivery in progress may
        // still hold the raw pointer (a slot deleted the client), so the state lives till then.
        if (group->draining)
            group->removed.append(std::move(group->members[index]));
        group->members[index].reset();
        --group->liveMembers;
        group->needsPrune.store(true, std::memory_order_relaxed);
    }
    releaseIfEmpty(group);
}

void PushSessionState::refreshAndFlush(const PushClientStatePtr &client)
{
    joinCurrentThread(client);
    PushThreadGroup *group = client->group.get();
    if (!group)
        return;
    if (group->draining) {
        group->needsSweep = true; // the delivery in progress flushes it, keeping id order
        return;
    }
    drain(group);
    startStreamingIfConnected(client.get());
}

bool PushSessionState::takeQueued(const PushClientStatePtr &client, PushMessage *message)
{
    if (client->closed.load(std::memory_order_relaxed))
        return false;
    joinCurrentThread(client);
    PushThreadGroup *group = client->group.get();
    if (group && group->hasInbox.load(std::memory_order_relaxed))
        drain(group);
    if (client->queue.isEmpty())
        return false;
    *message = takeFirstQueued(client.get());
    client->queued.store(int(client->queue.size()), std::memory_order_relaxed);
    client->lastId.store(message->id, std::memory_order_relaxed);
    notePendingChanged(client.get());
    return true;
}

int PushSessionState::pending(const PushClientStatePtr &client) const
{
    if (client->closed.load(std::memory_order_relaxed))
        return 0;
    QMutexLocker locker(&mutex);
    quint64 inInbox = 0;
    if (client->group && !client->group->inbox.isEmpty()) {
        const QList<PushMessage> &inbox = client->group->inbox; // its ids are a contiguous run
        inInbox = idsAfter(inbox.first().id, inbox.last().id, client->afterId);
    }
    const quint64 queued = quint64(client->queued.load(std::memory_order_relaxed));
    return int(std::min<quint64>(queued + inInbox, quint64(maxBuffer)));
}

void PushSessionState::close(const PushClientStatePtr &client, bool deleteObject)
{
    const bool wasOpen = !client->closed.exchange(true);
    PushClient *emitHere = nullptr;
    {
        QMutexLocker locker(&mutex);
        if (client->group && wasOpen) {
            client->group->needsPrune.store(true, std::memory_order_relaxed);
            client->group->wakeCondition.wakeAll(); // a blocked pull() returns at once
        }
        homeless.removeOne(client);
        if (wasOpen)
            notePendingChanged(client.get()); // pending() reads 0 from now on
        PushClient *object = client->client;
        if (!object)
            return;
        // With the mutex held, the client's destructor (which takes it) cannot run meanwhile.
        if (wasOpen) {
            if (object->thread() == QThread::currentThread())
                emitHere = object; // destruction could only happen in this very thread
            else
                QMetaObject::invokeMethod(object, &PushClient::closed, Qt::QueuedConnection);
        }
        if (deleteObject)
            object->deleteLater();
    }
    if (emitHere)
        Q_EMIT emitHere->closed();
}

PushSessionState::~PushSessionState()
{
    // Nothing else refers to the session any more (a drain holds a reference while it runs), so
    // the groups' member lists may be cleared from here: that breaks the group <-> client cycle.
    for (const PushThreadGroupPtr &group : std::as_const(groups)) {
        group->members.clear();
        group->dispatcher->deleteLater();
    }
}
