// SPDX-License-Identifier: MIT
// The SQLite store and its writer thread, driven directly with a recording handler (no engine):
// group commit, recovery, retention, a full quota, files it must refuse, and a process killed
// while it writes.
#include "pushsqlitewriter_p.h"

#include <QtCore/QCryptographicHash>
#include <QtCore/QDateTime>
#include <QtCore/QFile>
#include <QtCore/QJsonDocument>
#include <QtCore/QProcess>
#include <QtCore/QRandomGenerator>
#include <QtCore/QTemporaryDir>
#include <QtTest/QTest>

#include <sqlite3.h>

#include <csignal>
#include <cstdio>
#include <unistd.h>

namespace {

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
Opened openStore(const QString &path, RecordingHandler *handler, PushSqliteOptions options = {})
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

PushSqliteOp createOp(const QString &key, quint64 epoch, int retain, int periodMs = 0)
{
    PushSqliteOp op;
    op.kind = PushSqliteOp::Create;
    op.key = key;
    op.keyValue = key;
    op.epoch = epoch;
    op.retention = {retain, periodMs, 0};
    return op;
}

PushStoredMessage message(quint64 id, const QVariant &data = {}, qint64 pushedAtMs = 0)
{
    return {id, data.isValid() ? data : QVariant(QVariantMap{{QStringLiteral("n"), id}}), 100,
            pushedAtMs ? pushedAtMs : QDateTime::currentMSecsSinceEpoch()};
}

QByteArray checksum(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return QCryptographicHash::hash(file.readAll(), QCryptographicHash::Sha256);
}

// A plain connection of the test's own, as an operator's sqlite3 would be.
bool rawExec(const QString &path, const QByteArray &sql, qint64 *result = nullptr)
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

const QString key = QStringLiteral("s");

std::pair<quint64, quint64> pos(const PushPosition &position)
{
    return {position.epoch, position.id};
}

} // namespace

class tst_PushSqliteStore : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void storedInOrderAndRecovered();
    void groupCommit();
    void retentionAndTrimPersisted();
    void pruningByCountAndAge();
    void deletedSessionsStayDeleted();
    void payloadRoundTrip();
    void fullQuotaRefusesThenRecovers();
    void badFiles_data();
    void badFiles();
    void abandonedWriterLosesOnlyUnstored();
    void killedProcessLosesOnlyUnstored();

private:
    QTemporaryDir m_dir;
    QString m_path;
    int m_count = 0;
};

void tst_PushSqliteStore::init()
{
    QVERIFY(m_dir.isValid());
    m_dir.setAutoRemove(qEnvironmentVariableIsEmpty("KEEPDIR"));
    m_path = m_dir.filePath(QStringLiteral("store%1.db").arg(++m_count));
    QTest::failOnWarning(QRegularExpression(QStringLiteral(".*")));
}

