// SPDX-License-Identifier: MIT
#include <QtPush/pushbroker.h>

#include "pushbroker_p.h"
#include "pushcorelogging_p.h"

PushBroker::PushBroker(QObject *parent) : QObject(parent), d(std::make_unique<PushBrokerPrivate>())
{ }

PushBroker::~PushBroker() = default;

bool PushBroker::open()
{
    if (d->open.load()) {
        qCWarning(lcPushCore) << "PushBroker::open: the broker is open already";
        return true;
    }
    QList<PushStoredSession> recovered;
    if (!openBackend(&recovered)) {
        QMutexLocker locker(&d->mutex);
        if (d->error == NoError) { // a backend that forgot to say why still reports a failure
            d->error = Unavailable;
            d->errorString = QStringLiteral("the broker could not be opened");
        }
        return false;
    }
    d->recovered = std::move(recovered);
    d->open.store(true);
    return true;
}

bool PushBroker::isOpen() const
{
    return d->open.load();
}

void PushBroker::close()
{
    if (!d->open.exchange(false))
        return;
    closeBackend(); // its last stored() calls still reach the handler
    d->handler.store(nullptr);
}

bool PushBroker::isWritable() const
{
    return d->writable.load(std::memory_order_relaxed);
}

PushBroker::Error PushBroker::error() const
{
    QMutexLocker locker(&d->mutex);
    return d->error;
}

QString PushBroker::errorString() const
{
    QMutexLocker locker(&d->mutex);
    return d->errorString;
}

void PushBroker::setError(Error error, const QString &message)
{
    {
        QMutexLocker locker(&d->mutex);
        d->errorString = message;
        if (d->error == error)
            return;
        d->error = error;
    }
    // While open() runs its caller reports the failure (qtpush-server: one line, then exit).
    if (error != NoError && d->open.load())
        qCWarning(lcPushCore).noquote() << "broker error:" << message;
    // Always queued, also from the broker's own thread: a broker may call this inside append(),
    // with a session's mutex held, where a slot that pushes would deadlock. Dropped if the
    // broker is deleted first.
    QMetaObject::invokeMethod(
            this, [this, error] { Q_EMIT errorOccurred(error); }, Qt::QueuedConnection);
}

void PushBroker::setWritable(bool writable)
{
    if (d->writable.exchange(writable) == writable)
        return;
    // Queued, as in setError(): isWritable() answers at once, the signal follows.
    QMetaObject::invokeMethod(
            this, [this, writable] { Q_EMIT writableChanged(writable); }, Qt::QueuedConnection);
}

PushBrokerHandler *PushBroker::handler() const
{
    return d->handler.load();
}
