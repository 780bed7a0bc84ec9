// SPDX-License-Identifier: MIT
#include <QtPush/pushmemorybroker.h>
#include <QtPush/pushregistry.h>
#include <QtPush/pushsession.h>

#include "pushbroker_p.h"
#include "pushcorelogging_p.h"
#include "pushregistry_p.h"
#include "pushsession_p.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QDateTime>
#include <QtCore/QMutex>
#include <QtCore/QThread>

#include <algorithm>
#include <vector>

namespace {

std::unique_ptr<PushBroker> openMemoryBroker()
{
    auto broker = std::make_unique<PushMemoryBroker>();
    broker->open(); // cannot fail: nothing to open
    return broker;
}

PushSessionState::Mode modeOf(PushBroker::Capabilities capabilities)
{
    if (!(capabilities & PushBroker::AssignsIdsLocally))
        return PushSessionState::Mode::Remote;
    return capabilities & PushBroker::Durable ? PushSessionState::Mode::Durable
                                              : PushSessionState::Mode::Memory;
}

} // namespace

PushRegistry::PushRegistry(QObject *parent)
    : QObject(parent), d(std::make_unique<PushRegistryPrivate>(this))
{
    d->adopt(openMemoryBroker());
}

PushRegistry::PushRegistry(std::unique_ptr<PushBroker> broker, QObject *parent)
    : QObject(parent), d(std::make_unique<PushRegistryPrivate>(this))
{
    d->adopt(std::move(broker));
}

PushRegistry::~PushRegistry()
{
    // The broker first: it stores what it accepted, and its last stored() calls still deliver.
    d->broker->close();
    QHash<QString, PushSession *> sessions;
    {
        QMutexLocker locker(&d->mutex);
        sessions.swap(d->sessions);
    }
    for (PushSession *session : std::as_const(sessions)) {
        session->d->shutDown();
        delete session; // sessions live in this thread, as the registry does
    }
    d->broker.reset(); // no session refers to it any more
}

void PushRegistryPrivate::adopt(std::unique_ptr<PushBroker> given)
{
    if (!given) {
        given = openMemoryBroker();
    } else if (!given->isOpen()) {
        // Refused rather than opened here: a store that cannot be opened must be reported by
        // its owner (open() says why), and a registry cannot fail its construction.
        qCCritical(lcPushCore) << "PushRegistry: the broker" << given->metaObject()->className()
                               << "is not open (call PushBroker::open() first): using a"
                               << "PushMemoryBroker instead, so nothing is stored";
        given = openMemoryBroker();
    }
    if (given->parent()) {
        qCWarning(lcPushCore) << "PushRegistry: the broker had a parent; the registry owns it now";
        given->setParent(nullptr);
    }
    if (given->thread() != q->thread())
        given->moveToThread(q->thread());
    broker = std::move(given);
    PushBrokerPrivate *const brokerState = broker->d.get();
    brokerState->handler.store(this);

    // Recovered sessions exist at once, without signals: nothing can be connected yet.
    const QList<PushStoredSession> recovered = std::exchange(brokerState->recovered, {});
    const PushSessionState::Mode mode = modeOf(broker->capabilities());
    const qint64 steadyNow = steadyMilliseconds();
    const qint64 wallNow = QDateTime::currentMSecsSinceEpoch();
    for (const PushStoredSession &stored : recovered) {
        const QString keyString = stored.key.toString();
        if (keyString.isEmpty() || sessions.contains(keyString)) {
            qCWarning(lcPushCore) << "PushRegistry: the broker recovered an invalid or repeated"
                                  << "session" << stored.key << "; skipped";
            continue;
        }
        auto *session = new PushSession(stored.key, q);
        PushSessionState &state = *session->d->state;
        state.changeHub = changeHub;
        state.changeKey = keyString;
        state.broker = broker.get();
        state.mode = mode;
        state.epoch.store(stored.position.epoch, std::memory_order_relaxed);
        state.flags = stored.flags;
        state.lastId = state.storedId = stored.position.id;
        state.retainLimit = stored.retention.messages;
        state.retentionPeriodMs = stored.retention.periodMs;
        state.retainLimitBytes = stored.retention.bytes;
        state.updateCountsBytesLocked();
        for (const PushStoredMessage &message : stored.retained) {
            if (message.id == 0 || message.id > stored.position.id
                || (!state.retained.isEmpty()
                    && message.id != state.retained.last().message.id + 1))
                continue; // the broker's promise is contiguous ids up to position.id
            // Wall-clock age carried over to the engine's steady clock.
            state.retained.append({PushMessage(message.id, message.data, message.bytes),
                                   steadyNow - std::max<qint64>(wallNow - message.pushedAtMs, 0)});
            state.retainedBytes += message.bytes;
        }
        state.pruneRetainedLocked(steadyNow);
        sessions.insert(keyString, session);
    }
    if (!recovered.isEmpty())
        qCDebug(lcPushCore) << "registry recovered" << sessions.size() << "sessions";
}

PushRegistryPrivate *PushRegistryPrivate::get(PushRegistry *registry)
{
    return registry->d.get();
}

PushRegistry *PushRegistry::global()
{
    // Deliberately never deleted: clients in other threads may outlive static destruction.
    static PushRegistry *const registry = [] {
        auto *created = new PushRegistry;
        if (QCoreApplication *app = QCoreApplication::instance())
            created->moveToThread(app->thread());
        return created;
    }();
    return registry;
}

PushSession *PushRegistry::session(const QVariant &id)
{
    return d->session(id, 0);
}

