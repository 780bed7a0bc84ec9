// SPDX-License-Identifier: MIT
#include <QtPush/pushmemorybroker.h>
#include <QtPush/pushsession.h>

#include <QtCore/QRandomGenerator>

PushMemoryBroker::PushMemoryBroker(QObject *parent) : PushBroker(parent) { }

PushMemoryBroker::~PushMemoryBroker() = default;

PushBroker::Capabilities PushMemoryBroker::capabilities() const
{
    return AssignsIdsLocally;
}

bool PushMemoryBroker::openBackend(QList<PushStoredSession> *)
{
    return true; // nothing outlives the process, so there is nothing to recover
}

void PushMemoryBroker::closeBackend() { }

PushPosition PushMemoryBroker::sessionCreated(const QString &, const QVariant &,
                                              const PushRetention &, quint32)
{
    // Random and non-zero: a client that resumes with an old epoch learns its ids are void.
    quint64 epoch = 0;
    while (epoch == 0)
        epoch = QRandomGenerator::system()->generate64();
    return {epoch, 0};
}

void PushMemoryBroker::sessionRemoved(const QString &, quint64, RemoveReason) { }

void PushMemoryBroker::retentionChanged(const QString &, quint64, const PushRetention &) { }

void PushMemoryBroker::retainedTrimmed(const QString &, quint64, quint64) { }

// The engine calls these only for Durable brokers or those that do not assign ids locally.

bool PushMemoryBroker::append(const QString &, quint64, const PushStoredMessage &)
{
    Q_UNREACHABLE();
    return false;
}

QFuture<PushReceipt> PushMemoryBroker::publish(const QString &, const QVariant &, qint64)
{
    Q_UNREACHABLE();
    return {};
}

QFuture<PushHistory> PushMemoryBroker::history(const QString &, quint64)
{
    Q_UNREACHABLE();
    return {};
}
