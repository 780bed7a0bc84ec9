// SPDX-License-Identifier: MIT
#include "pushhttpparser_p.h"

#include <algorithm>
#include <cctype>

namespace {

// RFC 9110 §5.6.2: token characters.
bool isTokenChar(char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
        return true;
    default:
        return false;
    }
}

bool isToken(QByteArrayView text)
{
    if (text.isEmpty())
        return false;
    for (char c : text) {
        if (!isTokenChar(c))
            return false;
    }
    return true;
}

bool isWhitespace(char c)
{
    return c == ' ' || c == '\t';
}

QByteArrayView trimmed(QByteArrayView text)
{
    while (!text.isEmpty() && isWhitespace(text.front()))
        text = text.sliced(1);
    while (!text.isEmpty() && isWhitespace(text.back()))
        text.chop(1);
    return text;
}

// The comma-separated tokens of a list header, trimmed and in lower case (RFC 9110 §5.6.1).
QList<QByteArray> listTokens(const QByteArray &value)
{
    QList<QByteArray> tokens;
    for (const QByteArray &part : value.split(',')) {
        const QByteArray token = trimmed(part).toByteArray().toLower();
        if (!token.isEmpty())
            tokens.append(token);
    }
    return tokens;
}

} // namespace

QByteArray PushHttpRequest::header(const QByteArrayView &lowerCaseName) const
{
    for (const auto &[name, value] : headers) {
        if (name == lowerCaseName)
            return value;
    }
    return {};
}

PushHttpParser::Status PushHttpParser::next(PushHttpRequest *request)
{
    Status status = Status::NeedMore;
    while (!m_refused) {
        const qsizetype pos = m_pos;
        const Stage stage = m_stage;
        status = m_stage == Stage::Head ? parseHead() : parseBody();
        if (status == Status::Request) {
            complete(request);
            break;
        }
        if (status == Status::Refused || (m_pos == pos && m_stage == stage))
            break; // refused, or nothing more to parse until more comes
    }
    if (m_refused)
        status = Status::Refused;
    compact();
    return status;
}

QByteArray PushHttpParser::takeUnparsed()
{
    QByteArray rest = m_buffer.sliced(m_pos);
    m_buffer = QByteArray();
    m_pos = 0;
    m_scanned = 0;
    m_requestLineChecked = false;
    return rest;
}

PushHttpParser::Status PushHttpParser::refuse(PushWire::Refusal refusal, const QString &message)
{
    m_refused = true;
    m_refusal = refusal;
    m_refusalMessage = message;
    m_buffer = QByteArray();
    m_pos = 0;
    return Status::Refused;
}

void PushHttpParser::complete(PushHttpRequest *request)
{
    *request = std::exchange(m_request, PushHttpRequest());
    m_stage = Stage::Head;
    m_scanned = 0;
    m_trailerBytes = 0;
}

void PushHttpParser::compact()
{
    if (m_pos == 0)
        return;
    if (m_pos >= m_buffer.size())
        m_buffer = QByteArray(); // an idle connection holds no buffer
    else
        m_buffer.remove(0, m_pos);
    m_pos = 0;
}

