// SPDX-License-Identifier: MIT
// The SQLite store when things go wrong: a full quota while running, files it must refuse at
// open (checksummed where they must stay untouched), a writer abandoned mid-queue and a process
// killed with SIGKILL while it writes. Driven directly, as tst_pushsqlitestore.
#include "sqlitestoretest.h"

#include <QtCore/QProcess>
#include <QtCore/QRandomGenerator>
#include <QtCore/QTemporaryDir>
#include <QtTest/QTest>

#include <csignal>
#include <cstdio>
#include <unistd.h>

class tst_PushSqliteFailures : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
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

void tst_PushSqliteFailures::init()
{
    QVERIFY(m_dir.isValid());
    m_dir.setAutoRemove(qEnvironmentVariableIsEmpty("KEEPDIR"));
    m_path = m_dir.filePath(QStringLiteral("store%1.db").arg(++m_count));
    QTest::failOnWarning(QRegularExpression(QStringLiteral(".*")));
}

void tst_PushSqliteFailures::fullQuotaRefusesThenRecovers()
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

void tst_PushSqliteFailures::badFiles_data()
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

void tst_PushSqliteFailures::badFiles()
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

void tst_PushSqliteFailures::abandonedWriterLosesOnlyUnstored()
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

void tst_PushSqliteFailures::killedProcessLosesOnlyUnstored()
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
    tst_PushSqliteFailures test;
    return QTest::qExec(&test, argc, argv);
}

#include "tst_pushsqlitefailures.moc"
