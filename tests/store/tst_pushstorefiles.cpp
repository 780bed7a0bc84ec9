// SPDX-License-Identifier: MIT
// A store file that qtpush-server cannot use stops it at start with one line on standard error
// and an exit status from sysexits.h (docs/server.md, "Durable store"), never with silent data
// loss: a file refused as not ours, corrupt or too new is not written at all.

#include "serverprocess.h"
#include "storetestclients.h"

#include <QtCore/QCryptographicHash>
#include <QtCore/QFile>
#include <QtCore/QStandardPaths>
#include <QtCore/QTemporaryDir>
#include <QtTest/QtTest>

#include <sqlite3.h>
#include <unistd.h>

namespace {

constexpr int exitUsage = 2;
constexpr int exitDataError = 65; // EX_DATAERR: the file is not a store we may use
constexpr int exitCannotCreate = 73; // EX_CANTCREAT: cannot open or write it
constexpr int exitTemporary = 75; // EX_TEMPFAIL: in use; try again later

QByteArray checksum(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return QCryptographicHash::hash(file.readAll(), QCryptographicHash::Sha256);
}

bool execute(const QString &path, const char *sql)
{
    sqlite3 *db = nullptr;
    bool ok = sqlite3_open(path.toUtf8().constData(), &db) == SQLITE_OK
            && sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
    sqlite3_close(db);
    return ok;
}

} // namespace

class tst_PushStoreFiles : public QObject
{
    Q_OBJECT

private:
    //! A valid store with three messages in session "s", made by the real server.
    void makeStore(const QString &path)
    {
        ServerProcess server;
        QVERIFY2(server.start({QStringLiteral("--store"), QStringLiteral("sqlite:") + path}),
                 server.errorOutput().constData());
        BlockingHttp http;
        QVERIFY(http.open(server.port));
        for (int n = 1; n <= 3; ++n)
            QCOMPARE(http.push("s", "{\"n\":" + QByteArray::number(n) + '}'), quint64(n));
        QCOMPARE(server.terminate(), 0);
    }

    void expectRefusal(const QString &path, int status, const QString &pattern,
                       bool unchanged = true, const QStringList &wrapper = {})
    {
        // Only read when asked: closing any descriptor of the file drops every POSIX lock this
        // process holds on it, which would free the file that lockedByAnotherConnection holds.
        const QByteArray before = unchanged ? checksum(path) : QByteArray();
        ServerProcess server(wrapper);
        const int exitCode
                = server.runToExit({QStringLiteral("--store"), QStringLiteral("sqlite:") + path});
        QVERIFY2(exitCode == status,
                 qPrintable(QStringLiteral("exit %1, expected %2; stderr: %3")
                                    .arg(exitCode)
                                    .arg(status)
                                    .arg(QString::fromUtf8(server.errorOutput()))));
        QVERIFY2(server.errorLine().contains(QRegularExpression(pattern)),
                 qPrintable(server.errorLine()));
        QVERIFY2(server.errorLine().contains(path) || path.isEmpty(),
                 qPrintable(server.errorLine())); // the line names the file
        if (unchanged)
            QCOMPARE(checksum(path), before);
    }

private Q_SLOTS:
    void init() { QVERIFY(m_dir.isValid()); }

    void emptyFileIsANewStore()
    {
        const QString path = m_dir.filePath(QStringLiteral("empty.db"));
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.close();
        ServerProcess server;
        QVERIFY2(server.start({QStringLiteral("--store"), QStringLiteral("sqlite:") + path}),
                 server.errorOutput().constData());
        BlockingHttp http;
        QVERIFY(http.open(server.port));
        QCOMPARE(http.push("s", "{}"), quint64(1));
        QCOMPARE(server.terminate(), 0);
    }

    void garbage()
    {
        const QString path = m_dir.filePath(QStringLiteral("garbage.db"));
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        QByteArray bytes(4096, Qt::Uninitialized);
        for (qsizetype i = 0; i < bytes.size(); ++i)
            bytes[i] = char((i * 7919 + 13) & 0xff);
        file.write(bytes);
        file.close();
        expectRefusal(path, exitDataError, QStringLiteral("is not a SQLite database"));
    }

    void corrupt()
    {
        const QString path = m_dir.filePath(QStringLiteral("corrupt.db"));
        makeStore(path);
        QFile file(path);
        QVERIFY(file.open(QIODevice::ReadWrite));
        QVERIFY(file.size() >= 3 * 4096);
        file.seek(4096); // page 2: a b-tree page of the schema
        file.write(QByteArray(4096, char(0xab)));
        file.close();
        expectRefusal(path, exitDataError, QStringLiteral("is corrupt"));
    }

