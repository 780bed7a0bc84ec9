// SPDX-License-Identifier: MIT
// PushSqliteBroker as applications use it: its URL form, and a PushRegistry on it that is
// destroyed and made again on the same file (the engine's side is tests/core's business).
#include <QtPush/pushregistry.h>
#include <QtPush/pushsession.h>
#include <QtPush/pushsqlitebroker.h>

#include <QtCore/QTemporaryDir>
#include <QtTest/QTest>

class tst_PushSqliteBroker : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void fromUrl_data();
    void fromUrl();
    void restartKeepsSessions();
    void openFailureNamesTheFile();
};

void tst_PushSqliteBroker::init()
{
    QTest::failOnWarning(QRegularExpression(QStringLiteral(".*")));
}

void tst_PushSqliteBroker::fromUrl_data()
{
    QTest::addColumn<QString>("url");
    QTest::addColumn<QString>("path"); // empty: refused
    QTest::addColumn<int>("sync");
    QTest::addColumn<qint64>("maxSize");
    QTest::addColumn<QString>("why");
    const int full = int(PushSqliteBroker::Synchronous::Full);
    const int normal = int(PushSqliteBroker::Synchronous::Normal);
    QTest::newRow("file") << "sqlite:/var/lib/q.db"
                          << "/var/lib/q.db" << full << 0ll << "";
    QTest::newRow("relative") << "sqlite:q.db"
                              << "q.db" << full << 0ll << "";
    QTest::newRow("normal") << "sqlite:q.db?sync=normal"
                            << "q.db" << normal << 0ll << "";
    QTest::newRow("both") << "sqlite:q.db?sync=full&max_size=65536"
                          << "q.db" << full << 65536ll << "";
    QTest::newRow("no file") << "sqlite:"
                             << "" << full << 0ll << "no file name";
    QTest::newRow("no file, options") << "sqlite:?sync=full"
                                      << "" << full << 0ll << "no file name";
    QTest::newRow("other scheme") << "redis:x"
                                  << "" << full << 0ll << "no sqlite: scheme";
    QTest::newRow("bad sync") << "sqlite:q.db?sync=off"
                              << "" << full << 0ll << "unknown option \"sync=off\"";
    QTest::newRow("bad size") << "sqlite:q.db?max_size=-1"
                              << "" << full << 0ll
                              << "max_size \"-1\" is not a positive byte count";
    QTest::newRow("unknown") << "sqlite:q.db?cache=1"
                             << "" << full << 0ll << "unknown option \"cache=1\"";
}

void tst_PushSqliteBroker::fromUrl()
{
    QFETCH(QString, url);
    QFETCH(QString, path);
    QFETCH(int, sync);
    QFETCH(qint64, maxSize);
    QFETCH(QString, why);
    QString error;
    const std::unique_ptr<PushSqliteBroker> broker = PushSqliteBroker::fromUrl(url, &error);
    if (path.isEmpty()) {
        QVERIFY(!broker);
        QVERIFY2(error.startsWith(why), qPrintable(error));
        QVERIFY2(error.contains(url), qPrintable(error));
        return;
    }
    QVERIFY2(broker, qPrintable(error));
    QCOMPARE(broker->path(), path);
    QCOMPARE(int(broker->synchronous()), sync);
    QCOMPARE(broker->maxSize(), maxSize);
    QCOMPARE(broker->capabilities(), PushBroker::AssignsIdsLocally | PushBroker::Durable);
    QVERIFY(!broker->isOpen());
}

void tst_PushSqliteBroker::restartKeepsSessions()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath(QStringLiteral("store.db"));
    quint64 epoch = 0;
    {
        auto broker = std::make_unique<PushSqliteBroker>(path);
        QVERIFY2(broker->open(), qPrintable(broker->errorString()));
        PushRegistry registry(std::move(broker));
        PushSession *session = registry.session(QStringLiteral("news"));
        QVERIFY(session);
        session->setRetainedMessages(10);
        epoch = session->epoch();
        QFuture<PushReceipt> last;
        for (int i = 1; i <= 30; ++i)
            last = session->publish(QVariantMap{{QStringLiteral("i"), i}});
        QTRY_VERIFY_WITH_TIMEOUT(last.isFinished(), 60000);
        QCOMPARE(last.result().id, 30u);
        QCOMPARE(last.result().epoch, epoch);
        QCOMPARE(last.result().error, PushBroker::NoError);
        registry.session(QStringLiteral("gone"));
        registry.deleteSession(QStringLiteral("gone"));
    }
    auto broker = std::make_unique<PushSqliteBroker>(path);
    QVERIFY2(broker->open(), qPrintable(broker->errorString()));
    PushRegistry registry(std::move(broker));
    QCOMPARE(registry.sessions(), QVariantList{QStringLiteral("news")});
    PushSession *session = registry.findSession(QStringLiteral("news"));
    QVERIFY(session);
    QCOMPARE(session->epoch(), epoch);
    QCOMPARE(session->lastMessageId(), 30u);
    QCOMPARE(session->retainedMessages(), 10);
    const QFuture<PushHistory> history = session->requestHistory(0);
    QVERIFY(history.isFinished());
    QCOMPARE(history.result().messages.size(), 10);
    QCOMPARE(history.result().messages.constFirst().id, 21u);
    QCOMPARE(history.result().messages.constFirst().data.toMap().value(QStringLiteral("i")),
             QVariant(21));
    QFuture<PushReceipt> next = session->publish(QStringLiteral("after the restart"));
    QTRY_VERIFY_WITH_TIMEOUT(next.isFinished(), 60000);
    QCOMPARE(next.result().id, 31u);
    QCOMPARE(next.result().epoch, epoch);
}

void tst_PushSqliteBroker::openFailureNamesTheFile()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath(QStringLiteral("missing/store.db"));
    PushSqliteBroker broker(path);
    // No warning (failOnWarning): the caller of open() reports the failure, as qtpush-server
    // does with one line; the broker logs only errors that come while it is open.
    QVERIFY(!broker.open());
    QVERIFY(!broker.isOpen());
    QCOMPARE(broker.error(), PushBroker::ReadOnly);
    QVERIFY2(broker.errorString().startsWith(QStringLiteral("cannot open store ") + path),
             qPrintable(broker.errorString()));
}

QTEST_GUILESS_MAIN(tst_PushSqliteBroker)
#include "tst_pushsqlitebroker.moc"
