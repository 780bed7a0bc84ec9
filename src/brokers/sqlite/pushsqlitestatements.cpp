// SPDX-License-Identifier: MIT
// PushSqliteStore's work after open(): recovery, and the statements the writer thread runs.
#include "pushsqlitestore_p.h"

#include "pushsqlitelogging_p.h"

#include <QtCore/QCborValue>

#include <sqlite3.h>

#include <algorithm>

namespace {

QByteArray toCbor(const QVariant &value)
{
    return QCborValue::fromVariant(value).toCbor();
}

QVariant fromCbor(sqlite3_stmt *statement, int column)
{
    const auto *bytes = static_cast<const char *>(sqlite3_column_blob(statement, column));
    const int size = sqlite3_column_bytes(statement, column);
    return QCborValue::fromCbor(QByteArray::fromRawData(bytes, size)).toVariant();
}

// The retained window the engine would hold: the newest messages within the count, age and byte
// bounds, contiguous and ending at the session's last id (PushSessionState's own rules).
void applyRetention(PushStoredSession *session, qint64 nowMs)
{
    QList<PushStoredMessage> &retained = session->retained;
    const PushRetention &retention = session->retention;
    qsizetype first = 0;
    // Only the run that ends at last_id counts: rows left below a hole are from an older window.
    if (!retained.isEmpty() && retained.constLast().id != session->position.id)
        first = retained.size();
    for (qsizetype i = retained.size() - 1; i > first; --i) {
        if (retained.at(i - 1).id + 1 != retained.at(i).id) {
            first = i;
            break;
        }
    }
    if (retained.size() - first > retention.messages)
        first = retained.size() - std::max(0, retention.messages);
    if (retention.periodMs > 0) {
        while (first < retained.size()
               && retained.at(first).pushedAtMs < nowMs - retention.periodMs)
            ++first;
    }
    if (retention.bytes > 0) {
        qint64 bytes = 0;
        for (qsizetype i = first; i < retained.size(); ++i)
            bytes += retained.at(i).bytes;
        while (bytes > retention.bytes && first < retained.size() - 1)
            bytes -= retained.at(first++).bytes;
    }
    retained.remove(0, first);
}

} // namespace

bool PushSqliteStore::recover(QList<PushStoredSession> *recovered,
                              QHash<QString, PushSqliteSessionRow> *rows, qint64 nowMs)
{
    sqlite3_stmt *sessions = prepare("SELECT session_id, key_string, key, epoch, last_id, "
                                     "retain_messages, retain_ms, retain_bytes, flags "
                                     "FROM sessions ORDER BY session_id");
    if (!sessions)
        return false;
    QHash<qint64, qsizetype> indexOf;
    int rc;
    while ((rc = sqlite3_step(sessions)) == SQLITE_ROW) {
        PushStoredSession session;
        PushSqliteSessionRow row;
        row.rowId = sqlite3_column_int64(sessions, 0);
        const QString keyString = QString::fromUtf8(
                reinterpret_cast<const char *>(sqlite3_column_text(sessions, 1)),
                sqlite3_column_bytes(sessions, 1));
        session.key = fromCbor(sessions, 2);
        row.epoch = quint64(sqlite3_column_int64(sessions, 3));
        row.lastId = quint64(sqlite3_column_int64(sessions, 4));
        row.retention.messages = sqlite3_column_int(sessions, 5);
        row.retention.periodMs = sqlite3_column_int(sessions, 6);
        row.retention.bytes = sqlite3_column_int64(sessions, 7);
        session.flags = quint32(sqlite3_column_int64(sessions, 8));
        session.position = {row.epoch, row.lastId};
        session.retention = row.retention;
        indexOf.insert(row.rowId, recovered->size());
        recovered->append(std::move(session));
        rows->insert(keyString, row);
    }
    sqlite3_finalize(sessions);
    if (rc != SQLITE_DONE)
        return fail(rc, "reading sessions");

    sqlite3_stmt *messages = prepare("SELECT session_id, id, pushed_at, bytes, data FROM messages "
                                     "ORDER BY session_id, id");
    if (!messages)
        return false;
    qint64 currentRow = -1;
    PushStoredSession *current = nullptr;
    while ((rc = sqlite3_step(messages)) == SQLITE_ROW) {
        const qint64 rowId = sqlite3_column_int64(messages, 0);
        if (rowId != currentRow) {
            currentRow = rowId;
            const auto found = indexOf.constFind(rowId);
            current = found == indexOf.constEnd() ? nullptr : &(*recovered)[*found];
        }
        const quint64 id = quint64(sqlite3_column_int64(messages, 1));
        if (!current || id > current->position.id) // never more than was committed as stored
            continue;
        PushStoredMessage message;
        message.id = id;
        message.pushedAtMs = sqlite3_column_int64(messages, 2);
        message.bytes = sqlite3_column_int64(messages, 3);
        message.data = fromCbor(messages, 4);
        current->retained.append(std::move(message));
    }
    sqlite3_finalize(messages);
    if (rc != SQLITE_DONE)
        return fail(rc, "reading messages");

    for (PushStoredSession &session : *recovered) {
        // The writer prunes what the window no longer holds, starting at its oldest stored row.
        PushSqliteSessionRow &row = (*rows)[session.key.toString()];
        if (!session.retained.isEmpty()) {
            row.oldestAtMs = session.retained.constFirst().pushedAtMs;
            row.lowestId = session.retained.constFirst().id;
        }
        applyRetention(&session, nowMs);
    }
    return true;
}

