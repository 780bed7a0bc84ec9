// SPDX-License-Identifier: MIT
// qtpush-bench-push: pushes per second and push latency of qtpush-server with a durable store
// against the memory store, in the same run (docs/benchmarks.md, "Pushes with a durable store").
//
// It starts one qtpush-server per store (`--stores memory,sqlite?sync=full,...`; a sqlite store
// gets a fresh file on the real disk each run) and keeps them all up for the run, so that each
// measurement goes to every store back to back: memory, sqlite, memory, sqlite... The ratio
// durable/memory is computed per run from those neighbours, then medianed over the runs.
//
// For each transport (HTTP push, WebSocket push) it measures
//   closed loop: P pushers (`--pushers 1,64`), each on its own connection with one push in
//                flight; the next push leaves when the answer arrives. Pushes/s, latency.
//   open loop:   `--open-rate` pushes/s (1,000) spread over `--open-connections` (16), on
//                schedule whether answered or not; latency from the scheduled time.
// An HTTP push is answered by `200 {"id":N,...}`; a WebSocket push by the echo of the message
// to its sender, or by an `{"type":"ack","ref":R,"id":N}` frame where the server sends one
// (detected per server; `--ws-answer`). With a durable store both come after the commit.
//
// Each pusher pushes to a session of its own: a WebSocket pusher is then the only client of its
// session, so a push costs one write and one delivery (its echo), not a fan-out to the others.
//
// The load generator is one thread on epoll (pushload.cpp); its CPU share is reported with each
// measurement so that one can see it was not the bottleneck. `--pin` puts the server on CPU 0
// and the generator on CPU 1 (sched_setaffinity, as `taskset -c`).
//
// Output: progress and notes on stderr; `result ...` lines, then `median ...`, `ratio ...` and
// `goal ...` lines on stdout. Exit code 1 when a measurement failed, 2 on bad usage.

#include "pushload.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace pushbench;

namespace {

constexpr long kTmpfsMagic = 0x01021994; // linux/magic.h

struct Options
{
    std::string server = QTPUSH_BENCH_SERVER;
    std::vector<std::string> stores = {"memory", "sqlite?sync=full", "sqlite?sync=normal"};
    std::vector<std::string> transports = {"http", "ws"};
    std::vector<int> pushers = {1, 64};
    std::vector<std::string> serverArgs;
    std::string storeDir = QTPUSH_BENCH_STORE_DIR;
    std::string wsAnswer = "auto";
    int runs = 3;
    double seconds = 5;
    double warmup = 1;
    double openRate = 1000;
    int openConnections = 16;
    int payloadBytes = 100;
    bool pin = false;
};

std::vector<std::string> split(const std::string &text)
{
    std::vector<std::string> parts;
    std::size_t from = 0;
    while (from <= text.size()) {
        const std::size_t comma = std::min(text.find(',', from), text.size());
        if (comma > from)
            parts.push_back(text.substr(from, comma - from));
        from = comma + 1;
    }
    return parts;
}

[[noreturn]] void usage(const char *problem)
{
    if (problem)
        std::fprintf(stderr, "qtpush-bench-push: %s\n", problem);
    std::fprintf(stderr,
                 "usage: qtpush-bench-push [--quick] [--runs N] [--seconds D] [--warmup W]\n"
                 "  [--stores memory,sqlite?sync=full,...] [--transports http,ws]\n"
                 "  [--pushers 1,64] [--open-rate R] [--open-connections N] [--payload BYTES]\n"
                 "  [--store-dir DIR] [--server PATH] [--server-arg ARG]... [--pin]\n"
                 "  [--ws-answer auto|echo|ack]\n"
                 "A store is `memory`, `sqlite[?QUERY]` (a fresh FILE in --store-dir each run:\n"
                 "--store sqlite:FILE[?QUERY]), or any --store value with {file} for the file;\n"
                 "LABEL#NAME measures LABEL under another name (memory,memory#2).\n");
    std::exit(2);
}

Options parse(int argc, char **argv)
{
    Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const auto value = [&]() -> std::string {
            if (i + 1 >= argc)
                usage((arg + " needs a value").c_str());
            return argv[++i];
        };
        if (arg == "--quick") {
            options.runs = 1;
            options.seconds = 0.3;
            options.warmup = 0.1;
            options.pushers = {1, 8};
            options.openRate = 200;
            options.openConnections = 4;
        } else if (arg == "--runs") {
            options.runs = std::atoi(value().c_str());
        } else if (arg == "--seconds") {
            options.seconds = std::atof(value().c_str());
        } else if (arg == "--warmup") {
            options.warmup = std::atof(value().c_str());
        } else if (arg == "--stores") {
            options.stores = split(value());
        } else if (arg == "--transports") {
            options.transports = split(value());
        } else if (arg == "--pushers") {
            options.pushers.clear();
            for (const std::string &count : split(value()))
                options.pushers.push_back(std::atoi(count.c_str()));
        } else if (arg == "--open-rate") {
            options.openRate = std::atof(value().c_str());
        } else if (arg == "--open-connections") {
            options.openConnections = std::atoi(value().c_str());
        } else if (arg == "--payload") {
            options.payloadBytes = std::atoi(value().c_str());
        } else if (arg == "--store-dir") {
            options.storeDir = value();
        } else if (arg == "--server") {
            options.server = value();
        } else if (arg == "--server-arg") {
            options.serverArgs.push_back(value());
        } else if (arg == "--ws-answer") {
            options.wsAnswer = value();
        } else if (arg == "--pin") {
            options.pin = true;
        } else {
            usage(("unknown option " + arg).c_str());
        }
    }
    if (options.runs < 1 || options.seconds <= 0 || options.warmup < 0 || options.stores.empty()
        || options.pushers.empty() || options.openRate < 0 || options.openConnections < 1
        || options.payloadBytes < 40 || options.payloadBytes > 60000)
        usage("a value is out of range");
    for (const int count : options.pushers) {
        if (count < 1 || count > 10000)
            usage("--pushers takes counts from 1 to 10000");
    }
    for (const std::string &transport : options.transports) {
        if (transport != "http" && transport != "ws")
            usage("--transports takes http and ws");
    }
    if (options.wsAnswer != "auto" && options.wsAnswer != "echo" && options.wsAnswer != "ack")
        usage("--ws-answer takes auto, echo or ack");
    return options;
}

