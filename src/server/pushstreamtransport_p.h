// SPDX-License-Identifier: MIT
#pragma once

// Internal: what the streaming transports (WebSocket, Server-Sent Events) share.

#include <QtPush/pushsession.h>

#include <QtCore/QObject>
#include <QtCore/QVariant>

class PushServerPrivate;
struct PushAttachment;
struct PushFrame;

/*!
    Streams one client's messages to one connection, in id order, with gap frames where ids
    jump, and with flow control: while the connection has more than highWaterBytes unsent, the
    transport stops taking messages, so that they wait in the client's bounded buffer (which
    drops the oldest and so leads to a gap frame) instead of in unbounded socket memory.

    Ownership: the server owns transports; a transport never outlives its attachment.
*/
class PushStreamTransport : public QObject
{
    Q_OBJECT
public:
    static constexpr qint64 highWaterBytes = 256 * 1024;
    static constexpr qint64 lowWaterBytes = 64 * 1024;

    PushStreamTransport(PushServerPrivate *server, PushAttachment *attachment);
    ~PushStreamTransport() override;

    PushAttachment *attachment() const { return m_attachment; }
    void setAttachment(PushAttachment *attachment) { m_attachment = attachment; }
    //! Sends the hello frame and \a catchUp, then streams live messages.
    void start(const QList<PushSession::Message> &catchUp);
    //! Stops taking messages and forgets the attachment (the connection is ending or replaced).
    void release();
    //! Closes the connection; \a reason says why (shutdown, client deleted, replaced).
    virtual void closeConnection(int webSocketCode, const QString &reason) = 0;
    //! Writes what this turn of the event loop queued for the connection (see deliver()).
    void flushNow();

protected:
    virtual void writeMessage(PushFrame &frame) = 0;
    virtual void writeGap(quint64 from, quint64 to) = 0;
    virtual void writeHello(const QByteArray &frame) = 0;
    //! Bytes written to the connection and not yet sent.
    virtual qint64 backlog() const = 0;
    virtual void flushSocket() = 0;
    //! Has what was written go out at the end of this turn of the event loop.
    void flushAtEndOfTurn();
    //! Subclasses call this when the connection sent some of its backlog.
    void onBytesSent();

    PushServerPrivate *const m_server;

private:
    void onMessage(const QVariant &data);
    void deliver(quint64 id, const QVariant &data);
    void pause();
    void resume();

    PushAttachment *m_attachment;
    QMetaObject::Connection m_streaming;
    bool m_paused = false;
    bool m_flushPending = false;
};
