// SPDX-License-Identifier: MIT
#include "pushmonitormodels_p.h"

#include <QtCore/QDateTime>

#include <algorithm>

namespace {
struct SessionRow
{
    QString id;
    int clients = 0;
    qint64 pushed = 0;
    double rate = 0;
};

struct ClientRow
{
    QString id;
    QString transport;
    qint64 pending = 0;
    qint64 delivered = 0;
    QDateTime connectedSince;
    QDateTime disconnectedSince;
};

QDateTime msTime(const QJsonValue &value)
{
    return value.isDouble() ? QDateTime::fromMSecsSinceEpoch(qint64(value.toDouble()))
                            : QDateTime();
}

SessionRow sessionRow(const QJsonObject &o)
{
    return {o.value(QLatin1String("session")).toString(), o.value(QLatin1String("clients")).toInt(),
            qint64(o.value(QLatin1String("pushed")).toDouble()),
            o.value(QLatin1String("rate")).toDouble()};
}

ClientRow clientRow(const QJsonObject &o)
{
    return {o.value(QLatin1String("client")).toString(),
            o.value(QLatin1String("transport")).toString(),
            qint64(o.value(QLatin1String("pending")).toDouble()),
            qint64(o.value(QLatin1String("delivered")).toDouble()),
            msTime(o.value(QLatin1String("connectedSince"))),
            msTime(o.value(QLatin1String("disconnectedSince")))};
}

QList<int> changedRoles(const SessionRow &a, const SessionRow &b)
{
    QList<int> roles;
    if (a.clients != b.clients)
        roles << PushSessionsModel::ClientsRole;
    if (a.pushed != b.pushed)
        roles << PushSessionsModel::PushedRole;
    if (a.rate != b.rate)
        roles << PushSessionsModel::RateRole;
    return roles;
}

QList<int> changedRoles(const ClientRow &a, const ClientRow &b)
{
    QList<int> roles;
    if (a.transport != b.transport)
        roles << PushClientsModel::TransportRole;
    if (a.pending != b.pending)
        roles << PushClientsModel::PendingRole;
    if (a.delivered != b.delivered)
        roles << PushClientsModel::DeliveredRole;
    if (a.connectedSince != b.connectedSince)
        roles << PushClientsModel::ConnectedSinceRole;
    if (a.disconnectedSince != b.disconnectedSince)
        roles << PushClientsModel::DisconnectedSinceRole;
    return roles;
}

// The shared row logic of both models; Model exposes the protected begin/end calls to us
// through the friend Private class below.
template<typename Row>
struct Rows
{
    QList<Row> rows;

    int lowerBound(const QString &id) const
    {
        auto it = std::lower_bound(rows.cbegin(), rows.cend(), id,
                                   [](const Row &r, const QString &key) { return r.id < key; });
        return int(it - rows.cbegin());
    }
    int indexOf(const QString &id) const
    {
        const int i = lowerBound(id);
        return i < rows.size() && rows.at(i).id == id ? i : -1;
    }
};
} // namespace

class PushSessionsModelPrivate : public Rows<SessionRow>
{
public:
    using Row = SessionRow;
    static Row row(const QJsonObject &o) { return sessionRow(o); }
    static QString idOf(const QJsonObject &o)
    {
        return o.value(QLatin1String("session")).toString();
    }
};

class PushClientsModelPrivate : public Rows<ClientRow>
{
public:
    using Row = ClientRow;
    QString session;
    static Row row(const QJsonObject &o) { return clientRow(o); }
    static QString idOf(const QJsonObject &o)
    {
        return o.value(QLatin1String("client")).toString();
    }
};

