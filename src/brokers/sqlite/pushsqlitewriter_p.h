// SPDX-License-Identifier: MIT
#pragma once

#include "pushsqlitestore_p.h"

#include <QtCore/QDeadlineTimer>
#include <QtCore/QMutex>
#include <QtCore/QSet>
#include <QtCore/QThread>
#include <QtCore/QWaitCondition>

#include <atomic>
#include <functional>
#include <memory>
#include <set>

//! One change for the file, in the order the engine made it.
struct PushSqliteOp
{
    enum Kind : quint8 { Append, Create, Remove, Retention, Trim, SetMaxSize };
    Kind kind = Append;
    quint32 flags = 0;
    QString key;
    quint64 epoch = 0;
    quint64 id = 0; //!< Append: the message's id; Trim: the oldest id kept
    PushStoredMessage message; //!< Append
    QVariant keyValue; //!< Create: the key as first given
    PushRetention retention; //!< Create, Retention
    qint64 maxSize = 0; //!< SetMaxSize
};

/*!
    The one thread that writes a PushSqliteStore: an ordered queue of ops, self-clocking group
    commit (whatever queued during the last commit goes into the next transaction), stored() or
    discarded() after each commit, pruning between batches, and a probe once a second while the
    disk is full.

    The queue's mutex is a leaf lock: append() and enqueue() only take it, so the engine may call
    them with its session mutex held. A PushBrokerHandler, from handlerSource, hears the outcome in
    the writer thread without any lock of the writer's held.
*/
class PushSqliteWriter : public QThread
{
public:
    static constexpr int MaxQueuedOps = 65536;
    static constexpr qint64 MaxQueuedBytes = 64 * 1024 * 1024;
    static constexpr int MaxBatchOps = 4096;
    static constexpr qint64 MaxBatchBytes = 8 * 1024 * 1024;

    //! Takes the open \a store, with the sessions it recovered.
    PushSqliteWriter(std::unique_ptr<PushSqliteStore> store,
                     QHash<QString, PushSqliteSessionRow> rows,
                     std::function<PushBrokerHandler *()> handlerSource);
    ~PushSqliteWriter() override;

    //! Called from the writer thread when writable or the error changes (no lock held).
    std::function<void(bool writable, PushBroker::Error error, const QString &message)> onState;

    //! Queues a message; false when not writable or the queue is full. Any thread; never blocks.
    bool append(const QString &key, quint64 epoch, const PushStoredMessage &message);
    //! Queues a control op (never refused: they are small and keep the session set right).
    void enqueue(PushSqliteOp op);
    //! Stores everything queued (finishing its stored() calls), stops and closes the file. Blocks.
    void stop();
    //! Tests: stops after the batch in hand, forgets the rest and leaves the WAL as a crash would.
    void abandon();

    bool isWritable() const { return m_writable.load(std::memory_order_relaxed); }
    quint64 commitCount() const { return m_commits.load(std::memory_order_relaxed); }
    quint64 storedCount() const { return m_stored.load(std::memory_order_relaxed); }
    //! Rows deleted by pruning (count, age and trims) since the start.
    quint64 prunedCount() const { return m_pruned.load(std::memory_order_relaxed); }
    int queuedCount() const;

protected:
    void run() override;

private:
    struct Span
    {
        quint64 first = 0;
        quint64 last = 0;
    };
    using SessionId = std::pair<QString, quint64>; // key, epoch
    //! The messages of a batch per session, in the order the sessions first appear.
    struct SpanList
    {
        QList<std::pair<SessionId, Span>> spans;
        QHash<SessionId, qsizetype> index;
        Span &at(const SessionId &session)
        {
            const auto found = index.constFind(session);
            if (found != index.cend())
                return spans[*found].second;
            index.insert(session, spans.size());
            spans.append({session, Span()});
            return spans.last().second;
        }
    };

    void takeBatch(QList<PushSqliteOp> *batch);
    void commitBatch(QList<PushSqliteOp> &batch);
    void failBatch(QList<PushSqliteOp> &batch, const SpanList &appended);
    void setState(bool writable, PushBroker::Error error, const QString &message);
    void prune();
    void scheduleAge(const QString &key, const PushSqliteSessionRow &row);

    std::unique_ptr<PushSqliteStore> m_store;
    std::function<PushBrokerHandler *()> m_handlerSource;

    // Under m_mutex: the queue and what decides whether it takes more.
    mutable QMutex m_mutex;
    QWaitCondition m_wake;
    QList<PushSqliteOp> m_queue;
    qint64 m_queuedBytes = 0;
    bool m_stopping = false;
    bool m_abandoning = false;
    std::atomic<bool> m_writable{true};

    // The writer thread's own.
    QHash<QString, PushSqliteSessionRow> m_rows;
    QList<PushSqliteOp> m_retry; //!< control ops of a failed batch, applied before the next one
    QSet<QString> m_countDirty; //!< sessions that may hold more rows than their count allows
    std::set<std::pair<qint64, QString>> m_ageDue; //!< (when the oldest row expires, key)
    QHash<QString, qint64> m_ageDueOf;
    PushBroker::Error m_failure = PushBroker::NoError;
    QDeadlineTimer m_probeAt;
    bool m_vacuumDue = false;

    std::atomic<quint64> m_commits{0};
    std::atomic<quint64> m_stored{0};
    std::atomic<quint64> m_pruned{0};
};
