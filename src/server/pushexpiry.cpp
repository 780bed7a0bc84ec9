// SPDX-License-Identifier: MIT
#include "pushexpiry_p.h"

void PushDeadlines::schedule(const QString &key, qint64 dueMs)
{
    auto it = m_due.find(key);
    if (it != m_due.end()) {
        if (*it == dueMs)
            return;
        m_byTime.erase({*it, key});
        *it = dueMs;
    } else {
        m_due.insert(key, dueMs);
    }
    m_byTime.insert({dueMs, key});
}

void PushDeadlines::cancel(const QString &key)
{
    const auto it = m_due.constFind(key);
    if (it == m_due.cend())
        return;
    m_byTime.erase({*it, key});
    m_due.erase(it);
}

QStringList PushDeadlines::takeDue(qint64 nowMs)
{
    QStringList due;
    while (!m_byTime.empty() && m_byTime.begin()->first <= nowMs) {
        const QString key = m_byTime.begin()->second; // shared, not copied
        m_byTime.erase(m_byTime.begin());
        m_due.remove(key);
        due.append(key);
    }
    return due;
}

void PushDeadlines::clear()
{
    m_byTime.clear();
    m_due.clear();
}
