// SPDX-License-Identifier: MIT
#pragma once

// Internal: HTTP/1.1 request framing and parsing, server side (RFC 9112); no I/O. Not
// installed. docs/server.md says why the server parses HTTP itself (Dependencies).

#include "pushwire_p.h"

#include <QtCore/QByteArray>
#include <QtCore/QByteArrayView>
#include <QtCore/QList>
#include <QtCore/QString>

#include <utility>

struct PushHttpRequest
{
    QByteArray method;
    QByteArray path; // as sent: percent-encoded
    QByteArray query; // as sent, without '?'
    QList<std::pair<QByteArray, QByteArray>> headers; // names in lower case
    QByteArray body;
    bool upgrade = false; // Connection: upgrade with an Upgrade header
    bool keepAlive = true;
    bool http11 = false; // HTTP/1.1 (HTTP/1.0 otherwise)

    //! The value of header \a lowerCaseName, or an empty array.
    QByteArray header(const QByteArrayView &lowerCaseName) const;
};

/*!
    Parses the requests a client sends on one connection, incrementally: bytes go in as they
    arrive, in pieces of any size, and complete requests come out one at a time, or a refusal.

    It is strict wherever a proxy in front could frame a request differently (RFC 9112 §11.2,
    request smuggling): lines end in CRLF only, no obs-fold, no whitespace before a header's
    colon, one Content-Length of digits, Transfer-Encoding only `chunked` and never with a
    Content-Length, and each chunk's data followed by CRLF. Such a request is refused and the
    connection must close, since where the next request starts is then unknown.

    Bounds, checked before bytes are held: 16 KiB of request line and headers (431 at any
    size), 100 headers, maxBodyBytes of body (413 as soon as a Content-Length or a chunk size
    announces more), 1 KiB per chunk-size line, and trailers within the header bytes.

    After a refusal the parser ignores what follows. Ownership: a plain value type.
*/
class PushHttpParser
{
public:
    static constexpr qsizetype maxHeaderBytes = 16 * 1024;
    static constexpr int maxHeaders = 100;
    static constexpr qsizetype maxChunkLineBytes = 1024;

    enum class Status {
        NeedMore, //!< no complete request yet
        Request, //!< next() filled in a request
        Refused, //!< see refusal(); nothing more is parsed
    };

    explicit PushHttpParser(qint64 maxBodyBytes) : m_maxBodyBytes(maxBodyBytes) { }

    //! Appends \a data to what waits to be parsed; next() parses it. Ignored once refused.
    void feed(QByteArrayView data)
    {
        if (!m_refused)
            m_buffer.append(data.data(), data.size());
    }
    //! Parses what was fed as far as the next complete request, which goes to \a request.
    //! Bytes behind that request wait for the next call.
    Status next(PushHttpRequest *request);

    PushWire::Refusal refusal() const { return m_refusal; }
    const QString &refusalMessage() const { return m_refusalMessage; }
    bool isRefused() const { return m_refused; }
    //! Whether bytes of a request that is not complete have come (the request timeout runs).
    bool hasPartialRequest() const { return m_stage != Stage::Head || unparsed() > 0; }
    //! Bytes fed and not yet parsed (pipelined requests, or what follows an upgrade).
    qsizetype unparsed() const { return m_buffer.size() - m_pos; }
    //! Bytes held in all: unparsed input plus the request being assembled. While next()
    //! returns NeedMore this is at most maxHeaderBytes + maxBodyBytes + maxChunkLineBytes.
    qint64 heldBytes() const { return unparsed() + m_request.body.size(); }
    //! Hands over the unparsed bytes (what came behind an upgrade request).
    QByteArray takeUnparsed();

private:
    enum class Stage { Head, Body, ChunkSize, ChunkData, ChunkDataEnd, Trailers };

    Status parseHead();
    bool parseRequestLine(QByteArrayView line);
    bool parseHeaderLine(QByteArrayView line);
    bool finishHead();
    Status parseBody();
    //! The next line (without its CRLF) within \a limit bytes: 1 found, 0 need more, -1 refused.
    int takeLine(qsizetype limit, PushWire::Refusal tooLong, const char *what,
                 QByteArrayView *line);
    Status refuse(PushWire::Refusal refusal, const QString &message);
    void complete(PushHttpRequest *request);
    void compact();

    const qint64 m_maxBodyBytes;
    QByteArray m_buffer;
    qsizetype m_pos = 0; // parsed up to here
    qsizetype m_scanned = 0; // of the head: searched for its end up to here (from m_pos)
    bool m_requestLineChecked = false; // of the head being scanned
    Stage m_stage = Stage::Head;
    PushHttpRequest m_request;
    qint64 m_bodyLeft = 0; // of the Content-Length or of the current chunk
    qsizetype m_trailerBytes = 0;
    bool m_refused = false;
    PushWire::Refusal m_refusal = PushWire::Refusal::BadRequest;
    QString m_refusalMessage;
};