PushHttpParser::Status PushHttpParser::parseHead()
{
    // RFC 9112 §2.2: empty lines before the request line are ignored.
    if (m_scanned == 0) {
        while (unparsed() >= 2 && m_buffer[m_pos] == '\r' && m_buffer[m_pos + 1] == '\n')
            m_pos += 2;
    }
    // Find the empty line that ends the head, refusing a CR or an LF that is not part of a
    // CRLF on the way (RFC 9112 §2.2: a proxy may read a bare one as a line end, or not).
    const qsizetype end = std::min(m_buffer.size(), m_pos + maxHeaderBytes);
    qsizetype i = m_pos + m_scanned;
    qsizetype headEnd = -1;
    while (i < end) {
        const char c = m_buffer[i];
        if (c == '\n')
            return refuse(PushWire::Refusal::BadRequest,
                          QStringLiteral("a line ends in LF without CR"));
        if (c != '\r') {
            ++i;
            continue;
        }
        if (i + 1 >= m_buffer.size())
            break; // the LF has not come yet
        if (m_buffer[i + 1] != '\n')
            return refuse(PushWire::Refusal::BadRequest, QStringLiteral("a CR without LF"));
        if (i >= m_pos + 2 && m_buffer[i - 2] == '\r' && m_buffer[i - 1] == '\n') {
            headEnd = i + 2;
            break;
        }
        // A request line is judged once it is whole, not when the head is: a client that
        // sends no HTTP at all is refused at once instead of at the request timeout.
        if (!m_requestLineChecked) {
            m_requestLineChecked = true;
            if (!parseRequestLine(QByteArrayView(m_buffer.constData() + m_pos, i - m_pos)))
                return Status::Refused;
        }
        i += 2;
    }
    if (headEnd < 0) {
        m_scanned = i - m_pos;
        if (unparsed() >= maxHeaderBytes) {
            return refuse(
                    PushWire::Refusal::HeadersTooLarge,
                    QStringLiteral("request line and headers exceed %1 bytes").arg(maxHeaderBytes));
        }
        return Status::NeedMore;
    }
    if (headEnd - m_pos > maxHeaderBytes) {
        return refuse(
                PushWire::Refusal::HeadersTooLarge,
                QStringLiteral("request line and headers exceed %1 bytes").arg(maxHeaderBytes));
    }
    const QByteArrayView head(m_buffer.constData() + m_pos, headEnd - m_pos - 4);
    m_pos = headEnd;
    m_scanned = 0;
    m_requestLineChecked = false;
    qsizetype lineStart = 0;
    bool first = true;
    while (lineStart <= head.size()) {
        qsizetype lineEnd = head.indexOf(QByteArrayView("\r\n"), lineStart);
        if (lineEnd < 0)
            lineEnd = head.size();
        const QByteArrayView line = head.sliced(lineStart, lineEnd - lineStart);
        if (first ? !parseRequestLine(line) : !parseHeaderLine(line))
            return Status::Refused;
        first = false;
        lineStart = lineEnd + 2;
    }
    if (!finishHead())
        return Status::Refused;
    return m_stage == Stage::Body && m_bodyLeft == 0 ? Status::Request : Status::NeedMore;
}

bool PushHttpParser::parseRequestLine(QByteArrayView line)
{
    // RFC 9112 §3: method SP request-target SP HTTP-version, single spaces.
    const qsizetype space1 = line.indexOf(' ');
    const qsizetype space2 = space1 < 0 ? -1 : line.indexOf(' ', space1 + 1);
    if (space2 < 0 || line.indexOf(' ', space2 + 1) >= 0) {
        refuse(PushWire::Refusal::BadRequest, QStringLiteral("malformed request line"));
        return false;
    }
    const QByteArrayView method = line.first(space1);
    const QByteArrayView target = line.sliced(space1 + 1, space2 - space1 - 1);
    const QByteArrayView version = line.sliced(space2 + 1);
    if (!isToken(method) || method.size() > 32) {
        refuse(PushWire::Refusal::BadRequest, QStringLiteral("malformed request method"));
        return false;
    }
    if (version == "HTTP/1.1") {
        m_request.http11 = true;
    } else if (version != "HTTP/1.0") {
        refuse(PushWire::Refusal::BadRequest,
               QStringLiteral("this server speaks HTTP/1.1 and HTTP/1.0 only"));
        return false;
    }
    for (char c : target) {
        if (c <= ' ' || c >= 0x7f || c == '#') {
            refuse(PushWire::Refusal::BadRequest, QStringLiteral("malformed request target"));
            return false;
        }
    }
    // Origin form, or absolute form (RFC 9112 §3.2.2: a server must accept it).
    QByteArrayView pathAndQuery = target;
    const qsizetype schemeEnd = target.indexOf("://");
    if (!target.startsWith('/') && schemeEnd > 0) {
        const QByteArray scheme = target.first(schemeEnd).toByteArray().toLower();
        const qsizetype pathStart = target.indexOf('/', schemeEnd + 3);
        if ((scheme == "http" || scheme == "https") && pathStart > schemeEnd + 3)
            pathAndQuery = target.sliced(pathStart);
    }
    if (!pathAndQuery.startsWith('/')) {
        refuse(PushWire::Refusal::BadRequest, QStringLiteral("malformed request target"));
        return false;
    }
    const qsizetype question = pathAndQuery.indexOf('?');
    m_request.method = method.toByteArray();
    m_request.path = (question < 0 ? pathAndQuery : pathAndQuery.first(question)).toByteArray();
    if (question >= 0)
        m_request.query = pathAndQuery.sliced(question + 1).toByteArray();
    return true;
}

