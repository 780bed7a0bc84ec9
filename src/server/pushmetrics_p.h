// SPDX-License-Identifier: MIT
#pragma once

// Internal: the server's counters and its /metrics text (protocol.md: /metrics). Not installed.

#include "pushattachment_p.h"
#include "pushwire_p.h"

#include <QtCore/QByteArray>
#include <QtCore/QHash>

class PushRegistry;

/*!
    The counters the server keeps since it was made. Every part that counts holds a reference to
    the one instance in PushServerPrivate. Not thread-safe: the server's thread.
*/
struct PushMetrics
{
    quint64 pushesTotal = 0;
    quint64 deliveriesTotal[4] = {}; // by PushTransport
    quint64 gapsTotal = 0;
    quint64 requestsTotal = 0;
    QHash<QByteArray, quint64> refusalsTotal; // by protocol.md's error code
    qint64 startedAtMs = 0; // steady clock, for the uptime

    void countDelivery(PushTransport transport) { ++deliveriesTotal[int(transport)]; }
    void countGap() { ++gapsTotal; }
    void countRefusal(PushWire::Refusal refusal) { ++refusalsTotal[PushWire::errorCode(refusal)]; }
    //! Messages written to network clients, over all transports.
    quint64 deliveries() const;
    //! Seconds since the server was made.
    qint64 uptimeSeconds() const;
};

//! The gauges /metrics reads from the connections rather than from the counters.
struct PushConnectionFigures
{
    int connections = 0; // open TCP connections
    int webSockets = 0;
    int eventStreams = 0;
    int longPolls = 0;
};

//! The /metrics answer in Prometheus text exposition format 0.0.4: \a metrics, \a connections,
//! and what \a registry's sessions hold now.
QByteArray pushMetricsText(const PushMetrics &metrics, const PushConnectionFigures &connections,
                           PushRegistry *registry);

//! The process's resident memory (Linux /proc/self/statm); 0 where that cannot be read.
qint64 residentBytes();
