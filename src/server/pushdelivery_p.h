// SPDX-License-Identifier: MIT
#pragma once

// Internal: the delivery lifecycle that WebSocket, Server-Sent Events and long-poll share.
// Not installed.

#include "pushattachment_p.h"

#include <QtPush/pushsession.h>

#include <QtCore/QObject>
#include <QtCore/QVariant>

class PushTransportHost;

//! A message as it goes on the wire, encoded once for all the clients that get it.
struct PushFrame
{
    QString sessionKey;
    quint64 epoch = 0; // a session made again counts ids anew
    quint64 id = 0;
    QByteArray json; // {"id":..,"session":..,"data":..}
    const QByteArray &webSocketFrame(); // a WebSocket text frame
    const QByteArray &event(); // an SSE event
private:
    QByteArray m_webSocketFrame;
    QByteArray m_event;
};

/*!
    One connection serving one network client: the lifecycle every transport shares.

    start() writes the hello frame (the transports that have one), then the catch-up, then
    takes live messages from the client. Every message, caught up or live, goes through one
    step, deliver(): admit it against the client's cursor (skip what was seen, report a gap
    where ids jump), write it, count it. end() stops the delivery for a reason; a subclass only
    writes frames and closes in its own way (closeFor()).

    Invariants: while attachment() is set, the client's PushAttachment::owner is this object,
    and nothing else delivers to that client. Once stopServing() ran, attachment() is null for
    good and no message is taken. The host's deliveryEnded() is called at most once.

    Ownership: the server (PushTransportHost::transportParent()) is the parent; the host
    deletes a delivery later after deliveryEnded(). Not thread-safe: the server's thread.
*/
class PushDelivery : public QObject
{
    Q_OBJECT
public:
    enum class EndReason {
        ConnectionClosed, //!< the connection is gone: stop, and be forgotten
        Replaced, //!< the same client connected again: the newest wins
        ClientDeleted, //!< the client was deleted (DELETE, grace period, the application)
        ShuttingDown, //!< PushServer::shutdown()
    };

    ~PushDelivery() override;

    PushTransport kind() const { return m_kind; }
    //! The client served, or null before start() and once it stopped serving.
    PushAttachment *attachment() const { return m_attachment; }
    //! Serves \a attachment, whose PushAttachment::owner is this: the hello frame, \a catchUp,
    //! then live messages.
    void start(PushAttachment *attachment, const QList<PushSession::Message> &catchUp);
    /*!
        Ends the delivery for \a reason. Replaced and ClientDeleted stop serving at once (the
        client's grace period starts); ConnectionClosed stops and reports deliveryEnded(). The
        transport's closeFor() runs once for the other reasons: a WebSocket sends its close
        frame, an event stream closes (and serves until the client closes its side, as before),
        a long-poll answers. Calling it again, for any reason, does no harm.
    */
    void end(EndReason reason);

protected:
    PushDelivery(PushTransportHost *host, PushTransport kind);

    virtual void writeHello(const QByteArray &json) { Q_UNUSED(json); } // long-poll has none
    virtual void writeMessage(PushFrame &frame) = 0;
    virtual void writeGap(quint64 from, quint64 to) = 0;
    //! A message was written: a stream flushes at the end of the turn.
    virtual void messageWritten() { }
    //! The catch-up is written: go live (takeLive()), pause, or answer.
    virtual void caughtUp() = 0;
    //! A live message was delivered: a stream checks its backlog, a long-poll answers soon.
    virtual void tookLive() = 0;
    //! Closes for \a reason in the transport's own way; ConnectionClosed: forget the
    //! connection (it is gone).
    virtual void closeFor(EndReason reason) = 0;

    //! The one admit -> gap -> frame -> count step.
    void deliver(quint64 id, const QVariant &data);
    //! Takes live messages from the client: it emits what it queued meanwhile, then each push.
    void takeLive();
    //! Stops taking live messages; the client's bounded buffer holds them.
    void stopTaking();
    //! Stops serving: no more messages, and the client's grace period starts. Idempotent.
    void stopServing();
    //! Stops serving and reports deliveryEnded(), once.
    void finish();

    PushTransportHost *const m_host;

private:
    void onMessage(const QVariant &data);

    const PushTransport m_kind;
    PushAttachment *m_attachment = nullptr;
    QMetaObject::Connection m_live;
    bool m_closing = false; // closeFor() ran for a reason other than ConnectionClosed
    bool m_ended = false; // deliveryEnded() was reported
};
