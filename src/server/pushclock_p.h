// SPDX-License-Identifier: MIT
#pragma once

// Internal: the server's clocks. Not installed.
//
// Every timeout, grace period, expiry and rate limit of the server reads steadyMs(), which an
// operator or NTP stepping the wall clock does not move: a wall clock stepped forward by an hour
// would otherwise expire every grace period and idle connection at once, and one stepped back
// would stop them expiring and starve every rate limiter for that hour. wallMs() is only for
// times the server shows (admin "time", "connectedSince"); token expiry (JWT exp) is wall-clock
// time by definition and is checked against the wall clock in PushToken.

#include <QtCore/QDateTime>

#include <chrono>

namespace PushClock {

//! Milliseconds on the monotonic clock (CLOCK_MONOTONIC on Linux); only differences mean anything.
inline qint64 steadyMs()
{
    using namespace std::chrono;
    return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

//! Milliseconds since the Unix epoch, for display.
inline qint64 wallMs()
{
    return QDateTime::currentMSecsSinceEpoch();
}

} // namespace PushClock
