// SPDX-License-Identifier: MIT
#pragma once

// Internal: what a transport may ask of the server. Not installed.

#include "pushwire_p.h"

#include <QtCore/QString>
#include <QtCore/QVariant>

#include <functional>
#include <optional>

class PushDelivery;
struct PushRateLimiter;
class PushStreamTransport;
struct PushAttachment;
struct PushFrame;
struct PushMetrics;
struct PushServerSettings;

//! A push a connection asks for (an HTTP push, a WebSocket push frame, the admin stream's op).
struct PushPushRequest
{
    QString sessionKey;
    QVariant data; // checked against maxMessageBytes already
    PushRateLimiter *limiter = nullptr; // the connection's; taken when the push is
};

//! How a push ended: refused (and why), or numbered \c id and handed to \c clients clients.
struct PushPushOutcome
{
    std::optional<PushWire::Refusal> refusal;
    QString why;
    quint64 id = 0;
    int clients = 0;
};

using PushPushDone = std::function<void(const PushPushOutcome &)>;

/*!
    What a transport (WebSocket, Server-Sent Events, long-poll, the admin stream) may ask of the
    server, instead of the whole PushServerPrivate: a transport sees the settings, the counters,
    the shared frame cache, the push operation and where to report that it stopped.

    Implemented by PushServerPrivate, which outlives every transport (transports are children of
    transportParent()). All calls are made in the server's thread; none blocks.
*/
class PushTransportHost
{
public:
    //! The parent of every transport: the PushServer.
    virtual QObject *transportParent() = 0;
    virtual const PushServerSettings &settings() const = 0;
    virtual PushMetrics &metrics() = 0;
    //! Message \a id of \a attachment's session, encoded once for all the clients that get it;
    //! valid until the next call.
    virtual PushFrame &frame(const PushAttachment &attachment, quint64 id, const QVariant &data)
            = 0;
    //! Flushes \a transport's connection at the end of this turn of the event loop: one write
    //! per connection per turn, however many frames the turn queued.
    virtual void flushLater(PushStreamTransport *transport) = 0;
    /*!
        Pushes for a connection. \a done runs once with the outcome, now or later (once a
        durable store has the message), in \a context's thread, and never after \a context is
        destroyed. A caller answers from \a done, never from the return of push().
    */
    virtual void push(const PushPushRequest &request, QObject *context, PushPushDone done) = 0;
    //! \a delivery stopped serving its client: the client's grace period starts.
    virtual void deliveryStopped(PushDelivery *delivery) = 0;
    //! \a delivery is over (its connection closed, or its one answer sent): the server forgets
    //! it and deletes it later.
    virtual void deliveryEnded(PushDelivery *delivery) = 0;

protected:
    ~PushTransportHost() = default;
};
