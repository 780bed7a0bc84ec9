// SPDX-License-Identifier: MIT
#pragma once

// Internal: the registry's state. Not installed; the server includes it (exported functions).

#include <QtPush/pushbroker.h>
#include <QtPush/qtpushcore_export.h>

#include "pushchangejournal_p.h"

#include <QtCore/QHash>
#include <QtCore/QMutex>
#include <QtCore/QString>

#include <memory>

class PushRegistry;
class PushSession;
struct PushSessionState;

// The registry hears its broker here (pushbroker.h). A broker calls these from any thread with
// none of its locks held: each takes the registry's mutex only to find the session's state, and
// the state's mutex after letting the registry's go.
class QTPUSHCORE_EXPORT PushRegistryPrivate final : public PushBrokerHandler
{
public:
    explicit PushRegistryPrivate(PushRegistry *q) : q(q) { }

    static PushRegistryPrivate *get(PushRegistry *registry);

    //! PushRegistry::session() with \a flags (PushBroker::SessionFlag) for the broker to keep:
    //! the server makes its sessions with PushBroker::ServerMade.
    PushSession *session(const QVariant &id, quint32 flags);
    //! As PushRegistry::deleteSession(), reporting PushBroker::RemoveReason::Released: a server
    //! forgets an idle session it made. Refused (false) while a durable broker still stores
    //! pushes to it, whose receipts would fail; the store marks the session changed when done.
    bool release(const QVariant &id);
    //! The keys of the sessions made with \a flag, recovered ones included: a server adopts
    //! those it made before a restart.
    QStringList keysWithFlag(quint32 flag) const;

    void stored(const QString &key, quint64 epoch, quint64 upToId) override;
    void discarded(const QString &key, quint64 epoch, quint64 fromId,
                   PushBroker::Error error) override;
    void publication(const QString &key, PushPosition position, const QVariant &data,
                     qint64 bytes) override;
    void positionChanged(const QString &key, PushPosition position) override;

    PushRegistry *const q;
    mutable QMutex mutex;
    // By key string. A hash, not a map: the server looks sessions up for every push and every
    // changed session each second, and a map's O(log n) string compares cost about 2 us a
    // lookup at 100,000 sessions (docs/benchmarks.md: Housekeeping). sessions() sorts instead.
    QHash<QString, PushSession *> sessions;
    // Shared with every session state, which marks its changes there (pushchangejournal_p.h).
    const PushChangeHubPtr changeHub = std::make_shared<PushChangeHub>();
    // Never null after the constructor; deleted last, after its close() and the sessions.
    std::unique_ptr<PushBroker> broker;

    void adopt(std::unique_ptr<PushBroker> given);
    void remove(const QVariant &id, PushBroker::RemoveReason reason);
    std::shared_ptr<PushSessionState> stateOf(const QString &key) const;
};
