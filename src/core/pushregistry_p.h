// SPDX-License-Identifier: MIT
#pragma once

// Internal: the registry's state. Not installed.

#include "pushchangejournal_p.h"

#include <QtCore/QHash>
#include <QtCore/QMutex>
#include <QtCore/QString>

class PushSession;

class PushRegistryPrivate
{
public:
    mutable QMutex mutex;
    // By key string. A hash, not a map: the server looks sessions up for every push and every
    // changed session each second, and a map's O(log n) string compares cost about 2 us a
    // lookup at 100,000 sessions (docs/benchmarks.md: Housekeeping). sessions() sorts instead.
    QHash<QString, PushSession *> sessions;
    // Shared with every session state, which marks its changes there (pushchangejournal_p.h).
    const PushChangeHubPtr changeHub = std::make_shared<PushChangeHub>();
};