void tst_PushSqliteStore::storedInOrderAndRecovered()
{
    RecordingHandler handler;
    Opened first = openStore(m_path, &handler);
    QVERIFY2(first.writer, qPrintable(first.errorString));
    QVERIFY(first.recovered.isEmpty());
    first.writer->start();
    first.writer->enqueue(createOp(key, 0xfedcba9876543210ULL, 100));
    first.writer->enqueue(createOp(QStringLiteral("other"), 7, 5));
    for (quint64 id = 1; id <= 500; ++id) {
        QVERIFY(first.writer->append(key, 0xfedcba9876543210ULL, message(id)));
        if (id <= 20)
            QVERIFY(first.writer->append(QStringLiteral("other"), 7, message(id)));
    }
    QTRY_COMPARE_WITH_TIMEOUT(handler.upTo(key), 500u, 60000);
    QTRY_COMPARE_WITH_TIMEOUT(handler.upTo(QStringLiteral("other")), 20u, 60000);
    QCOMPARE(handler.outOfOrder, 0);
    QCOMPARE(handler.storedEpoch.value(key), 0xfedcba9876543210ULL);
    QCOMPARE(first.writer->storedCount(), 520u);
    first.writer->stop();

    Opened second = openStore(m_path, &handler);
    QVERIFY2(second.writer, qPrintable(second.errorString));
    QCOMPARE(second.recovered.size(), 2);
    const PushStoredSession &session = second.recovered.at(0);
    QCOMPARE(session.key, QVariant(key));
    QCOMPARE(session.position.epoch, 0xfedcba9876543210ULL);
    QCOMPARE(session.position.id, 500u);
    QCOMPARE(session.retention.messages, 100);
    QCOMPARE(session.retained.size(), 100);
    for (int i = 0; i < 100; ++i) {
        QCOMPARE(session.retained.at(i).id, quint64(401 + i));
        QCOMPARE(session.retained.at(i).data.toMap().value(QStringLiteral("n")).toULongLong(),
                 quint64(401 + i));
        QCOMPARE(session.retained.at(i).bytes, 100);
    }
    QCOMPARE(pos(second.recovered.at(1).position), pos({7, 20}));
    QCOMPARE(second.recovered.at(1).retained.size(), 5);

    // Ids continue where they stopped.
    second.writer->start();
    QVERIFY(second.writer->append(key, 0xfedcba9876543210ULL, message(501)));
    QTRY_COMPARE_WITH_TIMEOUT(handler.upTo(key), 501u, 60000);
    QCOMPARE(handler.outOfOrder, 0);
}

void tst_PushSqliteStore::groupCommit()
{
    // Queued before the writer starts, so the batches are decided by the bounds, not by timing.
    RecordingHandler handler;
    Opened opened = openStore(m_path, &handler);
    QVERIFY(opened.writer);
    opened.writer->enqueue(createOp(key, 1, 10));
    const quint64 count = 5000;
    for (quint64 id = 1; id <= count; ++id)
        QVERIFY(opened.writer->append(key, 1, message(id)));
    QCOMPARE(opened.writer->queuedCount(), int(count) + 1);
    opened.writer->start();
    QTRY_COMPARE_WITH_TIMEOUT(handler.upTo(key), count, 60000);
    QCOMPARE(opened.writer->storedCount(), count);
    // 5,001 ops in batches of at most PushSqliteWriter::MaxBatchOps: two commits.
    QCOMPARE(opened.writer->commitCount(), 2u);
    QCOMPARE(handler.outOfOrder, 0);
}

void tst_PushSqliteStore::retentionAndTrimPersisted()
{
    RecordingHandler handler;
    Opened first = openStore(m_path, &handler);
    QVERIFY(first.writer);
    first.writer->start();
    first.writer->enqueue(createOp(key, 3, 10));
    for (quint64 id = 1; id <= 50; ++id)
        QVERIFY(first.writer->append(key, 3, message(id)));
    PushSqliteOp retention;
    retention.kind = PushSqliteOp::Retention;
    retention.key = key;
    retention.epoch = 3;
    retention.retention = {4, 0, 0};
    first.writer->enqueue(retention);
    PushSqliteOp trim;
    trim.kind = PushSqliteOp::Trim;
    trim.key = key;
    trim.epoch = 3;
    trim.id = 49; // the engine's memory budget kept 49 and 50 only
    first.writer->enqueue(trim);
    QTRY_COMPARE_WITH_TIMEOUT(handler.upTo(key), 50u, 60000);
    first.writer->stop();

    Opened second = openStore(m_path, &handler);
    QVERIFY(second.writer);
    QCOMPARE(second.recovered.size(), 1);
    QCOMPARE(second.recovered.at(0).retention.messages, 4);
    // The trim may or may not have been pruned before the stop; the count limit holds either way.
    const QList<PushStoredMessage> &retained = second.recovered.at(0).retained;
    QVERIFY(retained.size() >= 2 && retained.size() <= 4);
    QCOMPARE(retained.constLast().id, 50u);
}

