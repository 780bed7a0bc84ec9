// SPDX-License-Identifier: MIT
#pragma once

// Internal: what the streaming transports (WebSocket, Server-Sent Events) share.

#include "pushdelivery_p.h"

/*!
    Streams one client's messages to one connection (PushDelivery), with flow control: while
    the connection has more than highWaterBytes unsent, the transport stops taking messages, so
    that they wait in the client's bounded buffer (which drops the oldest and so leads to a gap
    frame) instead of in unbounded socket memory. The frames of one turn of the event loop go
    out in one write (flushAtEndOfTurn()).

    Ownership: the server owns transports; a transport never outlives its attachment.
*/
class PushStreamTransport : public PushDelivery
{
    Q_OBJECT
public:
    static constexpr qint64 highWaterBytes = 256 * 1024;
    static constexpr qint64 lowWaterBytes = 64 * 1024;

    ~PushStreamTransport() override;

    //! Closes the connection; \a reason says why (shutdown, client deleted, replaced).
    virtual void closeConnection(int webSocketCode, const QString &reason) = 0;
    //! Writes what this turn of the event loop queued for the connection (see deliver()).
    void flushNow();

protected:
    PushStreamTransport(PushTransportHost *host, PushTransport kind);

    //! Bytes written to the connection and not yet sent.
    virtual qint64 backlog() const = 0;
    virtual void flushSocket() = 0;
    //! Has what was written go out at the end of this turn of the event loop.
    void flushAtEndOfTurn();
    //! Subclasses call this when the connection sent some of its backlog.
    void onBytesSent();

    // PushDelivery
    void messageWritten() override { flushAtEndOfTurn(); }
    void caughtUp() override;
    void tookLive() override;
    void closeFor(EndReason reason) override;

private:
    void pause();
    void resume();

    bool m_paused = false;
    bool m_flushPending = false;
};
