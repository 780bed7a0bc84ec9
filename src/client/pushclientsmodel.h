// SPDX-License-Identifier: MIT
#pragma once

#include <QtPush/qtpushclient_export.h>

#include <QtCore/QAbstractListModel>
#include <QtCore/QVariantMap>

#include <memory>

class PushClientsModelPrivate;
class PushClientsModel;
namespace PushMonitorModels {
template<typename>
struct Apply;
void setSession(PushClientsModel *model, const QString &session);
} // namespace PushMonitorModels

//! The clients of the session PushMonitor watches, in the order of the ids' string form.
//! Read-only for users; PushMonitor fills it. Owned by its parent (the monitor). GUI thread only.
class QTPUSHCLIENT_EXPORT PushClientsModel : public QAbstractListModel
{
    Q_OBJECT
    Q_PROPERTY(QString session READ session NOTIFY sessionChanged)
    Q_PROPERTY(int count READ count NOTIFY countChanged)
public:
    enum Role {
        ClientRole = Qt::UserRole + 1,
        TransportRole,
        PendingRole,
        DeliveredRole,
        ConnectedSinceRole,
        DisconnectedSinceRole
    };
    Q_ENUM(Role)

    explicit PushClientsModel(QObject *parent = nullptr);
    ~PushClientsModel() override;

    QString session() const;
    int count() const;
    Q_INVOKABLE int indexOf(const QString &client) const;
    Q_INVOKABLE QVariantMap get(int row) const;

    int rowCount(const QModelIndex &parent = QModelIndex()) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;

Q_SIGNALS:
    void sessionChanged();
    void countChanged();

private:
    friend class PushClientsModelPrivate;
    template<typename>
    friend struct PushMonitorModels::Apply;
    friend void PushMonitorModels::setSession(PushClientsModel *, const QString &);
    std::unique_ptr<PushClientsModelPrivate> d;
};