void tst_PushSqliteStore::pruningByCountAndAge()
{
    RecordingHandler handler;
    Opened first = openStore(m_path, &handler);
    QVERIFY(first.writer);
    first.writer->start();
    first.writer->enqueue(createOp(QStringLiteral("count"), 1, 10));
    first.writer->enqueue(createOp(QStringLiteral("age"), 2, 100, 60000));
    for (quint64 id = 1; id <= 200; ++id)
        QVERIFY(first.writer->append(QStringLiteral("count"), 1, message(id)));
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    for (quint64 id = 1; id <= 10; ++id) // five pushed ten minutes ago, five now
        QVERIFY(first.writer->append(QStringLiteral("age"), 2,
                                     message(id, {}, id <= 5 ? now - 600000 : now)));
    QTRY_COMPARE_WITH_TIMEOUT(handler.upTo(QStringLiteral("count")), 200u, 60000);
    QTRY_COMPARE_WITH_TIMEOUT(handler.upTo(QStringLiteral("age")), 10u, 60000);
    first.writer->stop();

    // The file holds at most the slack over the count (pruned in runs).
    qint64 countRows = -1, ageRows = -1;
    QVERIFY(rawExec(m_path, "SELECT count(*) FROM messages WHERE session_id = 1", &countRows));
    QVERIFY(rawExec(m_path, "SELECT count(*) FROM messages WHERE session_id = 2", &ageRows));
    QVERIFY2(countRows >= 10 && countRows <= 10 + 16, qPrintable(QString::number(countRows)));
    QVERIFY2(ageRows == 5 || ageRows == 10, qPrintable(QString::number(ageRows)));

    // Recovery applies the limits exactly, and the next writer prunes the rest from the file.
    Opened second = openStore(m_path, &handler);
    QVERIFY(second.writer);
    QCOMPARE(second.recovered.size(), 2);
    QCOMPARE(second.recovered.at(0).retained.size(), 10);
    QCOMPARE(second.recovered.at(0).retained.constFirst().id, 191u);
    QCOMPARE(second.recovered.at(1).retained.size(), 5);
    QCOMPARE(second.recovered.at(1).retained.constFirst().id, 6u);
    second.writer->start();
    QTRY_COMPARE_WITH_TIMEOUT(second.writer->prunedCount(), quint64(countRows - 10 + ageRows - 5),
                              60000);
    second.writer.reset();
    QVERIFY(rawExec(m_path, "SELECT count(*) FROM messages WHERE session_id = 1", &countRows));
    QVERIFY(rawExec(m_path, "SELECT count(*) FROM messages WHERE session_id = 2", &ageRows));
    QCOMPARE(countRows, 10);
    QCOMPARE(ageRows, 5);
}

void tst_PushSqliteStore::deletedSessionsStayDeleted()
{
    RecordingHandler handler;
    Opened first = openStore(m_path, &handler);
    QVERIFY(first.writer);
    first.writer->start();
    first.writer->enqueue(createOp(QStringLiteral("gone"), 1, 10));
    first.writer->enqueue(createOp(QStringLiteral("kept"), 2, 10));
    first.writer->enqueue(createOp(QStringLiteral("again"), 3, 10));
    for (quint64 id = 1; id <= 5; ++id) {
        QVERIFY(first.writer->append(QStringLiteral("gone"), 1, message(id)));
        QVERIFY(first.writer->append(QStringLiteral("kept"), 2, message(id)));
        QVERIFY(first.writer->append(QStringLiteral("again"), 3, message(id)));
    }
    for (const auto &[name, epoch] :
         {std::pair{QStringLiteral("gone"), 1}, std::pair{QStringLiteral("again"), 3}}) {
        PushSqliteOp remove;
        remove.kind = PushSqliteOp::Remove;
        remove.key = name;
        remove.epoch = quint64(epoch);
        first.writer->enqueue(remove);
    }
    first.writer->enqueue(createOp(QStringLiteral("again"), 4, 10)); // made again: a new epoch
    QVERIFY(first.writer->append(QStringLiteral("again"), 4, message(1)));
    QTRY_COMPARE_WITH_TIMEOUT(handler.upTo(QStringLiteral("kept")), 5u, 60000);
    QTRY_COMPARE_WITH_TIMEOUT(handler.epochOf(QStringLiteral("again")), 4u, 60000);
    QCOMPARE(handler.outOfOrder, 0);
    first.writer->stop();

    Opened second = openStore(m_path, &handler);
    QVERIFY(second.writer);
    QCOMPARE(second.recovered.size(), 2);
    QMap<QString, PushStoredSession> byKey;
    for (const PushStoredSession &session : second.recovered)
        byKey.insert(session.key.toString(), session);
    QVERIFY(!byKey.contains(QStringLiteral("gone")));
    QCOMPARE(pos(byKey.value(QStringLiteral("kept")).position), pos({2, 5}));
    QCOMPARE(pos(byKey.value(QStringLiteral("again")).position), pos({4, 1}));
    QCOMPARE(byKey.value(QStringLiteral("again")).retained.size(), 1);
}