// Access to QAbstractItemModel's protected notifications, which the models befriend us for.
namespace PushMonitorModels {
template<typename Model>
struct Apply
{
    static void upsert(Model *m, const QJsonObject &o)
    {
        auto row = std::decay_t<decltype(*m->d)>::row(o);
        if (row.id.isEmpty())
            return;
        auto &rows = m->d->rows;
        const int i = m->d->lowerBound(row.id);
        if (i < rows.size() && rows.at(i).id == row.id) {
            const QList<int> roles = changedRoles(rows.at(i), row);
            if (roles.isEmpty())
                return;
            rows[i] = row;
            const QModelIndex index = m->index(i);
            Q_EMIT m->dataChanged(index, index, roles);
            return;
        }
        m->beginInsertRows(QModelIndex(), i, i);
        rows.insert(i, row);
        m->endInsertRows();
        Q_EMIT m->countChanged();
    }

    static void remove(Model *m, const QString &id)
    {
        const int i = m->d->indexOf(id);
        if (i < 0)
            return;
        m->beginRemoveRows(QModelIndex(), i, i);
        m->d->rows.removeAt(i);
        m->endRemoveRows();
        Q_EMIT m->countChanged();
    }

    // A merge walk of the sorted current rows against the sorted new list: O(n + m) plus the
    // row moves. Runs of removed or inserted rows go as one range each, so that a first
    // snapshot of 10,000 sessions is one insert for a view, not 10,000.
    static void reconcile(Model *m, const QJsonArray &objects)
    {
        using Row = typename std::decay_t<decltype(*m->d)>::Row;
        QList<Row> incoming;
        incoming.reserve(objects.size());
        for (const QJsonValue &v : objects) {
            Row row = std::decay_t<decltype(*m->d)>::row(v.toObject());
            if (!row.id.isEmpty())
                incoming.append(row);
        }
        // The server sends them sorted and unique; make sure, so that a wrong order cannot
        // corrupt the rows (the last of equal ids wins, as it would applied one by one).
        std::stable_sort(incoming.begin(), incoming.end(),
                         [](const Row &a, const Row &b) { return a.id < b.id; });
        for (qsizetype k = incoming.size() - 1; k > 0; --k) {
            if (incoming.at(k - 1).id == incoming.at(k).id)
                incoming.removeAt(k - 1);
        }
        auto &rows = m->d->rows;
        const qsizetype before = rows.size();
        qsizetype i = 0;
        qsizetype k = 0;
        while (k < incoming.size()) {
            const QString &id = incoming.at(k).id;
            qsizetype gone = 0;
            while (i + gone < rows.size() && rows.at(i + gone).id < id)
                ++gone;
            if (gone > 0) {
                m->beginRemoveRows(QModelIndex(), int(i), int(i + gone - 1));
                rows.remove(i, gone);
                m->endRemoveRows();
            }
            if (i < rows.size() && rows.at(i).id == id) {
                const QList<int> roles = changedRoles(rows.at(i), incoming.at(k));
                if (!roles.isEmpty()) {
                    rows[i] = incoming.at(k);
                    const QModelIndex index = m->index(int(i));
                    Q_EMIT m->dataChanged(index, index, roles);
                }
                ++i;
                ++k;
                continue;
            }
            qsizetype added = 0; // the run of new ids before the next current row
            while (k + added < incoming.size()
                   && (i == rows.size() || incoming.at(k + added).id < rows.at(i).id))
                ++added;
            m->beginInsertRows(QModelIndex(), int(i), int(i + added - 1));
            rows.insert(i, added, Row());
            for (qsizetype j = 0; j < added; ++j)
                rows[i + j] = incoming.at(k + j);
            m->endInsertRows();
            i += added;
            k += added;
        }
        if (i < rows.size()) {
            m->beginRemoveRows(QModelIndex(), int(i), int(rows.size()) - 1);
            rows.remove(i, rows.size() - i);
            m->endRemoveRows();
        }
        if (rows.size() != before)
            Q_EMIT m->countChanged();
    }
};

void upsert(PushSessionsModel *model, const QJsonObject &object)
{
    Apply<PushSessionsModel>::upsert(model, object);
}
void remove(PushSessionsModel *model, const QString &session)
{
    Apply<PushSessionsModel>::remove(model, session);
}
void reconcile(PushSessionsModel *model, const QJsonArray &objects)
{
    Apply<PushSessionsModel>::reconcile(model, objects);
}
void upsert(PushClientsModel *model, const QJsonObject &object)
{
    Apply<PushClientsModel>::upsert(model, object);
}
void remove(PushClientsModel *model, const QString &client)
{
    Apply<PushClientsModel>::remove(model, client);
}
void reconcile(PushClientsModel *model, const QJsonArray &objects)
{
    Apply<PushClientsModel>::reconcile(model, objects);
}
void setSession(PushClientsModel *model, const QString &session)
{
    if (model->d->session == session)
        return;
    // Another session's clients are other rows altogether.
    reconcile(model, QJsonArray());
    model->d->session = session;
    Q_EMIT model->sessionChanged();
}
} // namespace PushMonitorModels

