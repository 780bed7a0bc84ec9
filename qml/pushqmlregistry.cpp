// SPDX-License-Identifier: MIT
#include "pushqmlregistry.h"

#include <QtQml/QJSEngine>

PushRegistry *PushQmlRegistry::create(QQmlEngine *, QJSEngine *)
{
    PushRegistry *registry = PushRegistry::global();
    QJSEngine::setObjectOwnership(registry, QJSEngine::CppOwnership);
    return registry;
}