void tst_PushSqliteStore::payloadRoundTrip()
{
    const QString nul = QStringLiteral("a") + QChar(0) + QStringLiteral("b");
    const QVariantList payloads = {
            QVariantMap{{QStringLiteral("text"), QStringLiteral("hello")},
                        {QStringLiteral("list"),
                         QVariantList{1, 2.5, true, QVariant::fromValue(nullptr)}},
                        {QStringLiteral("nested"),
                         QVariantMap{{QStringLiteral("deeper"),
                                      QVariantList{QVariantMap{{QStringLiteral("x"), -1}}}}}}},
            QVariant(std::numeric_limits<qint64>::min()),
            QVariant(std::numeric_limits<qint64>::max()),
            QVariant(0.1),
            QVariant(-1e308),
            QVariant(2.0),
            QVariant(nul),
            QVariant(QStringLiteral("emoji \U0001F600 and \u00e9")),
            QVariant(QString()),
            QVariant(false),
            QVariant(QByteArray("\x00\x01\xff", 3)),
            QVariantList{},
            QVariantMap{},
    };
    RecordingHandler handler;
    Opened first = openStore(m_path, &handler);
    QVERIFY(first.writer);
    first.writer->start();
    first.writer->enqueue(createOp(key, 9, 1000));
    for (int i = 0; i < payloads.size(); ++i)
        QVERIFY(first.writer->append(key, 9, message(quint64(i + 1), payloads.at(i))));
    QTRY_COMPARE_WITH_TIMEOUT(handler.upTo(key), quint64(payloads.size()), 60000);
    first.writer->stop();

    Opened second = openStore(m_path, &handler);
    QVERIFY(second.writer);
    const QList<PushStoredMessage> &retained = second.recovered.at(0).retained;
    QCOMPARE(retained.size(), payloads.size());
    for (int i = 0; i < payloads.size(); ++i) {
        const QVariant &sent = payloads.at(i);
        const QVariant &back = retained.at(i).data;
        QVERIFY2(back == sent, qPrintable(QStringLiteral("payload %1").arg(i)));
        // What the wire would write is byte for byte the same.
        QCOMPARE(QJsonDocument::fromVariant(QVariantList{back}).toJson(QJsonDocument::Compact),
                 QJsonDocument::fromVariant(QVariantList{sent}).toJson(QJsonDocument::Compact));
    }
    QCOMPARE(retained.at(1).data.typeId(), QMetaType::LongLong);
    QCOMPARE(retained.at(5).data.typeId(), QMetaType::Double);
    QCOMPARE(retained.at(6).data.toString().size(), 3);
}

