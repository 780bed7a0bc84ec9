// SPDX-License-Identifier: MIT
#include "pushchangejournal_p.h"

#include <QtPush/pushregistry.h>

#include "pushregistry_p.h"
#include "pushsession_p.h"

void PushChangeHub::mark(PushSessionState *state)
{
    QMutexLocker locker(&mutex);
    for (PushChangeJournal *journal : std::as_const(journals))
        journal->m_changed.insert(state->changeKey, state->weak_from_this());
}

void PushChangeHub::setGenerationLocked()
{
    if (journals.isEmpty()) {
        generation.store(0, std::memory_order_relaxed);
        return;
    }
    if (++nextGeneration == 0)
        ++nextGeneration; // 0 means "nobody listens"
    generation.store(nextGeneration, std::memory_order_relaxed);
}

PushChangeJournal::PushChangeJournal(PushRegistry *registry) : m_hub(registry->d->changeHub)
{
    QMutexLocker locker(&m_hub->mutex);
    m_hub->journals.append(this);
    m_hub->setGenerationLocked();
}

PushChangeJournal::~PushChangeJournal()
{
    QMutexLocker locker(&m_hub->mutex);
    m_hub->journals.removeOne(this);
    m_hub->setGenerationLocked();
}

QStringList PushChangeJournal::takeChanged()
{
    QHash<QString, std::weak_ptr<PushSessionState>> changed;
    {
        QMutexLocker locker(&m_hub->mutex);
        changed.swap(m_changed);
        // Cleared under the mutex, before the consumer reads the sessions: a change after this
        // point marks the session again (pushsession_p.h: "Change marks").
        for (const std::weak_ptr<PushSessionState> &weak : std::as_const(changed)) {
            if (const PushSessionStatePtr state = weak.lock())
                state->markedIn.store(0, std::memory_order_relaxed);
        }
    }
    return changed.keys();
}
