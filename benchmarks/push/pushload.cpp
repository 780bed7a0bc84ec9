// SPDX-License-Identifier: MIT
// The load side of qtpush-bench-push. Test tooling, not product code: it trusts the server's
// framing (answers are checked for status, order and ids, not parsed as general JSON).

#include "pushload.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <memory>
#include <string_view>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

namespace pushbench {

int64_t nowNs()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

double cpuSeconds()
{
    rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

double processCpuSeconds(long pid)
{
    if (pid <= 0)
        return -1;
    std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    std::getline(file, stat);
    const std::size_t end = stat.rfind(')'); // the command name may contain spaces
    if (end == std::string::npos)
        return -1;
    char state;
    long skip, utime, stime;
    if (std::sscanf(stat.c_str() + end + 1, " %c %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld",
                    &state, &skip, &skip, &skip, &skip, &skip, &skip, &skip, &skip, &skip, &skip,
                    &utime, &stime)
        != 13)
        return -1;
    return double(utime + stime) / double(sysconf(_SC_CLK_TCK));
}

namespace {

constexpr char kWebSocketKey[] = "dGhlIHNhbXBsZSBub25jZQ=="; // RFC 6455 §1.3's sample
constexpr unsigned char kMask[4] = {0x37, 0xfa, 0x21, 0x3d};
constexpr int64_t kDrainNs = 10'000'000'000; // answers still missing after this are an error

int connectLoopback(uint16_t port, std::string *error)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *error = std::string("socket: ") + std::strerror(errno);
        return -1;
    }
    sockaddr_in address = {};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // Blocking connect: on loopback it completes at once, and setup is not measured.
    if (::connect(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0) {
        *error = std::string("connect: ") + std::strerror(errno);
        ::close(fd);
        return -1;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

std::string upgradeRequest(const std::string &session)
{
    return "GET /v1/sessions/" + session
            + "/clients/pusher/ws HTTP/1.1\r\n"
              "Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: "
            + kWebSocketKey + "\r\n\r\n";
}

// A masked client frame (RFC 6455 §5.2-3).
void appendFrame(std::string *out, unsigned char opcode, std::string_view payload)
{
    out->push_back(char(0x80 | opcode));
    if (payload.size() < 126) {
        out->push_back(char(0x80 | payload.size()));
    } else if (payload.size() < 65536) {
        out->push_back(char(0x80 | 126));
        out->push_back(char(payload.size() >> 8));
        out->push_back(char(payload.size() & 0xff));
    } else {
        out->push_back(char(0x80 | 127));
        for (int shift = 56; shift >= 0; shift -= 8)
            out->push_back(char((uint64_t(payload.size()) >> shift) & 0xff));
    }
    out->append(reinterpret_cast<const char *>(kMask), 4);
    for (std::size_t i = 0; i < payload.size(); ++i)
        out->push_back(char(payload[i] ^ kMask[i % 4]));
}

// A push's data: about `bytes` bytes of JSON, with no "type" key (control frames have one).
std::string payload(uint64_t seq, int bytes)
{
    char head[64];
    const int length = std::snprintf(head, sizeof head, "{\"seq\":%llu,\"pad\":\"",
                                     static_cast<unsigned long long>(seq));
    std::string data(head, std::size_t(length));
    data.append(std::size_t(std::max(1, bytes - length - 2)), 'x');
    data += "\"}";
    return data;
}

int64_t numberAfter(std::string_view text, std::string_view key)
{
    const std::size_t at = text.find(key);
    if (at == std::string_view::npos)
        return -1;
    return std::strtoll(std::string(text.substr(at + key.size(), 24)).c_str(), nullptr, 10);
}

// Parses one HTTP response head + Content-Length body at the start of `in`; 0 if incomplete,
// else the bytes it takes.
std::size_t httpResponse(std::string_view in, int *status, std::string_view *body)
{
    const std::size_t headEnd = in.find("\r\n\r\n");
    if (headEnd == std::string_view::npos)
        return 0;
    std::string head(in.substr(0, headEnd));
    std::transform(head.begin(), head.end(), head.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    *status = head.size() > 12 ? std::atoi(head.c_str() + 9) : 0;
    const int64_t length = numberAfter(head, "\r\ncontent-length:");
    const std::size_t total = headEnd + 4 + std::size_t(std::max<int64_t>(0, length));
    if (in.size() < total)
        return 0;
    *body = in.substr(headEnd + 4, total - headEnd - 4);
    return total;
}

struct Connection
{
    int fd = -1;
    std::string session;
    bool upgraded = false;
    std::string out;
    std::size_t outDone = 0;
    bool waitingToWrite = false;
    std::string in;
    std::size_t inDone = 0;
    std::deque<int64_t> sentAt; // one per push in flight, in order
    uint64_t seq = 0;
    int64_t lastId = 0;
    uint64_t answersInWindow = 0;
};

class Load
{
public:
    explicit Load(const LoadSpec &spec) : m_spec(spec) { }
    ~Load();
    LoadResult run();

private:
    bool setUp();
    void push(Connection &connection, int64_t at);
    void flush(Connection &connection);
    void receive(Connection &connection);
    void parseHttp(Connection &connection);
    void parseFrames(Connection &connection);
    void text(Connection &connection, std::string_view frame);
    void answered(Connection &connection, int64_t id, bool good);
    void fail(const std::string &why);

    const LoadSpec m_spec;
    int m_epoll = -1;
    int m_timer = -1;
    std::vector<std::unique_ptr<Connection>> m_connections;
    bool m_sending = false;
    int64_t m_windowStart = 0, m_windowEnd = 0;
    std::vector<int64_t> m_latencies;
    uint64_t m_answersInWindow = 0;
    LoadResult m_result;
};

Load::~Load()
{
    for (const auto &connection : m_connections) {
        if (connection->fd >= 0)
            ::close(connection->fd);
    }
    if (m_timer >= 0)
        ::close(m_timer);
    if (m_epoll >= 0)
        ::close(m_epoll);
}

void Load::fail(const std::string &why)
{
    if (m_result.error.empty())
        m_result.error = why;
    ++m_result.errors;
}

bool Load::setUp()
{
    m_epoll = ::epoll_create1(EPOLL_CLOEXEC);
    for (int i = 0; i < m_spec.connections; ++i) {
        auto connection = std::make_unique<Connection>();
        connection->session = m_spec.sessionPrefix + "-" + std::to_string(i);
        std::string error;
        connection->fd = connectLoopback(m_spec.port, &error);
        if (connection->fd < 0) {
            fail(error);
            return false;
        }
        ::fcntl(connection->fd, F_SETFL, ::fcntl(connection->fd, F_GETFL) | O_NONBLOCK);
        epoll_event event = {};
        event.events = EPOLLIN;
        event.data.ptr = connection.get();
        ::epoll_ctl(m_epoll, EPOLL_CTL_ADD, connection->fd, &event);
        connection->upgraded = m_spec.transport == Transport::Http;
        if (!connection->upgraded) {
            connection->out = upgradeRequest(connection->session);
            flush(*connection);
        }
        m_connections.push_back(std::move(connection));
    }
    // Every WebSocket upgrade is answered before the clock starts.
    const int64_t deadline = nowNs() + 10'000'000'000;
    epoll_event events[64];
    while (m_result.error.empty()) {
        if (std::all_of(m_connections.begin(), m_connections.end(),
                        [](const auto &connection) { return connection->upgraded; }))
            return true;
        if (nowNs() > deadline) {
            fail("WebSocket upgrades not answered within 10 s");
            return false;
        }
        const int count = ::epoll_wait(m_epoll, events, 64, 100);
        for (int i = 0; i < count; ++i)
            receive(*static_cast<Connection *>(events[i].data.ptr));
    }
    return false;
}

void Load::push(Connection &connection, int64_t at)
{
    const uint64_t seq = ++connection.seq;
    const std::string data = payload(seq, m_spec.payloadBytes);
    if (m_spec.transport == Transport::Http) {
        connection.out += "POST /v1/sessions/" + connection.session
                + "/push HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  "Content-Length: "
                + std::to_string(data.size()) + "\r\n\r\n" + data;
    } else {
        // "ref" is ignored by servers that do not ack, and names the ack where they do.
        appendFrame(&connection.out, 0x1,
                    "{\"op\":\"push\",\"ref\":" + std::to_string(seq) + ",\"data\":" + data + "}");
    }
    connection.sentAt.push_back(at);
    flush(connection);
}

void Load::flush(Connection &connection)
{
    while (connection.outDone < connection.out.size()) {
        const ssize_t written = ::send(connection.fd, connection.out.data() + connection.outDone,
                                       connection.out.size() - connection.outDone, MSG_NOSIGNAL);
        if (written < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                fail(std::string("send: ") + std::strerror(errno));
            break;
        }
        connection.outDone += std::size_t(written);
    }
    const bool pending = connection.outDone < connection.out.size();
    if (!pending) {
        connection.out.clear();
        connection.outDone = 0;
    }
    if (pending != connection.waitingToWrite) {
        connection.waitingToWrite = pending;
        epoll_event event = {};
        event.events = pending ? EPOLLIN | EPOLLOUT : EPOLLIN;
        event.data.ptr = &connection;
        ::epoll_ctl(m_epoll, EPOLL_CTL_MOD, connection.fd, &event);
    }
}

void Load::receive(Connection &connection)
{
    char buffer[65536];
    for (;;) {
        const ssize_t got = ::recv(connection.fd, buffer, sizeof buffer, 0);
        if (got > 0) {
            connection.in.append(buffer, std::size_t(got));
            continue;
        }
        if (got == 0)
            fail("the server closed a connection of " + connection.session);
        else if (errno == EINTR)
            continue;
        else if (errno != EAGAIN && errno != EWOULDBLOCK)
            fail(std::string("recv: ") + std::strerror(errno));
        break;
    }
    if (!connection.upgraded) {
        int status = 0;
        std::string_view body;
        const std::size_t used = httpResponse(connection.in, &status, &body);
        if (used == 0)
            return;
        if (status != 101) {
            fail("WebSocket upgrade answered " + std::to_string(status) + ": " + std::string(body));
            return;
        }
        connection.upgraded = true;
        connection.inDone = used;
    }
    if (m_spec.transport == Transport::Http)
        parseHttp(connection);
    else
        parseFrames(connection);
    if (connection.inDone == connection.in.size()) {
        connection.in.clear();
        connection.inDone = 0;
    } else if (connection.inDone > 65536) { // pipelined answers may always end mid-frame
        connection.in.erase(0, connection.inDone);
        connection.inDone = 0;
    }
}

void Load::parseHttp(Connection &connection)
{
    for (;;) {
        int status = 0;
        std::string_view body;
        const std::size_t used = httpResponse(
                std::string_view(connection.in).substr(connection.inDone), &status, &body);
        if (used == 0)
            return;
        connection.inDone += used;
        if (status != 200)
            fail("push answered " + std::to_string(status) + ": " + std::string(body));
        answered(connection, numberAfter(body, "\"id\":"), status == 200);
    }
}

void Load::parseFrames(Connection &connection)
{
    for (;;) {
        const std::string_view in = std::string_view(connection.in).substr(connection.inDone);
        if (in.size() < 2)
            return;
        const auto byte
                = [&](std::size_t i) { return uint64_t(static_cast<unsigned char>(in[i])); };
        uint64_t length = byte(1) & 0x7f;
        std::size_t head = 2;
        if (length == 126) {
            head = 4;
            if (in.size() < head)
                return;
            length = byte(2) << 8 | byte(3);
        } else if (length == 127) {
            head = 10;
            if (in.size() < head)
                return;
            length = 0;
            for (std::size_t i = 2; i < 10; ++i)
                length = length << 8 | byte(i);
        }
        if (byte(1) & 0x80)
            head += 4; // servers do not mask; skip a key if one does
        if (in.size() < head + length)
            return;
        const std::string_view frame = in.substr(head, length);
        connection.inDone += head + length;
        switch (byte(0) & 0x0f) {
        case 0x1:
            text(connection, frame);
            break;
        case 0x8:
            fail("the server closed the WebSocket of " + connection.session + ": "
                 + std::string(frame.size() > 2 ? frame.substr(2) : std::string_view()));
            return;
        case 0x9: {
            const std::string body(frame); // appendFrame may grow connection.out, not in
            appendFrame(&connection.out, 0xa, body);
            flush(connection);
            break;
        }
        default:
            break; // pongs, fragments (the server sends none)
        }
    }
}

void Load::text(Connection &connection, std::string_view frame)
{
    if (frame.find("\"type\":\"ack\"") != std::string_view::npos) {
        if (frame.find("\"error\":") != std::string_view::npos)
            fail("push refused: " + std::string(frame)); // {"error":...,"ref":R,"type":"ack"}
        else if (m_spec.wsAnswer == WsAnswer::Ack)
            answered(connection, numberAfter(frame, "\"id\":"), true);
    } else if (frame.rfind("{\"error\"", 0) == 0) {
        fail("error frame: " + std::string(frame));
    } else if (frame.find("\"type\":\"gap\"") != std::string_view::npos) {
        fail("a gap frame (messages were dropped): " + std::string(frame));
    } else if (frame.find("\"type\":") != std::string_view::npos) {
        // other control frames (hello on connect) are no answer to a push
    } else if (m_spec.wsAnswer == WsAnswer::Echo) {
        answered(connection, numberAfter(frame, "\"id\":"), true);
    }
}

void Load::answered(Connection &connection, int64_t id, bool good)
{
    if (connection.sentAt.empty()) {
        fail("an answer without a push in flight on " + connection.session);
        return;
    }
    const int64_t sent = connection.sentAt.front();
    connection.sentAt.pop_front();
    const int64_t now = nowNs();
    if (good && id <= connection.lastId)
        fail("message id " + std::to_string(id) + " after " + std::to_string(connection.lastId)
             + " in " + connection.session);
    connection.lastId = std::max(connection.lastId, id);
    // Closed loop: what was answered inside the window. Open loop: what was due inside it.
    const int64_t when = m_spec.rate > 0 ? sent : now;
    if (when >= m_windowStart && when < m_windowEnd) {
        ++m_answersInWindow;
        ++connection.answersInWindow;
        m_latencies.push_back(now - sent);
    }
    if (m_spec.rate <= 0 && m_sending)
        push(connection, now);
}

LoadResult Load::run()
{
    if (!setUp())
        return m_result;
    const bool open = m_spec.rate > 0;
    const int64_t interval = open ? int64_t(1e9 / m_spec.rate) : 0;
    const int64_t start = nowNs();
    m_windowStart = start + int64_t(m_spec.warmupSeconds * 1e9);
    m_windowEnd = m_windowStart + int64_t(m_spec.seconds * 1e9);
    m_sending = true;
    uint64_t scheduled = 0;
    if (open) {
        m_timer = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        itimerspec spec = {};
        spec.it_value = {time_t(start / 1000000000), long(start % 1000000000)};
        spec.it_interval = {time_t(interval / 1000000000), long(interval % 1000000000)};
        ::timerfd_settime(m_timer, TFD_TIMER_ABSTIME, &spec, nullptr);
        epoll_event event = {};
        event.events = EPOLLIN;
        event.data.ptr = nullptr;
        ::epoll_ctl(m_epoll, EPOLL_CTL_ADD, m_timer, &event);
    } else {
        for (const auto &connection : m_connections)
            push(*connection, start);
    }

    double cpuStart = 0, serverCpuStart = 0, cpuEnd = 0, serverCpuEnd = 0;
    int64_t cpuStartAt = 0, cpuEndAt = 0;
    epoll_event events[256];
    while (m_result.error.empty()) {
        const int64_t now = nowNs();
        if (!cpuStartAt && now >= m_windowStart) {
            cpuStartAt = now;
            cpuStart = cpuSeconds();
            serverCpuStart = processCpuSeconds(m_spec.serverPid);
        }
        if (!cpuEndAt && now >= m_windowEnd) {
            cpuEndAt = now;
            cpuEnd = cpuSeconds();
            serverCpuEnd = processCpuSeconds(m_spec.serverPid);
            m_sending = false;
        }
        while (open && m_sending) {
            const int64_t due = start + int64_t(scheduled) * interval;
            if (due >= m_windowEnd) {
                m_sending = false;
                break;
            }
            if (due > now)
                break;
            push(*m_connections[scheduled % m_connections.size()], due);
            ++scheduled;
        }
        if (!m_sending) {
            if (std::all_of(m_connections.begin(), m_connections.end(),
                            [](const auto &connection) { return connection->sentAt.empty(); })
                && cpuEndAt)
                break;
            if (now > m_windowEnd + kDrainNs) {
                fail("pushes still unanswered 10 s after the window");
                break;
            }
        }
        const int count = ::epoll_wait(m_epoll, events, 256, 5);
        for (int i = 0; i < count; ++i) {
            auto *connection = static_cast<Connection *>(events[i].data.ptr);
            if (!connection) {
                uint64_t expirations;
                [[maybe_unused]] const ssize_t got
                        = ::read(m_timer, &expirations, sizeof expirations);
                continue;
            }
            if (events[i].events & EPOLLOUT)
                flush(*connection);
            if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
                receive(*connection);
        }
    }
    if (!m_result.error.empty())
        return m_result;

    m_result.seconds = double(m_windowEnd - m_windowStart) / 1e9;
    m_result.pushes = m_answersInWindow;
    m_result.pushesPerSecond = double(m_answersInWindow) / m_result.seconds;
    std::sort(m_latencies.begin(), m_latencies.end());
    const auto percentile = [this](double p) {
        if (m_latencies.empty())
            return 0.0;
        const std::size_t rank = std::size_t(std::ceil(p * double(m_latencies.size())));
        return double(m_latencies[std::clamp<std::size_t>(rank, 1, m_latencies.size()) - 1]) / 1e6;
    };
    const auto [fewest, most] = std::minmax_element(
            m_connections.begin(), m_connections.end(),
            [](const auto &a, const auto &b) { return a->answersInWindow < b->answersInWindow; });
    m_result.fewestOnAConnection = (*fewest)->answersInWindow;
    m_result.mostOnAConnection = (*most)->answersInWindow;
    m_result.p50Ms = percentile(0.50);
    m_result.p99Ms = percentile(0.99);
    m_result.maxMs = percentile(1.0);
    const double wall = double(cpuEndAt - cpuStartAt) / 1e9;
    m_result.generatorCpu = wall > 0 ? (cpuEnd - cpuStart) / wall : 0;
    m_result.serverCpu = wall > 0 && serverCpuStart >= 0 && serverCpuEnd >= 0
            ? (serverCpuEnd - serverCpuStart) / wall
            : -1;
    m_result.ok = m_answersInWindow > 0;
    if (!m_result.ok)
        m_result.error = "no push answered inside the window";
    return m_result;
}

} // namespace

LoadResult runLoad(const LoadSpec &spec)
{
    Load load(spec);
    return load.run();
}

bool serverAcksWebSocketPushes(uint16_t port, const std::string &session, int graceMs,
                               std::string *error)
{
    std::string connectError;
    const int fd = connectLoopback(port, &connectError);
    if (fd < 0) {
        *error = connectError;
        return false;
    }
    timeval timeout = {0, graceMs * 1000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    std::string out = upgradeRequest(session + "-0");
    appendFrame(&out, 0x1, "{\"op\":\"push\",\"ref\":1,\"data\":" + payload(1, 100) + "}");
    ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
    std::string in;
    char buffer[4096];
    bool ack = false;
    // The echo comes first or after the ack; once it is here, an ack gets graceMs more.
    const int64_t deadline = nowNs() + 10'000'000'000;
    for (;;) {
        const ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
        if (got > 0)
            in.append(buffer, std::size_t(got));
        if (in.find("\"type\":\"ack\"") != std::string::npos) {
            ack = true;
            break;
        }
        const bool echoed = in.find("\"id\":") != std::string::npos; // a message frame
        if (got == 0 || (got < 0 && (echoed || nowNs() > deadline)))
            break;
    }
    ::close(fd);
    if (in.rfind("HTTP/1.1 101", 0) != 0) {
        *error = "WebSocket upgrade refused: " + in.substr(0, 200);
        return false;
    }
    return ack;
}

} // namespace pushbench