void pinTo(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0)
        std::fprintf(stderr, "note: cannot pin to CPU %d: %s\n", cpu, std::strerror(errno));
}

// Whether this qtpush-server knows --store (it prints its options with --help).
bool serverHasStoreOption(const std::string &server)
{
    const std::string command = "timeout 10 '" + server + "' --help 2>&1";
    FILE *pipe = ::popen(command.c_str(), "r");
    if (!pipe)
        return false;
    std::string help;
    char buffer[4096];
    while (const std::size_t got = std::fread(buffer, 1, sizeof buffer, pipe))
        help.append(buffer, got);
    ::pclose(pipe);
    return help.find("--store") != std::string::npos;
}

struct Server
{
    std::string store; // as given in --stores
    std::string file; // the store's file, if any
    pid_t pid = -1;
    int output = -1; // its stdout, kept open (and drained) so that it never gets SIGPIPE
    uint16_t port = 0;
    WsAnswer wsAnswer = WsAnswer::Echo;
};

// A store's label may end in #NAME, to measure one store twice (`--stores memory,memory#2`
// shows how far two identical servers differ here).
std::string withoutName(const std::string &label)
{
    return label.substr(0, label.find('#'));
}

std::string storeArgument(const std::string &label, const std::string &file)
{
    const std::string store = withoutName(label);
    if (store == "memory")
        return {};
    if (store.rfind("sqlite", 0) == 0 && store.compare(0, 7, "sqlite:") != 0)
        return "sqlite:" + file + store.substr(6); // sqlite?sync=full -> sqlite:FILE?sync=full
    std::string argument = store;
    const std::size_t at = argument.find("{file}");
    if (at != std::string::npos)
        argument.replace(at, 6, file);
    return argument;
}

bool start(Server *server, const Options &options, const std::string &file)
{
    server->file = file;
    std::vector<std::string> args = {options.server, "--port", "0"};
    const std::string store = storeArgument(server->store, file);
    if (!store.empty()) {
        args.push_back("--store");
        args.push_back(store);
    }
    args.insert(args.end(), options.serverArgs.begin(), options.serverArgs.end());
    int pipe[2];
    if (::pipe2(pipe, O_CLOEXEC) != 0)
        return false;
    server->pid = ::fork();
    if (server->pid == 0) {
        ::dup2(pipe[1], STDOUT_FILENO);
        // Info lines (listening, store opened) would interleave with our output; warnings stay.
        ::setenv("QT_LOGGING_RULES", "qtpush.*.info=false", 0);
        if (options.pin)
            pinTo(0);
        std::vector<char *> argv;
        for (std::string &arg : args)
            argv.push_back(arg.data());
        argv.push_back(nullptr);
        ::execv(argv[0], argv.data());
        std::fprintf(stderr, "cannot run %s: %s\n", argv[0], std::strerror(errno));
        ::_exit(127);
    }
    ::close(pipe[1]);
    server->output = pipe[0];
    if (server->pid < 0)
        return false;
    // "listening on http://127.0.0.1:PORT" (qtpush-server's main.cpp), within 10 s.
    std::string line;
    for (int waited = 0; waited < 10000;) {
        pollfd poll = {server->output, POLLIN, 0};
        if (::poll(&poll, 1, 100) <= 0) {
            waited += 100;
            continue;
        }
        char buffer[256];
        const ssize_t got = ::read(server->output, buffer, sizeof buffer);
        if (got <= 0)
            return false; // it exited; its stderr said why
        line.append(buffer, std::size_t(got));
        const std::size_t at = line.find("listening on http://127.0.0.1:");
        if (at != std::string::npos && line.find('\n', at) != std::string::npos) {
            server->port = uint16_t(std::atoi(line.c_str() + at + 30));
            ::fcntl(server->output, F_SETFL, O_NONBLOCK);
            return server->port != 0;
        }
    }
    return false;
}

