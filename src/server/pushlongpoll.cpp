// SPDX-License-Identifier: MIT
#include "pushlongpoll_p.h"

#include "pushhttpconnection_p.h"
#include "pushwire_p.h"

PushLongPoll::PushLongPoll(PushTransportHost *host, PushHttpConnection *connection, int waitMs)
    : PushDelivery(host, PushTransport::Poll), m_key(connection), m_connection(connection),
      m_waitMs(waitMs)
{
    m_timer.setSingleShot(true);
    connect(&m_timer, &QTimer::timeout, this, &PushLongPoll::answer);
}

void PushLongPoll::writeMessage(PushFrame &frame)
{
    m_items.append(frame.json);
}

void PushLongPoll::writeGap(quint64 from, quint64 to)
{
    m_items.append(PushWire::gapFrame(from, to));
}

void PushLongPoll::caughtUp()
{
    if (!m_items.isEmpty() || m_waitMs <= 0) {
        answer();
        return;
    }
    takeLive();
    m_timer.start(m_waitMs);
}

void PushLongPoll::tookLive()
{
    if (!m_finishing) {
        // Answer after this turn of the event loop, with whatever else it delivers.
        m_finishing = true;
        QMetaObject::invokeMethod(this, &PushLongPoll::answer, Qt::QueuedConnection);
    }
}

void PushLongPoll::answer()
{
    if (!m_connection)
        return;
    stopTaking();
    m_timer.stop();
    m_connection->respond(200, QByteArrayLiteral("application/json"),
                          '[' + m_items.join(',') + ']');
    finish();
    m_connection = nullptr;
}

void PushLongPoll::closeFor(EndReason reason)
{
    if (reason != EndReason::ConnectionClosed) {
        answer();
        return;
    }
    // The connection went away before the answer: nothing more is taken.
    stopTaking();
    m_timer.stop();
    m_connection = nullptr;
}
