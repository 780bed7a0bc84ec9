// SPDX-License-Identifier: MIT
#include "pushsqlitewriter_p.h"

#include "pushsqlitelogging_p.h"

#include <QtCore/QDateTime>
#include <QtCore/QElapsedTimer>

#include <optional>

namespace {

constexpr int PruneRowsPerRound = 1000; // one pruning transaction stays short beside push batches
constexpr int ProbeIntervalMs = 1000;
constexpr int PruneIntervalMs = 50; // under steady load, prune this often between batches

qint64 wallNowMs()
{
    return QDateTime::currentMSecsSinceEpoch();
}

// Rows over the count bound before a session is pruned: deletes come in runs, not one per push.
quint64 countSlack(const PushRetention &retention)
{
    return std::max<quint64>(16, quint64(std::max(0, retention.messages)) / 8);
}

} // namespace

PushSqliteWriter::PushSqliteWriter(std::unique_ptr<PushSqliteStore> store,
                                   QHash<QString, PushSqliteSessionRow> rows,
                                   std::function<PushBrokerHandler *()> handlerSource)
    : m_store(std::move(store)), m_handlerSource(std::move(handlerSource)), m_rows(std::move(rows))
{
    setObjectName(QStringLiteral("qtpush sqlite writer"));
    // What recovery left beyond the limits goes in the first idle moments.
    for (auto it = m_rows.cbegin(); it != m_rows.cend(); ++it) {
        if (it->lowestId != 0)
            m_countDirty.insert(it.key());
        scheduleAge(it.key(), *it);
    }
}

PushSqliteWriter::~PushSqliteWriter()
{
    stop();
}

int PushSqliteWriter::queuedCount() const
{
    QMutexLocker locker(&m_mutex);
    return int(m_queue.size());
}

bool PushSqliteWriter::append(const QString &key, quint64 epoch, const PushStoredMessage &message)
{
    const qint64 bytes = std::max<qint64>(0, message.bytes);
    QMutexLocker locker(&m_mutex);
    // Checked under the mutex that a failing batch drains the queue under: nothing slips in after.
    if (!m_writable.load(std::memory_order_relaxed) || m_stopping || m_queue.size() >= MaxQueuedOps
        || m_queuedBytes + bytes > MaxQueuedBytes)
        return false;
    PushSqliteOp op;
    op.kind = PushSqliteOp::Append;
    op.key = key;
    op.epoch = epoch;
    op.id = message.id;
    op.message = message;
    m_queue.append(std::move(op));
    m_queuedBytes += bytes;
    if (m_queue.size() == 1)
        m_wake.wakeOne();
    return true;
}

void PushSqliteWriter::enqueue(PushSqliteOp op)
{
    QMutexLocker locker(&m_mutex);
    m_queue.append(std::move(op));
    if (m_queue.size() == 1)
        m_wake.wakeOne();
}

void PushSqliteWriter::stop()
{
    {
        QMutexLocker locker(&m_mutex);
        m_stopping = true;
        m_wake.wakeOne();
    }
    if (isRunning() && !wait(QDeadlineTimer(10000))) {
        qCCritical(lcPushSqlite).noquote()
                << "store" << m_store->path() << "still writing after 10 s; waiting on";
        wait();
    }
    if (m_store->isOpen()) {
        const int lost = queuedCount();
        if (lost > 0)
            qCCritical(lcPushSqlite).noquote()
                    << "store" << m_store->path() << "closed with" << lost << "changes not stored";
        m_store->close(!m_abandoning);
    }
}

void PushSqliteWriter::abandon()
{
    {
        QMutexLocker locker(&m_mutex);
        m_abandoning = true;
        m_stopping = true;
        m_queue.clear();
        m_wake.wakeOne();
    }
    stop();
}

