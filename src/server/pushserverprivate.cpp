// SPDX-License-Identifier: MIT
#include "pushserver_p.h"

#include "pushchangejournal_p.h"
#include "pushclock_p.h"
#include "pushlongpoll_p.h"
#include "pushserverlogging_p.h"
#include "pushstreamtransport_p.h"

#include <QtPush/pushregistry.h>

PushServerPrivate::PushServerPrivate(PushServer *q, PushRegistry *registry)
    : q(q), registry(registry), connections(q, config, counters, this,
                                            [this] {
                                                Q_EMIT this->q->connectionCountChanged();
                                                checkShutdownFinished();
                                            }),
      clients(registry, config, q), sessions(registry, config),
      publisher(sessions, counters, config),
      admin(registry, counters, connections, clients, housekeepingTimer)
{
    housekeepingTimer.setInterval(1000);
    QObject::connect(&housekeepingTimer, &QTimer::timeout, q, [this] { housekeeping(); });
    shutdownTimer.setSingleShot(true);
    QObject::connect(&shutdownTimer, &QTimer::timeout, q, [this] {
        qCInfo(lcPushServer) << "shutdown: dropping" << connections.connectionCount()
                             << "connections that did not close in time";
        this->q->abort();
        Q_EMIT this->q->shutdownFinished();
    });
    counters.startedAtMs = PushClock::steadyMs();
    changes = std::make_unique<PushChangeJournal>(registry);
    // Queued: a session the server makes for a connecting client is announced with that
    // client in it.
    QObject::connect(
            registry, &PushRegistry::sessionAdded, q,
            [this](const QString &sessionKey) { admin.announceSessionAdded(sessionKey); },
            Qt::QueuedConnection);
    QObject::connect(
            registry, &PushRegistry::sessionRemoved, q,
            [this](const QString &sessionKey) { admin.announceSessionRemoved(sessionKey); },
            Qt::QueuedConnection);
}

PushServerPrivate::~PushServerPrivate() = default;

void PushServerPrivate::setError(PushServer::Error newError, const QString &message)
{
    errorString = message;
    if (error == newError)
        return;
    error = newError;
    Q_EMIT q->errorOccurred(newError);
}

PushFrame &PushServerPrivate::frame(const PushAttachment &attachment, quint64 id,
                                    const QVariant &data)
{
    // A push reaches the clients of a session one after another: one encoding serves them all.
    if (lastFrame.id != id || lastFrame.epoch != attachment.sessionEpoch
        || lastFrame.sessionKey != attachment.sessionKey) {
        lastFrame = PushFrame();
        lastFrame.sessionKey = attachment.sessionKey;
        lastFrame.epoch = attachment.sessionEpoch;
        lastFrame.id = id;
        lastFrame.json
                = PushWire::messageFrame(id, attachment.sessionJson, PushWire::encodeJson(data));
    }
    return lastFrame;
}

void PushServerPrivate::flushLater(PushStreamTransport *transport)
{
    toFlush.append(transport);
    if (flushQueued)
        return;
    flushQueued = true;
    QMetaObject::invokeMethod(
            q, [this] { flushAll(); }, Qt::QueuedConnection);
}

void PushServerPrivate::flushAll()
{
    flushQueued = false;
    const QList<QPointer<PushStreamTransport>> transports = std::exchange(toFlush, {});
    for (const QPointer<PushStreamTransport> &transport : transports) {
        if (transport)
            transport->flushNow();
    }
}

void PushServerPrivate::push(const PushPushRequest &request, QObject *context, PushPushDone done)
{
    publisher.push(request, context, done);
}

void PushServerPrivate::deliveryStopped(PushDelivery *delivery)
{
    clients.detach(delivery->attachment(), delivery);
}

void PushServerPrivate::deliveryEnded(PushDelivery *delivery)
{
    connections.forget(delivery);
    delivery->deleteLater();
}

void PushServerPrivate::requestReceived(PushHttpConnection *connection,
                                        const PushHttpRequest &request)
{
    handleRequest(connection, request);
}

void PushServerPrivate::inputEnded(PushHttpConnection *connection)
{
    if (PushLongPoll *poll = connections.longPoll(connection))
        poll->answer(); // a client that half-closed is answered now
}

void PushServerPrivate::connectionClosed(PushHttpConnection *connection)
{
    connections.httpClosed(connection);
}

void PushServerPrivate::dropAll()
{
    connections.clear();
    // Everything the server made is its child, also what waits for deleteLater() still.
    const QList<QObject *> children = q->findChildren<QObject *>(Qt::FindDirectChildrenOnly);
    for (QObject *child : children) {
        child->disconnect();
    }
    qDeleteAll(children);
}

void PushServerPrivate::checkShutdownFinished()
{
    if (!shuttingDown || !shutdownTimer.isActive() || connections.connectionCount() > 0)
        return;
    shutdownTimer.stop();
    qCInfo(lcPushServer) << "shutdown complete";
    Q_EMIT q->shutdownFinished();
}
