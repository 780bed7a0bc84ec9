// SPDX-License-Identifier: MIT
#include "pushmetrics_p.h"

#include "pushclock_p.h"

#include <QtPush/pushregistry.h>
#include <QtPush/pushsession.h>

#include <QtCore/QFile>

quint64 PushMetrics::deliveries() const
{
    quint64 total = 0;
    for (quint64 count : deliveriesTotal)
        total += count;
    return total;
}

qint64 PushMetrics::uptimeSeconds() const
{
    return (PushClock::steadyMs() - startedAtMs) / 1000;
}

qint64 residentBytes()
{
    QFile status(QStringLiteral("/proc/self/statm"));
    if (!status.open(QIODevice::ReadOnly))
        return 0;
    const QList<QByteArray> fields = status.readAll().split(' ');
    return fields.size() > 1 ? fields.at(1).toLongLong() * 4096 : 0;
}

QByteArray pushMetricsText(const PushMetrics &metrics, const PushConnectionFigures &connections,
                           PushRegistry *registry)
{
    // Prometheus text exposition format 0.0.4.
    int clients = 0;
    qint64 retainedBytes = 0;
    const QVariantList sessions = registry->sessions();
    for (const QVariant &id : sessions) {
        if (PushSession *session = registry->findSession(id)) {
            clients += session->count();
            retainedBytes += session->retainedBytes();
        }
    }
    const qint64 rssBytes = residentBytes();
    QByteArray text;
    auto metric = [&text](const char *name, const char *type, const char *help) {
        text.append("# HELP ").append(name).append(' ').append(help).append('\n');
        text.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    };
    metric("qtpush_connections", "gauge", "Open TCP connections.");
    text.append("qtpush_connections ")
            .append(QByteArray::number(connections.connections))
            .append('\n');
    metric("qtpush_websockets", "gauge", "Open WebSocket connections.");
    text.append("qtpush_websockets ")
            .append(QByteArray::number(connections.webSockets))
            .append('\n');
    metric("qtpush_sessions", "gauge", "Sessions in the registry.");
    text.append("qtpush_sessions ").append(QByteArray::number(sessions.size())).append('\n');
    metric("qtpush_clients", "gauge", "Clients of all sessions, network and in-process.");
    text.append("qtpush_clients ").append(QByteArray::number(clients)).append('\n');
    metric("qtpush_pushes_total", "counter", "Messages pushed through this server.");
    text.append("qtpush_pushes_total ")
            .append(QByteArray::number(metrics.pushesTotal))
            .append('\n');
    metric("qtpush_deliveries_total", "counter", "Messages written to network clients.");
    for (PushTransport transport :
         {PushTransport::WebSocket, PushTransport::Sse, PushTransport::Poll}) {
        text.append("qtpush_deliveries_total{transport=\"").append(transportName(transport));
        text.append("\"} ")
                .append(QByteArray::number(metrics.deliveriesTotal[int(transport)]))
                .append('\n');
    }
    metric("qtpush_gaps_total", "counter", "Gap frames sent for messages a client missed.");
    text.append("qtpush_gaps_total ").append(QByteArray::number(metrics.gapsTotal)).append('\n');
    metric("qtpush_http_requests_total", "counter", "HTTP requests parsed.");
    text.append("qtpush_http_requests_total ")
            .append(QByteArray::number(metrics.requestsTotal))
            .append('\n');
    metric("qtpush_refusals_total", "counter", "Requests and frames refused, by error code.");
    for (auto it = metrics.refusalsTotal.cbegin(); it != metrics.refusalsTotal.cend(); ++it) {
        text.append("qtpush_refusals_total{code=\"").append(it.key()).append("\"} ");
        text.append(QByteArray::number(it.value())).append('\n');
    }
    metric("qtpush_retained_bytes", "gauge",
           "Bytes of messages sessions retain for resumption, counted as decoded.");
    text.append("qtpush_retained_bytes ").append(QByteArray::number(retainedBytes)).append('\n');
    metric("qtpush_resident_memory_bytes", "gauge", "Resident memory of the process.");
    text.append("qtpush_resident_memory_bytes ").append(QByteArray::number(rssBytes)).append('\n');
    metric("qtpush_uptime_seconds", "gauge", "Seconds since the server was created.");
    text.append("qtpush_uptime_seconds ")
            .append(QByteArray::number(metrics.uptimeSeconds()))
            .append('\n');
    return text;
}