void drainOutput(const Server &server)
{
    char buffer[4096];
    while (::read(server.output, buffer, sizeof buffer) > 0) { }
}

// SIGTERM, as a service manager would stop it; a server that does not exit in 10 s is killed.
bool stop(Server *server)
{
    if (server->pid <= 0)
        return true;
    ::kill(server->pid, SIGTERM);
    int status = 0;
    bool clean = false;
    for (int waited = 0;; waited += 10) {
        drainOutput(*server);
        const pid_t done = ::waitpid(server->pid, &status, WNOHANG);
        if (done == server->pid) {
            clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
            break;
        }
        if (waited >= 10000) {
            ::kill(server->pid, SIGKILL);
            ::waitpid(server->pid, &status, 0);
            break;
        }
        ::usleep(10000);
    }
    ::close(server->output);
    server->pid = -1;
    if (!server->file.empty()) {
        struct stat info;
        if (::stat(server->file.c_str(), &info) == 0)
            std::fprintf(stderr, "store %s: %lld bytes on disk after the run\n",
                         server->store.c_str(), static_cast<long long>(info.st_size));
        for (const char *suffix : {"", "-wal", "-shm", "-journal"})
            ::unlink((server->file + suffix).c_str());
    }
    return clean;
}

// The disk's own floor for a durable push: 4 KiB appended and fdatasync()ed, as a commit with
// synchronous=FULL does at least once.
void probeDisk(const std::string &dir, int count)
{
    const std::string path = dir + "/fsync-probe";
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    const std::string block(4096, 'x');
    std::vector<double> times;
    for (int i = 0; i < count; ++i) {
        if (::write(fd, block.data(), block.size()) != ssize_t(block.size()))
            break;
        const int64_t start = nowNs();
        if (::fdatasync(fd) != 0)
            break;
        times.push_back(double(nowNs() - start) / 1e6);
    }
    ::close(fd);
    ::unlink(path.c_str());
    if (times.empty())
        return;
    std::sort(times.begin(), times.end());
    std::printf("disk dir=%s fdatasync_p50_ms=%.3f fdatasync_p99_ms=%.3f (%zu x 4 KiB)\n",
                dir.c_str(), times[times.size() / 2],
                times[std::min(times.size() - 1, std::size_t(double(times.size()) * 0.99))],
                times.size());
}

struct Cell
{
    std::string transport;
    int pushers; // closed loop; 0 for the open loop
};

std::string cellName(const Cell &cell, const Options &options)
{
    char text[96];
    if (cell.pushers > 0)
        std::snprintf(text, sizeof text, "transport=%s mode=closed pushers=%d",
                      cell.transport.c_str(), cell.pushers);
    else
        std::snprintf(text, sizeof text, "transport=%s mode=open rate=%g connections=%d",
                      cell.transport.c_str(), options.openRate, options.openConnections);
    return text;
}

