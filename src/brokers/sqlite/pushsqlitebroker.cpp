// SPDX-License-Identifier: MIT
#include <QtPush/pushsqlitebroker.h>
#include <QtPush/pushsession.h>

#include "pushsqlitelogging_p.h"
#include "pushsqlitewriter_p.h"

#include <QtCore/QDateTime>
#include <QtCore/QMutex>
#include <QtCore/QRandomGenerator>

class PushSqliteBrokerPrivate
{
public:
    QString path;
    mutable QMutex mutex; // options, and the writer's pointer while it comes and goes
    PushSqliteOptions options;
    // Set by openBackend() before any registry calls the seam, and kept until the broker goes:
    // a session may still push while close() runs, and a stopped writer refuses it.
    std::unique_ptr<PushSqliteWriter> writer;
};

PushSqliteBroker::PushSqliteBroker(const QString &path, QObject *parent)
    : PushBroker(parent), d(std::make_unique<PushSqliteBrokerPrivate>())
{
    d->path = path;
}

PushSqliteBroker::~PushSqliteBroker()
{
    close();
}

std::unique_ptr<PushSqliteBroker> PushSqliteBroker::fromUrl(const QString &url,
                                                            QString *errorString)
{
    const auto refuse = [&](const QString &why) {
        if (errorString)
            *errorString = QStringLiteral("%1 in store \"%2\"; expected "
                                          "sqlite:FILE[?sync=full|normal][&max_size=BYTES]")
                                   .arg(why, url);
        return nullptr;
    };
    const QLatin1String scheme("sqlite:");
    if (!url.startsWith(scheme))
        return refuse(QStringLiteral("no sqlite: scheme"));
    const qsizetype question = url.indexOf(QLatin1Char('?'));
    const QString path = url.mid(scheme.size(), question < 0 ? -1 : question - scheme.size());
    if (path.isEmpty())
        return refuse(QStringLiteral("no file name"));
    auto broker = std::make_unique<PushSqliteBroker>(path);
    if (question < 0)
        return broker;
    for (const QString &item : url.mid(question + 1).split(QLatin1Char('&'))) {
        const QString name = item.section(QLatin1Char('='), 0, 0);
        const QString value = item.section(QLatin1Char('='), 1);
        if (name == QLatin1String("sync") && value == QLatin1String("full")) {
            broker->setSynchronous(Synchronous::Full);
        } else if (name == QLatin1String("sync") && value == QLatin1String("normal")) {
            broker->setSynchronous(Synchronous::Normal);
        } else if (name == QLatin1String("max_size")) {
            bool ok = false;
            const qint64 bytes = value.toLongLong(&ok);
            if (!ok || bytes <= 0)
                return refuse(
                        QStringLiteral("max_size \"%1\" is not a positive byte count").arg(value));
            broker->setMaxSize(bytes);
        } else {
            return refuse(QStringLiteral("unknown option \"%1\"").arg(item));
        }
    }
    return broker;
}

QString PushSqliteBroker::path() const
{
    return d->path;
}

PushSqliteBroker::Synchronous PushSqliteBroker::synchronous() const
{
    QMutexLocker locker(&d->mutex);
    return d->options.syncFull ? Synchronous::Full : Synchronous::Normal;
}

void PushSqliteBroker::setSynchronous(Synchronous synchronous)
{
    QMutexLocker locker(&d->mutex);
    if (d->writer)
        qCWarning(lcPushSqlite)
                << "PushSqliteBroker::setSynchronous: takes effect at the next open";
    d->options.syncFull = synchronous == Synchronous::Full;
}

qint64 PushSqliteBroker::maxSize() const
{
    QMutexLocker locker(&d->mutex);
    return d->options.maxSizeBytes;
}

void PushSqliteBroker::setMaxSize(qint64 bytes)
{
    QMutexLocker locker(&d->mutex);
    d->options.maxSizeBytes = std::max<qint64>(0, bytes);
    if (d->writer) {
        PushSqliteOp op;
        op.kind = PushSqliteOp::SetMaxSize;
        op.maxSize = d->options.maxSizeBytes;
        d->writer->enqueue(std::move(op));
    }
}