void tst_PushSqliteStore::fullQuotaRefusesThenRecovers()
{
    RecordingHandler handler;
    PushSqliteOptions options;
    options.maxSizeBytes = 96 * 1024;
    Opened opened = openStore(m_path, &handler, options);
    QVERIFY2(opened.writer, qPrintable(opened.errorString));
    QList<std::pair<bool, PushBroker::Error>> states;
    QMutex statesMutex;
    opened.writer->onState = [&](bool writable, PushBroker::Error error, const QString &) {
        QMutexLocker locker(&statesMutex);
        states.append({writable, error});
    };
    QTest::ignoreMessage(QtWarningMsg,
                         QRegularExpression(QStringLiteral("no space left for store")));
    opened.writer->start();
    opened.writer->enqueue(createOp(key, 5, 100000));
    const QString padding(1000, QLatin1Char('x'));
    quint64 id = 1;
    for (; id < 1000; ++id) { // one at a time, so that the batch that fails is this one
        QVERIFY(opened.writer->append(key, 5, message(id, padding)));
        QTRY_VERIFY_WITH_TIMEOUT(handler.upTo(key) == id || handler.discardCount() > 0, 60000);
        if (handler.discardCount() > 0)
            break;
    }
    QCOMPARE(handler.discardCount(), 1);
    QCOMPARE(handler.discards.at(0).fromId, id);
    QCOMPARE(handler.discards.at(0).error, PushBroker::StorageFull);
    QCOMPARE(handler.upTo(key), id - 1);
    QVERIFY(id > 10); // the quota took some messages first
    QVERIFY(!opened.writer->isWritable());
    QVERIFY(!opened.writer->append(key, 5, message(id, padding))); // refused, not queued
    {
        QMutexLocker locker(&statesMutex);
        QCOMPARE(states.size(), 1);
        QCOMPARE(states.at(0).first, false);
        QCOMPARE(states.at(0).second, PushBroker::StorageFull);
    }

    PushSqliteOp raise;
    raise.kind = PushSqliteOp::SetMaxSize;
    raise.maxSize = 0;
    opened.writer->enqueue(raise);
    QTRY_VERIFY_WITH_TIMEOUT(opened.writer->isWritable(), 60000);
    // The engine took the id back: the next message is the discarded id, with no hole.
    QVERIFY(opened.writer->append(key, 5, message(id, padding)));
    QTRY_COMPARE_WITH_TIMEOUT(handler.upTo(key), id, 60000);
    opened.writer->stop();

    Opened reopened = openStore(m_path, &handler);
    QVERIFY(reopened.writer);
    const PushStoredSession &session = reopened.recovered.at(0);
    QCOMPARE(session.position.id, id);
    QCOMPARE(session.retained.size(), qsizetype(id));
    for (qsizetype i = 0; i < session.retained.size(); ++i)
        QCOMPARE(session.retained.at(i).id, quint64(i + 1));
}

void tst_PushSqliteStore::badFiles_data()
{
    QTest::addColumn<QString>("kind");
    QTest::addColumn<int>("error");
    QTest::addColumn<QString>("message");
    QTest::addColumn<bool>("untouched");
    QTest::newRow("empty file: a new store") << "empty" << int(PushBroker::NoError) << "" << false;
    QTest::newRow("garbage") << "garbage" << int(PushBroker::NotAStore)
                             << "is not a SQLite database" << true;
    QTest::newRow("corrupt page") << "corrupt" << int(PushBroker::Corrupt)
                                  << "is corrupt .*; restore a backup or move it aside" << true;
    QTest::newRow("future schema") << "future" << int(PushBroker::UnsupportedVersion)
                                   << "has schema version 99; this qtpush reads up to 1" << true;
    QTest::newRow("foreign database")
            << "foreign" << int(PushBroker::NotAStore) << "is not a qtpush store" << true;
    QTest::newRow("locked") << "locked" << int(PushBroker::Locked) << "is in use by another process"
                            << true;
    QTest::newRow("read-only") << "readonly" << int(PushBroker::ReadOnly) << "is read-only" << true;
    QTest::newRow("missing directory")
            << "nodir" << int(PushBroker::ReadOnly) << "cannot open store .*nodir" << false;
}

