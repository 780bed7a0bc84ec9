// SPDX-License-Identifier: MIT
#pragma once

// Internal: what the server expires, kept by deadline. Not installed.

#include <QtCore/QHash>
#include <QtCore/QString>
#include <QtCore/QStringList>

#include <set>
#include <utility>

/*!
    Keys with a deadline each, soonest first: the server keeps the sessions it may remove and
    the clients in their grace period here, so that a second of housekeeping costs what falls
    due, O(log n) per key, instead of a walk over everything that exists.

    A key has at most one deadline; scheduling it again moves it. Not thread-safe: the server's
    thread owns it.
*/
class PushDeadlines
{
public:
    //! Gives \a key the deadline \a dueMs (steady clock), replacing any it had.
    void schedule(const QString &key, qint64 dueMs);
    void cancel(const QString &key);
    bool contains(const QString &key) const { return m_due.contains(key); }
    //! Removes and returns the keys whose deadline is \a nowMs or earlier, soonest first.
    QStringList takeDue(qint64 nowMs);
    qsizetype size() const { return m_due.size(); }
    void clear();

private:
    std::set<std::pair<qint64, QString>> m_byTime;
    QHash<QString, qint64> m_due;
};
