// SPDX-License-Identifier: MIT
#pragma once

#include <QtPush/pushregistry.h>

#include <QtQml/qqml.h>

class QJSEngine;
class QQmlEngine;

/*!
    The process-wide registry, PushRegistry::global(), as the QML singleton `PushRegistry`:
    `PushSession { registry: PushRegistry }` is what every type uses by default, and
    `PushRegistry.count` counts the process's sessions.

    Ownership: C++ owns the registry; QML never deletes it.
*/
struct PushQmlRegistry
{
    Q_GADGET
    QML_FOREIGN(PushRegistry)
    QML_NAMED_ELEMENT(PushRegistry)
    QML_SINGLETON
public:
    static PushRegistry *create(QQmlEngine *, QJSEngine *engine);
};
