// SPDX-License-Identifier: MIT
#include <QtPush/pushclient.h>
#include <QtPush/pushregistry.h>
#include <QtPush/pushsession.h>

#include "pushcorelogging_p.h"
#include "pushsession_p.h"

#include <QtCore/QThread>

#include <algorithm>
#include <utility>

// ---- PushSession ----------------------------------------------------------------------------

PushSession::PushSession(const QVariant &key, PushRegistry *registry)
    : d(std::make_unique<PushSessionPrivate>())
{
    d->key = key;
    d->keyString = key.toString();
    d->registry = registry;
    d->state->session = this;
    // The registry sets the broker, epoch and mode before it publishes the session.
}

PushSession::~PushSession()
{
    d->shutDown();
    QMutexLocker locker(&d->state->mutex);
    d->state->session = nullptr;
}

void PushSessionPrivate::shutDown()
{
    QList<PushClientStatePtr> clients;
    {
        QMutexLocker locker(&state->mutex);
        if (state->shutDown)
            return;
        state->shutDown = true;
        clients = state->clients.values();
        state->clients.clear();
    }
    // A Durable broker no longer stores a deleted session's messages (or did so for nothing).
    state->failReceipts(PushBroker::Unavailable);
    for (const PushClientStatePtr &client : std::as_const(clients))
        state->close(client, true);
}

QVariant PushSession::key() const
{
    return d->key;
}

QString PushSession::keyString() const
{
    return d->keyString;
}

PushRegistry *PushSession::registry() const
{
    return d->registry;
}

int PushSession::maxBuffer() const
{
    QMutexLocker locker(&d->state->mutex);
    return d->state->maxBuffer;
}

void PushSession::setMaxBuffer(int maxBuffer)
{
    if (maxBuffer < 1) {
        qCWarning(lcPushCore) << "PushSession::setMaxBuffer: refusing" << maxBuffer << "for session"
                              << d->keyString << "(must be at least 1)";
        return;
    }
    {
        QMutexLocker locker(&d->state->mutex);
        if (d->state->maxBuffer == maxBuffer)
            return;
        d->state->maxBuffer = maxBuffer;
        // pending() is capped by maxBuffer, so a watched client may read another value now.
        for (const PushClientStatePtr &client : std::as_const(d->state->clients))
            notePendingChanged(client.get());
    }
    Q_EMIT maxBufferChanged();
}

qint64 PushSession::maxBufferBytes() const
{
    QMutexLocker locker(&d->state->mutex);
    return d->state->maxBufferBytes;
}

void PushSession::setMaxBufferBytes(qint64 bytes)
{
    if (bytes < 0) {
        qCWarning(lcPushCore) << "PushSession::setMaxBufferBytes: refusing" << bytes
                              << "for session" << d->keyString;
        return;
    }
    {
        QMutexLocker locker(&d->state->mutex);
        if (d->state->maxBufferBytes == bytes)
            return;
        d->state->maxBufferBytes = bytes;
        d->state->updateCountsBytesLocked();
    }
    Q_EMIT maxBufferChanged();
}

qint64 PushSession::maxRetainedBytes() const
{
    QMutexLocker locker(&d->state->mutex);
    return d->state->retainLimitBytes;
}

void PushSession::setMaxRetainedBytes(qint64 bytes)
{
    if (bytes < 0) {
        qCWarning(lcPushCore) << "PushSession::setMaxRetainedBytes: refusing" << bytes
                              << "for session" << d->keyString;
        return;
    }
    {
        QMutexLocker locker(&d->state->mutex);
        if (d->state->retainLimitBytes == bytes)
            return;
        d->state->retainLimitBytes = bytes;
        d->state->updateCountsBytesLocked();
        d->state->pruneRetainedLocked(steadyMilliseconds());
        d->state->retentionChangedLocked();
    }
    Q_EMIT retentionChanged();
}

qint64 PushSession::retainedBytes() const
{
    QMutexLocker locker(&d->state->mutex);
    return d->state->retainedBytes;
}

qint64 PushSession::trimRetained(qint64 maxBytes)
{
    QMutexLocker locker(&d->state->mutex);
    PushSessionState &state = *d->state;
    const qint64 before = state.retainedBytes;
    qsizetype drop = 0;
    for (qint64 bytes = before;
         bytes > std::max<qint64>(maxBytes, 0) && drop < state.retained.size();)
        bytes -= state.retained.at(drop++).message.bytes;
    state.dropRetainedLocked(drop);
    if (drop > 0 && state.broker && !state.shutDown) {
        const quint64 oldestKept
                = state.retained.isEmpty() ? state.lastId + 1 : state.retained.first().message.id;
        state.broker->retainedTrimmed(state.changeKey, state.epoch.load(std::memory_order_relaxed),
                                      oldestKept);
    }
    return before - state.retainedBytes;
}