void tst_PushSqliteStore::badFiles()
{
    QFETCH(QString, kind);
    QFETCH(int, error);
    QFETCH(QString, message);
    QFETCH(bool, untouched);

    const auto makeStore = [this](int messages) {
        RecordingHandler handler;
        Opened opened = openStore(m_path, &handler);
        if (!opened.writer)
            return false;
        opened.writer->enqueue(createOp(key, 1, 100000));
        for (int id = 1; id <= messages; ++id)
            opened.writer->append(key, 1, ::message(quint64(id), QString(500, QLatin1Char('m'))));
        opened.writer->start();
        opened.writer->stop(); // stores all, then checkpoints into the file
        return true;
    };
    QString path = m_path;
    sqlite3 *holder = nullptr;
    auto closeHolder = qScopeGuard([&] { sqlite3_close(holder); });
    if (kind == QLatin1String("empty")) {
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
    } else if (kind == QLatin1String("garbage")) {
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        QByteArray bytes(4096, Qt::Uninitialized);
        QRandomGenerator::global()->fillRange(reinterpret_cast<quint32 *>(bytes.data()),
                                              bytes.size() / 4);
        file.write(bytes);
    } else if (kind == QLatin1String("corrupt")) {
        QVERIFY(makeStore(300));
        QFile file(path);
        QVERIFY(file.open(QIODevice::ReadWrite));
        QVERIFY(file.size() > 30 * 4096);
        QVERIFY(file.seek(20 * 4096)); // a page of the messages table, in the middle
        file.write(QByteArray(4096, '\xa5'));
    } else if (kind == QLatin1String("future")) {
        QVERIFY(makeStore(1));
        QVERIFY(rawExec(path, "PRAGMA user_version = 99"));
    } else if (kind == QLatin1String("foreign")) {
        QVERIFY(rawExec(path, "CREATE TABLE notes (text TEXT)"));
    } else if (kind == QLatin1String("locked")) {
        QVERIFY(makeStore(1));
        QCOMPARE(sqlite3_open(QFile::encodeName(path).constData(), &holder), SQLITE_OK);
        QCOMPARE(sqlite3_exec(holder,
                              "PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE; "
                              "SELECT count(*) FROM sessions;",
                              nullptr, nullptr, nullptr),
                 SQLITE_OK);
    } else if (kind == QLatin1String("readonly")) {
        QVERIFY(makeStore(1));
        QVERIFY(QFile::setPermissions(
                path, QFileDevice::ReadOwner | QFileDevice::ReadGroup | QFileDevice::ReadOther));
        QFile probe(path);
        if (probe.open(QIODevice::ReadWrite)) // root writes anyway
            QSKIP("this user can write a 0444 file (root); tst_pushstorefiles covers a read-only "
                  "mount");
    } else if (kind == QLatin1String("nodir")) {
        path = m_dir.filePath(QStringLiteral("nodir/sub/store.db"));
    }
    const QByteArray before = checksum(path);

    RecordingHandler handler;
    PushSqliteOptions options;
    options.busyTimeoutMs = 200;
    Opened opened = openStore(path, &handler, options);
    QCOMPARE(int(opened.error), error);
    if (error == PushBroker::NoError) {
        QVERIFY(opened.writer);
        return;
    }
    QVERIFY(!opened.writer);
    QVERIFY2(opened.errorString.contains(QRegularExpression(message)),
             qPrintable(opened.errorString));
    QVERIFY2(opened.errorString.contains(QFileInfo(path).fileName()),
             qPrintable(opened.errorString));
    QCOMPARE(opened.errorString.count(QLatin1Char('\n')), 0); // one line
    if (untouched)
        QCOMPARE(checksum(path), before);
    else
        QVERIFY(!QFile::exists(path));
}

void tst_PushSqliteStore::abandonedWriterLosesOnlyUnstored()
{
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("abandoned")));
    RecordingHandler handler;
    Opened first = openStore(m_path, &handler);
    QVERIFY(first.writer);
    first.writer->start();
    first.writer->enqueue(createOp(key, 1, 100000));
    quint64 id = 1;
    for (; id <= 100; ++id)
        QVERIFY(first.writer->append(key, 1, message(id)));
    QTRY_COMPARE_WITH_TIMEOUT(handler.upTo(key), 100u, 60000);
    for (; id <= 3000; ++id) {
        if (!first.writer->append(key, 1, message(id)))
            break;
    }
    first.writer->abandon(); // the rest of the queue is dropped, the WAL left as a crash leaves it
    const quint64 stored = handler.upTo(key);

    Opened second = openStore(m_path, &handler);
    QVERIFY2(second.writer, qPrintable(second.errorString));
    const PushStoredSession &session = second.recovered.at(0);
    QCOMPARE(session.position.id, stored); // nothing that was not reported stored, nothing less
    QCOMPARE(session.retained.size(), qsizetype(stored));
    for (qsizetype i = 0; i < session.retained.size(); ++i)
        QCOMPARE(session.retained.at(i).id, quint64(i + 1));
}

