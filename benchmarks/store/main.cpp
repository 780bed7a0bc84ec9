// SPDX-License-Identifier: MIT
// The SQLite store's cost, without HTTP (docs/benchmarks.md: The SQLite store).
//
// Throughput: P pusher threads, each with a session of its own, push in a closed loop as an HTTP
// pusher on one keep-alive connection does: append a message (120 counted bytes, a map as the
// server gets from JSON), wait for stored(), push the next. The writer commits whatever queued
// during its last commit, so with P pushers a batch holds up to P messages. Reported per cell
// (sync full and normal x P): appends/s, commits/s, the mean batch, and the p50/p99 latency from
// append() to stored(), each the median of R runs on a fresh file of S seconds each.
//
// Start-up: a store with N sessions of 5 retained messages each, closed, then timed while it
// opens: the store alone (open, checks, recovery), and PushSqliteBroker::open() plus a
// PushRegistry that builds every session (what qtpush-server does before it listens).
//
// Files go in the current directory (run it on the disk the server would use, not tmpfs).
// Checks: every pusher's stored ids are contiguous and recovery finds every session with its
// last id; a failed check prints FAILED and exits with 1, so `--quick` doubles as a smoke test.

#include "pushsqlitewriter_p.h"

#include <QtPush/pushregistry.h>
#include <QtPush/pushsqlitebroker.h>

#include <QtCore/QCommandLineParser>
#include <QtCore/QCoreApplication>
#include <QtCore/QDateTime>
#include <QtCore/QDir>
#include <QtCore/QElapsedTimer>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

