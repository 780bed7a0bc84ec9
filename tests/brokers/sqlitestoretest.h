// SPDX-License-Identifier: MIT
// What tst_pushsqlitestore and tst_pushsqlitefailures share: a handler that records what the
// writer reports, and a store opened and recovered as PushSqliteBroker::openBackend() does.
#pragma once

#include "pushsqlitewriter_p.h"

#include <QtCore/QCryptographicHash>
#include <QtCore/QDateTime>
#include <QtCore/QFile>

#include <sqlite3.h>

class RecordingHandler : public PushBrokerHandler
{
public:
    struct Discard
    {
        QString key;
        quint64 epoch;
        quint64 fromId;
        PushBroker::Error error;
    };

    void stored(const QString &key, quint64 epoch, quint64 upToId) override
    {
        QMutexLocker locker(&mutex);
        // In order per session and epoch, never twice.
        if (storedEpoch.value(key) == epoch && upToId <= storedUpTo.value(key))
            ++outOfOrder;
        storedUpTo[key] = upToId;
        storedEpoch[key] = epoch;
    }
    void discarded(const QString &key, quint64 epoch, quint64 fromId,
                   PushBroker::Error error) override
    {
        QMutexLocker locker(&mutex);
        discards.append({key, epoch, fromId, error});
    }
    void publication(const QString &, PushPosition, const QVariant &, qint64) override { }
    void positionChanged(const QString &, PushPosition) override { }

    quint64 upTo(const QString &key) const
    {
        QMutexLocker locker(&mutex);
        return storedUpTo.value(key);
    }
    quint64 epochOf(const QString &key) const
    {
        QMutexLocker locker(&mutex);
        return storedEpoch.value(key);
    }
    qsizetype discardCount() const
    {
        QMutexLocker locker(&mutex);
        return discards.size();
    }

    mutable QMutex mutex;
    QHash<QString, quint64> storedUpTo;
    QHash<QString, quint64> storedEpoch;
    QList<Discard> discards;
    int outOfOrder = 0;
};

struct Opened
{
    std::unique_ptr<PushSqliteWriter> writer;
    QList<PushStoredSession> recovered;
    PushBroker::Error error = PushBroker::NoError;
    QString errorString;
};

// Opens and recovers; the writer is not started, so a test can queue before the first batch.
inline Opened openStore(const QString &path, RecordingHandler *handler,
                        PushSqliteOptions options = {})
{
    Opened opened;
    auto store = std::make_unique<PushSqliteStore>(path, options);
    QHash<QString, PushSqliteSessionRow> rows;
    if (!store->open()
        || !store->recover(&opened.recovered, &rows, QDateTime::currentMSecsSinceEpoch())) {
        opened.error = store->error();
        opened.errorString = store->errorString();
        return opened;
    }
    opened.writer = std::make_unique<PushSqliteWriter>(std::move(store), std::move(rows),
                                                       [handler] { return handler; });
    return opened;
}

inline PushSqliteOp createOp(const QString &key, quint64 epoch, int retain, int periodMs = 0)
{
    PushSqliteOp op;
    op.kind = PushSqliteOp::Create;
    op.key = key;
    op.keyValue = key;
    op.epoch = epoch;
    op.retention = {retain, periodMs, 0};
    return op;
}

inline PushStoredMessage message(quint64 id, const QVariant &data = {}, qint64 pushedAtMs = 0)
{
    return {id, data.isValid() ? data : QVariant(QVariantMap{{QStringLiteral("n"), id}}), 100,
            pushedAtMs ? pushedAtMs : QDateTime::currentMSecsSinceEpoch()};
}

inline QByteArray checksum(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return QCryptographicHash::hash(file.readAll(), QCryptographicHash::Sha256);
}

// A plain connection of the test's own, as an operator's sqlite3 would be.
inline bool rawExec(const QString &path, const QByteArray &sql, qint64 *result = nullptr)
{
    sqlite3 *db = nullptr;
    bool ok = sqlite3_open(QFile::encodeName(path).constData(), &db) == SQLITE_OK;
    sqlite3_stmt *statement = nullptr;
    ok = ok && sqlite3_prepare_v2(db, sql.constData(), -1, &statement, nullptr) == SQLITE_OK;
    int rc = ok ? sqlite3_step(statement) : SQLITE_ERROR;
    if (result && rc == SQLITE_ROW)
        *result = sqlite3_column_int64(statement, 0);
    ok = ok && (rc == SQLITE_ROW || rc == SQLITE_DONE);
    sqlite3_finalize(statement);
    sqlite3_close(db);
    return ok;
}

inline const QString key = QStringLiteral("s");

inline std::pair<quint64, quint64> pos(const PushPosition &position)
{
    return {position.epoch, position.id};
}
