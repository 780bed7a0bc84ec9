// SPDX-License-Identifier: MIT
#include "pushhttpconnection_p.h"

#include "pushclock_p.h"
#include "pushconnectionio_p.h"
#include "pushserverlogging_p.h"

namespace {

qint64 (*steadyClock)() = &PushClock::steadyMs; // setSteadyClock()

qint64 nowMs()
{
    return steadyClock(); // pushclock_p.h: no timeout follows the wall clock
}

} // namespace

void PushHttpConnection::setSteadyClock(qint64 (*clock)())
{
    steadyClock = clock ? clock : &PushClock::steadyMs;
}

PushHttpConnection::PushHttpConnection(PushConnectionIo *io, qint64 maxBodyBytes,
                                       PushHttpConnectionOwner *owner, QObject *parent)
    : QObject(parent), m_io(io), m_owner(owner),
      m_parser(std::make_unique<PushHttpParser>(maxBodyBytes))
{
    m_io->setParent(this);
    m_io->setHalfCloseAllowed(true);
    m_lastActivityMs = nowMs();
    connect(m_io, &PushConnectionIo::readyRead, this, &PushHttpConnection::readInput);
    connect(m_io, &PushConnectionIo::closed, this, &PushHttpConnection::onClosed);
    // A TLS socket may hold the first request already, decrypted with the handshake.
    QMetaObject::invokeMethod(this, &PushHttpConnection::readInput, Qt::QueuedConnection);
}

PushHttpConnection::~PushHttpConnection() = default;

void PushHttpConnection::readInput()
{
    if (m_inRead || !m_io)
        return;
    m_inRead = true;
    char buffer[16 * 1024];
    while (!m_inputEnded && m_state != State::Gone) {
        // An event stream expects nothing more from the client, and a closing connection
        // reads and drops what still comes so that the client sees the answer, not a reset.
        const bool drop = m_state == State::Streaming || m_state == State::Closing;
        if (!drop && m_parser->unparsed() >= readAheadBytes) {
            m_io->setReadPaused(true); // until the request being handled is answered
            break;
        }
        const qint64 count = m_io->read(buffer, sizeof buffer);
        if (count == 0)
            break;
        if (count < 0) {
            // The client half-closed (else closed() follows): what it sent is all there is.
            m_inputEnded = m_io->isWritable();
            break;
        }
        m_lastActivityMs = nowMs();
        if (drop)
            continue;
        m_parser->feed(QByteArrayView(buffer, qsizetype(count)));
        handleRequests();
    }
    handleRequests();
    if (m_inputEnded && m_state == State::Handling) {
        m_owner->inputEnded(this); // a long-poll answers now
        handleRequests(); // then pipelined requests, then the close
    } else if (m_inputEnded && m_state == State::Streaming) {
        close(); // an EventSource that goes away
    }
    m_inRead = false;
}

void PushHttpConnection::handleRequests()
{
    while (m_state == State::Reading) {
        PushHttpRequest request;
        switch (m_parser->next(&request)) {
        case PushHttpParser::Status::NeedMore:
            if (!m_parser->hasPartialRequest() || m_inputEnded) {
                // Every request read was answered; one cut short by the client's FIN was not
                // carried out, and the client is not listening for an answer to it.
                m_requestStartedMs = 0;
                if (m_inputEnded || m_closeWhenIdle)
                    close();
            } else if (m_closeWhenIdle) {
                finishWithError(PushWire::Refusal::Unavailable,
                                QStringLiteral("the server is shutting down"));
            } else if (m_requestStartedMs == 0) {
                m_requestStartedMs = nowMs();
            }
            return;
        case PushHttpParser::Status::Refused:
            finishWithError(m_parser->refusal(), m_parser->refusalMessage());
            return;
        case PushHttpParser::Status::Request:
            break;
        }
        m_requestStartedMs = 0;
        m_keepAlive = request.keepAlive && !request.upgrade;
        m_clientCloses = !request.keepAlive;
        m_crossOrigin = !request.header("origin").isEmpty();
        m_state = State::Handling;
        m_owner->requestReceived(this, request);
    }
}

void PushHttpConnection::finishWithError(PushWire::Refusal refusal, const QString &message)
{
    m_owner->refusedWhileReading(refusal);
    qCDebug(lcPushServer) << "refusing request from" << m_io->peerName() << ":" << message;
    m_requestStartedMs = 0;
    m_crossOrigin = false;
    m_clientCloses = false;
    m_state = State::Handling;
    refuse(refusal, message, true);
}

