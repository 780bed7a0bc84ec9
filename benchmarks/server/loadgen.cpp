// SPDX-License-Identifier: MIT
// qtpush-bench-loadgen: the load generator of benchmarks/server (docs/benchmarks.md (Server)).
//
// It speaks the receiving and pushing parts of protocol.md to any server on loopback, so that
// qtpush-server and the comparison servers (node/, websocketpp/) are measured by one client:
//
//   fanout  N WebSocket subscribers and one WebSocket publisher in one session; deliveries per
//           second and latency from push to receipt.
//   sse     the same with N Server-Sent Events subscribers.
//   poll    the same with N long-poll subscribers (HTTP/1.1 keep-alive, re-polling at once).
//   idle    N idle WebSocket connections; the server's resident memory per connection.
//   idlesse the same with N idle Server-Sent Events streams.
//
// It shares the machine's cores with the server, so it is one thread on epoll with non-blocking
// sockets and a WebSocket client of its own that parses frames in place, without copying them.
// That is test tooling, not product code: it trusts the server's frames more than a real client
// should.
//
// Every message carries its publisher sequence number and a CLOCK_MONOTONIC send time in its
// data. Each receiver checks that sequence numbers arrive once and in order and that message ids
// increase, so loss, duplicates and reordering are counted, not assumed away. The publisher keeps
// at most --window messages ahead of the slowest receiver: a server is measured at the rate it
// sustains, never by how much it can buffer.
//
// Output: progress on stderr; one line per measurement on stdout, `result mode=... key=value ...`.
// The exit code is 1 when a check failed (loss, duplicates, errors), 2 on bad usage.

#include <algorithm>
#include <array>
#include <cerrno>
#include <cctype>
#include <cinttypes>
#include <cmath>
#include <csignal>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24 // linux/in.h; glibc's netinet/in.h lacks it
#endif

namespace {

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

// utime + stime of another process, from /proc/PID/stat (proc(5)); negative if unreadable.
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
    if (std::sscanf(stat.c_str() + end + 1,
                    " %c %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld", &state, &skip, &skip,
                    &skip, &skip, &skip, &skip, &skip, &skip, &skip, &skip, &utime, &stime)
        != 13)
        return -1;
    return double(utime + stime) / double(sysconf(_SC_CLK_TCK));
}

// Busy and stolen CPU time of the whole machine, in seconds summed over its CPUs (proc(5),
// /proc/stat): busy minus the server's and our own share is what other processes took.
struct MachineCpu
{
    double busy = -1;
    double steal = -1;
};

MachineCpu machineCpu()
{
    std::ifstream file("/proc/stat");
    std::string cpu;
    unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0,
                       softirq = 0, steal = 0;
    if (!(file >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal)
        || cpu != "cpu")
        return {};
    const double tick = double(sysconf(_SC_CLK_TCK));
    return {double(user + nice + system + irq + softirq) / tick, double(steal) / tick};
}

// VmRSS of a process in KiB, from /proc/PID/status; -1 if unreadable.
long rssKib(long pid)
{
    std::ifstream file("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(file, line)) {
        if (line.rfind("VmRSS:", 0) == 0)
            return std::strtol(line.c_str() + 6, nullptr, 10);
    }
    return -1;
}

void progress(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    std::fputs("loadgen: ", stderr);
    std::vfprintf(stderr, format, args);
    std::fputc('\n', stderr);
    va_end(args);
}

// Latencies in nanoseconds, in log-linear buckets: exact below 128 ns, then 64 buckets per
// power of two (at most 1.6% off), as HdrHistogram does with two significant digits.
class Histogram
{
public:
    void add(int64_t value)
    {
        const uint64_t v = value < 0 ? 0 : uint64_t(value);
        const int msb = v ? 63 - __builtin_clzll(v) : 0;
        const int shift = std::max(0, msb - 6);
        const std::size_t index = std::size_t(64 * shift) + std::size_t(v >> shift);
        if (index >= m_buckets.size())
            m_buckets.resize(index + 1);
        ++m_buckets[index];
        ++m_count;
    }
    uint64_t count() const { return m_count; }
    // The value below which a fraction q of the samples lie (bucket midpoint).
    double quantile(double q) const
    {
        if (m_count == 0)
            return 0;
        const uint64_t rank = std::max<uint64_t>(1, uint64_t(std::ceil(q * double(m_count))));
        uint64_t seen = 0;
        for (std::size_t i = 0; i < m_buckets.size(); ++i) {
            seen += m_buckets[i];
            if (seen >= rank) {
                const int shift = i < 128 ? 0 : int(i / 64) - 1;
                const uint64_t low = uint64_t(i - std::size_t(64 * shift)) << shift;
                return double(low) + double((uint64_t(1) << shift) - 1) / 2;
            }
        }
        return 0;
    }

private:
    std::vector<uint64_t> m_buckets;
    uint64_t m_count = 0;
};

struct Options
{
    std::string mode;
    std::string host = "127.0.0.1";
    int port = 0;
    std::string serverName = "unknown";
    long serverPid = 0;
    int clients = -1; // by mode
    double duration = 5;
    double warmup = 1;
    long messages = 0; // > 0: publish exactly this many instead of running for --duration
    int window = 64;
    double rate = 0; // messages per second; 0: as fast as the window allows
    int payload = 100;
    int sourceAddresses = 8;
    int connectConcurrency = 256;
    double connectTimeout = 60;
    double settleTimeout = 20;
    int wait = 30;
    std::string session = "bench";
    std::string push = "ws";
};

[[noreturn]] void usage(const char *message = nullptr)
{
    if (message)
        std::fprintf(stderr, "qtpush-bench-loadgen: %s\n", message);
    std::fputs(
            "usage: qtpush-bench-loadgen MODE --port N [options]\n"
            "modes: fanout | sse | poll | idle | idlesse\n"
            "  --host ADDR            server address on loopback [127.0.0.1]\n"
            "  --port N               server port (required)\n"
            "  --server NAME          label for the result line [unknown]\n"
            "  --server-pid PID       server process: CPU use, and RSS for idle (required there)\n"
            "  --clients N            subscribers, or idle connections [1000; idle 10000]\n"
            "  --duration S           measured seconds [5]\n"
            "  --warmup S             unmeasured seconds of load first [1]\n"
            "  --messages M           publish M messages and time them all, instead of --duration\n"
            "  --window W             messages the publisher may be ahead of the slowest receiver [64]\n"
            "  --rate R               messages per second at most; 0 = as the window allows [0]\n"
            "  --payload B            bytes of message data [100]\n"
            "  --push ws|http         publish with WebSocket frames or POST .../push [ws]\n"
            "  --source-addresses K   spread connections over 127.0.0.1..127.0.0.K [8]\n"
            "  --connect-concurrency C  handshakes in flight at once [256]\n"
            "  --session S            session id [bench]\n"
            "  --wait S               long-poll wait= seconds [30]\n",
            stderr);
    std::exit(2);
}

