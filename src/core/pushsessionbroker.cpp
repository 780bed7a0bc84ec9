// SPDX-License-Identifier: MIT
// The engine's side of the broker seam, for brokers other than the memory one: a Durable
// broker's messages wait in unstored until stored(); a remote broker numbers them itself
// (pushsession_p.h).
#include <QtPush/pushsession.h>

#include "pushcorelogging_p.h"
#include "pushsession_p.h"

#include <QtCore/QDateTime>
#include <QtCore/QThread>

#include <algorithm>
#include <iterator>

quint64 PushSessionState::pushDurable(const QVariant &data, qint64 bytes,
                                      QPromise<PushReceipt> *receipt)
{
    if (bytes < 0)
        bytes = countsBytes.load(std::memory_order_relaxed) ? PushSession::estimateBytes(data) : 0;
    const qint64 wallMs = QDateTime::currentMSecsSinceEpoch();
    PushBroker::Error error = PushBroker::NoError;
    {
        QMutexLocker locker(&mutex);
        if (shutDown) {
            error = PushBroker::Unavailable;
        } else {
            const PushMessage message(lastId + 1, data, bytes);
            // Under the mutex, so that the broker sees the session's messages in id order.
            if (!broker->append(changeKey, epoch.load(std::memory_order_relaxed),
                                {message.id, data, bytes, wallMs})) {
                error = broker->error();
                if (error == PushBroker::NoError)
                    error = PushBroker::Unavailable;
            } else {
                lastId = message.id;
                if (retainLimit > 0) {
                    const qint64 now = retentionPeriodMs > 0 ? steadyMilliseconds() : 0;
                    retained.append({message, now});
                    retainedBytes += bytes;
                    pruneRetainedLocked(now);
                }
                unstored.append(message);
                if (receipt)
                    receipts.push_back({message.id, std::move(*receipt)});
                return message.id; // no change mark: nothing visible changed before stored()
            }
        }
    }
    qCWarning(lcPushCore) << "session" << changeKey << "refused a push:" << error;
    if (receipt) {
        receipt->addResult(PushReceipt{0, epoch.load(std::memory_order_relaxed), error});
        receipt->finish();
    }
    return 0;
}

QFuture<PushReceipt> PushSessionState::publishRemote(const QVariant &data, qint64 bytes)
{
    if (bytes < 0)
        bytes = countsBytes.load(std::memory_order_relaxed) ? PushSession::estimateBytes(data) : 0;
    PushBroker *target = nullptr;
    {
        QMutexLocker locker(&mutex);
        if (!shutDown)
            target = broker;
    }
    // The registry deletes its broker only after shutting down its sessions, which a push that
    // is past this point races with only through a deleteLater()'d session: the session object,
    // and with it the registry, outlive the caller's call.
    if (!target)
        return QtFuture::makeReadyFuture(PushReceipt{0, 0, PushBroker::Unavailable});
    return target->publish(changeKey, data, bytes);
}

