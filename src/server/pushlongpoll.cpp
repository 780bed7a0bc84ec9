// SPDX-License-Identifier: MIT
#include "pushlongpoll_p.h"

#include "pushattachment_p.h"
#include "pushhttpconnection_p.h"
#include "pushserver_p.h"

#include <QtPush/pushclient.h>

PushLongPoll::PushLongPoll(PushServerPrivate *server, PushAttachment *attachment,
                           PushHttpConnection *connection)
    : QObject(server->q), m_server(server), m_attachment(attachment), m_connection(connection)
{
    m_timer.setSingleShot(true);
    connect(&m_timer, &QTimer::timeout, this, &PushLongPoll::finish);
}

void PushLongPoll::start(const QList<PushSession::Message> &catchUp, int waitMs)
{
    for (const PushSession::Message &message : catchUp)
        take(message.id, message.data);
    if (!m_items.isEmpty() || waitMs <= 0) {
        finish();
        return;
    }
    m_streaming = connect(m_attachment->client, &PushClient::messageReceived, this,
                          &PushLongPoll::onMessage);
    m_timer.start(waitMs);
}

void PushLongPoll::take(quint64 id, const QVariant &data)
{
    quint64 gapFrom = 0, gapTo = 0;
    switch (m_attachment->admit(id, &gapFrom, &gapTo)) {
    case PushAttachment::Admit::Skip:
        return;
    case PushAttachment::Admit::GapThenDeliver:
        m_items.append(PushWire::gapFrame(gapFrom, gapTo));
        m_server->countGap();
        Q_FALLTHROUGH();
    case PushAttachment::Admit::Deliver:
        m_items.append(m_server->frame(*m_attachment, id, data).json);
        ++m_attachment->delivered;
        m_server->countDelivery(PushTransport::Poll);
        break;
    }
}

void PushLongPoll::onMessage(const QVariant &data)
{
    if (!m_attachment || !m_attachment->client)
        return;
    take(m_attachment->client->lastMessageId(), data);
    if (!m_finishing) {
        // Answer after this turn of the event loop, with whatever else it delivers.
        m_finishing = true;
        QMetaObject::invokeMethod(this, &PushLongPoll::finish, Qt::QueuedConnection);
    }
}

void PushLongPoll::finish()
{
    if (!m_connection)
        return;
    disconnect(m_streaming);
    m_timer.stop();
    m_connection->respond(200, QByteArrayLiteral("application/json"),
                          '[' + m_items.join(',') + ']');
    m_server->pollEnded(this);
    m_connection = nullptr;
}

void PushLongPoll::release()
{
    disconnect(m_streaming);
    m_timer.stop();
    m_connection = nullptr;
    m_attachment = nullptr;
}
