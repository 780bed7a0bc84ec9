// SPDX-License-Identifier: MIT
#pragma once

#include <QtPush/qtpushclient_export.h>

#include <QtCore/QAbstractListModel>
#include <QtCore/QVariantMap>

#include <memory>

class PushSessionsModelPrivate;
namespace PushMonitorModels {
template<typename>
struct Apply;
}

//! The sessions of a server as PushMonitor sees them, in the order of the ids' string form.
//! Read-only for users; PushMonitor fills it. Owned by its parent (the monitor). GUI thread only.
class QTPUSHCLIENT_EXPORT PushSessionsModel : public QAbstractListModel
{
    Q_OBJECT
    Q_PROPERTY(int count READ count NOTIFY countChanged)
public:
    enum Role { SessionRole = Qt::UserRole + 1, ClientsRole, PushedRole, RateRole };
    Q_ENUM(Role)

    explicit PushSessionsModel(QObject *parent = nullptr);
    ~PushSessionsModel() override;

    int count() const;
    Q_INVOKABLE int indexOf(const QString &session) const;
    Q_INVOKABLE QVariantMap get(int row) const;

    int rowCount(const QModelIndex &parent = QModelIndex()) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;

Q_SIGNALS:
    void countChanged();

private:
    friend class PushSessionsModelPrivate;
    template<typename>
    friend struct PushMonitorModels::Apply;
    std::unique_ptr<PushSessionsModelPrivate> d;
};
