// SPDX-License-Identifier: MIT
#include "pushstreamtransport_p.h"

#include "pushattachment_p.h"
#include "pushserver_p.h"

#include <QtPush/pushclient.h>
#include <QtPush/pushsession.h>

PushStreamTransport::PushStreamTransport(PushServerPrivate *server, PushAttachment *attachment)
    : QObject(server->q), m_server(server), m_attachment(attachment)
{ }

PushStreamTransport::~PushStreamTransport() = default;

void PushStreamTransport::start(const QList<PushSession::Message> &catchUp)
{
    if (PushSession *session = m_attachment->client->session()) {
        writeHello(PushWire::helloFrame(m_attachment->sessionJson, session->epoch(),
                                        session->lastMessageId()));
    }
    for (const PushSession::Message &message : catchUp)
        deliver(message.id, message.data);
    if (backlog() > highWaterBytes) {
        pause();
        return;
    }
    // Connecting makes the client stream: it emits what it queued meanwhile, then each push.
    m_streaming = connect(m_attachment->client, &PushClient::messageReceived, this,
                          &PushStreamTransport::onMessage);
}

void PushStreamTransport::release()
{
    disconnect(m_streaming);
    m_attachment = nullptr;
}

void PushStreamTransport::onMessage(const QVariant &data)
{
    if (!m_attachment || !m_attachment->client)
        return;
    deliver(m_attachment->client->lastMessageId(), data);
    if (backlog() > highWaterBytes)
        pause();
}

void PushStreamTransport::deliver(quint64 id, const QVariant &data)
{
    quint64 gapFrom = 0, gapTo = 0;
    switch (m_attachment->admit(id, &gapFrom, &gapTo)) {
    case PushAttachment::Admit::Skip:
        return;
    case PushAttachment::Admit::GapThenDeliver:
        writeGap(gapFrom, gapTo);
        m_server->countGap();
        Q_FALLTHROUGH();
    case PushAttachment::Admit::Deliver:
        writeMessage(m_server->frame(*m_attachment, id, data));
        flushAtEndOfTurn();
        ++m_attachment->delivered;
        m_server->countDelivery(m_attachment->transport);
        break;
    }
}

void PushStreamTransport::flushAtEndOfTurn()
{
    // Not when Qt's write notifier fires a turn later: one system call per connection for all
    // the frames of the turn.
    if (!m_flushPending) {
        m_flushPending = true;
        m_server->flushLater(this);
    }
}

void PushStreamTransport::flushNow()
{
    m_flushPending = false;
    flushSocket();
}

void PushStreamTransport::pause()
{
    if (m_paused)
        return;
    m_paused = true;
    disconnect(m_streaming); // the client's own bounded buffer holds what comes next
}

void PushStreamTransport::onBytesSent()
{
    if (m_paused && m_attachment && backlog() < lowWaterBytes)
        resume();
}

void PushStreamTransport::resume()
{
    m_paused = false;
    PushClient *client = m_attachment->client;
    if (!client)
        return;
    QVariant data;
    while (backlog() < highWaterBytes) {
        if (!client->tryPull(&data)) {
            m_streaming = connect(client, &PushClient::messageReceived, this,
                                  &PushStreamTransport::onMessage);
            return;
        }
        deliver(client->lastMessageId(), data);
    }
    m_paused = true;
}
