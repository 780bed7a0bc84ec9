// SPDX-License-Identifier: MIT
#include "pushqmlmonitor.h"

#include "pushqmlvalue_p.h"

PushQmlMonitor::PushQmlMonitor(QObject *parent) : PushMonitor(parent)
{
    // A setting takes effect on the next connection: reconnect so that a binding that changes
    // url or token is followed.
    for (auto changed : {&PushMonitor::urlChanged, &PushMonitor::tokenChanged}) {
        connect(this, changed, this, [this] {
            if (!m_complete || !m_active)
                return;
            if (status() != Idle)
                PushMonitor::close();
            apply();
        });
    }
}

void PushQmlMonitor::setActive(bool active)
{
    if (m_active == active)
        return;
    m_active = active;
    Q_EMIT activeChanged();
    apply();
}

bool PushQmlMonitor::push(const QVariant &message)
{
    return PushMonitor::push(pushMessageFromQml(message));
}

bool PushQmlMonitor::pushTo(const QString &session, const QVariant &message)
{
    return PushMonitor::pushTo(session, pushMessageFromQml(message));
}

void PushQmlMonitor::componentComplete()
{
    m_complete = true;
    apply();
}

void PushQmlMonitor::apply()
{
    if (!m_complete)
        return;
    if (!m_active) {
        PushMonitor::close();
        return;
    }
    if (status() == Idle && url().isValid() && !url().isEmpty())
        open();
}