void tst_PushSqliteStore::killedProcessLosesOnlyUnstored()
{
    QProcess child;
    child.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    child.start(QCoreApplication::applicationFilePath(), {QStringLiteral("--crash-child"), m_path});
    QVERIFY(child.waitForStarted());
    quint64 seen = 0;
    QByteArray buffer;
    // Wait for a few thousand stored ids, then kill -9 with the writer in full flow.
    while (seen < 3000) {
        QVERIFY2(child.state() == QProcess::Running, "the child stopped by itself");
        child.waitForReadyRead(1000);
        buffer += child.readAllStandardOutput();
        qsizetype end;
        while ((end = buffer.indexOf('\n')) >= 0) {
            const quint64 id = buffer.left(end).toULongLong();
            QVERIFY(id > seen);
            seen = id;
            buffer.remove(0, end + 1);
        }
    }
    ::kill(pid_t(child.processId()), SIGKILL);
    QVERIFY(child.waitForFinished(60000));
    buffer += child.readAllStandardOutput();
    for (const QByteArray &line : buffer.split('\n')) {
        if (!line.isEmpty())
            seen = std::max(seen, line.toULongLong());
    }

    RecordingHandler handler;
    Opened opened = openStore(m_path, &handler);
    QVERIFY2(opened.writer, qPrintable(opened.errorString));
    QCOMPARE(opened.recovered.size(), 1);
    const PushStoredSession &session = opened.recovered.at(0);
    QVERIFY2(session.position.id >= seen,
             qPrintable(QStringLiteral("%1 < %2").arg(session.position.id).arg(seen)));
    QCOMPARE(session.retained.size(), qsizetype(session.position.id));
    for (qsizetype i = 0; i < session.retained.size(); ++i) {
        QCOMPARE(session.retained.at(i).id, quint64(i + 1));
        QCOMPARE(session.retained.at(i).data.toMap().value(QStringLiteral("n")).toLongLong(),
                 qint64(i + 1));
    }
    opened.writer.reset();
    qint64 above = -1;
    QVERIFY(rawExec(m_path,
                    "SELECT count(*) FROM messages WHERE id > (SELECT last_id FROM sessions)",
                    &above));
    QCOMPARE(above, 0);
}

// The child of killedProcessLosesOnlyUnstored: pushes until it is killed, printing each stored id.
static int crashChild(const QString &path)
{
    class Printer : public RecordingHandler
    {
    public:
        void stored(const QString &, quint64, quint64 upToId) override
        {
            std::printf("%llu\n", static_cast<unsigned long long>(upToId));
            std::fflush(stdout);
        }
    } printer;
    Opened opened = openStore(path, &printer);
    if (!opened.writer) {
        std::fprintf(stderr, "crash child: %s\n", qPrintable(opened.errorString));
        return 1;
    }
    opened.writer->start();
    opened.writer->enqueue(createOp(key, 77, 10000000));
    for (quint64 id = 1; id < 50000000; ++id) {
        while (!opened.writer->append(key, 77, message(id)))
            QThread::msleep(1); // the queue is full: the writer is behind
    }
    return 2;
}

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    if (argc == 3 && qstrcmp(argv[1], "--crash-child") == 0)
        return crashChild(QString::fromLocal8Bit(argv[2]));
    tst_PushSqliteStore test;
    return QTest::qExec(&test, argc, argv);
}

#include "tst_pushsqlitestore.moc"