bool PushSqliteStore::begin()
{
    return exec("BEGIN IMMEDIATE");
}

bool PushSqliteStore::commit()
{
    return exec("COMMIT");
}

void PushSqliteStore::rollback()
{
    // SQLite has rolled back already after SQLITE_FULL and some I/O errors.
    if (m_db && !sqlite3_get_autocommit(m_db))
        sqlite3_exec(m_db, "ROLLBACK", nullptr, nullptr, nullptr);
}

qint64 PushSqliteStore::insertSession(const QString &key, const QVariant &keyValue, quint64 epoch,
                                      const PushRetention &retention, quint32 flags, qint64 nowMs)
{
    const QByteArray keyUtf8 = key.toUtf8();
    const QByteArray keyCbor = toCbor(keyValue);
    sqlite3_bind_text(m_insertSession, 1, keyUtf8.constData(), int(keyUtf8.size()), SQLITE_STATIC);
    sqlite3_bind_blob(m_insertSession, 2, keyCbor.constData(), int(keyCbor.size()), SQLITE_STATIC);
    sqlite3_bind_int64(m_insertSession, 3, qint64(epoch));
    sqlite3_bind_int(m_insertSession, 4, retention.messages);
    sqlite3_bind_int(m_insertSession, 5, retention.periodMs);
    sqlite3_bind_int64(m_insertSession, 6, retention.bytes);
    sqlite3_bind_int64(m_insertSession, 7, flags);
    sqlite3_bind_int64(m_insertSession, 8, nowMs);
    if (!step(m_insertSession))
        return -1;
    return sqlite3_last_insert_rowid(m_db);
}

bool PushSqliteStore::deleteSession(qint64 rowId)
{
    sqlite3_bind_int64(m_deleteSessionMessages, 1, rowId);
    sqlite3_bind_int64(m_deleteSession, 1, rowId);
    return step(m_deleteSessionMessages) && step(m_deleteSession);
}

bool PushSqliteStore::updateRetention(qint64 rowId, const PushRetention &retention)
{
    sqlite3_bind_int64(m_updateRetention, 1, rowId);
    sqlite3_bind_int(m_updateRetention, 2, retention.messages);
    sqlite3_bind_int(m_updateRetention, 3, retention.periodMs);
    sqlite3_bind_int64(m_updateRetention, 4, retention.bytes);
    return step(m_updateRetention);
}

bool PushSqliteStore::insertMessage(qint64 rowId, quint64 id, qint64 pushedAtMs, qint64 bytes,
                                    const QVariant &data)
{
    const QByteArray cbor = toCbor(data);
    sqlite3_bind_int64(m_insertMessage, 1, rowId);
    sqlite3_bind_int64(m_insertMessage, 2, qint64(id));
    sqlite3_bind_int64(m_insertMessage, 3, pushedAtMs);
    sqlite3_bind_int64(m_insertMessage, 4, bytes);
    sqlite3_bind_blob(m_insertMessage, 5, cbor.constData(), int(cbor.size()), SQLITE_STATIC);
    return step(m_insertMessage);
}

bool PushSqliteStore::updateLastId(qint64 rowId, quint64 lastId)
{
    sqlite3_bind_int64(m_updateLastId, 1, rowId);
    sqlite3_bind_int64(m_updateLastId, 2, qint64(lastId));
    return step(m_updateLastId);
}

int PushSqliteStore::deleteBelow(qint64 rowId, quint64 belowId, int limit)
{
    sqlite3_bind_int64(m_deleteBelow, 1, rowId);
    sqlite3_bind_int64(m_deleteBelow, 2, qint64(belowId));
    sqlite3_bind_int(m_deleteBelow, 3, limit);
    return step(m_deleteBelow) ? sqlite3_changes(m_db) : -1;
}

int PushSqliteStore::deleteOlder(qint64 rowId, qint64 beforeMs, int limit)
{
    sqlite3_bind_int64(m_deleteOlder, 1, rowId);
    sqlite3_bind_int64(m_deleteOlder, 2, beforeMs);
    sqlite3_bind_int(m_deleteOlder, 3, limit);
    return step(m_deleteOlder) ? sqlite3_changes(m_db) : -1;
}

qint64 PushSqliteStore::oldestPushedAt(qint64 rowId)
{
    sqlite3_bind_int64(m_oldest, 1, rowId);
    const int rc = sqlite3_step(m_oldest);
    const qint64 oldest = rc == SQLITE_ROW ? sqlite3_column_int64(m_oldest, 0) : 0;
    sqlite3_reset(m_oldest);
    sqlite3_clear_bindings(m_oldest);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        fail(rc, "min(pushed_at)");
        return -1;
    }
    return oldest;
}

bool PushSqliteStore::probe()
{
    // 64 KiB needs new pages, so a quota or a disk with only a few bytes left still says full.
    if (!begin())
        return false;
    const bool ok = exec("INSERT OR REPLACE INTO meta VALUES ('probe', zeroblob(65536))")
            && exec("DELETE FROM meta WHERE name = 'probe'") && commit();
    if (!ok)
        rollback();
    return ok;
}

void PushSqliteStore::vacuumSome()
{
    qint64 free = 0, pages = 0;
    if (pragmaInt("PRAGMA freelist_count", &free) && pragmaInt("PRAGMA page_count", &pages)
        && free * 4 > pages) {
        sqlite3_exec(m_db, "PRAGMA incremental_vacuum(256)", nullptr, nullptr, nullptr);
    }
}