Options parseOptions(int argc, char *argv[])
{
    Options o;
    if (argc < 2 || argv[1][0] == '-')
        usage(argc >= 2 && std::strcmp(argv[1], "--help") == 0 ? nullptr : "no mode given");
    o.mode = argv[1];
    if (o.mode != "fanout" && o.mode != "sse" && o.mode != "poll" && o.mode != "idle"
        && o.mode != "idlesse")
        usage(("unknown mode " + o.mode).c_str());
    for (int i = 2; i < argc; ++i) {
        std::string name = argv[i];
        std::string value;
        const std::size_t equals = name.find('=');
        if (equals != std::string::npos) {
            value = name.substr(equals + 1);
            name.resize(equals);
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            usage(("missing value for " + name).c_str());
        }
        auto number = [&](double min, double max) {
            char *end = nullptr;
            const double v = std::strtod(value.c_str(), &end);
            if (value.empty() || *end || v < min || v > max)
                usage((name + " must be a number from " + std::to_string(min) + " to "
                       + std::to_string(max))
                              .c_str());
            return v;
        };
        if (name == "--host")
            o.host = value;
        else if (name == "--port")
            o.port = int(number(1, 65535));
        else if (name == "--server")
            o.serverName = value;
        else if (name == "--server-pid")
            o.serverPid = long(number(1, 1e9));
        else if (name == "--clients")
            o.clients = int(number(1, 1e6));
        else if (name == "--duration")
            o.duration = number(0.1, 3600);
        else if (name == "--warmup")
            o.warmup = number(0, 3600);
        else if (name == "--messages")
            o.messages = long(number(1, 1e12));
        else if (name == "--window")
            o.window = int(number(1, 1 << 20));
        else if (name == "--rate")
            o.rate = number(0, 1e9);
        else if (name == "--payload")
            o.payload = int(number(40, 60000));
        else if (name == "--push")
            o.push = value;
        else if (name == "--source-addresses")
            o.sourceAddresses = int(number(1, 254));
        else if (name == "--connect-concurrency")
            o.connectConcurrency = int(number(1, 100000));
        else if (name == "--session")
            o.session = value;
        else if (name == "--wait")
            o.wait = int(number(0, 60));
        else
            usage(("unknown option " + name).c_str());
    }
    if (o.port == 0)
        usage("--port is required");
    if (o.push != "ws" && o.push != "http")
        usage("--push must be ws or http");
    if (o.clients < 0)
        o.clients = o.mode == "idle" || o.mode == "idlesse" ? 10000 : 1000;
    if ((o.mode == "idle" || o.mode == "idlesse") && o.serverPid == 0)
        usage("idle needs --server-pid");
    for (const char c : o.session) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_')
            usage("--session: letters, digits, - and _ only (it goes into paths unencoded)");
    }
    return o;
}

enum class Transport { WebSocket, EventStream, LongPoll, HttpPush };

// One TCP connection: a receiver (WebSocket, SSE or long-poll client) or the publisher.
struct Connection
{
    int fd = -1;
    Transport transport = Transport::WebSocket;
    bool subscriber = false; // its deliveries are counted (the publisher's own are not)
    bool receiver = false; // it gets the session's messages and the window waits for it
    bool connected = false; // TCP connect finished
    bool ready = false; // handshake done (WebSocket), response started (SSE), request sent (poll)
    bool closed = false;
    bool writeWatched = false;
    int sourceIndex = 0;
    unsigned generation = 0; // bumped by every (re)connect: bytes of an older one are stale
    std::string path;
    std::string in; // bytes not yet parsed
    std::string out; // bytes not yet written
    std::string fragment; // a fragmented WebSocket message (RFC 6455 §5.4)

    // HTTP response state (SSE, long-poll, HTTP push)
    bool inHeaders = true;
    int status = 0;
    bool chunked = false;
    bool closeAfter = false;
    int64_t contentLength = -1;
    int64_t chunkLeft = -1; // > 0: bytes of chunk data to come; else one of s_chunk*
    bool requestOpen = false; // a long-poll or push request awaits its reply
    std::string body;

    // receiving checks
    bool started = false;
    int64_t lastSeq = -1;
    uint64_t lastId = 0;
    uint64_t messages = 0;
};

// RFC 6455 §4.1 wants a random key per connection; a fixed one is fine for a benchmark, and
// lets us check Sec-WebSocket-Accept without SHA-1. This pair is RFC 6455's own example (§1.3).
constexpr std::string_view s_wsKey = "dGhlIHNhbXBsZSBub25jZQ==";
constexpr std::string_view s_wsAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

// Connection::chunkLeft when no chunk data is due: what comes next in a chunked body.
constexpr int64_t s_chunkSizeLine = -1;
constexpr int64_t s_chunkDataEnd = -2; // CRLF after chunk data
constexpr int64_t s_chunkLastEnd = -3; // CRLF after the last (zero-size) chunk

constexpr int s_seqDigits = 12;
constexpr int s_timeDigits = 20;

bool caseInsensitiveStartsWith(std::string_view text, std::string_view prefix)
{
    if (text.size() < prefix.size())
        return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(text[i]))
            != std::tolower(static_cast<unsigned char>(prefix[i])))
            return false;
    }
    return true;
}

const char *find(const char *begin, const char *end, std::string_view needle)
{
    if (begin >= end)
        return nullptr;
    return static_cast<const char *>(
            memmem(begin, std::size_t(end - begin), needle.data(), needle.size()));
}

bool parseUnsigned(const char *&p, const char *end, uint64_t &value)
{
    while (p < end && *p == ' ')
        ++p;
    const char *start = p;
    value = 0;
    while (p < end && *p >= '0' && *p <= '9')
        value = value * 10 + uint64_t(*p++ - '0');
    return p > start;
}

class LoadGenerator
{
public:
    explicit LoadGenerator(const Options &options) : m_o(options)
    {
        m_epoll = epoll_create1(EPOLL_CLOEXEC);
        if (m_epoll < 0) {
            std::perror("epoll_create1");
            std::exit(1);
        }
        m_readBuffer.resize(256 * 1024);
        m_hostHeader = m_o.host + ":" + std::to_string(m_o.port);
        m_serverAddress.sin_family = AF_INET;
        m_serverAddress.sin_port = htons(uint16_t(m_o.port));
        if (inet_pton(AF_INET, m_o.host.c_str(), &m_serverAddress.sin_addr) != 1
            || (ntohl(m_serverAddress.sin_addr.s_addr) >> 24) != 127)
            usage("--host must be an IPv4 loopback address (127.0.0.0/8)");
    }