void PushSqliteWriter::run()
{
    QElapsedTimer sincePrune;
    sincePrune.start();
    for (;;) {
        QList<PushSqliteOp> batch;
        bool idle = false;
        {
            QMutexLocker locker(&m_mutex);
            const qint64 now = wallNowMs();
            const bool full = m_failure == PushBroker::StorageFull;
            const bool pruneDue = m_failure == PushBroker::NoError
                    && (!m_countDirty.isEmpty() || m_vacuumDue
                        || (!m_ageDue.empty() && m_ageDue.begin()->first <= now));
            if (m_queue.isEmpty() && !m_stopping && !pruneDue && !(full && m_probeAt.hasExpired())
                && (m_retry.isEmpty() || m_failure != PushBroker::NoError)) {
                QDeadlineTimer deadline(QDeadlineTimer::Forever);
                if (full)
                    deadline = m_probeAt;
                if (!m_ageDue.empty() && m_failure == PushBroker::NoError) {
                    const QDeadlineTimer age(std::max<qint64>(0, m_ageDue.begin()->first - now));
                    if (age < deadline)
                        deadline = age;
                }
                m_wake.wait(&m_mutex, deadline);
            }
            if (m_abandoning
                || (m_stopping && m_queue.isEmpty()
                    && (m_retry.isEmpty() || m_failure != PushBroker::NoError)))
                break;
            takeBatch(&batch);
            idle = batch.isEmpty();
        }
        if (m_failure != PushBroker::NoError) {
            // Nothing is written until the disk has room again (or, after any other failure,
            // until a restart); control ops wait, SetMaxSize acts at once.
            for (PushSqliteOp &op : batch) {
                if (op.kind == PushSqliteOp::SetMaxSize) {
                    m_store->setMaxSize(op.maxSize);
                    m_probeAt = QDeadlineTimer(0);
                } else if (op.kind != PushSqliteOp::Append) {
                    m_retry.append(std::move(op));
                }
            }
            if (m_failure == PushBroker::StorageFull && m_probeAt.hasExpired()) {
                if (m_store->probe()) {
                    qCInfo(lcPushSqlite).noquote()
                            << "store" << m_store->path() << "has room again; taking pushes";
                    m_failure = PushBroker::NoError;
                    m_writable.store(true);
                    setState(true, PushBroker::NoError, QString());
                } else {
                    m_probeAt = QDeadlineTimer(ProbeIntervalMs);
                }
            }
            continue;
        }
        if (!batch.isEmpty() || !m_retry.isEmpty()) {
            commitBatch(batch);
            if (!idle && sincePrune.elapsed() < PruneIntervalMs)
                continue;
        }
        sincePrune.restart();
        prune();
    }
    // Trims (the engine's memory budget, PushSession::trimRetained()) live only here until a
    // prune deletes their rows: finish them, so that a reopened store does not bring back what
    // was trimmed. Bounded: a prune that keeps failing leaves the rest to recovery's limits.
    for (int round = 0; !m_abandoning && m_failure == PushBroker::NoError
         && !m_countDirty.isEmpty() && round < 1000;
         ++round)
        prune();
    if (m_abandoning)
        qCWarning(lcPushSqlite).noquote() << "store" << m_store->path() << "abandoned";
}

void PushSqliteWriter::takeBatch(QList<PushSqliteOp> *batch)
{
    // Whatever queued during the last commit, up to a bound: at low load one push is one commit,
    // under load the batches grow by themselves.
    if (m_queue.size() <= MaxBatchOps && m_queuedBytes <= MaxBatchBytes) {
        batch->swap(m_queue);
        m_queue.reserve(batch->capacity());
        m_queuedBytes = 0;
        return;
    }
    qsizetype count = 0;
    qint64 bytes = 0;
    while (count < m_queue.size() && count < MaxBatchOps && bytes <= MaxBatchBytes)
        bytes += std::max<qint64>(0, m_queue.at(count++).message.bytes);
    *batch = m_queue.mid(0, count);
    m_queue.remove(0, count);
    m_queuedBytes = std::max<qint64>(0, m_queuedBytes - bytes);
}

