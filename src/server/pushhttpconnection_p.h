// SPDX-License-Identifier: MIT
#pragma once

// Internal: one TCP connection speaking HTTP/1.1, parsed by http-parser. Not installed.

#include "pushwire_p.h"

#include <QtCore/QByteArray>
#include <QtCore/QList>
#include <QtCore/QObject>

#include <http_parser.h>

#include <utility>

class QTcpSocket;

struct PushHttpRequest
{
    QByteArray method;
    QByteArray path; // as sent: percent-encoded
    QByteArray query; // as sent, without '?'
    QList<std::pair<QByteArray, QByteArray>> headers; // names in lower case
    QByteArray body;
    bool upgrade = false;
    bool keepAlive = true;
    bool http11 = false; // HTTP/1.1 or later

    //! The value of header \a lowerCaseName, or an empty array.
    QByteArray header(const QByteArray &lowerCaseName) const;
};

/*!
    Reads HTTP/1.1 requests off one socket, one at a time, and writes the answers.

    requestReceived() hands over each complete request; the next one is not read until the
    handler answers with respond() or refuse(), which may be later (a long-poll). A handler may
    also turn the connection into an event stream (beginStream()) or take the socket for a
    WebSocket upgrade (takeSocket()). Every request is bounded before it is buffered: 16 KiB of
    request line and headers, 100 headers, maxBodyBytes of body, 30 s to arrive whole.

    Ownership: the connection owns the socket (as its child) until takeSocket(). The server owns
    the connection and deletes it after closed().
*/
class PushHttpConnection : public QObject
{
    Q_OBJECT
public:
    static constexpr qsizetype maxHeaderBytes = 16 * 1024;
    static constexpr int maxHeaders = 100;
    static constexpr qint64 requestTimeoutMs = 30 * 1000;
    static constexpr qint64 idleTimeoutMs = 120 * 1000;
    static constexpr qint64 drainTimeoutMs = 5 * 1000;

    PushHttpConnection(QTcpSocket *socket, qint64 maxBodyBytes, QObject *parent);
    ~PushHttpConnection() override;

    QTcpSocket *socket() const { return m_socket; }

    //! Answers the current request. \a extraHeaders are complete "Name: value\r\n" lines.
    void respond(int status, const QByteArray &contentType, const QByteArray &body,
                 const QByteArray &extraHeaders = {});
    //! Answers with the JSON error body of protocol.md and, when \a closeAfter, closes.
    void refuse(PushWire::Refusal refusal, const QString &message, bool closeAfter = false,
                const QByteArray &extraHeaders = {});
    //! Starts a close-delimited streamed response (Server-Sent Events); write() sends more.
    void beginStream(const QByteArray &contentType, const QByteArray &extraHeaders = {});
    void write(const QByteArray &data);
    //! Hands the socket, with the current request read and what follows it unread, to a
    //! WebSocket transport; this object then deletes itself.
    QTcpSocket *takeSocket();
    //! Closes once what was written has been sent.
    void close();
    //! Closes now if no request is being handled, else right after its answer (shutdown).
    void closeWhenIdle();

    bool isStreaming() const { return m_state == State::Streaming; }
    bool isHandling() const { return m_state == State::Handling; }
    //! Applies the request and idle timeouts; called about once a second.
    void checkTimeouts(qint64 nowMs);

Q_SIGNALS:
    void requestReceived(PushHttpConnection *connection, const PushHttpRequest &request);
    //! The socket is gone (closed by either side, or taken); emitted once.
    void closed(PushHttpConnection *connection);
    //! A request was refused before it was complete (malformed, too large, too slow).
    void refusedWhileReading(PushWire::Refusal refusal);

private:
    enum class State { Reading, Handling, Streaming, Draining, Closing, Gone };

    void readRequests();
    void startRequest();
    void finishWithError(PushWire::Refusal refusal, const QString &message);
    void onDisconnected();

    static int onUrl(http_parser *parser, const char *at, size_t length);
    static int onHeaderField(http_parser *parser, const char *at, size_t length);
    static int onHeaderValue(http_parser *parser, const char *at, size_t length);
    static int onHeadersComplete(http_parser *parser);
    static int onBody(http_parser *parser, const char *at, size_t length);
    static int onMessageComplete(http_parser *parser);
    bool countHeaderBytes(size_t length);

    QTcpSocket *m_socket;
    const qint64 m_maxBodyBytes;
    State m_state = State::Reading;
    http_parser m_parser;
    PushHttpRequest m_request;
    QByteArray m_url;
    bool m_keepAlive = true; // of the request being handled
    bool m_closeWhenIdle = false;
    bool m_crossOrigin = false; // the request named an Origin: answer with CORS headers
    bool m_requestUnread = false; // a refused request whose body was not read
    qint64 m_drainUntilMs = 0;
    bool m_lastWasValue = false;
    bool m_complete = false;
    bool m_inRead = false;
    qsizetype m_headerBytes = 0;
    qint64 m_consumed = 0; // bytes of the current request parsed so far
    qint64 m_requestStartedMs = 0; // 0 between requests
    qint64 m_lastActivityMs = 0;
    PushWire::Refusal m_refusal = PushWire::Refusal::BadRequest;
    QString m_refusalMessage;
};
