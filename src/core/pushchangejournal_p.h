// SPDX-License-Identifier: MIT
#pragma once

// Internal: which sessions of a registry changed, for a consumer (the server's housekeeping and
// admin ticks) that must not walk every session to find out. Not installed, but exported: the
// server library uses it.
//
// A session counts as changed when it was created or deleted, got a push, or gained or lost a
// client. The mark costs a change two relaxed atomic loads while the session is marked already
// (so a busy session pays that per push, never a lock); the first change after a drain takes
// the hub's mutex once. See pushsession_p.h for the lock order.

#include <QtPush/qtpushcore_export.h>

#include <QtCore/QHash>
#include <QtCore/QList>
#include <QtCore/QMutex>
#include <QtCore/QString>
#include <QtCore/QStringList>

#include <atomic>
#include <memory>

class PushChangeJournal;
class PushRegistry;
struct PushSessionState;

// Shared by a registry, its sessions' states and the journals that listen to it, so that any of
// them may outlive the others.
struct PushChangeHub
{
    // Non-zero while a journal listens; a new value each time the listeners change, so that a
    // mark left from an earlier listener (never drained) does not hide a change from a new one.
    std::atomic<quint32> generation{0};

    QMutex mutex; // guards everything below and every journal's m_changed
    QList<PushChangeJournal *> journals;
    quint32 nextGeneration = 0;

    //! Records that \a state changed, for every journal. Called once per change of mark.
    void mark(PushSessionState *state);
    void setGenerationLocked();
};
using PushChangeHubPtr = std::shared_ptr<PushChangeHub>;

/*!
    The sessions of one registry that changed since the last takeChanged(). Every journal of a
    registry sees every change at least once; a session may be reported that changed in a way
    its consumer does not care about, and one that no longer exists (it was deleted).

    Threading: takeChanged() is thread-safe and never blocks for long (the hub's mutex is held
    for the marks only). Construct and destroy it in any thread; the registry must exist at
    construction and may be destroyed before the journal.
*/
class QTPUSHCORE_EXPORT PushChangeJournal
{
public:
    explicit PushChangeJournal(PushRegistry *registry);
    ~PushChangeJournal();
    PushChangeJournal(const PushChangeJournal &) = delete;
    PushChangeJournal &operator=(const PushChangeJournal &) = delete;

    //! The keys of the sessions that changed since the last call, in no order.
    QStringList takeChanged();

private:
    friend struct PushChangeHub;
    PushChangeHubPtr m_hub;
    QHash<QString, std::weak_ptr<PushSessionState>> m_changed; // guarded by m_hub->mutex
};
