// SPDX-License-Identifier: MIT
#include "pushhttpconnection_p.h"

#include "pushclock_p.h"
#include "pushserverlogging_p.h"

#include <QtNetwork/QTcpSocket>

namespace {

qint64 nowMs()
{
    return PushClock::steadyMs(); // pushclock_p.h: no timeout follows the wall clock
}

PushHttpConnection *connectionOf(http_parser *parser)
{
    return static_cast<PushHttpConnection *>(parser->data);
}

} // namespace

QByteArray PushHttpRequest::header(const QByteArray &lowerCaseName) const
{
    for (const auto &[name, value] : headers) {
        if (name == lowerCaseName)
            return value;
    }
    return {};
}

PushHttpConnection::PushHttpConnection(QTcpSocket *socket, qint64 maxBodyBytes, QObject *parent)
    : QObject(parent), m_socket(socket), m_maxBodyBytes(maxBodyBytes)
{
    m_socket->setParent(this);
    // A request waits whole in the socket's buffer until it is parsed, so the buffer is bounded
    // by the largest request.
    m_socket->setReadBufferSize(maxHeaderBytes + maxBodyBytes + 4096);
    m_lastActivityMs = nowMs();
    connect(m_socket, &QTcpSocket::readyRead, this, &PushHttpConnection::readRequests);
    connect(m_socket, &QTcpSocket::disconnected, this, &PushHttpConnection::onDisconnected);
    QMetaObject::invokeMethod(this, &PushHttpConnection::readRequests, Qt::QueuedConnection);
}

PushHttpConnection::~PushHttpConnection() = default;

void PushHttpConnection::startRequest()
{
    http_parser_init(&m_parser, HTTP_REQUEST);
    m_parser.data = this;
    m_request = PushHttpRequest();
    m_url.clear();
    m_lastWasValue = false;
    m_complete = false;
    m_headerBytes = 0;
    m_consumed = 0;
    m_requestStartedMs = nowMs();
    m_socket->startTransaction();
}

void PushHttpConnection::readRequests()
{
    if (m_inRead)
        return;
    m_inRead = true;
    while (m_state == State::Reading || m_state == State::Streaming || m_state == State::Draining) {
        if (m_state != State::Reading) {
            // An event stream expects nothing more from the client, and a refused request's
            // body is read and dropped so that the client sees the answer, not a reset.
            m_socket->readAll();
            break;
        }
        if (m_socket->bytesAvailable() <= 0)
            break;
        if (!m_socket->isTransactionStarted())
            startRequest();
        m_lastActivityMs = nowMs();
        const QByteArray chunk = m_socket->read(m_socket->bytesAvailable());
        static const http_parser_settings settings = [] {
            http_parser_settings s;
            http_parser_settings_init(&s);
            s.on_url = &PushHttpConnection::onUrl;
            s.on_header_field = &PushHttpConnection::onHeaderField;
            s.on_header_value = &PushHttpConnection::onHeaderValue;
            s.on_headers_complete = &PushHttpConnection::onHeadersComplete;
            s.on_body = &PushHttpConnection::onBody;
            s.on_message_complete = &PushHttpConnection::onMessageComplete;
            return s;
        }();
        const size_t parsed = http_parser_execute(&m_parser, &settings, chunk.constData(),
                                                  size_t(chunk.size()));
        m_consumed += qint64(parsed);
        const auto error = http_errno(m_parser.http_errno);
        if (!m_complete && error != HPE_OK) {
            if (error != HPE_CB_header_field && error != HPE_CB_header_value && error != HPE_CB_url
                && error != HPE_CB_headers_complete && error != HPE_CB_body) {
                m_refusal = PushWire::Refusal::BadRequest;
                m_refusalMessage = QStringLiteral("malformed HTTP request: %1")
                                           .arg(QLatin1String(http_errno_description(error)));
            }
            finishWithError(m_refusal, m_refusalMessage);
            break;
        }
        if (!m_complete)
            continue; // a partial request: wait for more
        // Put back what follows the request.
        m_socket->rollbackTransaction();
        m_requestStartedMs = 0;
        m_request.upgrade = m_parser.upgrade;
        m_request.keepAlive = http_should_keep_alive(&m_parser) != 0;
        m_request.http11
                = m_parser.http_major > 1 || (m_parser.http_major == 1 && m_parser.http_minor >= 1);
        m_keepAlive = m_request.keepAlive && !m_request.upgrade;
        m_crossOrigin = !m_request.header(QByteArrayLiteral("origin")).isEmpty();
        m_socket->skip(m_consumed);
        m_state = State::Handling;
        const PushHttpRequest request = std::move(m_request);
        Q_EMIT requestReceived(this, request);
        if (m_state == State::Gone)
            break; // the socket was taken
    }
    m_inRead = false;
}

bool PushHttpConnection::countHeaderBytes(size_t length)
{
    m_headerBytes += qsizetype(length);
    if (m_headerBytes <= maxHeaderBytes)
        return true;
    m_refusal = PushWire::Refusal::HeadersTooLarge;
    m_refusalMessage
            = QStringLiteral("request line and headers exceed %1 bytes").arg(maxHeaderBytes);
    return false;
}

int PushHttpConnection::onUrl(http_parser *parser, const char *at, size_t length)
{
    PushHttpConnection *self = connectionOf(parser);
    if (!self->countHeaderBytes(length))
        return -1;
    self->m_url.append(at, qsizetype(length));
    return 0;
}

