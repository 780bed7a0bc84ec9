// SPDX-License-Identifier: MIT
#include "pushqmlsession.h"

#include "pushqmllogging_p.h"
#include "pushqmlvalue_p.h"

PushQmlSession::PushQmlSession(QObject *parent)
    : QObject(parent), m_registry(PushRegistry::global())
{ }

PushQmlSession::~PushQmlSession() = default;

void PushQmlSession::setSession(const QString &session)
{
    if (m_session == session)
        return;
    m_session = session;
    Q_EMIT sessionChanged();
    bind();
}

void PushQmlSession::setRegistry(PushRegistry *registry)
{
    if (m_registry == registry)
        return;
    m_registry = registry;
    Q_EMIT registryChanged();
    bind();
}

int PushQmlSession::count() const
{
    return m_target ? m_target->count() : 0;
}

int PushQmlSession::maxBuffer() const
{
    return m_target ? m_target->maxBuffer() : m_maxBuffer;
}

void PushQmlSession::setMaxBuffer(int maxBuffer)
{
    const bool changed = maxBuffer != this->maxBuffer();
    m_maxBuffer = maxBuffer; // applied again if the object moves to another session
    if (m_target)
        m_target->setMaxBuffer(maxBuffer); // the session announces a change itself
    else if (changed)
        Q_EMIT maxBufferChanged();
}

double PushQmlSession::push(const QVariant &message)
{
    if (!m_target) {
        qCWarning(lcPushQml) << "PushSession.push: no session is named (session:" << m_session
                             << ")";
        return 0;
    }
    return double(m_target->push(pushMessageFromQml(message)));
}

void PushQmlSession::componentComplete()
{
    m_complete = true;
    bind();
}

void PushQmlSession::bind()
{
    if (!m_complete)
        return; // all properties first, then one session
    PushSession *target
            = m_registry && !m_session.isEmpty() ? m_registry->session(m_session) : nullptr;
    if (target == m_target)
        return;
    if (m_target)
        disconnect(m_target, nullptr, this, nullptr);
    m_target = target;
    if (m_target) {
        connect(m_target, &PushSession::countChanged, this, &PushQmlSession::countChanged);
        // Deleted by its registry (or over the network): count and maxBuffer fall back.
        connect(m_target, &QObject::destroyed, this, [this] {
            Q_EMIT countChanged();
            Q_EMIT maxBufferChanged();
        });
        connect(m_target, &PushSession::maxBufferChanged, this, &PushQmlSession::maxBufferChanged);
        if (m_maxBuffer > 0)
            m_target->setMaxBuffer(m_maxBuffer);
    }
    Q_EMIT countChanged();
    Q_EMIT maxBufferChanged();
}
