// SPDX-License-Identifier: MIT
#pragma once

// Internal: the apply functions PushMonitor fills its models with. Rows are kept sorted by id
// (the server's order), found by binary search: O(log n) per event, O(n + m) per snapshot.
// Exported, though not installed, so that tests can drive the models directly.

#include <QtPush/pushclientsmodel.h>
#include <QtPush/pushsessionsmodel.h>

#include <QtCore/QJsonArray>
#include <QtCore/QJsonObject>
#include <QtCore/QStringList>

namespace PushMonitorModels {
// Inserts or updates one row from a session object (dataChanged with the changed roles only).
QTPUSHCLIENT_EXPORT void upsert(PushSessionsModel *model, const QJsonObject &object);
QTPUSHCLIENT_EXPORT void remove(PushSessionsModel *model, const QString &session);
// Reconciles all rows against a full list: inserts, removes and dataChanged, never a reset.
QTPUSHCLIENT_EXPORT void reconcile(PushSessionsModel *model, const QJsonArray &objects);

QTPUSHCLIENT_EXPORT void upsert(PushClientsModel *model, const QJsonObject &object);
QTPUSHCLIENT_EXPORT void remove(PushClientsModel *model, const QString &client);
QTPUSHCLIENT_EXPORT void reconcile(PushClientsModel *model, const QJsonArray &objects);
QTPUSHCLIENT_EXPORT void setSession(PushClientsModel *model, const QString &session);
} // namespace PushMonitorModels
