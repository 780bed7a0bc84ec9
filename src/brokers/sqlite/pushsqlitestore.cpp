// SPDX-License-Identifier: MIT
#include "pushsqlitestore_p.h"

#include "pushsqlitelogging_p.h"

#include <QtCore/QCborValue>
#include <QtCore/QDateTime>
#include <QtCore/QFile>

#include <sqlite3.h>

#include <algorithm>

namespace {

// Schema v1 (docs/server.md, "Store format"). application_id and user_version live in the file
// header, so a foreign or newer file is told apart before anything is written.
const char *const schemaV1[] = {
        "CREATE TABLE sessions ("
        " session_id INTEGER PRIMARY KEY,"
        " key_string TEXT NOT NULL UNIQUE,"
        " key BLOB NOT NULL,"
        " epoch INTEGER NOT NULL,"
        " last_id INTEGER NOT NULL,"
        " retain_messages INTEGER NOT NULL,"
        " retain_ms INTEGER NOT NULL,"
        " retain_bytes INTEGER NOT NULL,"
        " flags INTEGER NOT NULL DEFAULT 0,"
        " created_at INTEGER NOT NULL)",
        "CREATE TABLE messages ("
        " session_id INTEGER NOT NULL,"
        " id INTEGER NOT NULL,"
        " pushed_at INTEGER NOT NULL,"
        " bytes INTEGER NOT NULL,"
        " encoding INTEGER NOT NULL DEFAULT 1,"
        " data BLOB NOT NULL)",
        "CREATE UNIQUE INDEX messages_by_session ON messages(session_id, id)",
        "CREATE TABLE meta (name TEXT PRIMARY KEY, value) WITHOUT ROWID",
};

// One function per step N -> N+1, run in order, each in its own transaction that ends by setting
// user_version to N+1. Version 1 is the first, so there are none yet; a future step goes here as
// {1, migrateV1ToV2}.
struct Migration
{
    int from;
    bool (*run)(PushSqliteStore *store);
};
const Migration migrations[] = {{0, nullptr}};

qint64 nowMs()
{
    return QDateTime::currentMSecsSinceEpoch();
}

} // namespace

PushSqliteStore::PushSqliteStore(const QString &path, const PushSqliteOptions &options)
    : m_path(path), m_options(options)
{ }

PushSqliteStore::~PushSqliteStore()
{
    close(false);
}

bool PushSqliteStore::failWith(PushBroker::Error error, const QString &message)
{
    m_error = error;
    m_errorString = message;
    return false;
}

// The error map of design §2.8: one place turns an SQLite result code into an Error and a line
// that names the file.
bool PushSqliteStore::fail(int code, const char *what)
{
    m_lastCode = code;
    const QString detail = m_db ? QString::fromUtf8(sqlite3_errmsg(m_db))
                                : QString::fromUtf8(sqlite3_errstr(code));
    qCDebug(lcPushSqlite) << what << "failed:" << code << detail;
    switch (code & 0xff) {
    case SQLITE_FULL:
        return failWith(PushBroker::StorageFull,
                        QStringLiteral("no space left for store %1").arg(m_path));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return failWith(PushBroker::Locked,
                        QStringLiteral("store %1 is in use by another process").arg(m_path));
    case SQLITE_NOTADB:
        return failWith(PushBroker::NotAStore,
                        QStringLiteral("%1 is not a SQLite database").arg(m_path));
    case SQLITE_CORRUPT:
        return failWith(PushBroker::Corrupt,
                        QStringLiteral("store %1 is corrupt (%2); restore a backup or move it "
                                       "aside")
                                .arg(m_path, detail));
    case SQLITE_READONLY:
        return failWith(PushBroker::ReadOnly, QStringLiteral("store %1 is read-only").arg(m_path));
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
        return failWith(PushBroker::ReadOnly,
                        QStringLiteral("cannot open store %1: %2").arg(m_path, detail));
    case SQLITE_IOERR:
        return failWith(PushBroker::IoError,
                        QStringLiteral("cannot use store %1: %2").arg(m_path, detail));
    default:
        return failWith(PushBroker::Unavailable,
                        QStringLiteral("store %1: %2 (%3)").arg(m_path, detail).arg(code));
    }
}