quint64 PushSqliteBroker::commitCount() const
{
    QMutexLocker locker(&d->mutex);
    return d->writer ? d->writer->commitCount() : 0;
}

quint64 PushSqliteBroker::storedMessages() const
{
    QMutexLocker locker(&d->mutex);
    return d->writer ? d->writer->storedCount() : 0;
}

int PushSqliteBroker::queuedChanges() const
{
    QMutexLocker locker(&d->mutex);
    return d->writer ? d->writer->queuedCount() : 0;
}

PushBroker::Capabilities PushSqliteBroker::capabilities() const
{
    return AssignsIdsLocally | Durable;
}

bool PushSqliteBroker::openBackend(QList<PushStoredSession> *recovered)
{
    PushSqliteOptions options;
    {
        QMutexLocker locker(&d->mutex);
        options = d->options;
    }
    auto store = std::make_unique<PushSqliteStore>(d->path, options);
    QHash<QString, PushSqliteSessionRow> rows;
    if (!store->open() || !store->recover(recovered, &rows, QDateTime::currentMSecsSinceEpoch())) {
        setError(store->error(), store->errorString());
        recovered->clear();
        return false;
    }
    auto writer = std::make_unique<PushSqliteWriter>(std::move(store), std::move(rows),
                                                     [this] { return handler(); });
    writer->onState = [this](bool writable, Error error, const QString &message) {
        setError(error, message);
        setWritable(writable);
    };
    writer->start();
    QMutexLocker locker(&d->mutex);
    d->writer = std::move(writer);
    setError(NoError, QString());
    setWritable(true);
    return true;
}

void PushSqliteBroker::closeBackend()
{
    if (d->writer)
        d->writer->stop(); // the last stored() calls reach the handler before this returns
}

PushPosition PushSqliteBroker::sessionCreated(const QString &key, const QVariant &id,
                                              const PushRetention &retention, quint32 flags)
{
    quint64 epoch = 0;
    while (epoch == 0)
        epoch = QRandomGenerator::system()->generate64();
    PushSqliteOp op;
    op.kind = PushSqliteOp::Create;
    op.key = key;
    op.epoch = epoch;
    op.keyValue = id;
    op.retention = retention;
    op.flags = flags;
    if (d->writer) // written in the next batch; its appends come after it in the same queue
        d->writer->enqueue(std::move(op));
    return {epoch, 0};
}

void PushSqliteBroker::sessionRemoved(const QString &key, quint64 epoch, RemoveReason)
{
    // Deleted and Released alike: the session and what it retained go.
    PushSqliteOp op;
    op.kind = PushSqliteOp::Remove;
    op.key = key;
    op.epoch = epoch;
    if (d->writer)
        d->writer->enqueue(std::move(op));
}

void PushSqliteBroker::retentionChanged(const QString &key, quint64 epoch,
                                        const PushRetention &retention)
{
    PushSqliteOp op;
    op.kind = PushSqliteOp::Retention;
    op.key = key;
    op.epoch = epoch;
    op.retention = retention;
    if (d->writer)
        d->writer->enqueue(std::move(op));
}

void PushSqliteBroker::retainedTrimmed(const QString &key, quint64 epoch, quint64 oldestKept)
{
    PushSqliteOp op;
    op.kind = PushSqliteOp::Trim;
    op.key = key;
    op.epoch = epoch;
    op.id = oldestKept;
    if (d->writer)
        d->writer->enqueue(std::move(op));
}

bool PushSqliteBroker::append(const QString &key, quint64 epoch, const PushStoredMessage &message)
{
    return d->writer && d->writer->append(key, epoch, message);
}

QFuture<PushReceipt> PushSqliteBroker::publish(const QString &, const QVariant &, qint64)
{
    Q_UNREACHABLE(); // the engine numbers locally (AssignsIdsLocally)
    return {};
}

QFuture<PushHistory> PushSqliteBroker::history(const QString &, quint64)
{
    Q_UNREACHABLE(); // the engine answers history from its window
    return {};
}