int PushSession::retainedMessages() const
{
    QMutexLocker locker(&d->state->mutex);
    return d->state->retainLimit;
}

void PushSession::setRetainedMessages(int messages)
{
    if (messages < 0) {
        qCWarning(lcPushCore) << "PushSession::setRetainedMessages: refusing" << messages
                              << "for session" << d->keyString;
        return;
    }
    {
        QMutexLocker locker(&d->state->mutex);
        if (d->state->retainLimit == messages)
            return;
        d->state->retainLimit = messages;
        d->state->pruneRetainedLocked(steadyMilliseconds());
        d->state->retentionChangedLocked();
    }
    Q_EMIT retentionChanged();
}

int PushSession::retentionPeriod() const
{
    QMutexLocker locker(&d->state->mutex);
    return d->state->retentionPeriodMs;
}

void PushSession::setRetentionPeriod(int milliseconds)
{
    if (milliseconds < 0) {
        qCWarning(lcPushCore) << "PushSession::setRetentionPeriod: refusing" << milliseconds
                              << "for session" << d->keyString;
        return;
    }
    {
        QMutexLocker locker(&d->state->mutex);
        if (d->state->retentionPeriodMs == milliseconds)
            return;
        d->state->retentionPeriodMs = milliseconds;
        // Messages retained while no period was set carry no usable time: count them as new.
        const qint64 now = steadyMilliseconds();
        for (PushSessionState::Retained &entry : d->state->retained)
            entry.pushedAtMs = now;
        d->state->retentionChangedLocked();
    }
    Q_EMIT retentionChanged();
}

QList<PushSession::Message> PushSession::messagesAfter(quint64 afterId,
                                                       quint64 *oldestRetained) const
{
    PushHistory history = d->state->historyAfter(afterId);
    if (oldestRetained)
        *oldestRetained = history.oldestRetained;
    return std::move(history.messages);
}

PushSession::OverflowPolicy PushSession::overflowPolicy() const
{
    QMutexLocker locker(&d->state->mutex);
    return d->state->policy;
}

void PushSession::setOverflowPolicy(OverflowPolicy policy)
{
    {
        QMutexLocker locker(&d->state->mutex);
        if (d->state->policy == policy)
            return;
        d->state->policy = policy;
    }
    Q_EMIT overflowPolicyChanged();
}

PushClient *PushSession::newClient(const QVariant &id)
{
    const QString keyString = id.toString();
    if (keyString.isEmpty()) {
        qCWarning(lcPushCore) << "PushSession::newClient: refusing a null or empty client id" << id
                              << "in session" << d->keyString;
        return nullptr;
    }
    if (PushClient *existing = findClient(keyString))
        return existing;
    // Built completely before it is published, so that a concurrent newClient() or findClient()
    // with the same id never sees a client without its object.
    const auto state = std::make_shared<PushClientState>(id, keyString);
    auto priv = std::make_unique<PushClientPrivate>();
    priv->session = d->state;
    priv->state = state;
    std::unique_ptr<PushClient> client(new PushClient(std::move(priv)));
    state->client = client.get();
    PushClient *winner = nullptr;
    {
        QMutexLocker locker(&d->state->mutex);
        if (d->state->shutDown) {
            locker.unlock();
            qCWarning(lcPushCore) << "PushSession::newClient: session" << d->keyString
                                  << "was deleted";
            return nullptr;
        }
        if (const PushClientStatePtr existing = d->state->clients.value(keyString)) {
            winner = existing->client; // another thread created it meanwhile
        } else {
            d->state->clients.insert(keyString, state);
            // Homeless until it joins this thread's group below; pushes meanwhile queue for it.
            d->state->homeless.append(state);
            state->afterId = d->state->visibleIdLocked();
        }
    }
    if (winner)
        return winner; // ours was never published: the unique_ptr deletes it
    PushClient *const created = client.release(); // owned by the session from here on
    d->state->joinCurrentThread(state);
    d->state->markChanged();
    qCDebug(lcPushCore) << "session" << d->keyString << "added client" << keyString;
    Q_EMIT clientAdded(keyString);
    Q_EMIT countChanged();
    return created;
}

PushClient *PushSession::findClient(const QVariant &id) const
{
    QMutexLocker locker(&d->state->mutex);
    const PushClientStatePtr state = d->state->clients.value(id.toString());
    return state ? state->client : nullptr;
}

bool PushSession::exists(const QVariant &clientId) const
{
    QMutexLocker locker(&d->state->mutex);
    return d->state->clients.contains(clientId.toString());
}

void PushSession::deleteClient(const QVariant &clientId)
{
    const QString keyString = clientId.toString();
    PushClientStatePtr state;
    {
        QMutexLocker locker(&d->state->mutex);
        state = d->state->clients.take(keyString);
    }
    if (!state)
        return;
    d->state->close(state, true);
    d->state->markChanged();
    Q_EMIT clientRemoved(keyString);
    Q_EMIT countChanged();
}