bool PushSqliteStore::exec(const char *sql)
{
    const int rc = sqlite3_exec(m_db, sql, nullptr, nullptr, nullptr);
    return rc == SQLITE_OK || fail(rc, sql);
}

sqlite3_stmt *PushSqliteStore::prepare(const char *sql)
{
    sqlite3_stmt *statement = nullptr;
    const int rc
            = sqlite3_prepare_v3(m_db, sql, -1, SQLITE_PREPARE_PERSISTENT, &statement, nullptr);
    if (rc != SQLITE_OK) {
        fail(rc, sql);
        return nullptr;
    }
    return statement;
}

bool PushSqliteStore::step(sqlite3_stmt *statement)
{
    int rc = sqlite3_step(statement);
    while (rc == SQLITE_ROW)
        rc = sqlite3_step(statement);
    sqlite3_reset(statement);
    sqlite3_clear_bindings(statement);
    return rc == SQLITE_DONE || fail(rc, sqlite3_sql(statement));
}

bool PushSqliteStore::pragmaInt(const char *sql, qint64 *value)
{
    sqlite3_stmt *statement = nullptr;
    int rc = sqlite3_prepare_v2(m_db, sql, -1, &statement, nullptr);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(statement);
        if (rc == SQLITE_ROW) {
            *value = sqlite3_column_int64(statement, 0);
            rc = SQLITE_OK;
        } else if (rc == SQLITE_DONE) {
            *value = 0;
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(statement);
    return rc == SQLITE_OK || fail(rc, sql);
}

bool PushSqliteStore::open()
{
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_EXRESCODE
            | SQLITE_OPEN_NOMUTEX; // one thread at a time uses the handle: open(), then the writer
    int rc = sqlite3_open_v2(QFile::encodeName(m_path).constData(), &m_db, flags, nullptr);
    if (rc != SQLITE_OK) {
        fail(rc, "open");
        close(false);
        return false;
    }
    sqlite3_extended_result_codes(m_db, 1);
    sqlite3_busy_timeout(m_db, m_options.busyTimeoutMs);
    // A read-only file opens "successfully" read-only, and with EXCLUSIVE locking its first read
    // then fails as SQLITE_IOERR_LOCK: ask first (the spike's finding).
    if (sqlite3_db_readonly(m_db, "main") == 1) {
        failWith(PushBroker::ReadOnly, QStringLiteral("store %1 is read-only").arg(m_path));
        close(false);
        return false;
    }
    // Before the first read: one process owns the file, and WAL then needs no -shm file (which
    // also lets a store on a full disk be reopened).
    qint64 applicationId = 0, version = 0, tables = 0;
    const bool read = exec("PRAGMA locking_mode=EXCLUSIVE")
            && pragmaInt("PRAGMA application_id", &applicationId)
            && pragmaInt("PRAGMA user_version", &version)
            && pragmaInt("SELECT count(*) FROM sqlite_master", &tables);
    if (!read) {
        close(false);
        return false;
    }
    // The checks that refuse a file come before anything writes (journal_mode=WAL rewrites the
    // header), so a refused file keeps every byte.
    bool ok = true;
    if (applicationId != ApplicationId && (applicationId != 0 || tables != 0)) {
        ok = failWith(PushBroker::NotAStore,
                      QStringLiteral("%1 is not a qtpush store").arg(m_path));
    } else if (applicationId == ApplicationId && version > SchemaVersion) {
        ok = failWith(PushBroker::UnsupportedVersion,
                      QStringLiteral("store %1 has schema version %2; this qtpush reads up to %3")
                              .arg(m_path)
                              .arg(version)
                              .arg(SchemaVersion));
    } else if (applicationId == ApplicationId && version < 1) {
        ok = failWith(PushBroker::NotAStore,
                      QStringLiteral("%1 is not a qtpush store").arg(m_path));
    } else if (tables != 0) {
        sqlite3_stmt *check = nullptr;
        rc = sqlite3_prepare_v2(m_db, "PRAGMA quick_check(1)", -1, &check, nullptr);
        if (rc == SQLITE_OK)
            rc = sqlite3_step(check);
        if (rc == SQLITE_ROW) {
            const QString verdict = QString::fromUtf8(reinterpret_cast<const char *>(
                                                              sqlite3_column_text(check, 0)))
                                            .simplified(); // one line
            if (verdict != QLatin1String("ok"))
                ok = failWith(PushBroker::Corrupt,
                              QStringLiteral("store %1 is corrupt (%2); restore a backup or move "
                                             "it aside")
                                      .arg(m_path, verdict));
        } else {
            ok = fail(rc, "PRAGMA quick_check");
        }
        sqlite3_finalize(check);
    }
    if (!ok) {
        close(false);
        return false;
    }

    // Now the writes. auto_vacuum only takes effect before the first table.
    const bool fresh = tables == 0;
    ok = (!fresh || exec("PRAGMA auto_vacuum=INCREMENTAL")) && applyOptions();
    if (ok) {
        sqlite3_stmt *mode = nullptr;
        rc = sqlite3_prepare_v2(m_db, "PRAGMA journal_mode=WAL", -1, &mode, nullptr);
        if (rc == SQLITE_OK)
            rc = sqlite3_step(mode);
        if (rc == SQLITE_ROW) {
            if (qstrcmp(reinterpret_cast<const char *>(sqlite3_column_text(mode, 0)), "wal") != 0)
                ok = failWith(PushBroker::ReadOnly,
                              QStringLiteral("store %1 is read-only").arg(m_path));
        } else {
            ok = fail(rc, "PRAGMA journal_mode=WAL");
        }
        sqlite3_finalize(mode);
    }
    ok = ok && (fresh ? createSchema() : version == SchemaVersion || migrate(int(version)));
    // Takes the write lock now rather than at the first push, and proves the disk has room.
    ok = ok && exec("BEGIN IMMEDIATE");
    if (ok) {
        sqlite3_stmt *meta = prepare("INSERT OR REPLACE INTO meta VALUES ('opened_at', ?1), "
                                     "('written_by', 'qtpush " QT_STRINGIFY(QTPUSH_VERSION) "')");
        ok = meta != nullptr;
        if (ok) {
            sqlite3_bind_int64(meta, 1, nowMs());
            ok = step(meta);
            sqlite3_finalize(meta);
        }
        ok = (ok && commit()) || (rollback(), false);
    }
    ok = ok
            && (m_insertSession
                = prepare("INSERT INTO sessions (key_string, key, epoch, last_id, retain_messages, "
                          "retain_ms, retain_bytes, flags, created_at) "
                          "VALUES (?1, ?2, ?3, 0, ?4, ?5, ?6, ?7, ?8)"))
            && (m_deleteSessionMessages = prepare("DELETE FROM messages WHERE session_id = ?1"))
            && (m_deleteSession = prepare("DELETE FROM sessions WHERE session_id = ?1"))
            && (m_updateRetention = prepare("UPDATE sessions SET retain_messages = ?2, "
                                            "retain_ms = ?3, retain_bytes = ?4 "
                                            "WHERE session_id = ?1"))
            && (m_insertMessage = prepare("INSERT INTO messages (session_id, id, pushed_at, "
                                          "bytes, data) VALUES (?1, ?2, ?3, ?4, ?5)"))
            && (m_updateLastId = prepare("UPDATE sessions SET last_id = ?2 WHERE session_id = ?1"))
            // LIMIT through a subquery: DELETE ... LIMIT needs a compile option not every build
            // has.
            && (m_deleteBelow = prepare("DELETE FROM messages WHERE rowid IN (SELECT rowid FROM "
                                        "messages WHERE session_id = ?1 AND id < ?2 LIMIT ?3)"))
            && (m_deleteOlder = prepare("DELETE FROM messages WHERE rowid IN (SELECT rowid FROM "
                                        "messages WHERE session_id = ?1 AND pushed_at < ?2 "
                                        "LIMIT ?3)"))
            && (m_oldest = prepare("SELECT min(pushed_at) FROM messages WHERE session_id = ?1"));
    if (!ok) {
        close(false);
        return false;
    }
    qCInfo(lcPushSqlite).noquote() << "store" << m_path << "open, schema version" << SchemaVersion;
    return true;
}

bool PushSqliteStore::applyOptions()
{
    if (!exec(m_options.syncFull ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"))
        return false;
    return m_options.maxSizeBytes <= 0 || setMaxSize(m_options.maxSizeBytes);
}

bool PushSqliteStore::setMaxSize(qint64 bytes)
{
    qint64 pageSize = 4096, pages = 0;
    if (!pragmaInt("PRAGMA page_size", &pageSize))
        return false;
    // 0 lifts the quota: SQLite's own maximum.
    const qint64 wanted = bytes > 0 ? std::max<qint64>(1, bytes / pageSize) : 4294967294LL;
    const QByteArray sql = "PRAGMA max_page_count=" + QByteArray::number(wanted);
    return pragmaInt(sql.constData(), &pages);
}

bool PushSqliteStore::createSchema()
{
    if (!exec("BEGIN IMMEDIATE"))
        return false;
    for (const char *sql : schemaV1) {
        if (!exec(sql)) {
            rollback();
            return false;
        }
    }
    const QByteArray header = "PRAGMA application_id = " + QByteArray::number(ApplicationId)
            + "; PRAGMA user_version = " + QByteArray::number(SchemaVersion);
    if (!exec(header.constData())) {
        rollback();
        return false;
    }
    return commit() || (rollback(), false);
}

bool PushSqliteStore::migrate(int from)
{
    // A copy first, named in the log, so that a failed or unwanted migration can be undone.
    const QString backup = m_path + QStringLiteral(".v%1.bak").arg(from);
    const QByteArray vacuum
            = "VACUUM INTO '" + QFile::encodeName(backup).replace('\'', "''") + '\'';
    if (!exec(vacuum.constData()))
        return false;
    qCInfo(lcPushSqlite).noquote() << "store" << m_path << "schema version" << from
                                   << "backed up to" << backup << "before migrating";
    for (int version = from; version < SchemaVersion; ++version) {
        const auto *step
                = std::find_if(std::begin(migrations), std::end(migrations),
                               [version](const Migration &m) { return m.from == version; });
        if (step == std::end(migrations) || !step->run)
            return failWith(PushBroker::UnsupportedVersion,
                            QStringLiteral("store %1 has schema version %2, which cannot be "
                                           "migrated")
                                    .arg(m_path)
                                    .arg(version));
        if (!exec("BEGIN IMMEDIATE"))
            return false;
        const QByteArray setVersion = "PRAGMA user_version=" + QByteArray::number(version + 1);
        if (!step->run(this) || !exec(setVersion.constData()) || !commit()) {
            rollback();
            return false;
        }
    }
    return true;
}

void PushSqliteStore::close(bool checkpoint)
{
    if (!m_db)
        return;
    for (sqlite3_stmt **statement :
         {&m_insertSession, &m_deleteSessionMessages, &m_deleteSession, &m_updateRetention,
          &m_insertMessage, &m_updateLastId, &m_deleteBelow, &m_deleteOlder, &m_oldest}) {
        sqlite3_finalize(*statement);
        *statement = nullptr;
    }
    if (checkpoint)
        sqlite3_wal_checkpoint_v2(m_db, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
    else // as a crash leaves it: the WAL stays for the next open to recover
        sqlite3_db_config(m_db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    sqlite3_close_v2(m_db);
    m_db = nullptr;
}