double median(std::vector<double> values)
{
    if (values.empty())
        return 0;
    std::sort(values.begin(), values.end());
    const std::size_t middle = values.size() / 2;
    return values.size() % 2 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

// Result lines as they come; medians over the runs, per-run ratios to the first store and the
// goals of issue 15 at the end.
class Report
{
public:
    Report(const Options &options, const std::vector<std::string> &stores,
           const std::vector<Cell> &cells)
        : m_options(options), m_stores(stores), m_cells(cells)
    { }

    void add(int run, std::size_t store, std::size_t cell, const LoadResult &result,
             WsAnswer wsAnswer)
    {
        m_results[{run, store, cell}] = result;
        const char *answer = m_cells[cell].transport == "http" ? "http-200"
                : wsAnswer == WsAnswer::Ack                    ? "ws-ack"
                                                               : "ws-echo";
        std::printf("result run=%d store=%s %s answer=%s pushes=%llu rate=%.0f p50_ms=%.3f "
                    "p99_ms=%.3f max_ms=%.3f per_connection=%llu-%llu generator_cpu=%.2f "
                    "server_cpu=%.2f\n",
                    run, m_stores[store].c_str(), cellName(m_cells[cell], m_options).c_str(),
                    answer, static_cast<unsigned long long>(result.pushes), result.pushesPerSecond,
                    result.p50Ms, result.p99Ms, result.maxMs,
                    static_cast<unsigned long long>(result.fewestOnAConnection),
                    static_cast<unsigned long long>(result.mostOnAConnection), result.generatorCpu,
                    result.serverCpu);
        std::fflush(stdout);
    }

    void summarize() const
    {
        for (std::size_t c = 0; c < m_cells.size(); ++c) {
            for (std::size_t s = 0; s < m_stores.size(); ++s) {
                const auto values = [&](double LoadResult::*field) {
                    std::vector<double> list;
                    for (int run = 1; run <= m_options.runs; ++run)
                        list.push_back(m_results.at({run, s, c}).*field);
                    return median(list);
                };
                std::printf("median store=%s %s runs=%d rate=%.0f p50_ms=%.3f p99_ms=%.3f "
                            "max_ms=%.3f generator_cpu=%.2f server_cpu=%.2f\n",
                            m_stores[s].c_str(), cellName(m_cells[c], m_options).c_str(),
                            m_options.runs, values(&LoadResult::pushesPerSecond),
                            values(&LoadResult::p50Ms), values(&LoadResult::p99Ms),
                            values(&LoadResult::maxMs), values(&LoadResult::generatorCpu),
                            values(&LoadResult::serverCpu));
            }
        }
        // Ratios to the first store, per run (its neighbour in time), then medianed.
        for (std::size_t c = 0; c < m_cells.size(); ++c) {
            if (m_cells[c].pushers == 0)
                continue;
            for (std::size_t s = 1; s < m_stores.size(); ++s) {
                std::vector<double> ratios;
                std::string list;
                for (int run = 1; run <= m_options.runs; ++run) {
                    ratios.push_back(m_results.at({run, s, c}).pushesPerSecond
                                     / m_results.at({run, 0, c}).pushesPerSecond);
                    char item[32];
                    std::snprintf(item, sizeof item, "%s%.2f", list.empty() ? "" : ",",
                                  ratios.back());
                    list += item;
                }
                const double ratio = median(ratios);
                std::printf("ratio store=%s/%s %s per_run=%s median=%.2f\n", m_stores[s].c_str(),
                            m_stores[0].c_str(), cellName(m_cells[c], m_options).c_str(),
                            list.c_str(), ratio);
                if (withoutName(m_stores[0]) == "memory" && m_cells[c].pushers == 64)
                    std::printf("goal durable>=0.5*memory store=%s transport=%s pushers=64 "
                                "ratio=%.2f %s\n",
                                m_stores[s].c_str(), m_cells[c].transport.c_str(), ratio,
                                ratio >= 0.5 ? "holds" : "missed");
            }
        }
        for (std::size_t c = 0; c < m_cells.size(); ++c) {
            if (m_cells[c].pushers != 0 || m_options.openRate != 1000)
                continue;
            for (std::size_t s = 0; s < m_stores.size(); ++s) {
                std::vector<double> p99;
                for (int run = 1; run <= m_options.runs; ++run)
                    p99.push_back(m_results.at({run, s, c}).p99Ms);
                const double value = median(p99);
                std::printf("goal p99<10ms@1000/s store=%s transport=%s p99_ms=%.3f %s\n",
                            m_stores[s].c_str(), m_cells[c].transport.c_str(), value,
                            value < 10 ? "holds" : "missed");
            }
        }
    }

private:
    const Options &m_options;
    const std::vector<std::string> &m_stores;
    const std::vector<Cell> &m_cells;
    std::map<std::tuple<int, std::size_t, std::size_t>, LoadResult> m_results;
};

} // namespace

