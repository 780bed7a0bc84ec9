// SPDX-License-Identifier: MIT
#include "pushdelivery_p.h"

#include "pushmetrics_p.h"
#include "pushtransporthost_p.h"
#include "pushwebsocketframing_p.h"

#include <QtPush/pushclient.h>

// PushFrame

const QByteArray &PushFrame::webSocketFrame()
{
    if (m_webSocketFrame.isEmpty())
        m_webSocketFrame = PushWebSocket::frame(PushWebSocket::Opcode::Text, json);
    return m_webSocketFrame;
}

const QByteArray &PushFrame::event()
{
    if (m_event.isEmpty())
        m_event = "id: " + QByteArray::number(id) + "\ndata: " + json + "\n\n";
    return m_event;
}

// PushDelivery

PushDelivery::PushDelivery(PushTransportHost *host, PushTransport kind)
    : QObject(host->transportParent()), m_host(host), m_kind(kind)
{ }

PushDelivery::~PushDelivery() = default;

void PushDelivery::start(PushAttachment *attachment, const QList<PushSession::Message> &catchUp)
{
    m_attachment = attachment;
    if (PushSession *session = m_attachment->client->session()) {
        writeHello(PushWire::helloFrame(m_attachment->sessionJson, session->epoch(),
                                        session->lastMessageId()));
    }
    for (const PushSession::Message &message : catchUp)
        deliver(message.id, message.data);
    caughtUp();
}

void PushDelivery::end(EndReason reason)
{
    switch (reason) {
    case EndReason::ConnectionClosed:
        if (m_ended)
            return;
        closeFor(reason);
        finish();
        return;
    case EndReason::Replaced:
    case EndReason::ClientDeleted:
        // Before the transport closes: the next owner must be the only one taking messages.
        stopServing();
        break;
    case EndReason::ShuttingDown:
        break; // each transport stops when its closing says (closeFor())
    }
    if (m_closing || m_ended)
        return;
    m_closing = true;
    closeFor(reason);
}

void PushDelivery::deliver(quint64 id, const QVariant &data)
{
    quint64 gapFrom = 0, gapTo = 0;
    switch (m_attachment->admit(id, &gapFrom, &gapTo)) {
    case PushAttachment::Admit::Skip:
        return;
    case PushAttachment::Admit::GapThenDeliver:
        writeGap(gapFrom, gapTo);
        m_host->metrics().countGap();
        Q_FALLTHROUGH();
    case PushAttachment::Admit::Deliver:
        writeMessage(m_host->frame(*m_attachment, id, data));
        messageWritten();
        ++m_attachment->delivered;
        m_host->metrics().countDelivery(m_kind);
        break;
    }
}

void PushDelivery::takeLive()
{
    m_live = connect(m_attachment->client, &PushClient::messageReceived, this,
                     &PushDelivery::onMessage);
}

void PushDelivery::stopTaking()
{
    disconnect(m_live);
}

void PushDelivery::onMessage(const QVariant &data)
{
    if (!m_attachment || !m_attachment->client)
        return;
    deliver(m_attachment->client->lastMessageId(), data);
    tookLive();
}

void PushDelivery::stopServing()
{
    stopTaking();
    if (!m_attachment)
        return;
    m_host->deliveryStopped(this); // reads attachment()
    m_attachment = nullptr;
}

void PushDelivery::finish()
{
    if (m_ended)
        return;
    m_ended = true;
    stopServing();
    m_host->deliveryEnded(this);
}