void PushSqliteWriter::commitBatch(QList<PushSqliteOp> &batch)
{
    QList<PushSqliteOp> ops = std::exchange(m_retry, {});
    ops.append(std::move(batch));
    QHash<QString, std::optional<PushSqliteSessionRow>> undo;
    SpanList appended;
    const qint64 now = wallNowMs();
    bool ok = m_store->begin();
    for (const PushSqliteOp &op : std::as_const(ops)) {
        if (!ok)
            break;
        if (op.kind == PushSqliteOp::SetMaxSize) {
            ok = m_store->setMaxSize(op.maxSize);
            continue;
        }
        if (!undo.contains(op.key)) {
            const auto row = m_rows.constFind(op.key);
            undo.insert(op.key, row == m_rows.cend() ? std::nullopt : std::optional(*row));
        }
        auto row = m_rows.find(op.key);
        const bool current = row != m_rows.end() && row->epoch == op.epoch;
        switch (op.kind) {
        case PushSqliteOp::Create: {
            if (row != m_rows.end())
                ok = m_store->deleteSession(row->rowId);
            const qint64 rowId = ok ? m_store->insertSession(op.key, op.keyValue, op.epoch,
                                                             op.retention, op.flags, now)
                                    : -1;
            ok = rowId > 0;
            if (ok) {
                PushSqliteSessionRow fresh;
                fresh.rowId = rowId;
                fresh.epoch = op.epoch;
                fresh.retention = op.retention;
                m_rows.insert(op.key, fresh);
            }
            break;
        }
        case PushSqliteOp::Remove:
            if (current) {
                ok = m_store->deleteSession(row->rowId);
                m_rows.erase(row);
            }
            break;
        case PushSqliteOp::Retention:
            if (current) {
                ok = m_store->updateRetention(row->rowId, op.retention);
                row->retention = op.retention;
                m_countDirty.insert(op.key);
                scheduleAge(op.key, *row); // a period set or changed after the first messages
            }
            break;
        case PushSqliteOp::Trim:
            if (current && op.id > row->keepFrom) {
                row->keepFrom = op.id;
                m_countDirty.insert(op.key);
            }
            break;
        case PushSqliteOp::Append: {
            if (!current) // the session went (or came back with another epoch): nobody waits
                break;
            if (op.id != row->lastId + 1)
                qCWarning(lcPushSqlite)
                        << "session" << op.key << "stores id" << op.id << "after" << row->lastId;
            // A session that retains nothing keeps only its last id: no payload is written.
            if (row->retention.messages > 0) {
                ok = m_store->insertMessage(row->rowId, op.id, op.message.pushedAtMs,
                                            op.message.bytes, op.message.data);
                if (row->lowestId == 0)
                    row->lowestId = op.id;
                if (row->oldestAtMs == 0) {
                    row->oldestAtMs = op.message.pushedAtMs;
                    scheduleAge(op.key, *row);
                }
                if (op.id - row->lowestId + 1
                    > quint64(row->retention.messages) + countSlack(row->retention))
                    m_countDirty.insert(op.key);
            }
            row->lastId = op.id;
            Span &span = appended.at({op.key, op.epoch});
            if (span.first == 0)
                span.first = op.id;
            span.last = op.id;
            break;
        }
        case PushSqliteOp::SetMaxSize:
            break;
        }
    }
    for (auto it = appended.spans.cbegin(); ok && it != appended.spans.cend(); ++it) {
        const auto row = m_rows.constFind(it->first.first);
        if (row != m_rows.cend() && row->epoch == it->first.second)
            ok = m_store->updateLastId(row->rowId, row->lastId);
    }
    ok = ok && m_store->commit();
    if (!ok) {
        m_store->rollback();
        for (auto it = undo.cbegin(); it != undo.cend(); ++it) {
            if (it->has_value())
                m_rows.insert(it.key(), **it);
            else
                m_rows.remove(it.key());
        }
        failBatch(ops, appended);
        return;
    }
    m_commits.fetch_add(1, std::memory_order_relaxed);
    quint64 count = 0;
    PushBrokerHandler *handler = m_handlerSource ? m_handlerSource() : nullptr;
    for (const auto &[session, span] : std::as_const(appended.spans)) { // in the batch's order
        count += span.last - span.first + 1;
        if (handler)
            handler->stored(session.first, session.second, span.last);
    }
    m_stored.fetch_add(count, std::memory_order_relaxed);
}

