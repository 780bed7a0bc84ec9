// SPDX-License-Identifier: MIT
// The load side of qtpush-bench-push: pushers over HTTP keep-alive or WebSocket, on one thread
// with epoll and non-blocking sockets (see main.cpp for what is measured and why).

#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pushbench {

int64_t nowNs();
double cpuSeconds(); // this process, user + system
double processCpuSeconds(long pid); // another process, from /proc/PID/stat; < 0 if unreadable

enum class Transport { Http, WebSocket };

// What answers a WebSocket push: the echo of the message to its sender (every server), or an
// `{"type":"ack","ref":R,"id":N}` frame (servers that know `"ref"` in a push frame).
enum class WsAnswer { Echo, Ack };

struct LoadSpec
{
    uint16_t port = 0;
    Transport transport = Transport::Http;
    WsAnswer wsAnswer = WsAnswer::Echo;
    std::string sessionPrefix; // one session per connection: PREFIX-N
    int connections = 1;
    // Closed loop when rate == 0: each connection keeps one push in flight and sends the next as
    // soon as the answer arrives. Open loop otherwise: pushes at `rate` per second in total,
    // round-robin over the connections, on schedule whether answered or not (HTTP pipelines
    // them); latency counts from the scheduled time, so a late send is not hidden.
    double rate = 0;
    double warmupSeconds = 1;
    double seconds = 5;
    int payloadBytes = 100;
    long serverPid = 0; // for its CPU time
};

struct LoadResult
{
    bool ok = false;
    std::string error; // the first problem, when !ok
    uint64_t pushes = 0; // answered inside the measured window
    double seconds = 0; // the measured window's length
    double pushesPerSecond = 0;
    double p50Ms = 0, p99Ms = 0, maxMs = 0;
    double generatorCpu = 0; // share of one core over the window
    double serverCpu = -1; // share of one core over the window, -1 if unknown
    uint64_t errors = 0; // non-200 answers, error frames, closed connections
    // Answers in the window on the least and the most served connection: how evenly the server
    // takes turns (closed loop).
    uint64_t fewestOnAConnection = 0, mostOnAConnection = 0;
};

LoadResult runLoad(const LoadSpec &spec);

// Sends one push with a "ref" on a fresh WebSocket client and reports whether the server answers
// it with an ack frame (within `graceMs` after the echo). nullopt-like: returns false on error
// too, with *error set.
bool serverAcksWebSocketPushes(uint16_t port, const std::string &session, int graceMs,
                               std::string *error);

} // namespace pushbench