int PushHttpConnection::onHeaderField(http_parser *parser, const char *at, size_t length)
{
    PushHttpConnection *self = connectionOf(parser);
    if (!self->countHeaderBytes(length))
        return -1;
    QList<std::pair<QByteArray, QByteArray>> &headers = self->m_request.headers;
    if (self->m_lastWasValue || headers.isEmpty()) {
        if (headers.size() >= maxHeaders) {
            self->m_refusal = PushWire::Refusal::HeadersTooLarge;
            self->m_refusalMessage = QStringLiteral("more than %1 headers").arg(maxHeaders);
            return -1;
        }
        headers.append(std::pair<QByteArray, QByteArray>());
    }
    headers.last().first.append(QByteArray(at, qsizetype(length)).toLower());
    self->m_lastWasValue = false;
    return 0;
}

int PushHttpConnection::onHeaderValue(http_parser *parser, const char *at, size_t length)
{
    PushHttpConnection *self = connectionOf(parser);
    if (!self->countHeaderBytes(length))
        return -1;
    if (self->m_request.headers.isEmpty())
        return -1;
    self->m_request.headers.last().second.append(at, qsizetype(length));
    self->m_lastWasValue = true;
    return 0;
}

int PushHttpConnection::onHeadersComplete(http_parser *parser)
{
    PushHttpConnection *self = connectionOf(parser);
    self->m_request.method = http_method_str(http_method(parser->method));
    http_parser_url url;
    http_parser_url_init(&url);
    if (http_parser_parse_url(self->m_url.constData(), size_t(self->m_url.size()), 0, &url) != 0
        || !(url.field_set & (1 << UF_PATH))) {
        self->m_refusal = PushWire::Refusal::BadRequest;
        self->m_refusalMessage = QStringLiteral("malformed request target");
        return -1;
    }
    self->m_request.path
            = self->m_url.mid(url.field_data[UF_PATH].off, url.field_data[UF_PATH].len);
    if (url.field_set & (1 << UF_QUERY)) {
        self->m_request.query
                = self->m_url.mid(url.field_data[UF_QUERY].off, url.field_data[UF_QUERY].len);
    }
    // Refuse a declared oversize body before reading it (protocol.md: Limits).
    if (parser->content_length != ULLONG_MAX
        && parser->content_length > quint64(self->m_maxBodyBytes)) {
        self->m_refusal = PushWire::Refusal::TooLarge;
        self->m_refusalMessage = QStringLiteral("body exceeds %1 bytes").arg(self->m_maxBodyBytes);
        return -1;
    }
    return 0;
}

int PushHttpConnection::onBody(http_parser *parser, const char *at, size_t length)
{
    PushHttpConnection *self = connectionOf(parser);
    if (self->m_request.body.size() + qint64(length) > self->m_maxBodyBytes) {
        self->m_refusal = PushWire::Refusal::TooLarge;
        self->m_refusalMessage = QStringLiteral("body exceeds %1 bytes").arg(self->m_maxBodyBytes);
        return -1;
    }
    self->m_request.body.append(at, qsizetype(length));
    return 0;
}

int PushHttpConnection::onMessageComplete(http_parser *parser)
{
    PushHttpConnection *self = connectionOf(parser);
    self->m_complete = true;
    http_parser_pause(parser, 1); // one request at a time: the rest stays in the socket
    return 0;
}

void PushHttpConnection::finishWithError(PushWire::Refusal refusal, const QString &message)
{
    m_requestUnread = true;
    m_crossOrigin = !m_request.header(QByteArrayLiteral("origin")).isEmpty(); // if it came yet
    Q_EMIT refusedWhileReading(refusal);
    qCDebug(lcPushServer) << "refusing request from" << m_socket->peerAddress() << ":" << message;
    if (m_socket->isTransactionStarted())
        m_socket->commitTransaction();
    m_requestStartedMs = 0;
    m_state = State::Handling;
    refuse(refusal, message, true);
}

void PushHttpConnection::respond(int status, const QByteArray &contentType, const QByteArray &body,
                                 const QByteArray &extraHeaders)
{
    if (m_state != State::Handling)
        return;
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
    if (!m_keepAlive)
        head.append("Connection: close\r\n");
    head.append("\r\n");
    m_socket->write(head + body);
    m_lastActivityMs = nowMs();
    if (!m_keepAlive || m_closeWhenIdle) {
        if (m_requestUnread) {
            // Closing with unread input would reset the connection and lose the answer
            // (RFC 9112 §9.6): stop writing, read what still comes, then close.
            m_requestUnread = false;
            m_state = State::Draining;
            m_drainUntilMs = nowMs() + drainTimeoutMs;
            m_socket->readAll();
            return;
        }
        close();
        return;
    }
    m_state = State::Reading;
    if (!m_inRead)
        QMetaObject::invokeMethod(this, &PushHttpConnection::readRequests, Qt::QueuedConnection);
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
    m_socket->write(head);
    m_state = State::Streaming;
}

void PushHttpConnection::write(const QByteArray &data)
{
    m_socket->write(data);
}

QTcpSocket *PushHttpConnection::takeSocket()
{
    QTcpSocket *socket = m_socket;
    disconnect(socket, nullptr, this, nullptr);
    socket->setParent(nullptr);
    m_socket = nullptr;
    m_state = State::Gone;
    Q_EMIT closed(this);
    return socket;
}

void PushHttpConnection::close()
{
    if (m_state == State::Gone || m_state == State::Closing)
        return;
    m_state = State::Closing;
    m_socket->disconnectFromHost(); // after what is buffered has been written
}

void PushHttpConnection::closeWhenIdle()
{
    m_closeWhenIdle = true;
    if (m_state == State::Reading)
        close();
}

void PushHttpConnection::onDisconnected()
{
    if (m_state == State::Gone)
        return;
    m_state = State::Gone;
    Q_EMIT closed(this);
}

void PushHttpConnection::checkTimeouts(qint64 now)
{
    if (m_state == State::Draining && now > m_drainUntilMs) {
        m_state = State::Closing;
        m_socket->disconnectFromHost();
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
