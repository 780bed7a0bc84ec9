// SPDX-License-Identifier: MIT
#include "pushclienttable_p.h"

#include "pushclock_p.h"
#include "pushdelivery_p.h"
#include "pushserverlogging_p.h"
#include "pushserversettings_p.h"
#include "pushwire_p.h"

#include <QtPush/pushclient.h>
#include <QtPush/pushregistry.h>

PushClientTable::PushClientTable(PushRegistry *registry, const PushServerSettings &settings,
                                 QObject *context)
    : m_registry(registry), m_settings(settings), m_context(context),
      m_steadyClock(&PushClock::steadyMs)
{ }

PushClientTable::~PushClientTable() = default;

PushAttachment *PushClientTable::attach(PushSession *session, const QString &clientKey,
                                        PushTransport transport, PushDelivery *owner,
                                        const PushResume &resume,
                                        QList<PushSession::Message> *catchUp, QString *why)
{
    const QString sessionKey = session->keyString();
    const QString key = attachmentKey(sessionKey, clientKey);
    std::shared_ptr<PushAttachment> &attachment = m_attachments[key];
    if (attachment && attachment->owner) // the same client connects again: the newest wins
        attachment->owner->end(PushDelivery::EndReason::Replaced);
    const bool existed = session->exists(clientKey);
    // Read before the client exists: a push in between (from another thread) then shows as a
    // gap, never as a message silently skipped.
    const quint64 lastBefore = session->lastMessageId();
    PushClient *client = session->newClient(clientKey);
    if (!client) {
        m_attachments.remove(key);
        *why = QStringLiteral("the client could not be created");
        return nullptr;
    }
    if (!attachment || attachment->client != client) {
        attachment = std::make_shared<PushAttachment>();
        attachment->client = client;
        attachment->sessionKey = sessionKey;
        attachment->clientKey = clientKey;
        attachment->sessionJson = PushWire::jsonString(session->keyString());
        attachment->sessionEpoch = session->epoch();
        QObject::connect(client, &PushClient::closed, m_context,
                         [this, key] { onClientClosed(key); });
        // A new client owes nothing older; one the application made may have an older queue.
        attachment->expected = existed ? 0 : lastBefore + 1;
    }
    attachment->transport = transport;
    attachment->owner = owner;
    attachment->detachedAtMs = 0;
    attachment->detachedSteadyMs = 0;
    m_graceExpiry.cancel(key);
    attachment->connectedSinceMs = PushClock::wallMs();
    *catchUp = catchUpMessages(attachment.get(), resume);
    return attachment.get();
}

void PushClientTable::detach(PushAttachment *attachment, PushDelivery *owner)
{
    if (attachment->owner != owner)
        return;
    attachment->owner = nullptr;
    attachment->detachedAtMs = PushClock::wallMs();
    attachment->detachedSteadyMs = m_steadyClock();
    m_graceExpiry.schedule(attachmentKey(attachment->sessionKey, attachment->clientKey),
                           attachment->detachedSteadyMs + m_settings.clientGracePeriodMs + 1);
    attachment->transport = PushTransport::None; // protocol.md: listed as none while it waits
}

void PushClientTable::onClientClosed(const QString &key)
{
    // The client was deleted (DELETE, its grace period ran out, or by the application).
    const std::shared_ptr<PushAttachment> attachment = m_attachments.take(key);
    if (attachment && attachment->owner)
        attachment->owner->end(PushDelivery::EndReason::ClientDeleted);
    // After the delivery ended: its detach() scheduled a deadline that nothing would expire.
    m_graceExpiry.cancel(key);
}

void PushClientTable::expire(qint64 now)
{
    const QStringList due = m_graceExpiry.takeDue(now);
    const int period = m_settings.clientGracePeriodMs;
    for (const QString &key : due) {
        const std::shared_ptr<PushAttachment> attachment = m_attachments.value(key);
        if (!attachment || attachment->owner || attachment->detachedSteadyMs == 0)
            continue; // back, or gone
        if (now - attachment->detachedSteadyMs <= period) { // the period grew
            m_graceExpiry.schedule(key, attachment->detachedSteadyMs + period + 1);
            continue;
        }
        qCDebug(lcPushServer) << "client" << attachment->clientKey << "of session"
                              << attachment->sessionKey
                              << "did not come back within its grace period";
        if (PushSession *session = m_registry->findSession(attachment->sessionKey))
            session->deleteClient(attachment->clientKey); // closed() removes the attachment
        m_attachments.remove(key);
    }
}

void PushClientTable::reschedule()
{
    for (auto it = m_attachments.cbegin(); it != m_attachments.cend(); ++it) {
        const PushAttachment &attachment = **it;
        if (!attachment.owner && attachment.detachedSteadyMs != 0)
            m_graceExpiry.schedule(
                    it.key(), attachment.detachedSteadyMs + m_settings.clientGracePeriodMs + 1);
    }
}

PushAttachment *PushClientTable::find(const QString &sessionKey, const QString &clientKey) const
{
    return m_attachments.value(attachmentKey(sessionKey, clientKey)).get();
}

PushAdminClient PushClientTable::adminClient(const QString &sessionKey, PushClient *client) const
{
    PushAdminClient figures;
    figures.pending = client->pending();
    const PushAttachment *attachment = find(sessionKey, client->keyString());
    if (!attachment) {
        figures.transport = QByteArrayLiteral("local");
        return figures;
    }
    figures.transport = transportName(attachment->transport);
    figures.delivered = qint64(attachment->delivered);
    if (attachment->transport == PushTransport::None)
        figures.disconnectedSinceMs = attachment->detachedAtMs;
    else
        figures.connectedSinceMs = attachment->connectedSinceMs;
    return figures;
}