    int run()
    {
        if (m_o.mode == "idle" || m_o.mode == "idlesse")
            return runIdle();
        return runStream();
    }

private:
    // ---- connections ----

    int addConnection(Transport transport, std::string path, bool receiver, bool subscriber)
    {
        Connection c;
        c.transport = transport;
        c.path = std::move(path);
        c.receiver = receiver;
        c.subscriber = subscriber;
        c.sourceIndex = int(m_connections.size()) % m_o.sourceAddresses;
        m_connections.push_back(std::move(c));
        return int(m_connections.size()) - 1;
    }

    // Starts (or restarts, after the server closed a keep-alive connection) the TCP connect.
    bool connect(int index)
    {
        Connection &c = m_connections[std::size_t(index)];
        c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c.fd < 0) {
            fail("socket: %s", std::strerror(errno));
            return false;
        }
        const int one = 1;
        setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        // Spread over source addresses, and let connect() pick the port per 4-tuple
        // (IP_BIND_ADDRESS_NO_PORT), so ~19,000 connections fit the ephemeral port range
        // however many TIME_WAIT sockets earlier runs left behind.
        setsockopt(c.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        sockaddr_in source = {};
        source.sin_family = AF_INET;
        source.sin_addr.s_addr = htonl((127u << 24) | uint32_t(1 + c.sourceIndex));
        if (bind(c.fd, reinterpret_cast<sockaddr *>(&source), sizeof source) != 0) {
            fail("bind to 127.0.0.%d: %s", 1 + c.sourceIndex, std::strerror(errno));
            return false;
        }
        if (::connect(c.fd, reinterpret_cast<const sockaddr *>(&m_serverAddress),
                      sizeof m_serverAddress)
                    != 0
            && errno != EINPROGRESS) {
            fail("connect: %s", std::strerror(errno));
            return false;
        }
        epoll_event event = {};
        event.events = EPOLLIN | EPOLLOUT;
        event.data.u32 = uint32_t(index);
        epoll_ctl(m_epoll, EPOLL_CTL_ADD, c.fd, &event);
        c.writeWatched = true;
        ++c.generation;
        c.connected = false;
        c.closed = false;
        c.in.clear();
        c.out.clear();
        resetResponse(c);
        ++m_connecting;
        return true;
    }

    void closeConnection(Connection &c)
    {
        if (c.fd >= 0) {
            epoll_ctl(m_epoll, EPOLL_CTL_DEL, c.fd, nullptr);
            ::close(c.fd);
            c.fd = -1;
        }
        if (!c.ready && !c.closed)
            --m_connecting;
        c.closed = true;
    }

