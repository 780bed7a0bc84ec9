// SPDX-License-Identifier: MIT
#include <QtPush/pushregistry.h>
#include <QtPush/pushsession.h>

#include "pushcorelogging_p.h"
#include "pushregistry_p.h"
#include "pushsession_p.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QMutex>
#include <QtCore/QThread>

#include <algorithm>
#include <vector>

PushRegistry::PushRegistry(QObject *parent)
    : QObject(parent), d(std::make_unique<PushRegistryPrivate>())
{ }

PushRegistry::~PushRegistry()
{
    QHash<QString, PushSession *> sessions;
    {
        QMutexLocker locker(&d->mutex);
        sessions.swap(d->sessions);
    }
    for (PushSession *session : std::as_const(sessions)) {
        session->d->shutDown();
        delete session; // sessions live in this thread, as the registry does
    }
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
    const QString keyString = id.toString();
    if (keyString.isEmpty()) {
        qCWarning(lcPushCore) << "PushRegistry::session: refusing a null or empty session id" << id;
        return nullptr;
    }
    PushSession *created = nullptr;
    {
        QMutexLocker locker(&d->mutex);
        if (PushSession *existing = d->sessions.value(keyString))
            return existing;
        created = new PushSession(id, this);
        created->d->state->changeHub = d->changeHub;
        created->d->state->changeKey = keyString;
        if (thread() != QThread::currentThread())
            created->moveToThread(thread());
        d->sessions.insert(keyString, created);
    }
    created->d->state->markChanged();
    qCDebug(lcPushCore) << "registry added session" << keyString;
    Q_EMIT sessionAdded(keyString);
    Q_EMIT countChanged();
    return created;
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
    const QString keyString = id.toString();
    PushSession *session = nullptr;
    {
        QMutexLocker locker(&d->mutex);
        session = d->sessions.take(keyString);
    }
    if (!session)
        return;
    session->d->shutDown();
    session->d->state->markChanged();
    session->deleteLater();
    qCDebug(lcPushCore) << "registry removed session" << keyString;
    Q_EMIT sessionRemoved(keyString);
    Q_EMIT countChanged();
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