void PushSessionState::storedUpTo(quint64 storedEpoch, quint64 upToId)
{
    // One report at a time per session, so that the second section below hands messages to the
    // inboxes in id order across reports.
    QMutexLocker storing(&storeMutex);
    std::vector<PendingReceipt> finished;
    QList<PushMessage> released;
    {
        QMutexLocker locker(&mutex);
        if (shutDown || storedEpoch != epoch.load(std::memory_order_relaxed) || upToId <= storedId)
            return; // an older epoch's, or said before
        qsizetype count = 0;
        while (count < unstored.size() && unstored.at(count).id <= upToId)
            ++count;
        if (count == 0)
            return;
        released = unstored.first(count);
        unstored.remove(0, count);
        storedId = released.last().id; // visible from here on: history, new clients, answers
        auto end = receipts.begin();
        while (end != receipts.end() && end->id <= storedId)
            ++end;
        std::move(receipts.begin(), end, std::back_inserter(finished));
        receipts.erase(receipts.begin(), end);
    }
    markChanged();
    // The receipts first, outside the session's lock (a continuation may run inline, and may
    // push): no client receives a message before its receipt is finished.
    const quint64 currentEpoch = epoch.load(std::memory_order_relaxed);
    for (PendingReceipt &pending : finished) {
        pending.promise.addResult(PushReceipt{pending.id, currentEpoch, PushBroker::NoError});
        pending.promise.finish();
    }
    // Then the deliveries, always through the inboxes: this runs in the broker's thread. A
    // client that joined in between counts from the new storedId (its afterId) and skips these,
    // as a client of a memory session skips what was pushed before it joined; history has them.
    QMutexLocker locker(&mutex);
    if (shutDown)
        return;
    const Limits limits = limitsLocked();
    for (const PushMessage &message : std::as_const(released)) {
        for (const PushThreadGroupPtr &group : std::as_const(groups))
            appendToInboxLocked(group.get(), message, limits);
        for (const PushClientStatePtr &client : std::as_const(homeless)) {
            if (!client->closed.load(std::memory_order_relaxed) && message.id > client->afterId)
                enqueue(client.get(), message, limits);
        }
    }
}

void PushSessionState::discardFrom(quint64 discardEpoch, quint64 fromId, PushBroker::Error error)
{
    std::vector<PendingReceipt> failed;
    {
        QMutexLocker locker(&mutex);
        if (shutDown || discardEpoch != epoch.load(std::memory_order_relaxed))
            return;
        // Stored ids were seen by clients: they can never be taken back.
        fromId = std::max(fromId, storedId + 1);
        if (fromId > lastId)
            return;
        qCWarning(lcPushCore) << "session" << changeKey << "lost ids" << fromId << "to" << lastId
                              << "to its broker:" << error;
        while (!unstored.isEmpty() && unstored.last().id >= fromId)
            unstored.removeLast();
        while (!retained.isEmpty() && retained.last().message.id >= fromId) {
            retainedBytes -= retained.last().message.bytes;
            retained.removeLast();
        }
        lastId = fromId - 1;
        auto begin = receipts.begin();
        while (begin != receipts.end() && begin->id < fromId)
            ++begin;
        std::move(begin, receipts.end(), std::back_inserter(failed));
        receipts.erase(begin, receipts.end());
    }
    const quint64 currentEpoch = epoch.load(std::memory_order_relaxed);
    for (PendingReceipt &pending : failed) {
        pending.promise.addResult(PushReceipt{0, currentEpoch, error});
        pending.promise.finish();
    }
}

void PushSessionState::failReceipts(PushBroker::Error error)
{
    std::vector<PendingReceipt> failed;
    {
        QMutexLocker locker(&mutex);
        failed.swap(receipts);
    }
    const quint64 currentEpoch = epoch.load(std::memory_order_relaxed);
    for (PendingReceipt &pending : failed) {
        pending.promise.addResult(PushReceipt{0, currentEpoch, error});
        pending.promise.finish();
    }
}

PushHistory PushSessionState::historyAfter(quint64 afterId)
{
    PushHistory history;
    QMutexLocker locker(&mutex);
    if (retentionPeriodMs > 0)
        pruneRetainedLocked(steadyMilliseconds());
    const quint64 visible = visibleIdLocked();
    history.position = {epoch.load(std::memory_order_relaxed), visible};
    history.oldestRetained = retained.isEmpty() || retained.first().message.id > visible
            ? visible + 1
            : retained.first().message.id;
    if (retained.isEmpty() || afterId >= visible)
        return history;
    // Ids are contiguous, so the first wanted one is found by subtraction.
    const quint64 firstId = retained.first().message.id;
    const qsizetype from = afterId < firstId ? 0 : qsizetype(afterId - firstId + 1);
    for (qsizetype i = from; i < retained.size() && retained.at(i).message.id <= visible; ++i)
        history.messages.append({retained.at(i).message.id, retained.at(i).message.data});
    return history;
}
