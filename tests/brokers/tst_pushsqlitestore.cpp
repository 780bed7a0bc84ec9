// SPDX-License-Identifier: MIT
// The SQLite store and its writer thread, driven directly with a recording handler (no engine):
// stored() in order, recovery, group commit, retention and pruning, deleted sessions, payloads.
// tst_pushsqlitefailures has the full quota, refused files and crashes.
#include "sqlitestoretest.h"

#include <QtCore/QJsonDocument>
#include <QtCore/QTemporaryDir>
#include <QtTest/QTest>

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

QTEST_GUILESS_MAIN(tst_PushSqliteStore)
#include "tst_pushsqlitestore.moc"
