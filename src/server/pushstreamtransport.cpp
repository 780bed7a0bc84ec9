// SPDX-License-Identifier: MIT
#include "pushstreamtransport_p.h"

#include "pushtransporthost_p.h"
#include "pushwebsocketframing_p.h"

#include <QtPush/pushclient.h>

#include "pushprotocol_p.h"

PushStreamTransport::PushStreamTransport(PushTransportHost *host, PushTransport kind)
    : PushDelivery(host, kind)
{ }

PushStreamTransport::~PushStreamTransport() = default;

void PushStreamTransport::caughtUp()
{
    if (backlog() > highWaterBytes) {
        pause();
        return;
    }
    takeLive();
}

void PushStreamTransport::tookLive()
{
    if (backlog() > highWaterBytes)
        pause();
}

void PushStreamTransport::closeFor(EndReason reason)
{
    switch (reason) {
    case EndReason::ConnectionClosed:
        return; // nothing left to close
    case EndReason::Replaced:
        closeConnection(PushProtocol::closeReplaced,
                        QStringLiteral("replaced by a newer connection"));
        return;
    case EndReason::ClientDeleted:
        closeConnection(PushProtocol::closeClientDeleted, QStringLiteral("the client was deleted"));
        return;
    case EndReason::ShuttingDown:
        closeConnection(PushWebSocket::closeGoingAway,
                        QStringLiteral("the server is shutting down"));
        return;
    }
}

void PushStreamTransport::flushAtEndOfTurn()
{
    // Not when Qt's write notifier fires a turn later: one system call per connection for all
    // the frames of the turn.
    if (!m_flushPending) {
        m_flushPending = true;
        m_host->flushLater(this);
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
    stopTaking(); // the client's own bounded buffer holds what comes next
}

void PushStreamTransport::onBytesSent()
{
    if (m_paused && attachment() && backlog() < lowWaterBytes)
        resume();
}

void PushStreamTransport::resume()
{
    m_paused = false;
    PushClient *client = attachment()->client;
    if (!client)
        return;
    QVariant data;
    while (backlog() < highWaterBytes) {
        if (!client->tryPull(&data)) {
            takeLive();
            return;
        }
        deliver(client->lastMessageId(), data);
    }
    m_paused = true;
}