bool PushHttpParser::parseHeaderLine(QByteArrayView line)
{
    if (!line.isEmpty() && isWhitespace(line.front())) {
        // RFC 9112 §5.2: obs-fold is refused, since a proxy may join the lines or not.
        refuse(PushWire::Refusal::BadRequest, QStringLiteral("a header line is folded"));
        return false;
    }
    const qsizetype colon = line.indexOf(':');
    // RFC 9112 §5.1: no whitespace between the name and the colon.
    if (colon < 0 || !isToken(line.first(colon))) {
        refuse(PushWire::Refusal::BadRequest, QStringLiteral("malformed header line"));
        return false;
    }
    const QByteArrayView value = trimmed(line.sliced(colon + 1));
    for (char c : value) {
        const auto byte = quint8(c);
        if ((byte < 0x20 && c != '\t') || byte == 0x7f) {
            refuse(PushWire::Refusal::BadRequest,
                   QStringLiteral("a control character in a header value"));
            return false;
        }
    }
    if (m_request.headers.size() >= maxHeaders) {
        refuse(PushWire::Refusal::HeadersTooLarge,
               QStringLiteral("more than %1 headers").arg(maxHeaders));
        return false;
    }
    m_request.headers.append({line.first(colon).toByteArray().toLower(), value.toByteArray()});
    return true;
}

bool PushHttpParser::finishHead()
{
    int hosts = 0;
    int contentLengths = 0;
    QByteArray contentLength;
    QByteArray transferEncoding;
    QByteArray connection;
    bool hasTransferEncoding = false;
    for (const auto &[name, value] : std::as_const(m_request.headers)) {
        if (name == "host") {
            ++hosts;
        } else if (name == "content-length") {
            ++contentLengths;
            contentLength = value;
        } else if (name == "transfer-encoding") {
            hasTransferEncoding = true;
            transferEncoding.append(',').append(value);
        } else if (name == "connection") {
            connection.append(',').append(value);
        }
    }
    // RFC 9112 §3.2: a proxy may route by another Host than we read.
    if (hosts > 1) {
        refuse(PushWire::Refusal::BadRequest, QStringLiteral("more than one Host header"));
        return false;
    }
    // RFC 9112 §6.1-6.3: every framing a proxy could read another way is refused.
    if (hasTransferEncoding) {
        if (contentLengths > 0) {
            refuse(PushWire::Refusal::BadRequest,
                   QStringLiteral("both Content-Length and Transfer-Encoding"));
            return false;
        }
        if (!m_request.http11) {
            refuse(PushWire::Refusal::BadRequest,
                   QStringLiteral("Transfer-Encoding in an HTTP/1.0 request"));
            return false;
        }
        if (listTokens(transferEncoding) != QList<QByteArray>{QByteArrayLiteral("chunked")}) {
            refuse(PushWire::Refusal::BadRequest,
                   QStringLiteral("the only Transfer-Encoding taken is chunked"));
            return false;
        }
        m_stage = Stage::ChunkSize;
    } else {
        if (contentLengths > 1) {
            refuse(PushWire::Refusal::BadRequest,
                   QStringLiteral("more than one Content-Length header"));
            return false;
        }
        qint64 length = 0;
        if (contentLengths == 1) {
            bool digits = !contentLength.isEmpty() && contentLength.size() <= 18;
            for (char c : std::as_const(contentLength))
                digits = digits && c >= '0' && c <= '9';
            if (!digits) {
                refuse(PushWire::Refusal::BadRequest, QStringLiteral("malformed Content-Length"));
                return false;
            }
            length = contentLength.toLongLong();
        }
        // Refuse a declared oversize body before reading it (protocol.md: Limits).
        if (length > m_maxBodyBytes) {
            refuse(PushWire::Refusal::TooLarge,
                   QStringLiteral("body exceeds %1 bytes").arg(m_maxBodyBytes));
            return false;
        }
        m_bodyLeft = length;
        m_stage = Stage::Body;
    }
    const QList<QByteArray> options = listTokens(connection);
    m_request.upgrade = options.contains("upgrade") && !m_request.header("upgrade").isEmpty();
    m_request.keepAlive
            = !options.contains("close") && (m_request.http11 || options.contains("keep-alive"));
    return true;
}

