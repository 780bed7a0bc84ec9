// SPDX-License-Identifier: MIT
#include "pushqmlclient.h"

#include "pushqmllogging_p.h"

#include <QtPush/pushsession.h>

PushQmlClient::PushQmlClient(QObject *parent) : QObject(parent), m_registry(PushRegistry::global())
{ }

PushQmlClient::~PushQmlClient()
{
    release();
}

void PushQmlClient::setSession(const QString &session)
{
    if (m_session == session)
        return;
    m_session = session;
    Q_EMIT sessionChanged();
    bind();
}

void PushQmlClient::setClient(const QString &client)
{
    if (m_client == client)
        return;
    m_client = client;
    Q_EMIT clientChanged();
    bind();
}

void PushQmlClient::setRegistry(PushRegistry *registry)
{
    if (m_registry == registry)
        return;
    m_registry = registry;
    Q_EMIT registryChanged();
    bind();
}

void PushQmlClient::setStreaming(bool streaming)
{
    if (m_streaming == streaming)
        return;
    m_streaming = streaming;
    Q_EMIT streamingChanged();
    updateStreaming();
    Q_EMIT pendingChanged();
}

int PushQmlClient::pending() const
{
    return m_target ? m_target->pending() : 0;
}

bool PushQmlClient::isClosed() const
{
    return !m_target || m_target->isClosed();
}

QVariant PushQmlClient::pull()
{
    QVariant message;
    if (!m_target || !m_target->tryPull(&message))
        return {};
    Q_EMIT pendingChanged();
    return message;
}

void PushQmlClient::close()
{
    if (!m_target || m_target->isClosed())
        return;
    m_target->close(); // closed() updates `closed`
    Q_EMIT pendingChanged();
}

void PushQmlClient::componentComplete()
{
    m_complete = true;
    bind();
}

void PushQmlClient::bind()
{
    if (!m_complete)
        return;
    release();
    PushSession *session = m_registry && !m_session.isEmpty() && !m_client.isEmpty()
            ? m_registry->session(m_session)
            : nullptr;
    if (session) {
        m_created = !session->exists(m_client);
        m_target = session->newClient(m_client);
    }
    if (m_target) {
        connect(m_target, &PushClient::closed, this, &PushQmlClient::closedChanged);
        // Arrivals, drops and pulls from C++ (coalesced per event-loop turn by the core).
        connect(m_target, &PushClient::pendingChanged, this, &PushQmlClient::pendingChanged);
        // A client deleted from elsewhere (DELETE over the network, the session deleted).
        connect(m_target, &QObject::destroyed, this, &PushQmlClient::closedChanged);
        updateStreaming();
    }
    Q_EMIT closedChanged();
    Q_EMIT pendingChanged();
}

void PushQmlClient::release()
{
    disconnect(m_relay);
    if (!m_target)
        return;
    disconnect(m_target, nullptr, this, nullptr);
    if (m_created) {
        if (PushSession *session = m_target->session())
            session->deleteClient(m_target->key()); // the id it was made with
    }
    m_target = nullptr;
    m_created = false;
}

void PushQmlClient::updateStreaming()
{
    disconnect(m_relay);
    // Connecting makes the core client stream what it queued, then each push.
    if (m_target && m_streaming)
        m_relay = connect(m_target, &PushClient::messageReceived, this,
                          &PushQmlClient::messageReceived);
}