int main(int argc, char **argv)
{
    const Options options = parse(argc, argv);
    std::signal(SIGPIPE, SIG_IGN);
    if (options.pin)
        pinTo(1);

    std::vector<std::string> stores;
    const bool needsStore
            = std::any_of(options.stores.begin(), options.stores.end(),
                          [](const std::string &store) { return withoutName(store) != "memory"; });
    const bool hasStore = needsStore && serverHasStoreOption(options.server);
    for (const std::string &store : options.stores) {
        if (withoutName(store) != "memory" && !hasStore)
            std::fprintf(stderr, "skip store=%s: this qtpush-server has no --store option\n",
                         store.c_str());
        else
            stores.push_back(store);
    }
    if (stores.empty()) {
        std::fprintf(stderr, "no store left to measure\n");
        return 1;
    }
    std::vector<Cell> cells;
    for (const std::string &transport : options.transports) {
        for (const int pushers : options.pushers)
            cells.push_back({transport, pushers});
        if (options.openRate > 0)
            cells.push_back({transport, 0});
    }

    ::mkdir(options.storeDir.c_str(), 0755);
    std::string dir = options.storeDir + "/push-stores-XXXXXX";
    if (!::mkdtemp(dir.data())) {
        std::fprintf(stderr, "cannot create a directory in %s: %s\n", options.storeDir.c_str(),
                     std::strerror(errno));
        return 1;
    }
    struct statfs fs;
    if (::statfs(dir.c_str(), &fs) == 0 && long(fs.f_type) == kTmpfsMagic)
        std::fprintf(stderr,
                     "note: %s is on tmpfs: a sync costs nothing there; use --store-dir "
                     "on a disk\n",
                     dir.c_str());
    std::fprintf(stderr, "stores in %s; %d run(s), %g s warm-up + %g s per measurement\n",
                 dir.c_str(), options.runs, options.warmup, options.seconds);

    if (std::any_of(stores.begin(), stores.end(),
                    [](const std::string &store) { return withoutName(store) != "memory"; }))
        probeDisk(dir, options.runs == 1 && options.seconds < 1 ? 20 : 200);

    Report report(options, stores, cells);
    bool failed = false;
    for (int run = 1; run <= options.runs && !failed; ++run) {
        std::vector<Server> servers(stores.size());
        for (std::size_t s = 0; s < stores.size() && !failed; ++s) {
            servers[s].store = stores[s];
            const std::string file
                    = dir + "/run" + std::to_string(run) + "-" + std::to_string(s) + ".db";
            if (!start(&servers[s], options, file)) {
                std::fprintf(stderr, "qtpush-server with store=%s did not start\n",
                             stores[s].c_str());
                failed = true;
                break;
            }
            if (options.wsAnswer == "ack") {
                servers[s].wsAnswer = WsAnswer::Ack;
            } else if (options.wsAnswer == "auto"
                       && std::find(options.transports.begin(), options.transports.end(), "ws")
                               != options.transports.end()) {
                std::string error;
                const bool acks = serverAcksWebSocketPushes(
                        servers[s].port, "probe" + std::to_string(run), 300, &error);
                if (!error.empty()) {
                    std::fprintf(stderr, "store=%s: %s\n", stores[s].c_str(), error.c_str());
                    failed = true;
                }
                servers[s].wsAnswer = acks ? WsAnswer::Ack : WsAnswer::Echo;
            }
        }
        for (std::size_t c = 0; c < cells.size() && !failed; ++c) {
            for (std::size_t s = 0; s < servers.size() && !failed; ++s) {
                const Cell &cell = cells[c];
                LoadSpec spec;
                spec.port = servers[s].port;
                spec.transport = cell.transport == "ws" ? Transport::WebSocket : Transport::Http;
                spec.wsAnswer = servers[s].wsAnswer;
                spec.sessionPrefix = "r" + std::to_string(run) + "-c" + std::to_string(c);
                spec.connections = cell.pushers > 0 ? cell.pushers : options.openConnections;
                spec.rate = cell.pushers > 0 ? 0 : options.openRate;
                spec.warmupSeconds = options.warmup;
                spec.seconds = options.seconds;
                spec.payloadBytes = options.payloadBytes;
                spec.serverPid = servers[s].pid;
                const LoadResult result = runLoad(spec);
                drainOutput(servers[s]);
                if (!result.ok) {
                    std::fprintf(stderr, "FAIL run=%d store=%s %s: %s\n", run, stores[s].c_str(),
                                 cellName(cell, options).c_str(), result.error.c_str());
                    failed = true;
                    break;
                }
                report.add(run, s, c, result, servers[s].wsAnswer);
            }
        }
        // A server must also stop cleanly (exit status 0 after SIGTERM): under ASan a leak or
        // an error at exit fails the smoke test.
        for (Server &server : servers) {
            if (!stop(&server)) {
                std::fprintf(stderr, "FAIL qtpush-server (store=%s) did not exit cleanly\n",
                             server.store.c_str());
                failed = true;
            }
        }
    }
    ::rmdir(dir.c_str());
    if (failed)
        return 1;
    report.summarize();
    return 0;
}