int PushHttpParser::takeLine(qsizetype limit, PushWire::Refusal tooLong, const char *what,
                             QByteArrayView *line)
{
    const qsizetype end = std::min(m_buffer.size(), m_pos + limit);
    for (qsizetype i = m_pos; i < end; ++i) {
        const char c = m_buffer[i];
        if (c == '\n') {
            refuse(PushWire::Refusal::BadRequest, QStringLiteral("a line ends in LF without CR"));
            return -1;
        }
        if (c != '\r')
            continue;
        if (i + 1 >= m_buffer.size())
            return 0;
        if (m_buffer[i + 1] != '\n') {
            refuse(PushWire::Refusal::BadRequest, QStringLiteral("a CR without LF"));
            return -1;
        }
        *line = QByteArrayView(m_buffer.constData() + m_pos, i - m_pos);
        m_pos = i + 2;
        return 1;
    }
    if (unparsed() >= limit) {
        refuse(tooLong, QStringLiteral("%1 exceeds %2 bytes").arg(QLatin1String(what)).arg(limit));
        return -1;
    }
    return 0;
}

PushHttpParser::Status PushHttpParser::parseBody()
{
    switch (m_stage) {
    case Stage::Head:
        break;
    case Stage::Body:
    case Stage::ChunkData: {
        const qint64 take = std::min<qint64>(m_bodyLeft, unparsed());
        m_request.body.append(m_buffer.constData() + m_pos, qsizetype(take));
        m_pos += qsizetype(take);
        m_bodyLeft -= take;
        if (m_bodyLeft > 0)
            return Status::NeedMore;
        if (m_stage == Stage::Body)
            return Status::Request;
        m_stage = Stage::ChunkDataEnd;
        return Status::NeedMore;
    }
    case Stage::ChunkDataEnd:
        // RFC 9112 §7.1: chunk data is followed by CRLF and nothing else; a proxy that reads
        // the chunk's length otherwise would see another request here.
        if (unparsed() < 2)
            return Status::NeedMore;
        if (m_buffer[m_pos] != '\r' || m_buffer[m_pos + 1] != '\n')
            return refuse(PushWire::Refusal::BadRequest,
                          QStringLiteral("chunk data not followed by CRLF"));
        m_pos += 2;
        m_stage = Stage::ChunkSize;
        return Status::NeedMore;
    case Stage::ChunkSize: {
        QByteArrayView line;
        const int found = takeLine(maxChunkLineBytes, PushWire::Refusal::BadRequest,
                                   "a chunk-size line", &line);
        if (found <= 0)
            return found < 0 ? Status::Refused : Status::NeedMore;
        // chunk-size [ chunk-ext ]: hex digits, then extensions, which are ignored.
        qsizetype digits = 0;
        quint64 size = 0;
        while (digits < line.size() && std::isxdigit(quint8(line[digits]))) {
            if (digits == 15)
                return refuse(PushWire::Refusal::TooLarge,
                              QStringLiteral("body exceeds %1 bytes").arg(m_maxBodyBytes));
            const char c = line[digits];
            size = size * 16 + quint64(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
            ++digits;
        }
        QByteArrayView rest = line.sliced(digits);
        while (!rest.isEmpty() && isWhitespace(rest.front()))
            rest = rest.sliced(1);
        if (digits == 0 || (!rest.isEmpty() && rest.front() != ';'))
            return refuse(PushWire::Refusal::BadRequest, QStringLiteral("malformed chunk size"));
        for (char c : rest) {
            if ((quint8(c) < 0x20 && c != '\t') || quint8(c) == 0x7f)
                return refuse(PushWire::Refusal::BadRequest,
                              QStringLiteral("a control character in a chunk extension"));
        }
        if (size > quint64(m_maxBodyBytes - m_request.body.size()))
            return refuse(PushWire::Refusal::TooLarge,
                          QStringLiteral("body exceeds %1 bytes").arg(m_maxBodyBytes));
        m_bodyLeft = qint64(size);
        m_stage = size == 0 ? Stage::Trailers : Stage::ChunkData;
        return Status::NeedMore;
    }
    case Stage::Trailers: {
        // Trailer fields are read and dropped (RFC 9110 §6.5), within the header limit.
        QByteArrayView line;
        const int found = takeLine(maxHeaderBytes - m_trailerBytes,
                                   PushWire::Refusal::HeadersTooLarge, "trailer fields", &line);
        if (found <= 0)
            return found < 0 ? Status::Refused : Status::NeedMore;
        if (line.isEmpty())
            return Status::Request;
        m_trailerBytes += line.size() + 2;
        const qsizetype colon = line.indexOf(':');
        if (colon < 0 || !isToken(line.first(colon)))
            return refuse(PushWire::Refusal::BadRequest, QStringLiteral("malformed trailer"));
        return Status::NeedMore;
    }
    }
    return Status::NeedMore;
}