    void onConnected(int index)
    {
        Connection &c = m_connections[std::size_t(index)];
        int error = 0;
        socklen_t length = sizeof error;
        getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &error, &length);
        if (error != 0) {
            fail("connect to %s: %s", m_hostHeader.c_str(), std::strerror(error));
            return;
        }
        c.connected = true;
        switch (c.transport) {
        case Transport::WebSocket:
            c.out += "GET " + c.path + " HTTP/1.1\r\nHost: " + m_hostHeader
                    + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
                    + std::string(s_wsKey) + "\r\nSec-WebSocket-Version: 13\r\n\r\n";
            break;
        case Transport::EventStream:
            c.out += "GET " + c.path + " HTTP/1.1\r\nHost: " + m_hostHeader
                    + "\r\nAccept: text/event-stream\r\n\r\n";
            break;
        case Transport::LongPoll:
            sendPoll(c);
            // A long-poll client is ready once its first request is out: only the probe
            // messages (see runStream) tell when the server has taken it in.
            markReady(c);
            break;
        case Transport::HttpPush:
            markReady(c);
            break;
        }
        flush(index);
    }

    void markReady(Connection &c)
    {
        if (c.ready)
            return;
        c.ready = true;
        --m_connecting;
        ++m_ready;
    }

    void watchWrite(int index, bool watch)
    {
        Connection &c = m_connections[std::size_t(index)];
        if (c.writeWatched == watch || c.fd < 0)
            return;
        epoll_event event = {};
        event.events = EPOLLIN | (watch ? EPOLLOUT : 0u);
        event.data.u32 = uint32_t(index);
        epoll_ctl(m_epoll, EPOLL_CTL_MOD, c.fd, &event);
        c.writeWatched = watch;
    }

    void flush(int index)
    {
        Connection &c = m_connections[std::size_t(index)];
        while (!c.out.empty() && c.fd >= 0) {
            const ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    break;
                if (errno == EINTR)
                    continue;
                lostConnection(index, std::strerror(errno));
                return;
            }
            c.out.erase(0, std::size_t(n));
        }
        watchWrite(index, !c.out.empty());
    }

    void lostConnection(int index, const char *why)
    {
        Connection &c = m_connections[std::size_t(index)];
        const bool expected = m_closing;
        closeConnection(c);
        if (!expected) {
            ++m_closedByServer;
            if (m_closedByServer <= 5)
                progress("connection %d (%s) lost: %s", index, c.path.c_str(), why);
        }
    }

    // ---- the event loop ----

    // Waits up to timeoutMs for events and handles them.
    void pump(int timeoutMs)
    {
        std::array<epoll_event, 512> events;
        const int count = epoll_wait(m_epoll, events.data(), int(events.size()), timeoutMs);
        if (count < 0 && errno != EINTR) {
            fail("epoll_wait: %s", std::strerror(errno));
            return;
        }
        const int64_t now = nowNs();
        for (int i = 0; i < count; ++i) {
            const int index = int(events[std::size_t(i)].data.u32);
            Connection &c = m_connections[std::size_t(index)];
            if (c.fd < 0)
                continue;
            const uint32_t flags = events[std::size_t(i)].events;
            if (!c.connected) {
                if (flags & (EPOLLOUT | EPOLLERR | EPOLLHUP))
                    onConnected(index);
                continue;
            }
            if (flags & (EPOLLIN | EPOLLERR | EPOLLHUP))
                readFrom(index, now);
            if ((flags & EPOLLOUT) && c.fd >= 0)
                flush(index);
        }
    }

    void readFrom(int index, int64_t now)
    {
        for (;;) {
            Connection &c = m_connections[std::size_t(index)];
            if (c.fd < 0)
                return;
            const ssize_t n = ::recv(c.fd, m_readBuffer.data(), m_readBuffer.size(), 0);
            if (n == 0) {
                // A long-poll or push connection the server closed after its reply: reconnect.
                if ((c.transport == Transport::LongPoll || c.transport == Transport::HttpPush)
                    && !c.requestOpen && !m_closing) {
                    closeConnection(c);
                    reconnect(index);
                    return;
                }
                lostConnection(index, "closed by the server");
                return;
            }
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                if (errno != EAGAIN && errno != EWOULDBLOCK)
                    lostConnection(index, std::strerror(errno));
                return;
            }
            // Parse in place when nothing is left over from the last read (the common case).
            const char *data = m_readBuffer.data();
            std::size_t size = std::size_t(n);
            if (!c.in.empty()) {
                c.in.append(data, size);
                data = c.in.data();
                size = c.in.size();
            }
            const unsigned generation = c.generation;
            const std::size_t used = consume(index, data, size, now);
            Connection &after = m_connections[std::size_t(index)];
            if (after.fd < 0 || after.generation != generation)
                return; // closed, or reconnected: what is left belonged to the old connection
            if (data == after.in.data())
                after.in.erase(0, used);
            else
                after.in.assign(data + used, size - used);
            if (std::size_t(n) < m_readBuffer.size())
                return; // drained; level-triggered epoll reports more
        }
    }

    void reconnect(int index)
    {
        Connection &c = m_connections[std::size_t(index)];
        const bool wasReady = c.ready;
        if (wasReady) {
            c.ready = false;
            --m_ready;
        }
        ++m_reconnects;
        if (connect(index) && wasReady && c.transport == Transport::HttpPush) {
            // nothing else: the next push goes out once the connect finishes
        }
    }

    // Returns how many bytes of data were used.
    std::size_t consume(int index, const char *data, std::size_t size, int64_t now)
    {
        Connection &c = m_connections[std::size_t(index)];
        if (c.transport == Transport::WebSocket)
            return c.ready ? consumeFrames(index, data, size, now)
                           : consumeUpgrade(index, data, size, now);
        return consumeHttp(index, data, size, now);
    }

    std::size_t consumeUpgrade(int index, const char *data, std::size_t size, int64_t now)
    {
        Connection &c = m_connections[std::size_t(index)];
        const char *end = find(data, data + size, "\r\n\r\n");
        if (!end) {
            if (size > 16384)
                lostConnection(index, "upgrade reply too long");
            return 0;
        }
        const std::string_view head(data, std::size_t(end - data));
        if (head.substr(0, 12) != "HTTP/1.1 101" || head.find(s_wsAccept) == std::string::npos) {
            ++m_protocolErrors;
            if (m_protocolErrors <= 5)
                progress("upgrade refused on %s: %.*s", c.path.c_str(),
                         int(std::min<std::size_t>(head.size(), 200)), head.data());
            lostConnection(index, "upgrade refused");
            return size;
        }
        markReady(c);
        const std::size_t headerSize = std::size_t(end - data) + 4;
        return headerSize + consumeFrames(index, data + headerSize, size - headerSize, now);
    }

    // RFC 6455 §5.2: server frames are unmasked.
    std::size_t consumeFrames(int index, const char *data, std::size_t size, int64_t now)
    {
        std::size_t used = 0;
        while (size - used >= 2) {
            const auto *p = reinterpret_cast<const unsigned char *>(data + used);
            const std::size_t available = size - used;
            const bool fin = p[0] & 0x80;
            const int opcode = p[0] & 0x0f;
            uint64_t length = p[1] & 0x7f;
            std::size_t header = 2;
            if (length == 126) {
                if (available < 4)
                    break;
                length = (uint64_t(p[2]) << 8) | p[3];
                header = 4;
            } else if (length == 127) {
                if (available < 10)
                    break;
                length = 0;
                for (int i = 0; i < 8; ++i)
                    length = (length << 8) | p[2 + i];
                header = 10;
            }
            if (p[1] & 0x80) {
                ++m_protocolErrors; // a masked server frame (§5.1)
                lostConnection(index, "masked frame from the server");
                return size;
            }
            if (available < header + length)
                break;
            const char *payload = data + used + header;
            used += header + std::size_t(length);
            Connection &c = m_connections[std::size_t(index)];
            switch (opcode) {
            case 0x0: // continuation
                c.fragment.append(payload, std::size_t(length));
                if (fin) {
                    const std::string message = std::move(c.fragment);
                    c.fragment.clear();
                    onMessage(c, message.data(), message.size(), now);
                }
                break;
            case 0x1: // text
                if (fin)
                    onMessage(c, payload, std::size_t(length), now);
                else
                    c.fragment.assign(payload, std::size_t(length));
                break;
            case 0x8: // close
                lostConnection(index, "close frame from the server");
                return size;
            case 0x9: // ping: answer with a pong carrying the same data (§5.5.2)
                appendFrame(c.out, 0xA, payload, std::size_t(length));
                flush(index);
                break;
            case 0xA: // pong
                break;
            default:
                ++m_protocolErrors;
                break;
            }
            if (m_connections[std::size_t(index)].fd < 0)
                return size;
        }
        return used;
    }

    void resetResponse(Connection &c)
    {
        c.inHeaders = true;
        c.status = 0;
        c.chunked = false;
        c.closeAfter = false;
        c.contentLength = -1;
        c.chunkLeft = s_chunkSizeLine;
        c.body.clear();
    }

    // HTTP/1.1 responses (RFC 9112): Content-Length, chunked, or delimited by the close.
    std::size_t consumeHttp(int index, const char *data, std::size_t size, int64_t now)
    {
        std::size_t used = 0;
        for (;;) {
            Connection &c = m_connections[std::size_t(index)];
            if (c.fd < 0)
                return size;
            if (c.inHeaders) {
                const char *end = find(data + used, data + size, "\r\n\r\n");
                if (!end) {
                    if (size - used > 16384)
                        lostConnection(index, "response header too long");
                    return used;
                }
                const std::string_view head(data + used, std::size_t(end - (data + used)));
                used = std::size_t(end - data) + 4;
                if (!parseResponseHead(c, head)) {
                    ++m_protocolErrors;
                    if (m_protocolErrors <= 5)
                        progress("bad response on %s: %.*s", c.path.c_str(),
                                 int(std::min<std::size_t>(head.size(), 200)), head.data());
                    lostConnection(index, "bad response");
                    return size;
                }
                if (c.transport == Transport::EventStream)
                    markReady(c);
                continue;
            }
            bool complete = false;
            if (c.chunked) {
                while (!complete) {
                    if (c.chunkLeft > 0) { // chunk data
                        const std::size_t take
                                = std::min<std::size_t>(std::size_t(c.chunkLeft), size - used);
                        if (take == 0)
                            break;
                        c.body.append(data + used, take);
                        used += take;
                        c.chunkLeft -= int64_t(take);
                        if (c.chunkLeft == 0)
                            c.chunkLeft = s_chunkDataEnd;
                    } else if (c.chunkLeft == s_chunkDataEnd || c.chunkLeft == s_chunkLastEnd) {
                        if (size - used < 2) // the CRLF after chunk data or after last-chunk
                            break;
                        used += 2;
                        complete = c.chunkLeft == s_chunkLastEnd;
                        c.chunkLeft = s_chunkSizeLine;
                    } else { // chunk-size line; these servers send no extensions or trailers
                        const char *line = find(data + used, data + size, "\r\n");
                        if (!line)
                            break;
                        const std::size_t lineSize = std::size_t(line - (data + used));
                        const int64_t chunkSize = std::strtoll(
                                std::string(data + used, lineSize).c_str(), nullptr, 16);
                        used += lineSize + 2;
                        c.chunkLeft = chunkSize > 0 ? chunkSize : s_chunkLastEnd;
                    }
                }
            } else if (c.contentLength >= 0) {
                const std::size_t take = std::min<std::size_t>(
                        std::size_t(c.contentLength) - c.body.size(), size - used);
                c.body.append(data + used, take);
                used += take;
                complete = int64_t(c.body.size()) == c.contentLength;
            } else {
                c.body.append(data + used, size - used);
                used = size;
            }
            if (c.transport == Transport::EventStream) {
                consumeEvents(c, now);
                if (complete) {
                    lostConnection(index, "event stream ended");
                    return size;
                }
            }
            if (!complete)
                return used;
            const unsigned generation = c.generation;
            onResponse(index, now);
            const Connection &after = m_connections[std::size_t(index)];
            if (used >= size || after.fd < 0 || after.generation != generation)
                return used;
        }
    }

    bool parseResponseHead(Connection &c, std::string_view head)
    {
        if (head.substr(0, 9) != "HTTP/1.1 " && head.substr(0, 9) != "HTTP/1.0 ")
            return false;
        c.status = std::atoi(std::string(head.substr(9, 3)).c_str());
        c.closeAfter = head.substr(0, 9) == "HTTP/1.0 ";
        c.inHeaders = false;
        std::size_t pos = head.find("\r\n");
        while (pos != std::string_view::npos) {
            const std::size_t next = head.find("\r\n", pos + 2);
            const std::string_view line = head.substr(
                    pos + 2, next == std::string_view::npos ? std::string_view::npos
                                                            : next - pos - 2);
            if (caseInsensitiveStartsWith(line, "content-length:"))
                c.contentLength = std::atoll(std::string(line.substr(15)).c_str());
            else if (caseInsensitiveStartsWith(line, "transfer-encoding:")
                     && line.find("chunked") != std::string_view::npos)
                c.chunked = true;
            else if (caseInsensitiveStartsWith(line, "connection:")
                     && (line.find("close") != std::string_view::npos
                         || line.find("Close") != std::string_view::npos))
                c.closeAfter = true;
            pos = next;
        }
        if (c.transport == Transport::EventStream)
            return c.status == 200;
        return c.status >= 200;
    }

    // Server-Sent Events (HTML Living Standard, "Parsing an event stream"); only data: lines
    // matter, and each message of protocol.md is one data: line.
    void consumeEvents(Connection &c, int64_t now)
    {
        std::size_t start = 0;
        for (;;) {
            const std::size_t end = c.body.find('\n', start);
            if (end == std::string::npos)
                break;
            std::string_view line(c.body.data() + start, end - start);
            if (!line.empty() && line.back() == '\r')
                line.remove_suffix(1);
            if (line.substr(0, 5) == "data:") {
                line.remove_prefix(5);
                if (!line.empty() && line.front() == ' ')
                    line.remove_prefix(1);
                onMessage(c, line.data(), line.size(), now);
            }
            start = end + 1;
        }
        c.body.erase(0, start);
    }

    void onResponse(int index, int64_t now)
    {
        Connection &c = m_connections[std::size_t(index)];
        c.requestOpen = false;
        if (c.status != 200) {
            ++m_protocolErrors;
            if (m_protocolErrors <= 5)
                progress("status %d on %s: %.200s", c.status, c.path.c_str(), c.body.c_str());
        }
        if (c.transport == Transport::LongPoll && c.status == 200)
            consumeArray(c, now);
        const bool closeAfter = c.closeAfter;
        resetResponse(c);
        if (closeAfter) {
            closeConnection(c);
            if (!m_closing)
                reconnect(index);
            return;
        }
        if (c.transport == Transport::LongPoll && !m_closing) {
            sendPoll(c);
            flush(index);
        }
    }

    void sendPoll(Connection &c)
    {
        c.out += "GET " + c.path + " HTTP/1.1\r\nHost: " + m_hostHeader + "\r\n\r\n";
        c.requestOpen = true;
    }

    // A long-poll reply: a JSON array of message objects and control frames.
    void consumeArray(Connection &c, int64_t now)
    {
        const char *p = c.body.data();
        const char *end = p + c.body.size();
        while (p < end) {
            while (p < end && *p != '{')
                ++p;
            if (p == end)
                break;
            const char *start = p;
            int depth = 0;
            bool inString = false;
            for (; p < end; ++p) {
                if (inString) {
                    if (*p == '\\')
                        ++p;
                    else if (*p == '"')
                        inString = false;
                } else if (*p == '"') {
                    inString = true;
                } else if (*p == '{') {
                    ++depth;
                } else if (*p == '}' && --depth == 0) {
                    break;
                }
            }
            if (p == end) {
                ++m_parseErrors;
                break;
            }
            ++p;
            onMessage(c, start, std::size_t(p - start), now);
        }
    }

    // ---- messages ----

    // One message object {"id":ID,"session":"S","data":"SEQ TIME xxx"} (in any key order) or a
    // control frame {"type":...}.
    void onMessage(Connection &c, const char *data, std::size_t size, int64_t now)
    {
        const char *end = data + size;
        const char *idKey = find(data, end, "\"id\":");
        const char *dataKey = find(data, end, "\"data\":\"");
        if (!idKey || !dataKey) {
            if (find(data, end, "\"type\"")) {
                if (find(data, end, "\"gap\""))
                    ++m_gaps;
                return; // protocol.md: ignore control frames we do not know
            }
            ++m_parseErrors;
            if (m_parseErrors <= 5)
                progress("unparsable message on %s: %.*s", c.path.c_str(),
                         int(std::min<std::size_t>(size, 200)), data);
            return;
        }
        const char *p = idKey + 5;
        uint64_t id = 0, seq = 0, sent = 0;
        bool ok = parseUnsigned(p, end, id);
        p = dataKey + 8;
        ok = ok && parseUnsigned(p, end, seq) && parseUnsigned(p, end, sent);
        if (!ok) {
            ++m_parseErrors;
            return;
        }
        if (c.started && id <= c.lastId)
            ++m_badIds;
        c.lastId = id;
        const int64_t s = int64_t(seq);
        if (!c.started) {
            c.started = true;
            ++m_started;
        } else if (s <= c.lastSeq) {
            ++m_duplicates; // a duplicate or an older message after a newer one
            return;
        } else if (s > c.lastSeq + 1) {
            m_lost += uint64_t(s - c.lastSeq - 1);
        }
        if (c.receiver && s >= m_windowStart) {
            // Every sequence number up to s is now behind this receiver (lost ones included,
            // so a loss is reported rather than stalling the publisher).
            for (int64_t k = std::max(c.lastSeq + 1, m_windowStart); k <= s; ++k)
                acknowledge(k);
        }
        c.lastSeq = s;
        ++c.messages;
        if (c.subscriber && m_measuring) {
            ++m_deliveries;
            m_latency.add(now - int64_t(sent));
        }
    }

    void acknowledge(int64_t seq)
    {
        if (seq >= m_sent)
            return; // not sent by us: a server bug, counted elsewhere as a bad sequence
        ++m_acks[std::size_t(seq) & m_ackMask];
        while (m_completed + 1 < m_sent
               && m_acks[std::size_t(m_completed + 1) & m_ackMask] == uint32_t(m_receivers)) {
            m_acks[std::size_t(m_completed + 1) & m_ackMask] = 0;
            ++m_completed;
        }
    }

    // RFC 6455 §5.2-5.3: a client frame is masked with a fresh key.
    void appendFrame(std::string &out, int opcode, const char *payload, std::size_t size)
    {
        unsigned char header[14];
        std::size_t n = 0;
        header[n++] = uint8_t(0x80 | opcode);
        if (size < 126) {
            header[n++] = uint8_t(0x80 | size);
        } else if (size < 65536) {
            header[n++] = 0x80 | 126;
            header[n++] = uint8_t(size >> 8);
            header[n++] = uint8_t(size);
        } else {
            header[n++] = 0x80 | 127;
            for (int i = 7; i >= 0; --i)
                header[n++] = uint8_t(uint64_t(size) >> (8 * i));
        }
        m_random ^= m_random << 13;
        m_random ^= m_random >> 7;
        m_random ^= m_random << 17;
        unsigned char mask[4];
        std::memcpy(mask, &m_random, 4);
        std::memcpy(header + n, mask, 4);
        n += 4;
        out.append(reinterpret_cast<const char *>(header), n);
        const std::size_t start = out.size();
        out.append(payload, size);
        for (std::size_t i = 0; i < size; ++i)
            out[start + i] = char(out[start + i] ^ mask[i & 3]);
    }

    // The data of message seq: a JSON string of exactly --payload bytes, "SEQ TIME xxx...".
    std::string messageData(int64_t seq)
    {
        char head[64];
        const int n = std::snprintf(head, sizeof head, "%0*" PRId64 " %0*" PRId64 " ",
                                    s_seqDigits, seq, s_timeDigits, nowNs());
        std::string data = "\"";
        data.append(head, std::size_t(n));
        data.append(std::size_t(m_o.payload - n), 'x');
        data += '"';
        return data;
    }

    // Sends one message from the publisher.
    void publishOne()
    {
        Connection &pub = m_connections[std::size_t(m_publisher)];
        const std::string data = messageData(m_sent);
        if (pub.transport == Transport::WebSocket) {
            const std::string frame = "{\"op\":\"push\",\"data\":" + data + "}";
            appendFrame(pub.out, 0x1, frame.data(), frame.size());
        } else {
            pub.out += "POST /v1/sessions/" + m_o.session + "/push HTTP/1.1\r\nHost: "
                    + m_hostHeader
                    + "\r\nContent-Type: application/json\r\nContent-Length: "
                    + std::to_string(data.size()) + "\r\n\r\n" + data;
            pub.requestOpen = true;
        }
        ++m_sent;
    }

    bool publisherFree() const
    {
        const Connection &pub = m_connections[std::size_t(m_publisher)];
        if (!pub.ready || pub.fd < 0)
            return false;
        // One POST at a time: no HTTP pipelining. A WebSocket publisher is held back only by
        // the window, and by its own unsent bytes (a server that stops reading).
        return pub.transport == Transport::WebSocket ? pub.out.size() < 65536 : !pub.requestOpen;
    }

    // Publishes what the window, the rate and the message limit allow.
    void publish(int64_t now)
    {
        if (!m_publishing)
            return;
        bool sentAny = false;
        while (publisherFree() && m_sent <= m_completed + m_o.window
               && (m_limit < 0 || m_sent < m_limit)
               && (m_o.rate <= 0 || m_sent - m_windowStart < rateAllowance(now))) {
            publishOne();
            sentAny = true;
        }
        if (sentAny)
            flush(m_publisher);
    }

    // Messages the --rate allows from the start of the windowed phase until now.
    int64_t rateAllowance(int64_t now) const
    {
        return int64_t(double(now - m_publishStart) * m_o.rate / 1e9) + 1;
    }

    // ---- phases ----

    // Opens every connection from first on, at most --connect-concurrency at a time, until all
    // are ready or the connect timeout passes.
    bool openAll(int first)
    {
        const int64_t deadline = nowNs() + int64_t(m_o.connectTimeout * 1e9);
        int next = first;
        const int total = int(m_connections.size());
        while (m_ready < total && m_failure.empty()) {
            while (next < total && m_connecting < m_o.connectConcurrency && m_failure.empty())
                connect(next++);
            pump(10);
            if (m_closedByServer > 0 || m_protocolErrors > 0) {
                fail("%d connections closed or refused while connecting",
                     m_closedByServer + m_protocolErrors);
                break;
            }
            if (nowNs() > deadline) {
                fail("only %d of %d connections ready after %.0f s", m_ready, total,
                     m_o.connectTimeout);
                break;
            }
        }
        return m_failure.empty();
    }

    void fail(const char *format, ...)
    {
        char buffer[512];
        va_list args;
        va_start(args, format);
        std::vsnprintf(buffer, sizeof buffer, format, args);
        va_end(args);
        if (m_failure.empty()) {
            m_failure = buffer;
            progress("error: %s", buffer);
        }
    }

    std::string clientPath(const char *kind, const std::string &client, const char *suffix)
    {
        return "/v1/sessions/" + m_o.session + "/clients/" + client + "/" + kind + suffix;
    }

    void raiseFileLimit(int needed)
    {
        rlimit limit;
        getrlimit(RLIMIT_NOFILE, &limit);
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
        if (rlim_t(needed) + 16 > limit.rlim_cur) {
            progress("%d connections need more than the open-file limit of %llu allows", needed,
                     static_cast<unsigned long long>(limit.rlim_cur));
            std::exit(2);
        }
    }

    void closeAll()
    {
        m_closing = true;
        for (Connection &c : m_connections)
            closeConnection(c);
    }

    std::string resultHead() const
    {
        return "result mode=" + m_o.mode + " server=" + m_o.serverName;
    }

    // fanout, sse, poll: N receivers and a publisher.
    int runStream()
    {
        raiseFileLimit(m_o.clients + 1);
        const Transport transport = m_o.mode == "sse" ? Transport::EventStream
                : m_o.mode == "poll"                  ? Transport::LongPoll
                                                      : Transport::WebSocket;
        const char *kind = m_o.mode == "sse" ? "events" : m_o.mode == "poll" ? "pull" : "ws";
        const std::string query = m_o.mode == "poll" ? "?wait=" + std::to_string(m_o.wait) : "";
        for (int i = 0; i < m_o.clients; ++i)
            addConnection(transport, clientPath(kind, m_o.mode + "-" + std::to_string(i),
                                                query.c_str()),
                          true, true);
        m_publisher = m_o.push == "ws"
                ? addConnection(Transport::WebSocket, clientPath("ws", "publisher", ""), true,
                                false)
                : addConnection(Transport::HttpPush, "/v1/sessions/" + m_o.session + "/push",
                                false, false);
        m_receivers = m_o.clients + (m_o.push == "ws" ? 1 : 0);
        std::size_t ring = 1;
        while (ring < std::size_t(m_o.window) * 2 + 2)
            ring <<= 1;
        m_acks.assign(ring, 0);
        m_ackMask = ring - 1;

        int64_t t = nowNs();
        if (!openAll(0))
            return report(false);
        progress("%d %s clients and the publisher connected in %.2f s", m_o.clients,
                 m_o.mode.c_str(), double(nowNs() - t) / 1e9);

        // Probe: push one message every 20 ms until every receiver got one, so that each is
        // known to be subscribed (a long-poll client exists only once its request has been
        // taken in). Probes are outside the window and the measurement.
        t = nowNs();
        m_publishing = true;
        int64_t nextProbe = t;
        while (m_started < m_receivers && m_failure.empty()) {
            const int64_t now = nowNs();
            if (now >= nextProbe && publisherFree()) {
                publishOne();
                flush(m_publisher);
                nextProbe = now + 20000000;
            }
            pump(5);
            if (now - t > int64_t(m_o.connectTimeout * 1e9))
                fail("only %d of %d receivers got a probe message after %.0f s", m_started,
                     m_receivers, m_o.connectTimeout);
            if (m_closedByServer > 0)
                fail("connections lost during the probe");
        }
        if (!m_failure.empty())
            return report(false);
        progress("all %d receivers subscribed after %.2f s (%" PRId64 " probe messages)",
                 m_receivers, double(nowNs() - t) / 1e9, m_sent);

        // The windowed phase: warm-up, then the measured interval.
        m_windowStart = m_sent;
        m_completed = m_sent - 1;
        m_publishStart = nowNs();
        if (m_o.messages > 0)
            m_limit = m_sent + m_o.messages;
        const int64_t measureStart = m_o.messages > 0
                ? m_publishStart
                : m_publishStart + int64_t(m_o.warmup * 1e9);
        const int64_t measureEnd = m_o.messages > 0 ? INT64_MAX
                                                    : measureStart + int64_t(m_o.duration * 1e9);
        if (m_o.messages > 0)
            startMeasuring(m_publishStart);
        int64_t lastProgressAt = m_publishStart;
        int64_t lastCompleted = m_completed;
        for (;;) {
            int64_t now = nowNs();
            if (!m_measuring && !m_measured && now >= measureStart)
                startMeasuring(now);
            if (m_measuring && now >= measureEnd) {
                stopMeasuring(now);
                break;
            }
            if (m_limit >= 0 && m_completed + 1 >= m_limit) {
                stopMeasuring(now);
                break;
            }
            publish(now);
            int timeout = 10;
            if (m_o.rate > 0)
                timeout = 1;
            pump(timeout);
            if (m_completed != lastCompleted) {
                lastCompleted = m_completed;
                lastProgressAt = nowNs();
            } else if (nowNs() - lastProgressAt > 10000000000LL) {
                fail("stalled: no message reached every receiver for 10 s (%" PRId64
                     " sent, %" PRId64 " complete)",
                     m_sent, m_completed + 1);
            }
            if (m_closedByServer > 0)
                fail("%d connections lost during the measurement", m_closedByServer);
            if (!m_failure.empty()) {
                if (m_measuring)
                    stopMeasuring(nowNs());
                return report(false);
            }
        }

        // Drain: every receiver must end with every message.
        m_publishing = false;
        const int64_t drainDeadline = nowNs() + 10000000000LL;
        while (m_completed + 1 < m_sent && nowNs() < drainDeadline && m_failure.empty()
               && m_closedByServer == 0)
            pump(10);
        for (const Connection &c : m_connections) {
            if (c.receiver && c.lastSeq + 1 < m_sent)
                m_undelivered += uint64_t(m_sent - 1 - c.lastSeq);
        }
        return report(true);
    }

    void startMeasuring(int64_t now)
    {
        m_measuring = true;
        m_measureStartNs = now;
        m_cpuStart = cpuSeconds();
        m_serverCpuStart = processCpuSeconds(m_o.serverPid);
        m_machineStart = machineCpu();
        m_sentAtStart = m_sent;
    }

    void stopMeasuring(int64_t now)
    {
        if (!m_measuring)
            return;
        m_measuring = false;
        m_measured = true;
        m_measureEndNs = now;
        m_cpuEnd = cpuSeconds();
        m_serverCpuEnd = processCpuSeconds(m_o.serverPid);
        m_machineEnd = machineCpu();
        m_sentAtEnd = m_sent;
    }

    int report(bool completed)
    {
        const double seconds = double(m_measureEndNs - m_measureStartNs) / 1e9;
        const bool clean = completed && m_failure.empty() && m_lost == 0 && m_duplicates == 0
                && m_badIds == 0 && m_undelivered == 0 && m_parseErrors == 0
                && m_protocolErrors == 0 && m_closedByServer == 0;
        std::string line = resultHead();
        char buffer[1024];
        std::snprintf(buffer, sizeof buffer,
                      " clients=%d window=%d payload=%d push=%s rate=%g seconds=%.3f messages=%" PRId64
                      " deliveries=%" PRIu64 " deliveries_per_s=%.0f p50_us=%.1f p99_us=%.1f"
                      " max_us=%.1f",
                      m_o.clients, m_o.window, m_o.payload, m_o.push.c_str(), m_o.rate, seconds,
                      m_sentAtEnd - m_sentAtStart, m_deliveries,
                      seconds > 0 ? double(m_deliveries) / seconds : 0.0,
                      m_latency.quantile(0.50) / 1e3, m_latency.quantile(0.99) / 1e3,
                      m_latency.quantile(1.0) / 1e3);
        line += buffer;
        const double serverCpu = m_serverCpuStart >= 0 && m_serverCpuEnd >= 0 && seconds > 0
                ? (m_serverCpuEnd - m_serverCpuStart) / seconds
                : -1;
        const bool machineKnown = m_machineStart.busy >= 0 && m_machineEnd.busy >= 0 && seconds > 0;
        std::snprintf(buffer, sizeof buffer, " machine_cpu=%.2f steal=%.2f",
                      machineKnown ? (m_machineEnd.busy - m_machineStart.busy) / seconds : -1.0,
                      machineKnown ? (m_machineEnd.steal - m_machineStart.steal) / seconds : -1.0);
        line += buffer;
        std::snprintf(buffer, sizeof buffer,
                      " loadgen_cpu=%.2f server_cpu=%.2f lost=%" PRIu64 " duplicates=%" PRIu64
                      " bad_ids=%" PRIu64 " undelivered=%" PRIu64 " gaps=%" PRIu64
                      " parse_errors=%" PRIu64 " protocol_errors=%d closed=%d reconnects=%d"
                      " status=%s",
                      seconds > 0 ? (m_cpuEnd - m_cpuStart) / seconds : 0.0, serverCpu, m_lost,
                      m_duplicates, m_badIds, m_undelivered, m_gaps, m_parseErrors,
                      m_protocolErrors, m_closedByServer, m_reconnects, clean ? "ok" : "FAILED");
        line += buffer;
        std::printf("%s\n", line.c_str());
        std::fflush(stdout);
        closeAll();
        return clean ? 0 : 1;
    }

    // Waits until the server's RSS stops moving: four readings 250 ms apart within 64 KiB of
    // each other, or --settle-timeout. Keeps serving the connections meanwhile (pings).
    long settledRss(double *waited)
    {
        const int64_t start = nowNs();
        std::vector<long> readings;
        for (;;) {
            const int64_t until = nowNs() + 250000000;
            while (nowNs() < until)
                pump(50);
            const long rss = rssKib(m_o.serverPid);
            if (rss < 0) {
                fail("cannot read /proc/%ld/status", m_o.serverPid);
                return -1;
            }
            readings.push_back(rss);
            if (readings.size() >= 4) {
                const auto [low, high] = std::minmax_element(readings.end() - 4, readings.end());
                if (*high - *low <= 64)
                    break;
            }
            if (double(nowNs() - start) / 1e9 > m_o.settleTimeout) {
                progress("RSS still moving after %.0f s; taking the last reading",
                         m_o.settleTimeout);
                break;
            }
        }
        *waited = double(nowNs() - start) / 1e9;
        return readings.back();
    }

    // idle, idlesse: the server's resident memory per idle WebSocket connection or event
    // stream. A first batch of
    // connections (1%, at least 1, at most 100) warms the server up (lazy initialisation, the
    // session itself); the baseline is taken after it, so the figure is per added connection.
    int runIdle()
    {
        raiseFileLimit(m_o.clients);
        const int warm = std::clamp(m_o.clients / 100, 1, 100);
        const bool sse = m_o.mode == "idlesse";
        for (int i = 0; i < m_o.clients; ++i)
            addConnection(sse ? Transport::EventStream : Transport::WebSocket,
                          clientPath(sse ? "events" : "ws", "idle-" + std::to_string(i), ""),
                          false, false);
        const long rssStart = rssKib(m_o.serverPid);
        // openAll() opens everything from an index on; open the warm-up batch alone first.
        std::vector<Connection> rest(m_connections.begin() + warm, m_connections.end());
        m_connections.resize(std::size_t(warm));
        double settleBase = 0, settleAfter = 0;
        long rssBase = -1, rssAfter = -1;
        double connectSeconds = 0;
        bool ok = openAll(0);
        if (ok)
            rssBase = settledRss(&settleBase);
        if (ok && rssBase >= 0) {
            m_connections.insert(m_connections.end(), rest.begin(), rest.end());
            const int64_t t = nowNs();
            ok = openAll(warm);
            connectSeconds = double(nowNs() - t) / 1e9;
            if (ok)
                progress("%d connections open in %.2f s; waiting for the server's RSS to settle",
                         m_o.clients, connectSeconds);
        }
        if (ok)
            rssAfter = settledRss(&settleAfter);
        ok = ok && rssAfter >= 0 && m_failure.empty() && m_closedByServer == 0;
        const int added = m_o.clients - warm;
        char buffer[512];
        std::snprintf(buffer, sizeof buffer,
                      " connections=%d rss_start_kib=%ld rss_base_kib=%ld rss_after_kib=%ld"
                      " kib_per_conn=%.2f connect_s=%.2f settle_s=%.1f closed=%d status=%s",
                      m_o.clients, rssStart, rssBase, rssAfter,
                      ok && added > 0 ? double(rssAfter - rssBase) / added : 0.0, connectSeconds,
                      settleAfter, m_closedByServer, ok ? "ok" : "FAILED");
        std::printf("%s%s\n", resultHead().c_str(), buffer);
        std::fflush(stdout);
        closeAll();
        return ok ? 0 : 1;
    }

    const Options m_o;
    int m_epoll = -1;
    std::vector<char> m_readBuffer;
    std::string m_hostHeader;
    sockaddr_in m_serverAddress = {};
    std::vector<Connection> m_connections;
    int m_connecting = 0;
    int m_ready = 0;
    int m_closedByServer = 0;
    int m_protocolErrors = 0;
    int m_reconnects = 0;
    bool m_closing = false;
    std::string m_failure;
    uint64_t m_random = 0x9e3779b97f4a7c15ull;

    int m_publisher = -1;
    int m_receivers = 0;
    int m_started = 0;
    bool m_publishing = false;
    int64_t m_sent = 0; // next sequence number
    int64_t m_limit = -1;
    int64_t m_windowStart = INT64_MAX;
    int64_t m_completed = -1; // every receiver has every gated message up to this one
    int64_t m_publishStart = 0;
    std::vector<uint32_t> m_acks;
    std::size_t m_ackMask = 0;

    bool m_measuring = false;
    bool m_measured = false;
    int64_t m_measureStartNs = 0;
    int64_t m_measureEndNs = 0;
    int64_t m_sentAtStart = 0;
    int64_t m_sentAtEnd = 0;
    double m_cpuStart = 0, m_cpuEnd = 0;
    double m_serverCpuStart = -1, m_serverCpuEnd = -1;
    MachineCpu m_machineStart, m_machineEnd;
    uint64_t m_deliveries = 0;
    Histogram m_latency;

    uint64_t m_lost = 0;
    uint64_t m_duplicates = 0;
    uint64_t m_badIds = 0;
    uint64_t m_undelivered = 0;
    uint64_t m_gaps = 0;
    uint64_t m_parseErrors = 0;
};

} // namespace

int main(int argc, char *argv[])
{
    const Options options = parseOptions(argc, argv);
    std::signal(SIGPIPE, SIG_IGN);
    LoadGenerator generator(options);
    return generator.run();
}
