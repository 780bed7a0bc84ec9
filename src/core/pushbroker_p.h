// SPDX-License-Identifier: MIT
#pragma once

// Internal: PushBroker's state. Not installed.

#include <QtPush/pushbroker.h>

#include <QtCore/QMutex>

#include <atomic>

class PushBrokerPrivate
{
public:
    // isWritable() is one relaxed load: the engine and the server read it per push.
    std::atomic<bool> writable{true};
    std::atomic<bool> open{false};
    // Set by the registry that adopts the broker, cleared once closeBackend() has returned.
    // Brokers call handler() from their own threads.
    std::atomic<PushBrokerHandler *> handler{nullptr};

    // Guarded by mutex: setError() may run in any thread.
    mutable QMutex mutex;
    PushBroker::Error error = PushBroker::NoError;
    QString errorString;

    // What openBackend() recovered, until a PushRegistry takes it (takeRecovered()).
    QList<PushStoredSession> recovered;
};
