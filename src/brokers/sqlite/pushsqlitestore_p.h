// SPDX-License-Identifier: MIT
#pragma once

#include <QtPush/pushbroker.h>

#include <QtCore/QByteArray>
#include <QtCore/QHash>
#include <QtCore/QString>

struct sqlite3;
struct sqlite3_stmt;

//! How a store file is opened (PushSqliteBroker's options, parsed from sqlite:FILE?...).
struct PushSqliteOptions
{
    bool syncFull = true; //!< PRAGMA synchronous=FULL (default) or NORMAL
    qint64 maxSizeBytes = 0; //!< quota through PRAGMA max_page_count; 0: none
    int busyTimeoutMs = 2000; //!< how long open() waits for a store another process holds
};

//! What the writer keeps of one stored session (no SQL lookup per push).
struct PushSqliteSessionRow
{
    qint64 rowId = 0;
    quint64 epoch = 0;
    quint64 lastId = 0; //!< newest committed id
    PushRetention retention;
    qint64 oldestAtMs = 0; //!< pushed_at of the oldest row that may be stored; 0: none
    quint64 lowestId = 0; //!< lowest id that may be stored (a lower bound); 0: none
    quint64 keepFrom = 0; //!< the engine trimmed its window below this id
};

/*!
    The SQLite file of a PushSqliteBroker: opening with every check of the error map, the schema
    and its migrations, recovery, and the statements the writer runs. Not thread-safe: open() and
    recover() run in the opening thread, everything else in the writer thread afterwards.

    Every failing call records lastCode() (the extended SQLite result code) and the mapped
    error()/errorString(), which name the file.
*/
class PushSqliteStore
{
public:
    static constexpr int SchemaVersion = 1;
    static constexpr qint32 ApplicationId = 0x51505348; // 'QPSH'

    PushSqliteStore(const QString &path, const PushSqliteOptions &options);
    ~PushSqliteStore();
    PushSqliteStore(const PushSqliteStore &) = delete;
    PushSqliteStore &operator=(const PushSqliteStore &) = delete;

    //! Opens, checks and prepares the file (design §2.7 steps 1-2). A refused file is not written.
    bool open();
    //! Reads every session and its retained messages, applying the retention limits at \a nowMs.
    bool recover(QList<PushStoredSession> *recovered, QHash<QString, PushSqliteSessionRow> *rows,
                 qint64 nowMs);
    //! Checkpoints the WAL into the file and closes. \a checkpoint false: as a crash leaves it.
    void close(bool checkpoint = true);
    bool isOpen() const { return m_db != nullptr; }

    PushBroker::Error error() const { return m_error; }
    QString errorString() const { return m_errorString; }
    int lastCode() const { return m_lastCode; }
    QString path() const { return m_path; }

    // The writer's statements. A failure maps the result code and returns false (or -1).
    bool begin();
    bool commit();
    void rollback(); //!< only when a transaction is still open (SQLite rolls back FULL itself)
    qint64 insertSession(const QString &key, const QVariant &keyValue, quint64 epoch,
                         const PushRetention &retention, quint32 flags, qint64 nowMs);
    bool deleteSession(qint64 rowId);
    bool updateRetention(qint64 rowId, const PushRetention &retention);
    bool insertMessage(qint64 rowId, quint64 id, qint64 pushedAtMs, qint64 bytes,
                       const QVariant &data);
    bool updateLastId(qint64 rowId, quint64 lastId);
    //! Deletes up to \a limit messages with id < \a belowId; returns how many, or -1.
    int deleteBelow(qint64 rowId, quint64 belowId, int limit);
    //! Deletes up to \a limit messages pushed before \a beforeMs; returns how many, or -1.
    int deleteOlder(qint64 rowId, qint64 beforeMs, int limit);
    //! pushed_at of the session's oldest stored message; 0 when none; -1 on error.
    qint64 oldestPushedAt(qint64 rowId);
    //! A write that needs free room (64 KiB), in its own transaction: true once the disk has room.
    bool probe();
    bool setMaxSize(qint64 bytes);
    //! Gives free pages back when the free list is over a quarter of the file. Outside a
    //! transaction.
    void vacuumSome();

private:
    bool exec(const char *sql);
    sqlite3_stmt *prepare(const char *sql);
    bool step(sqlite3_stmt *statement); //!< runs to SQLITE_DONE, resets
    bool pragmaInt(const char *sql, qint64 *value);
    bool fail(int code, const char *what);
    bool failWith(PushBroker::Error error, const QString &message);
    bool createSchema();
    bool migrate(int from);
    bool applyOptions();

    QString m_path;
    PushSqliteOptions m_options;
    sqlite3 *m_db = nullptr;
    PushBroker::Error m_error = PushBroker::NoError;
    QString m_errorString;
    int m_lastCode = 0;

    sqlite3_stmt *m_insertSession = nullptr;
    sqlite3_stmt *m_deleteSessionMessages = nullptr;
    sqlite3_stmt *m_deleteSession = nullptr;
    sqlite3_stmt *m_updateRetention = nullptr;
    sqlite3_stmt *m_insertMessage = nullptr;
    sqlite3_stmt *m_updateLastId = nullptr;
    sqlite3_stmt *m_deleteBelow = nullptr;
    sqlite3_stmt *m_deleteOlder = nullptr;
    sqlite3_stmt *m_oldest = nullptr;
};