PushSessionsModel::PushSessionsModel(QObject *parent)
    : QAbstractListModel(parent), d(std::make_unique<PushSessionsModelPrivate>())
{ }
PushSessionsModel::~PushSessionsModel() = default;
int PushSessionsModel::count() const
{
    return int(d->rows.size());
}
int PushSessionsModel::indexOf(const QString &session) const
{
    return d->indexOf(session);
}
int PushSessionsModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(d->rows.size());
}
QHash<int, QByteArray> PushSessionsModel::roleNames() const
{
    return {{SessionRole, "session"},
            {ClientsRole, "clients"},
            {PushedRole, "pushed"},
            {RateRole, "rate"}};
}
QVariant PushSessionsModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const SessionRow &r = d->rows.at(index.row());
    switch (role) {
    case Qt::DisplayRole:
    case SessionRole:
        return r.id;
    case ClientsRole:
        return r.clients;
    case PushedRole:
        return r.pushed;
    case RateRole:
        return r.rate;
    }
    return {};
}
QVariantMap PushSessionsModel::get(int row) const
{
    QVariantMap map;
    if (row < 0 || row >= d->rows.size())
        return map;
    const auto names = roleNames();
    for (auto it = names.cbegin(); it != names.cend(); ++it)
        map.insert(QString::fromLatin1(it.value()), data(index(row), it.key()));
    return map;
}

PushClientsModel::PushClientsModel(QObject *parent)
    : QAbstractListModel(parent), d(std::make_unique<PushClientsModelPrivate>())
{ }
PushClientsModel::~PushClientsModel() = default;
QString PushClientsModel::session() const
{
    return d->session;
}
int PushClientsModel::count() const
{
    return int(d->rows.size());
}
int PushClientsModel::indexOf(const QString &client) const
{
    return d->indexOf(client);
}
int PushClientsModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(d->rows.size());
}
QHash<int, QByteArray> PushClientsModel::roleNames() const
{
    return {{ClientRole, "client"},
            {TransportRole, "transport"},
            {PendingRole, "pending"},
            {DeliveredRole, "delivered"},
            {ConnectedSinceRole, "connectedSince"},
            {DisconnectedSinceRole, "disconnectedSince"}};
}
QVariant PushClientsModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const ClientRow &r = d->rows.at(index.row());
    switch (role) {
    case Qt::DisplayRole:
    case ClientRole:
        return r.id;
    case TransportRole:
        return r.transport;
    case PendingRole:
        return r.pending;
    case DeliveredRole:
        return r.delivered;
    case ConnectedSinceRole:
        return r.connectedSince;
    case DisconnectedSinceRole:
        return r.disconnectedSince;
    }
    return {};
}
QVariantMap PushClientsModel::get(int row) const
{
    QVariantMap map;
    if (row < 0 || row >= d->rows.size())
        return map;
    const auto names = roleNames();
    for (auto it = names.cbegin(); it != names.cend(); ++it)
        map.insert(QString::fromLatin1(it.value()), data(index(row), it.key()));
    return map;
}
