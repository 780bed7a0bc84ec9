// SPDX-License-Identifier: MIT
#include "sessionfiltermodel.h"

namespace {
QByteArray roleName(SessionFilterModel::SortKey key)
{
    switch (key) {
    case SessionFilterModel::ByClients:
        return QByteArrayLiteral("clients");
    case SessionFilterModel::ByMessages:
        return QByteArrayLiteral("pushed");
    case SessionFilterModel::ByRate:
        return QByteArrayLiteral("rate");
    case SessionFilterModel::ById:
        break;
    }
    return QByteArrayLiteral("session");
}
} // namespace

SessionFilterModel::SessionFilterModel(QObject *parent) : QSortFilterProxyModel(parent)
{
    setDynamicSortFilter(true);
    setFilterCaseSensitivity(Qt::CaseInsensitive);
    connect(this, &QAbstractProxyModel::sourceModelChanged, this, [this] {
        resolveRoles();
        sort(0);
    });
    // The count is a property views bind to: every way the row count can change ends here, and
    // it is announced only when it did change (a re-sort is a layout change of the same rows).
    const auto updateCount = [this] {
        if (rowCount() == m_count)
            return;
        m_count = rowCount();
        Q_EMIT countChanged();
    };
    for (auto signal : {&QAbstractItemModel::rowsInserted, &QAbstractItemModel::rowsRemoved})
        connect(this, signal, this, updateCount);
    connect(this, &QAbstractItemModel::modelReset, this, updateCount);
    connect(this, &QAbstractItemModel::layoutChanged, this, updateCount);
}

void SessionFilterModel::setFilterText(const QString &text)
{
    if (m_filterText == text)
        return;
    m_filterText = text;
    setFilterFixedString(text);
    Q_EMIT filterTextChanged();
}

void SessionFilterModel::setSortKey(SortKey key)
{
    if (m_sortKey == key)
        return;
    m_sortKey = key;
    resolveRoles();
    invalidate();
    Q_EMIT sortKeyChanged();
}

void SessionFilterModel::setHoldOrder(bool hold)
{
    if (m_holdOrder == hold)
        return;
    m_holdOrder = hold;
    // Without dynamic sorting a changed value updates its row in place; inserts and removals
    // still pass through. Turning it back on sorts once.
    setDynamicSortFilter(!hold);
    Q_EMIT holdOrderChanged();
}

int SessionFilterModel::indexOf(const QString &session) const
{
    for (int row = 0; row < rowCount(); ++row) {
        if (sessionAt(row) == session)
            return row;
    }
    return -1;
}

QString SessionFilterModel::sessionAt(int row) const
{
    return index(row, 0).data(m_sessionRole).toString();
}

bool SessionFilterModel::lessThan(const QModelIndex &left, const QModelIndex &right) const
{
    // One ascending sort whose order we define: numbers largest first, then ids A to Z, so
    // that equal figures keep a stable, readable order.
    if (m_keyRole != m_sessionRole) {
        const double a = left.data(m_keyRole).toDouble();
        const double b = right.data(m_keyRole).toDouble();
        if (a != b)
            return a > b;
    }
    return left.data(m_sessionRole).toString() < right.data(m_sessionRole).toString();
}

void SessionFilterModel::resolveRoles()
{
    m_sessionRole = -1;
    m_keyRole = -1;
    if (!sourceModel())
        return;
    const QHash<int, QByteArray> roles = sourceModel()->roleNames();
    m_sessionRole = roles.key(QByteArrayLiteral("session"), -1);
    m_keyRole = roles.key(roleName(m_sortKey), m_sessionRole);
    setFilterRole(m_sessionRole);
}
