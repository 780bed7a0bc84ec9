// SPDX-License-Identifier: MIT
#pragma once

// Internal: the registry's state. Not installed.

#include "pushchangejournal_p.h"

#include <QtCore/QMap>
#include <QtCore/QMutex>
#include <QtCore/QString>

class PushSession;

class PushRegistryPrivate
{
public:
    mutable QMutex mutex;
    QMap<QString, PushSession *> sessions;
    // Shared with every session state, which marks its changes there (pushchangejournal_p.h).
    const PushChangeHubPtr changeHub = std::make_shared<PushChangeHub>();
};