namespace {

double median(std::vector<double> values)
{
    std::sort(values.begin(), values.end());
    const size_t middle = values.size() / 2;
    return values.size() % 2 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

double percentile(std::vector<qint64> &values, double p)
{
    if (values.empty())
        return 0;
    const size_t at = std::min(values.size() - 1, size_t(p * double(values.size())));
    std::nth_element(values.begin(), values.begin() + qsizetype(at), values.end());
    return double(values[at]);
}

[[noreturn]] void fail(const char *what)
{
    std::fprintf(stderr, "FAILED: %s\n", what);
    std::exit(1);
}

void removeStore(const QString &path)
{
    for (const char *suffix : {"", "-wal", "-shm", "-journal"})
        QFile::remove(path + QLatin1String(suffix));
}

// One pusher's mailbox: the writer thread reports its stored ids here.
struct Pusher
{
    QMutex mutex;
    QWaitCondition storedCondition;
    quint64 storedUpTo = 0;
    int holes = 0;
};

class Handler : public PushBrokerHandler
{
public:
    explicit Handler(std::vector<std::unique_ptr<Pusher>> *pushers) : m_pushers(pushers) { }
    void stored(const QString &, quint64 epoch, quint64 upToId) override
    {
        Pusher &pusher = *(*m_pushers)[size_t(epoch - 1)]; // epoch = pusher index + 1
        QMutexLocker locker(&pusher.mutex);
        if (upToId != pusher.storedUpTo + 1) // one in flight: each commit stores the next id
            ++pusher.holes;
        pusher.storedUpTo = upToId;
        pusher.storedCondition.wakeOne();
    }
    void discarded(const QString &, quint64, quint64, PushBroker::Error) override
    {
        fail("a message was discarded");
    }
    void publication(const QString &, PushPosition, const QVariant &, qint64) override { }
    void positionChanged(const QString &, PushPosition) override { }

private:
    std::vector<std::unique_ptr<Pusher>> *m_pushers;
};

struct Result
{
    double appendsPerSecond = 0;
    double commitsPerSecond = 0;
    double batch = 0;
    double p50Us = 0;
    double p99Us = 0;
};

Result runThroughput(const QString &path, bool syncFull, int pushers, double seconds)
{
    removeStore(path);
    std::vector<std::unique_ptr<Pusher>> mailboxes;
    for (int i = 0; i < pushers; ++i)
        mailboxes.push_back(std::make_unique<Pusher>());
    Handler handler(&mailboxes);
    PushSqliteOptions options;
    options.syncFull = syncFull;
    auto store = std::make_unique<PushSqliteStore>(path, options);
    QList<PushStoredSession> recovered;
    QHash<QString, PushSqliteSessionRow> rows;
    if (!store->open() || !store->recover(&recovered, &rows, 0))
        fail(qPrintable(store->errorString()));
    PushSqliteWriter writer(std::move(store), rows, [&handler] { return &handler; });
    writer.start();
    for (int i = 0; i < pushers; ++i) {
        PushSqliteOp create;
        create.kind = PushSqliteOp::Create;
        create.key = QStringLiteral("pusher%1").arg(i);
        create.keyValue = create.key;
        create.epoch = quint64(i + 1);
        create.retention = {1000, 0, 0};
        writer.enqueue(create);
    }
    const QString text(100, QLatin1Char('t'));
    std::atomic<bool> stop{false};
    std::vector<std::vector<qint64>> latencies{size_t(pushers)};
    std::vector<std::thread> threads;
    const quint64 commitsBefore = writer.commitCount();
    QElapsedTimer elapsed;
    elapsed.start();
    for (int i = 0; i < pushers; ++i) {
        threads.emplace_back([&, i] {
            Pusher &pusher = *mailboxes[size_t(i)];
            const QString key = QStringLiteral("pusher%1").arg(i);
            QElapsedTimer timer;
            for (quint64 id = 1; !stop.load(std::memory_order_relaxed); ++id) {
                const QVariantMap data{{QStringLiteral("p"), i},
                                       {QStringLiteral("n"), id},
                                       {QStringLiteral("text"), text}};
                timer.start();
                if (!writer.append(key, quint64(i + 1),
                                   {id, data, 120, QDateTime::currentMSecsSinceEpoch()}))
                    fail("append refused");
                QMutexLocker locker(&pusher.mutex);
                while (pusher.storedUpTo < id)
                    pusher.storedCondition.wait(&pusher.mutex);
                latencies[size_t(i)].push_back(timer.nsecsElapsed() / 1000);
            }
        });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(qint64(seconds * 1000)));
    stop.store(true);
    for (std::thread &thread : threads)
        thread.join();
    const double took = double(elapsed.nsecsElapsed()) / 1e9;
    const quint64 commits = writer.commitCount() - commitsBefore;
    writer.stop();
    std::vector<qint64> all;
    for (int i = 0; i < pushers; ++i) {
        if (mailboxes[size_t(i)]->holes != 0)
            fail("stored ids not contiguous");
        all.insert(all.end(), latencies[size_t(i)].begin(), latencies[size_t(i)].end());
    }
    Result result;
    result.appendsPerSecond = double(all.size()) / took;
    result.commitsPerSecond = double(commits) / took;
    result.batch = commits ? double(all.size()) / double(commits) : 0;
    result.p50Us = percentile(all, 0.50);
    result.p99Us = percentile(all, 0.99);
    removeStore(path);
    return result;
}

void fillStore(const QString &path, int sessions)
{
    removeStore(path);
    auto store = std::make_unique<PushSqliteStore>(path, PushSqliteOptions());
    QList<PushStoredSession> recovered;
    QHash<QString, PushSqliteSessionRow> rows;
    if (!store->open() || !store->recover(&recovered, &rows, 0))
        fail(qPrintable(store->errorString()));
    PushSqliteWriter writer(std::move(store), rows, nullptr);
    writer.start();
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    for (int i = 0; i < sessions; ++i) {
        PushSqliteOp create;
        create.kind = PushSqliteOp::Create;
        create.key = QStringLiteral("session%1").arg(i);
        create.keyValue = create.key;
        create.epoch = quint64(i + 1);
        create.retention = {5, 0, 0};
        create.flags = PushBroker::ServerMade;
        writer.enqueue(create);
        for (quint64 id = 1; id <= 5; ++id) {
            const QVariantMap data{{QStringLiteral("n"), id}, {QStringLiteral("s"), i}};
            while (!writer.append(create.key, create.epoch, {id, data, 40, now}))
                QThread::msleep(1);
        }
    }
    writer.stop();
}

// Start-up: {store open + recovery, broker open + registry} in ms.
std::pair<double, double> measureStartup(const QString &path, int sessions)
{
    QElapsedTimer timer;
    timer.start();
    {
        auto store = std::make_unique<PushSqliteStore>(path, PushSqliteOptions());
        QList<PushStoredSession> recovered;
        QHash<QString, PushSqliteSessionRow> rows;
        if (!store->open()
            || !store->recover(&recovered, &rows, QDateTime::currentMSecsSinceEpoch()))
            fail(qPrintable(store->errorString()));
        if (recovered.size() != sessions || recovered.constLast().position.id != 5
            || recovered.constLast().retained.size() != 5)
            fail("recovery lost sessions or messages");
        store->close(false);
    }
    const double storeMs = double(timer.nsecsElapsed()) / 1e6;
    timer.restart();
    auto broker = std::make_unique<PushSqliteBroker>(path);
    if (!broker->open())
        fail(qPrintable(broker->errorString()));
    PushRegistry registry(std::move(broker));
    const double registryMs = double(timer.nsecsElapsed()) / 1e6;
    if (registry.sessions().size() != sessions)
        fail("the registry did not build every session");
    return {storeMs, registryMs};
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("The SQLite store's throughput and start-up"));
    parser.addHelpOption();
    const QCommandLineOption quick(QStringLiteral("quick"), QStringLiteral("A short smoke run."));
    const QCommandLineOption pushersOption(QStringLiteral("pushers"),
                                           QStringLiteral("Pusher counts, comma-separated."),
                                           QStringLiteral("list"), QStringLiteral("1,64"));
    const QCommandLineOption secondsOption(QStringLiteral("seconds"),
                                           QStringLiteral("Seconds per run."), QStringLiteral("s"),
                                           QStringLiteral("3"));
    const QCommandLineOption runsOption(QStringLiteral("runs"), QStringLiteral("Runs per cell."),
                                        QStringLiteral("n"), QStringLiteral("3"));
    const QCommandLineOption startupOption(QStringLiteral("startup"),
                                           QStringLiteral("Session counts for start-up, "
                                                          "comma-separated (0: skip)."),
                                           QStringLiteral("list"), QStringLiteral("10000,100000"));
    parser.addOptions({quick, pushersOption, secondsOption, runsOption, startupOption});
    parser.process(app);
    const bool isQuick = parser.isSet(quick);
    QList<int> pusherCounts, startupCounts;
    for (const QString &value : parser.value(pushersOption).split(QLatin1Char(',')))
        pusherCounts.append(value.toInt());
    for (const QString &value : parser.value(startupOption).split(QLatin1Char(',')))
        if (value.toInt() > 0)
            startupCounts.append(value.toInt());
    double seconds = parser.value(secondsOption).toDouble();
    int runs = parser.value(runsOption).toInt();
    if (isQuick) {
        pusherCounts = {1, 8};
        startupCounts = {200};
        seconds = 0.3;
        runs = 1;
    }
    const QString path = QDir::current().filePath(QStringLiteral("qtpush-bench-store.db"));

    std::printf("sync    pushers  appends/s  commits/s  batch  p50 us  p99 us   (median of %d "
                "runs of %.1f s, %s)\n",
                runs, seconds, qPrintable(path));
    for (const bool full : {true, false}) {
        for (const int pushers : std::as_const(pusherCounts)) {
            std::vector<double> appends, commits, batch, p50, p99;
            for (int run = 0; run < runs; ++run) {
                const Result result = runThroughput(path, full, pushers, seconds);
                appends.push_back(result.appendsPerSecond);
                commits.push_back(result.commitsPerSecond);
                batch.push_back(result.batch);
                p50.push_back(result.p50Us);
                p99.push_back(result.p99Us);
            }
            std::printf("%-7s %7d %10.0f %10.0f %6.1f %7.0f %7.0f\n", full ? "full" : "normal",
                        pushers, median(appends), median(commits), median(batch), median(p50),
                        median(p99));
            std::fflush(stdout);
        }
    }
    for (const int sessions : std::as_const(startupCounts)) {
        fillStore(path, sessions);
        std::vector<double> storeMs, registryMs;
        for (int run = 0; run < std::max(1, runs); ++run) {
            const auto [store, registry] = measureStartup(path, sessions);
            storeMs.push_back(store);
            registryMs.push_back(registry);
        }
        std::printf("start-up with %d sessions (5 retained each, %.1f MiB): store open + "
                    "recovery %.0f ms; broker open + registry %.0f ms\n",
                    sessions, double(QFileInfo(path).size()) / (1024 * 1024), median(storeMs),
                    median(registryMs));
        std::fflush(stdout);
        removeStore(path);
    }
    return 0;
}