QVariantList PushSession::clients() const
{
    QMutexLocker locker(&d->state->mutex);
    QVariantList keys;
    keys.reserve(d->state->clients.size());
    for (const PushClientStatePtr &client : std::as_const(d->state->clients))
        keys.append(client->key);
    return keys;
}

int PushSession::count() const
{
    QMutexLocker locker(&d->state->mutex);
    return int(d->state->clients.size());
}

quint64 PushSession::push(const QVariant &message)
{
    return push(message, -1);
}

quint64 PushSession::push(const QVariant &message, qint64 bytes)
{
    const quint64 id = d->state->push(message, bytes);
    if (id != 0)
        qCDebug(lcPushCore) << "session" << d->keyString << "pushed" << id << message;
    else if (d->state->mode == PushSessionState::Mode::Memory)
        qCWarning(lcPushCore) << "PushSession::push: session" << d->keyString << "was deleted";
    // A Durable broker's refusal was logged by the engine; a remote broker numbers it later.
    return id;
}

QFuture<PushReceipt> PushSession::publish(const QVariant &message, qint64 bytes)
{
    PushSessionState &state = *d->state;
    switch (state.mode) {
    case PushSessionState::Mode::Memory: {
        const quint64 id = push(message, bytes);
        return QtFuture::makeReadyFuture(
                PushReceipt{id, state.epoch.load(std::memory_order_relaxed),
                            id != 0 ? PushBroker::NoError : PushBroker::Unavailable});
    }
    case PushSessionState::Mode::Durable: {
        QPromise<PushReceipt> promise;
        QFuture<PushReceipt> future = promise.future();
        promise.start();
        state.pushDurable(message, bytes, &promise); // takes the promise, or finishes it
        return future;
    }
    case PushSessionState::Mode::Remote:
        break;
    }
    return state.publishRemote(message, bytes);
}

QFuture<PushHistory> PushSession::requestHistory(quint64 afterId) const
{
    if (d->state->mode == PushSessionState::Mode::Remote && d->state->broker) {
        // Without the mutex: a remote broker answers later, from its back end.
        bool shutDown = false;
        {
            QMutexLocker locker(&d->state->mutex);
            shutDown = d->state->shutDown;
        }
        if (!shutDown)
            return d->state->broker->history(d->keyString, afterId);
    }
    return QtFuture::makeReadyFuture(d->state->historyAfter(afterId));
}

qint64 PushSession::estimateBytes(const QVariant &message)
{
    // Qt 6 on a 64-bit machine: a QVariant is 32 bytes and holds up to 24 bytes inline, so a
    // string, list or map too; their shared blocks are a 16-byte header plus the elements, and
    // a QMap is a std::map with a node per entry. The allocator adds about 16 bytes a block.
    constexpr qint64 block = 16 + 16;
    qint64 bytes = sizeof(QVariant);
    switch (message.typeId()) {
    case QMetaType::QString:
        return bytes + block + 2 * qint64(message.toString().size());
    case QMetaType::QByteArray:
        return bytes + block + qint64(message.toByteArray().size());
    case QMetaType::QVariantList:
    case QMetaType::QStringList: {
        const QVariantList list = message.toList();
        bytes += block;
        for (const QVariant &element : list)
            bytes += estimateBytes(element);
        return bytes;
    }
    case QMetaType::QVariantMap: {
        const QVariantMap map = message.toMap();
        bytes += map.isEmpty() ? 0 : block + 48; // the shared std::map
        for (auto it = map.cbegin(); it != map.cend(); ++it) {
            bytes += block + 32 // a node: its links and colour
                    + estimateBytes(it.key()) + estimateBytes(it.value());
        }
        return bytes;
    }
    case QMetaType::QVariantHash: {
        const QVariantHash hash = message.toHash();
        bytes += hash.isEmpty() ? 0 : block + 8 * hash.size();
        for (auto it = hash.cbegin(); it != hash.cend(); ++it)
            bytes += block + estimateBytes(it.key()) + estimateBytes(it.value());
        return bytes;
    }
    default:
        // Anything larger than the inline storage lives in a block of its own.
        return bytes + (message.metaType().sizeOf() > 24 ? block + message.metaType().sizeOf() : 0);
    }
}

quint64 PushSession::lastMessageId() const
{
    QMutexLocker locker(&d->state->mutex);
    return d->state->visibleIdLocked();
}

quint64 PushSession::epoch() const
{
    return d->state->epoch.load(std::memory_order_relaxed);
}

void PushSession::deleteSelf()
{
    if (d->registry)
        d->registry->deleteSession(d->key);
}