    void futureSchema()
    {
        const QString path = m_dir.filePath(QStringLiteral("future.db"));
        makeStore(path);
        QVERIFY(execute(path, "PRAGMA journal_mode=DELETE; PRAGMA user_version=99;"));
        expectRefusal(path, exitDataError, QStringLiteral("schema version 99"));
    }

    void foreignDatabase()
    {
        const QString path = m_dir.filePath(QStringLiteral("foreign.db"));
        QVERIFY(execute(path, "CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('x');"));
        expectRefusal(path, exitDataError, QStringLiteral("is not a qtpush store"));
    }

    void inUseByAnotherServer()
    {
        const QString path = m_dir.filePath(QStringLiteral("shared.db"));
        ServerProcess first;
        QVERIFY2(first.start({QStringLiteral("--store"), QStringLiteral("sqlite:") + path}),
                 first.errorOutput().constData());
        expectRefusal(path, exitTemporary, QStringLiteral("in use by another process"), false);
        BlockingHttp http;
        QVERIFY(http.open(first.port));
        QCOMPARE(http.push("s", "{}"), quint64(1)); // the first one is unharmed
        QCOMPARE(first.terminate(), 0);
    }

    void lockedByAnotherConnection()
    {
        const QString path = m_dir.filePath(QStringLiteral("locked.db"));
        makeStore(path);
        sqlite3 *db = nullptr;
        QCOMPARE(sqlite3_open(path.toUtf8().constData(), &db), SQLITE_OK);
        QCOMPARE(sqlite3_exec(db, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
        expectRefusal(path, exitTemporary, QStringLiteral("in use by another process"), false);
        sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
        sqlite3_close(db);
    }

    void readOnlyFile()
    {
        const QString path = m_dir.filePath(QStringLiteral("readonly.db"));
        makeStore(path);
        // Root writes a read-only file anyway (CI runs as root): then the server runs as nobody,
        // for whom the file is read-only, through util-linux's setpriv.
        QStringList wrapper;
        if (::geteuid() == 0) {
            const QString setpriv = QStandardPaths::findExecutable(QStringLiteral("setpriv"));
            if (setpriv.isEmpty())
                QSKIP("running as root without setpriv (util-linux)");
            wrapper = QStringList{setpriv, QStringLiteral("--reuid=65534"),
                                  QStringLiteral("--regid=65534"), QStringLiteral("--clear-groups")};
            QProcess help; // can nobody run the server from where it was built?
            help.start(setpriv, wrapper.mid(1)
                               + QStringList{QStringLiteral(QTPUSH_SERVER_PROGRAM),
                                             QStringLiteral("--help")});
            if (!help.waitForFinished(60000) || help.exitStatus() != QProcess::NormalExit
                || help.exitCode() != 0)
                QSKIP("running as root, and user nobody cannot run the server from this build");
            QVERIFY(QFile::setPermissions(m_dir.path(), QFile::ReadOwner | QFile::WriteOwner
                                                  | QFile::ExeOwner | QFile::ReadOther
                                                  | QFile::ExeOther));
        }
        QVERIFY(QFile::setPermissions(path, QFile::ReadOwner | QFile::ReadOther));
        expectRefusal(path, exitCannotCreate, QStringLiteral("is read-only"), true, wrapper);
        QFile::setPermissions(path, QFile::ReadOwner | QFile::WriteOwner);
    }

    void missingDirectory()
    {
        const QString path = m_dir.filePath(QStringLiteral("no/such/dir/push.db"));
        expectRefusal(path, exitCannotCreate, QStringLiteral("cannot open store"), false);
        QVERIFY(!QFile::exists(path));
    }

    void malformedOption_data()
    {
        QTest::addColumn<QString>("store");
        QTest::newRow("sqlite without file") << QStringLiteral("sqlite:");
        QTest::newRow("unknown kind") << QStringLiteral("redis:x");
        QTest::newRow("unknown parameter") << QStringLiteral("sqlite:x.db?speed=11");
    }
    void malformedOption()
    {
        QFETCH(QString, store);
        ServerProcess server;
        QCOMPARE(server.runToExit({QStringLiteral("--store"), store}), exitUsage);
        QVERIFY2(server.errorLine().contains(QStringLiteral("--store")),
                 qPrintable(server.errorLine()));
    }

private:
    QTemporaryDir m_dir;
};

QTEST_MAIN(tst_PushStoreFiles)
#include "tst_pushstorefiles.moc"
