// SPDX-License-Identifier: MIT
#pragma once

#include <QtCore/QSortFilterProxyModel>
#include <QtQml/qqmlregistration.h>

/*!
    The dashboard's view of PushMonitor.sessions: filtered by a piece of the session id and
    sorted by id, clients, messages or rate, so that thousands of sessions stay usable.

        SessionFilterModel { sourceModel: monitor.sessions; filterText: field.text
                             sortKey: SessionFilterModel.ByRate }

    Rows follow the source live (QSortFilterProxyModel's dynamic sorting: a changed row moves,
    nothing is reset). Numeric keys sort the largest first; ties, and ById, go by id. Roles are
    looked up by name (session, clients, pushed, rate), so any model with those roles will do.

    holdOrder freezes the order while a person points at or works in the list: figures keep
    updating in place, sessions still come and go, but no row moves under the pointer. Set back
    to false, the rows take their sorted places again (a layout change, not a reset).

    Ownership: as for any QML object; the source model is not owned. GUI thread only.
*/
class SessionFilterModel : public QSortFilterProxyModel
{
    Q_OBJECT
    QML_ELEMENT
    Q_PROPERTY(QString filterText READ filterText WRITE setFilterText NOTIFY filterTextChanged)
    Q_PROPERTY(SortKey sortKey READ sortKey WRITE setSortKey NOTIFY sortKeyChanged)
    Q_PROPERTY(int count READ count NOTIFY countChanged)
    Q_PROPERTY(bool holdOrder READ holdsOrder WRITE setHoldOrder NOTIFY holdOrderChanged)
public:
    enum SortKey { ById, ByClients, ByMessages, ByRate };
    Q_ENUM(SortKey)

    explicit SessionFilterModel(QObject *parent = nullptr);

    QString filterText() const { return m_filterText; }
    //! Keeps the sessions whose id contains \a text, in any case; empty keeps all.
    void setFilterText(const QString &text);
    SortKey sortKey() const { return m_sortKey; }
    void setSortKey(SortKey key);
    int count() const { return m_count; }
    bool holdsOrder() const { return m_holdOrder; }
    void setHoldOrder(bool hold);

    //! The row of \a session, or -1 when it is filtered out or unknown.
    Q_INVOKABLE int indexOf(const QString &session) const;
    //! The session id at \a row, or an empty string.
    Q_INVOKABLE QString sessionAt(int row) const;

Q_SIGNALS:
    void filterTextChanged();
    void sortKeyChanged();
    void countChanged();
    void holdOrderChanged();

protected:
    bool lessThan(const QModelIndex &left, const QModelIndex &right) const override;

private:
    void resolveRoles();

    QString m_filterText;
    SortKey m_sortKey = ById;
    int m_sessionRole = -1;
    int m_keyRole = -1;
    int m_count = 0;
    bool m_holdOrder = false;
};
