// SPDX-License-Identifier: MIT
#include "pushqmlremoteclient.h"

#include "pushqmlvalue_p.h"

PushQmlRemoteClient::PushQmlRemoteClient(QObject *parent) : PushRemoteClient(parent)
{
    // A setting takes effect on the next connection: reconnect so that a binding that changes
    // url, session, client or token is followed.
    for (auto changed : {&PushRemoteClient::urlChanged, &PushRemoteClient::sessionChanged,
                         &PushRemoteClient::clientChanged, &PushRemoteClient::tokenChanged}) {
        connect(this, changed, this, [this] {
            if (!m_complete || !m_active)
                return;
            if (status() != Idle)
                PushRemoteClient::close();
            apply();
        });
    }
}

void PushQmlRemoteClient::setActive(bool active)
{
    if (m_active == active)
        return;
    m_active = active;
    Q_EMIT activeChanged();
    apply();
}

bool PushQmlRemoteClient::push(const QVariant &message)
{
    return PushRemoteClient::push(pushMessageFromQml(message));
}

void PushQmlRemoteClient::componentComplete()
{
    m_complete = true;
    apply();
}

void PushQmlRemoteClient::apply()
{
    if (!m_complete)
        return;
    if (!m_active) {
        PushRemoteClient::close();
        return;
    }
    if (status() == Idle && url().isValid() && !session().isEmpty() && !client().isEmpty())
        open();
}