PushSession *PushRegistryPrivate::session(const QVariant &id, quint32 flags)
{
    const QString keyString = id.toString();
    if (keyString.isEmpty()) {
        qCWarning(lcPushCore) << "PushRegistry::session: refusing a null or empty session id" << id;
        return nullptr;
    }
    PushSession *created = nullptr;
    {
        QMutexLocker locker(&mutex);
        if (PushSession *existing = sessions.value(keyString))
            return existing;
        created = new PushSession(id, q);
        PushSessionState &state = *created->d->state;
        state.changeHub = changeHub;
        state.changeKey = keyString;
        state.broker = broker.get();
        state.mode = modeOf(broker->capabilities());
        state.flags = flags;
        // Under the registry's mutex, so the broker hears of a key's sessions in order.
        const PushPosition position = broker->sessionCreated(keyString, id, {}, flags);
        state.epoch.store(position.epoch, std::memory_order_relaxed);
        state.lastId = state.storedId = position.id;
        if (q->thread() != QThread::currentThread())
            created->moveToThread(q->thread());
        sessions.insert(keyString, created);
    }
    created->d->state->markChanged();
    qCDebug(lcPushCore) << "registry added session" << keyString;
    Q_EMIT q->sessionAdded(keyString);
    Q_EMIT q->countChanged();
    return created;
}

QStringList PushRegistryPrivate::keysWithFlag(quint32 flag) const
{
    QMutexLocker locker(&mutex);
    QStringList keys;
    for (auto it = sessions.cbegin(); it != sessions.cend(); ++it) {
        if (it.value()->d->state->flags & flag) // constant after the session is made
            keys.append(it.key());
    }
    return keys;
}

PushSession *PushRegistry::findSession(const QVariant &id) const
{
    QMutexLocker locker(&d->mutex);
    return d->sessions.value(id.toString());
}

bool PushRegistry::exists(const QVariant &id) const
{
    QMutexLocker locker(&d->mutex);
    return d->sessions.contains(id.toString());
}

void PushRegistry::deleteSession(const QVariant &id)
{
    d->remove(id, PushBroker::RemoveReason::Deleted);
}

bool PushRegistryPrivate::release(const QVariant &id)
{
    {
        QMutexLocker locker(&mutex);
        PushSession *session = sessions.value(id.toString());
        if (!session)
            return true;
        PushSessionState &state = *session->d->state;
        QMutexLocker stateLocker(&state.mutex);
        if (state.lastId != state.visibleIdLocked())
            return false; // pushes wait for the broker to store them: not idle
    }
    remove(id, PushBroker::RemoveReason::Released);
    return true;
}

void PushRegistryPrivate::remove(const QVariant &id, PushBroker::RemoveReason reason)
{
    const QString keyString = id.toString();
    PushSession *session = nullptr;
    {
        QMutexLocker locker(&mutex);
        session = sessions.take(keyString);
        if (session) {
            broker->sessionRemoved(
                    keyString, session->d->state->epoch.load(std::memory_order_relaxed), reason);
        }
    }
    if (!session)
        return;
    session->d->shutDown();
    session->d->state->markChanged();
    session->deleteLater();
    qCDebug(lcPushCore) << "registry removed session" << keyString;
    Q_EMIT q->sessionRemoved(keyString);
    Q_EMIT q->countChanged();
}

QVariantList PushRegistry::sessions() const
{
    std::vector<std::pair<QString, QVariant>> entries;
    {
        QMutexLocker locker(&d->mutex);
        entries.reserve(d->sessions.size());
        for (auto it = d->sessions.cbegin(); it != d->sessions.cend(); ++it)
            entries.emplace_back(it.key(), it.value()->key());
    }
    // Sorted outside the lock, so that pushes in other threads do not wait for it.
    std::sort(entries.begin(), entries.end(),
              [](const auto &a, const auto &b) { return a.first < b.first; });
    QVariantList keys;
    keys.reserve(qsizetype(entries.size()));
    for (auto &entry : entries)
        keys.append(std::move(entry.second));
    return keys;
}

int PushRegistry::count() const
{
    QMutexLocker locker(&d->mutex);
    return int(d->sessions.size());
}

PushBroker *PushRegistry::broker() const
{
    return d->broker.get(); // set in the constructor, reset only in the destructor
}

// ---- PushBrokerHandler ----------------------------------------------------------------------

std::shared_ptr<PushSessionState> PushRegistryPrivate::stateOf(const QString &key) const
{
    QMutexLocker locker(&mutex);
    PushSession *session = sessions.value(key);
    return session ? session->d->state : nullptr;
}

void PushRegistryPrivate::stored(const QString &key, quint64 epoch, quint64 upToId)
{
    if (const auto state = stateOf(key))
        state->storedUpTo(epoch, upToId);
}

void PushRegistryPrivate::discarded(const QString &key, quint64 epoch, quint64 fromId,
                                    PushBroker::Error error)
{
    if (const auto state = stateOf(key))
        state->discardFrom(epoch, fromId, error);
}

void PushRegistryPrivate::publication(const QString &key, PushPosition position, const QVariant &,
                                      qint64)
{
    // Delivering what a remote broker numbered (in id order, gaps announced) is issue 16.
    qCCritical(lcPushCore) << "PushRegistry: a remote broker published" << position.id
                           << "to session" << key
                           << "but delivery of remote publications needs issue 16; dropped";
}

void PushRegistryPrivate::positionChanged(const QString &key, PushPosition position)
{
    const auto state = stateOf(key);
    if (!state)
        return;
    QMutexLocker locker(&state->mutex);
    if (state->mode != PushSessionState::Mode::Remote) {
        qCWarning(lcPushCore) << "PushRegistry: positionChanged() from a broker that assigns ids"
                              << "locally; ignored for session" << key;
        return;
    }
    state->epoch.store(position.epoch, std::memory_order_relaxed);
    state->lastId = position.id;
}
