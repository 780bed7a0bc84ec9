// SPDX-License-Identifier: MIT
#pragma once

#include <QtPush/pushbroker.h>
#include <QtPush/qtpushsqlitebroker_export.h>

#include <memory>

class PushSqliteBrokerPrivate;

/*!
    A durable broker: sessions, their epochs and newest ids, and their retained messages live in
    an SQLite file (QtPush::SqliteBroker; the core never links SQLite). After a restart on the
    same file, sessions come back with the same epoch, ids continue where they stopped, and
    clients resume with \c since as if the process had never gone. A message is stored before any
    client sees it and before PushSession::publish() finishes, so kill -9 loses nothing that was
    answered or delivered.

    \code
    auto broker = std::make_unique<PushSqliteBroker>(QStringLiteral("/var/lib/qtpush/store.db"));
    if (!broker->open())
        qFatal("%s", qPrintable(broker->errorString()));
    PushRegistry registry(std::move(broker));
    \endcode

    How it stores: one writer thread owns the file (WAL, locking_mode=EXCLUSIVE, so a second
    process cannot open it), and commits whatever was pushed during the previous commit in one
    transaction (group commit): at low load a push costs one commit, under load batches grow.
    Pruning by count and age runs between batches in short transactions of its own. Payloads are
    stored as CBOR (QCborValue::fromVariant()): what JSON gives (maps, lists, strings, integers
    as qlonglong, doubles, bools, null) comes back exactly; other types come back as CBOR
    represents them (a QByteArray stays one, a QDateTime becomes a string...).

    Errors: open() returns false with error() and errorString() (one line naming the file) for
    a file it must not use; nothing is written to it then. qtpush-server maps them to sysexits
    statuses: NotAStore, Corrupt and UnsupportedVersion to 65 (EX_DATAERR: the file is kept
    untouched), ReadOnly and StorageFull to 73 (EX_CANTCREAT; a missing directory is ReadOnly,
    "cannot open store F"), IoError to 74 (EX_IOERR), Locked to 75 (EX_TEMPFAIL: another process
    has it; the broker waits 2 s for it first). While running, a full disk or quota (StorageFull)
    makes the broker not writable: the batch and the queued pushes are discarded (no client saw
    them, their ids are reused), writableChanged(false) is emitted, and a probe once a second
    makes it writable again when there is room. Any other write error (IoError, ReadOnly,
    Corrupt) stops writing until a restart, since a failed fsync may still leave a commit a
    restart finds. Readers are never affected: the retained window is served from memory.

    Ownership: a PushRegistry takes it (see PushBroker). Threading: as PushBroker; the setters
    are thread-safe.
*/
class QTPUSHSQLITEBROKER_EXPORT PushSqliteBroker : public PushBroker
{
    Q_OBJECT
    Q_PROPERTY(QString path READ path CONSTANT)

public:
    enum class Synchronous {
        Full, //!< survives an OS crash or power loss too (where the disk honours flushes)
        Normal, //!< survives a crash of the process; an OS crash may lose the newest commits
    };
    Q_ENUM(Synchronous)

    explicit PushSqliteBroker(const QString &path, QObject *parent = nullptr);
    ~PushSqliteBroker() override;

    //! A broker for \c{sqlite:FILE[?sync=full|normal][&max_size=BYTES]}, or null with
    //! \a errorString set to one line naming what is wrong. Does not open it.
    static std::unique_ptr<PushSqliteBroker> fromUrl(const QString &url,
                                                     QString *errorString = nullptr);

    QString path() const;

    Synchronous synchronous() const;
    //! PRAGMA synchronous; Full by default. Takes effect at open(), so set it before.
    void setSynchronous(Synchronous synchronous);

    qint64 maxSize() const;
    //! A quota for the file in bytes (PRAGMA max_page_count), 0 for none: past it pushes are
    //! refused as on a full disk. Thread-safe; a running broker applies it before its next
    //! commit, and becomes writable again if it was full.
    void setMaxSize(qint64 bytes);

    //! Transactions that stored messages so far (group commit: fewer than storedMessages()).
    quint64 commitCount() const;
    //! Messages stored since open().
    quint64 storedMessages() const;
    //! Changes waiting for the writer thread.
    int queuedChanges() const;

    Capabilities capabilities() const override;

protected:
    bool openBackend(QList<PushStoredSession> *recovered) override;
    void closeBackend() override;
    PushPosition sessionCreated(const QString &key, const QVariant &id,
                                const PushRetention &retention, quint32 flags) override;
    void sessionRemoved(const QString &key, quint64 epoch, RemoveReason reason) override;
    void retentionChanged(const QString &key, quint64 epoch,
                          const PushRetention &retention) override;
    void retainedTrimmed(const QString &key, quint64 epoch, quint64 oldestKept) override;
    bool append(const QString &key, quint64 epoch, const PushStoredMessage &message) override;
    QFuture<PushReceipt> publish(const QString &key, const QVariant &data, qint64 bytes) override;
    QFuture<PushHistory> history(const QString &key, quint64 afterId) override;

private:
    std::unique_ptr<PushSqliteBrokerPrivate> d;
};
