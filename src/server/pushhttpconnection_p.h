// SPDX-License-Identifier: MIT
#pragma once

// Internal: one connection speaking HTTP/1.1: the I/O around PushHttpParser. Not installed.

#include "pushhttpparser_p.h"
#include "pushwire_p.h"

#include <QtCore/QByteArray>
#include <QtCore/QObject>

#include <memory>

class PushConnectionIo;
class PushHttpConnection;

/*!
    What a connection reports to its owner, the server. A plain interface rather than signals:
    a signal connection costs a few hundred bytes per connection, which an idle event stream
    would otherwise carry (docs/benchmarks.md).
*/
class PushHttpConnectionOwner
{
public:
    //! A complete request; answer with respond() or refuse(), now or later.
    virtual void requestReceived(PushHttpConnection *connection, const PushHttpRequest &request)
            = 0;
    //! The client half-closed while its request is handled: nothing more will come.
    virtual void inputEnded(PushHttpConnection *connection) = 0;
    //! The connection is gone (closed by either side, or taken); reported once.
    virtual void connectionClosed(PushHttpConnection *connection) = 0;
    //! A request was refused before it was complete (malformed, too large, too slow).
    virtual void refusedWhileReading(PushWire::Refusal refusal) = 0;

protected:
    ~PushHttpConnectionOwner() = default;
};

/*!
    Reads HTTP/1.1 requests off one connection, one at a time, and writes the answers.

    The owner's requestReceived() gets each complete request; the next one is not parsed until the
    handler answers with respond() or refuse(), which may be later (a long-poll). A handler may
    also start an event stream (beginStream()), or take the connection for one or for a WebSocket
    upgrade (takeIo()). Requests are bounded by PushHttpParser, and must arrive whole within
    30 s; no more than 16 KiB is read ahead of the request being handled.

    A client may half-close after its request (RFC 9112 §9.6): every request read is still
    answered, then the connection closes; the owner's inputEnded() tells a handler that waits
    (a long-poll) to answer now. A close the client did not ask for lingers: the FIN goes after the
   answer, and what the client still sends is read and dropped until it closes too (or for 5 s), so
   that the answer is never destroyed by a reset.

    Ownership: the connection owns its PushConnectionIo (as its child) until takeIo(). The
    server owns the connection and deletes it after connectionClosed().
*/
class PushHttpConnection : public QObject
{
    Q_OBJECT
public:
    static constexpr qint64 requestTimeoutMs = 30 * 1000;
    static constexpr qint64 idleTimeoutMs = 120 * 1000;
    static constexpr qint64 drainTimeoutMs = 5 * 1000;
    static constexpr qsizetype readAheadBytes = 16 * 1024;

    PushHttpConnection(PushConnectionIo *io, qint64 maxBodyBytes, PushHttpConnectionOwner *owner,
                       QObject *parent);
    ~PushHttpConnection() override;

    //! Replaces the steady clock of every connection (a unit test that builds this file in);
    //! null restores PushClock::steadyMs. Not thread-safe.
    static void setSteadyClock(qint64 (*clock)());

    //! Answers the current request. \a extraHeaders are complete "Name: value\r\n" lines.
    void respond(int status, const QByteArray &contentType, const QByteArray &body,
                 const QByteArray &extraHeaders = {});
    //! Answers with the JSON error body of protocol.md and, when \a closeAfter, closes.
    void refuse(PushWire::Refusal refusal, const QString &message, bool closeAfter = false,
                const QByteArray &extraHeaders = {});
    //! Starts a close-delimited streamed response (Server-Sent Events); write() sends more.
    void beginStream(const QByteArray &contentType, const QByteArray &extraHeaders = {});
    void write(const QByteArray &data);
    //! Bytes written and not yet sent.
    qint64 backlog() const;
    //! The connection's bytes (its bytesSent() drives an event stream's flow control); null
    //! once taken.
    PushConnectionIo *io() const { return m_io; }
    //! Hands the connection, with the current request read, to a WebSocket transport; \a early
    //! gets the bytes that came behind the request. This object then reports it closed.
    PushConnectionIo *takeIo(QByteArray *early);
    //! Closes once what was written has been sent.
    void close();
    //! Closes now, with a reset (PushServer::abort()).
    void abort();
    //! Answers what has arrived, then closes; a request being handled closes after its answer
    //! (shutdown).
    void closeWhenIdle();

    //! Applies the request, idle and drain timeouts (on the steady clock); called about once
    //! a second.
    void checkTimeouts();

private:
    enum class State { Reading, Handling, Streaming, Closing, Gone };

    void readInput();
    void handleRequests();
    void finishWithError(PushWire::Refusal refusal, const QString &message);
    void onClosed();

    PushConnectionIo *m_io;
    PushHttpConnectionOwner *const m_owner;
    std::unique_ptr<PushHttpParser> m_parser; // none once streaming
    State m_state = State::Reading;
    bool m_keepAlive = true; // of the request being handled
    bool m_clientCloses = false; // the request being handled asked to close the connection
    bool m_closeWhenIdle = false;
    bool m_crossOrigin = false; // the request named an Origin: answer with CORS headers
    bool m_inputEnded = false; // the client half-closed
    bool m_inRead = false;
    qint64 m_requestStartedMs = 0; // 0 while no request is partly read
    qint64 m_lastActivityMs = 0;
    qint64 m_closingSinceMs = 0;
};
