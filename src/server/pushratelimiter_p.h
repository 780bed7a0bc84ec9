// SPDX-License-Identifier: MIT
#pragma once

// Internal: the per-connection push rate limit. Not installed.

#include <QtGlobal>

#include <algorithm>

/*!
    A token bucket: at most \c rate takes per second on average, with bursts of as many, but
    never fewer than one. The floor matters for rates under one per second (\c {--push-rate 0.1}
    is one push every 10 s): a bucket that held only \c rate tokens would never reach the one a
    take needs, and every push would be refused.

    The caller passes the time (PushClock::steadyMs()), so the bucket does no I/O and a test can
    drive it. A plain value, owned by the connection it limits; not thread-safe.
*/
struct PushRateLimiter
{
    double tokens = -1; // full on first use
    qint64 lastMs = 0;

    //! Takes one token at \a nowMs; false, taking nothing, when none is left. A \a rate of 0
    //! or less is no limit.
    bool take(double rate, qint64 nowMs)
    {
        if (rate <= 0)
            return true;
        const double capacity = std::max(rate, 1.0);
        if (tokens < 0) {
            tokens = capacity;
            lastMs = nowMs;
        }
        const qint64 elapsedMs = std::max<qint64>(nowMs - lastMs, 0);
        tokens = std::min(capacity, tokens + double(elapsedMs) * rate / 1000.0);
        lastMs = std::max(lastMs, nowMs);
        if (tokens < 1)
            return false;
        tokens -= 1;
        return true;
    }
};