void PushHttpConnection::respond(int status, const QByteArray &contentType, const QByteArray &body,
                                 const QByteArray &extraHeaders)
{
    if (m_state != State::Handling)
        return;
    const bool closeAfter = !m_keepAlive || m_closeWhenIdle || m_inputEnded;
    QByteArray head;
    head.reserve(160 + extraHeaders.size());
    head.append("HTTP/1.1 ").append(QByteArray::number(status)).append(' ');
    head.append(PushWire::reasonPhrase(status)).append("\r\n");
    if (!contentType.isEmpty())
        head.append("Content-Type: ").append(contentType).append("\r\n");
    if (status != 204)
        head.append("Content-Length: ").append(QByteArray::number(body.size())).append("\r\n");
    head.append("Cache-Control: no-store\r\n");
    if (m_crossOrigin) // tokens, not cookies, carry access: every origin may read answers
        head.append("Access-Control-Allow-Origin: *\r\n");
    head.append(extraHeaders);
    if (closeAfter)
        head.append("Connection: close\r\n");
    head.append("\r\n");
    m_io->write(head + body);
    m_lastActivityMs = nowMs();
    if (!m_keepAlive || m_closeWhenIdle) {
        close();
        return;
    }
    // Pipelined requests, or the end of the input, are taken up from the event loop.
    m_state = State::Reading;
    m_io->setReadPaused(false);
    if (!m_inRead)
        QMetaObject::invokeMethod(this, &PushHttpConnection::readInput, Qt::QueuedConnection);
}

void PushHttpConnection::refuse(PushWire::Refusal refusal, const QString &message, bool closeAfter,
                                const QByteArray &extraHeaders)
{
    if (closeAfter)
        m_keepAlive = false;
    respond(PushWire::httpStatus(refusal), QByteArrayLiteral("application/json"),
            PushWire::errorBody(refusal, message), extraHeaders);
}

void PushHttpConnection::beginStream(const QByteArray &contentType, const QByteArray &extraHeaders)
{
    QByteArray head = "HTTP/1.1 200 OK\r\nContent-Type: " + contentType
            + "\r\nCache-Control: no-store\r\nConnection: close\r\n"
            + (m_crossOrigin ? "Access-Control-Allow-Origin: *\r\n" : "") + extraHeaders + "\r\n";
    m_io->write(head);
    m_state = State::Streaming;
    m_parser.reset(); // nothing more is parsed: an idle stream holds no parser
    m_io->setReadPaused(false);
}

void PushHttpConnection::write(const QByteArray &data)
{
    if (m_io)
        m_io->write(data);
}

qint64 PushHttpConnection::backlog() const
{
    return m_io ? m_io->backlog() : 0;
}

PushConnectionIo *PushHttpConnection::takeIo(QByteArray *early)
{
    PushConnectionIo *io = m_io;
    disconnect(io, nullptr, this, nullptr);
    io->setParent(nullptr);
    m_io = nullptr;
    *early = m_parser ? m_parser->takeUnparsed() : QByteArray();
    m_state = State::Gone;
    m_owner->connectionClosed(this);
    return io;
}

void PushHttpConnection::close()
{
    if (m_state == State::Gone || m_state == State::Closing)
        return;
    m_state = State::Closing;
    m_closingSinceMs = nowMs();
    // A client that asked to close sends nothing more: no need to wait for its FIN, which
    // also frees the connection (and its count) at once. Otherwise the close lingers.
    const bool clientDone = m_clientCloses && m_parser && !m_parser->hasPartialRequest();
    m_io->closeAfterWrites(!clientDone);
    m_io->setReadPaused(false);
}

void PushHttpConnection::abort()
{
    if (m_io)
        m_io->abort();
}

void PushHttpConnection::closeWhenIdle()
{
    m_closeWhenIdle = true;
    if (m_state != State::Reading)
        return;
    // What has arrived is answered (or refused as the server shuts down), not reset.
    if (m_inRead)
        handleRequests();
    else
        readInput();
}

void PushHttpConnection::onClosed()
{
    if (m_state == State::Gone)
        return;
    m_state = State::Gone;
    m_owner->connectionClosed(this);
}

void PushHttpConnection::checkTimeouts()
{
    const qint64 now = nowMs();
    if (m_state == State::Closing && now - m_closingSinceMs > drainTimeoutMs) {
        m_io->abort(); // a client that neither reads nor closes
        return;
    }
    if (m_state != State::Reading)
        return;
    if (m_requestStartedMs != 0 && now - m_requestStartedMs > requestTimeoutMs) {
        finishWithError(
                PushWire::Refusal::RequestTimeout,
                QStringLiteral("request not complete after %1 s").arg(requestTimeoutMs / 1000));
    } else if (m_requestStartedMs == 0 && now - m_lastActivityMs > idleTimeoutMs) {
        close();
    }
}
