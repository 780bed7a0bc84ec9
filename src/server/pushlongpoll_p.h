// SPDX-License-Identifier: MIT
#pragma once

// Internal: the long-poll transport (protocol.md: Receiving).

#include "pushdelivery_p.h"

#include <QtCore/QTimer>

class PushHttpConnection;

/*!
    One long-poll request (PushDelivery): answers at once with what the client has pending, or
    waits up to `wait` seconds for the first message, then answers with everything that arrived
    in that event-loop turn, as a JSON array of message objects and gap control frames.
    Ownership: the server owns it; it lives for one request.
*/
class PushLongPoll : public PushDelivery
{
    Q_OBJECT
public:
    PushLongPoll(PushTransportHost *host, PushHttpConnection *connection, int waitMs);

    //! The connection whose request this answers; it stays the key after the answer.
    PushHttpConnection *connection() const { return m_key; }
    //! Answers now with what has arrived (the timer, a half-close, shutdown, the client
    //! deleted or replaced).
    void answer();

protected:
    void writeMessage(PushFrame &frame) override;
    void writeGap(quint64 from, quint64 to) override;
    void caughtUp() override;
    void tookLive() override;
    void closeFor(EndReason reason) override;

private:
    PushHttpConnection *const m_key;
    PushHttpConnection *m_connection; // null once answered, or once it closed
    const int m_waitMs;
    QTimer m_timer;
    QByteArrayList m_items;
    bool m_finishing = false;
};