void PushSqliteWriter::failBatch(QList<PushSqliteOp> &batch, const SpanList &appended)
{
    const PushBroker::Error error = m_store->error();
    const QString message = m_store->errorString();
    SpanList discards = appended;
    QList<PushSqliteOp> queued;
    {
        // Under the queue's mutex: append() sees not writable from here on, so the queue drained
        // now is all that was accepted and is not stored.
        QMutexLocker locker(&m_mutex);
        m_writable.store(false);
        queued.swap(m_queue);
        m_queuedBytes = 0;
    }
    for (QList<PushSqliteOp> *ops : {&batch, &queued}) {
        for (PushSqliteOp &op : *ops) {
            if (op.kind == PushSqliteOp::Append) {
                Span &span = discards.at({op.key, op.epoch});
                if (span.first == 0 || op.id < span.first)
                    span.first = op.id;
            } else if (op.kind != PushSqliteOp::SetMaxSize) {
                m_retry.append(std::move(op)); // the session set stays right once writes resume
            }
        }
    }
    m_failure = error == PushBroker::NoError ? PushBroker::Unavailable : error;
    if (m_failure == PushBroker::StorageFull) {
        qCWarning(lcPushSqlite).noquote() << message << "- refusing pushes until there is room";
        m_probeAt = QDeadlineTimer(ProbeIntervalMs);
    } else {
        // An fsync that failed may still have left the commit in the WAL, where a restart finds
        // it: numbering again in this process could then reuse ids. Stop writing until then.
        qCCritical(lcPushSqlite).noquote() << message << "- refusing pushes until a restart";
    }
    setState(false, m_failure, message);
    PushBrokerHandler *handler = m_handlerSource ? m_handlerSource() : nullptr;
    for (const auto &[session, span] : std::as_const(discards.spans)) {
        if (handler)
            handler->discarded(session.first, session.second, span.first, m_failure);
    }
}

void PushSqliteWriter::setState(bool writable, PushBroker::Error error, const QString &message)
{
    if (onState)
        onState(writable, error, message);
}

void PushSqliteWriter::scheduleAge(const QString &key, const PushSqliteSessionRow &row)
{
    const auto previous = m_ageDueOf.constFind(key);
    if (previous != m_ageDueOf.cend()) {
        m_ageDue.erase({*previous, key});
        m_ageDueOf.erase(previous);
    }
    if (row.retention.periodMs > 0 && row.oldestAtMs > 0) {
        // A message expires once it is older than the period (pushed_at < now - period, as
        // recovery has it), so one pushed at T is due at T + period + 1, not before.
        const qint64 due = row.oldestAtMs + row.retention.periodMs + 1;
        m_ageDue.insert({due, key});
        m_ageDueOf.insert(key, due);
    }
}

void PushSqliteWriter::prune()
{
    const bool vacuum = std::exchange(m_vacuumDue, false);
    const qint64 now = wallNowMs();
    const bool ageDue = !m_ageDue.empty() && m_ageDue.begin()->first <= now;
    if (m_countDirty.isEmpty() && !ageDue) {
        if (vacuum)
            m_store->vacuumSome();
        return;
    }
    int budget = PruneRowsPerRound;
    bool ok = m_store->begin();
    for (auto it = m_countDirty.begin(); ok && budget > 0 && it != m_countDirty.end();) {
        const auto row = m_rows.find(*it);
        if (row == m_rows.end()) {
            it = m_countDirty.erase(it);
            continue;
        }
        const quint64 keep = quint64(std::max(0, row->retention.messages));
        const quint64 below
                = std::max(row->keepFrom, row->lastId + 1 - std::min(keep, row->lastId));
        const int removed = m_store->deleteBelow(row->rowId, below, budget);
        ok = removed >= 0;
        if (!ok)
            break;
        budget -= removed;
        m_pruned.fetch_add(quint64(removed), std::memory_order_relaxed);
        if (budget > 0) { // all of it
            row->lowestId = below > row->lastId ? 0 : below;
            if (row->lowestId == 0)
                row->oldestAtMs = 0;
            it = m_countDirty.erase(it);
        }
    }
    while (ok && budget > 0 && !m_ageDue.empty() && m_ageDue.begin()->first <= now) {
        const QString key = m_ageDue.begin()->second;
        const auto row = m_rows.find(key);
        if (row == m_rows.end() || row->retention.periodMs <= 0) {
            m_ageDue.erase(m_ageDue.begin());
            m_ageDueOf.remove(key);
            continue;
        }
        const int removed = m_store->deleteOlder(row->rowId, now - row->retention.periodMs, budget);
        ok = removed >= 0;
        if (!ok)
            break;
        budget -= removed;
        m_pruned.fetch_add(quint64(removed), std::memory_order_relaxed);
        if (budget <= 0)
            break; // the rest in the next round
        row->oldestAtMs = m_store->oldestPushedAt(row->rowId);
        ok = row->oldestAtMs >= 0;
        if (row->oldestAtMs == 0)
            row->lowestId = 0;
        scheduleAge(key, *row);
    }
    ok = ok && m_store->commit();
    if (!ok) {
        // Even a delete can need a page: a full disk here is a full disk for pushes too.
        m_store->rollback();
        QList<PushSqliteOp> none;
        failBatch(none, SpanList());
        return;
    }
    m_vacuumDue = true;
}
