// SPDX-License-Identifier: MIT
// Fan-out throughput of one PushSession in one process, next to what plain Qt signals cost.
//
// Every mode counts deliveries (one message reaching one receiver) for N clients and reports the
// median of R runs:
//   floor         one signal emitted to N direct receivers: the cheapest fan-out Qt offers.
//   ceiling       N senders with one receiver each, each emitted once per message: what any design
//                 pays that emits one signal per client per message, as PushClient does.
//   same-thread   N PushClients in the pusher's thread, streaming into a counting slot.
//   cross-thread  N PushClients and their receivers in one worker thread, timed from the first
//                 push until the worker has counted every delivery.
//   pull          N PushClients nobody listens to; after each push, tryPull() on every client.
//   queued        N senders in the main thread, each with one receiver in the worker thread over
//                 Qt::QueuedConnection: one posted event per delivery, the plain Qt way to cross
//                 threads, timed as cross-thread is. Its runs make a tenth of the deliveries:
//                 every undelivered event holds about 200 bytes, and the pusher runs ahead.
//
// Every run checks its counts exactly (no loss, no duplicates, nothing left queued); a wrong
// count makes the program exit with 1, so `--quick` doubles as a smoke test.
//
// The payload is a QVariant holding an int, which QVariant stores inline: the numbers are the
// cost of the fan-out, not of copying or reference-counting a payload.

#include <QtPush/pushclient.h>
#include <QtPush/pushregistry.h>
#include <QtPush/pushsession.h>

#include <QtCore/QAbstractEventDispatcher>
#include <QtCore/QCommandLineParser>
#include <QtCore/QCoreApplication>
#include <QtCore/QElapsedTimer>
#include <QtCore/QSemaphore>
#include <QtCore/QThread>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <limits>
#include <memory>
#include <vector>

namespace {

// Shared by the receivers of one measurement. total is written by the receivers' thread only,
// so it is bumped with a plain load and store instead of a locked add (which would inflate the
// cost of every delivery). The fields the main thread shares with a worker are atomics so that
// the hand-over is explicit (and ThreadSanitizer, which cannot see into an uninstrumented Qt,
// has nothing to say about them); relaxed loads and stores cost what plain ones do.
struct Tally
{
    std::atomic<quint64> total{0};
    std::atomic<quint64> target{0}; // 0: nobody waits for completion
    std::atomic<const QElapsedTimer *> clock{nullptr};
    std::atomic<qint64> doneNs{-1}; // set by the delivery that reaches target
    QSemaphore done;
};

class Receiver : public QObject
{
    Q_OBJECT

public:
    explicit Receiver(Tally *tally) : m_tally(tally) { }

    quint64 count = 0;
    quint64 overflows = 0;

public Q_SLOTS:
    void receive(const QVariant &message)
    {
        Q_UNUSED(message);
        ++count;
        const quint64 total = m_tally->total.load(std::memory_order_relaxed) + 1;
        m_tally->total.store(total, std::memory_order_relaxed);
        if (Q_UNLIKELY(total == m_tally->target.load(std::memory_order_relaxed))) {
            // Timed here rather than when the main thread wakes: that wake-up is not delivery.
            const QElapsedTimer *clock = m_tally->clock.load(std::memory_order_acquire);
            m_tally->doneNs.store(clock->nsecsElapsed(), std::memory_order_release);
            m_tally->done.release();
        }
    }

private:
    Tally *const m_tally;
};

class Sender : public QObject
{
    Q_OBJECT

Q_SIGNALS:
    void message(const QVariant &message);
};

using Receivers = std::vector<std::unique_ptr<Receiver>>;

void fail(const QString &what)
{
    std::fprintf(stderr, "FAILED: %s\n", qPrintable(what));
    std::fflush(stderr);
}

void reset(const Receivers &receivers, Tally *tally)
{
    for (const auto &receiver : receivers)
        receiver->count = 0;
    tally->total.store(0, std::memory_order_relaxed);
}

// Every receiver must have got every message exactly once, and none may have overflowed.
bool check(const Receivers &receivers, const Tally &tally, quint64 perReceiver, QString *error)
{
    quint64 total = 0;
    quint64 overflows = 0;
    qsizetype wrong = 0;
    qsizetype firstWrong = -1;
    for (qsizetype i = 0; i < qsizetype(receivers.size()); ++i) {
        const Receiver &receiver = *receivers[i];
        total += receiver.count;
        overflows += receiver.overflows;
        if (receiver.count != perReceiver && wrong++ == 0)
            firstWrong = i;
    }
    const quint64 expected = perReceiver * receivers.size();
    if (wrong == 0 && overflows == 0 && total == expected
        && tally.total.load(std::memory_order_relaxed) == expected) {
        return true;
    }
    *error = QStringLiteral("%1 deliveries instead of %2; %3 of %4 receivers got a wrong count")
                     .arg(total)
                     .arg(expected)
                     .arg(wrong)
                     .arg(receivers.size());
    if (firstWrong >= 0) {
        *error += QStringLiteral(" (receiver %1 got %2 of %3)")
                          .arg(firstWrong)
                          .arg(receivers[firstWrong]->count)
                          .arg(perReceiver);
    }
    if (overflows > 0)
        *error += QStringLiteral("; overflowed() reported %1 dropped messages").arg(overflows);
    return false;
}

template<typename Function>
void runIn(QObject *context, Function function)
{
    QMetaObject::invokeMethod(context, std::move(function), Qt::BlockingQueuedConnection);
}

// One mode at one N. The objects are built once and reused by every run of that mode and N:
// the runs measure steady-state delivery (after an untimed warm-up run), not object creation.
class Scenario
{
public:
    virtual ~Scenario() = default;
    // One run of `pushes` messages: the nanoseconds it took, or -1 with *error set when a count
    // is wrong.
    virtual qint64 run(int pushes, QString *error) = 0;
};

class FloorScenario : public Scenario
{
public:
    explicit FloorScenario(int clients)
    {
        for (int i = 0; i < clients; ++i) {
            m_receivers.push_back(std::make_unique<Receiver>(&m_tally));
            QObject::connect(&m_sender, &Sender::message, m_receivers.back().get(),
                             &Receiver::receive);
        }
    }

    qint64 run(int pushes, QString *error) override
    {
        reset(m_receivers, &m_tally);
        QElapsedTimer clock;
        clock.start();
        for (int i = 0; i < pushes; ++i) {
            const QVariant message(i);
            Q_EMIT m_sender.message(message);
        }
        const qint64 ns = clock.nsecsElapsed();
        return check(m_receivers, m_tally, pushes, error) ? ns : -1;
    }

private:
    Tally m_tally;
    Sender m_sender;
    Receivers m_receivers;
};

class CeilingScenario : public Scenario
{
public:
    explicit CeilingScenario(int clients)
    {
        for (int i = 0; i < clients; ++i) {
            m_senders.push_back(std::make_unique<Sender>());
            m_receivers.push_back(std::make_unique<Receiver>(&m_tally));
            QObject::connect(m_senders.back().get(), &Sender::message, m_receivers.back().get(),
                             &Receiver::receive);
        }
    }

    qint64 run(int pushes, QString *error) override
    {
        reset(m_receivers, &m_tally);
        QElapsedTimer clock;
        clock.start();
        for (int i = 0; i < pushes; ++i) {
            const QVariant message(i);
            for (const auto &sender : m_senders)
                Q_EMIT sender->message(message);
        }
        const qint64 ns = clock.nsecsElapsed();
        return check(m_receivers, m_tally, pushes, error) ? ns : -1;
    }

private:
    Tally m_tally;
    std::vector<std::unique_ptr<Sender>> m_senders;
    Receivers m_receivers;
};

// N clients of one session of a private registry, so that no other mode's clients share it.
class SessionScenario : public Scenario
{
protected:
    SessionScenario() : m_session(m_registry.session(QStringLiteral("bench"))) { }

    // Connects the receiver to messageReceived when streaming, which makes the client emit
    // rather than queue, and to overflowed always, so that a drop shows up in check().
    void addClient(int id, bool streaming)
    {
        PushClient *client = m_session->newClient(id);
        auto receiver = std::make_unique<Receiver>(&m_tally);
        if (streaming) {
            QObject::connect(client, &PushClient::messageReceived, receiver.get(),
                             &Receiver::receive);
        }
        QObject::connect(client, &PushClient::overflowed, receiver.get(),
                         [counter = receiver.get()](int dropped) {
                             counter->overflows += quint64(dropped);
                         });
        m_clients.push_back(client);
        m_receivers.push_back(std::move(receiver));
    }

    // Call from the clients' thread. Deleting a client directly is allowed there and is
    // immediate, where the registry's teardown would go through deleteLater().
    void deleteClients()
    {
        m_receivers.clear();
        qDeleteAll(m_clients);
        m_clients.clear();
    }

    // Messages still queued in any client: a duplicate would stay behind there.
    int leftOver() const
    {
        int pending = 0;
        for (const PushClient *client : m_clients)
            pending += client->pending();
        return pending;
    }

    bool checkAll(int pushes, QString *error) const
    {
        if (!check(m_receivers, m_tally, pushes, error))
            return false;
        if (const int pending = leftOver()) {
            *error = QStringLiteral("%1 messages still queued after the run").arg(pending);
            return false;
        }
        return true;
    }

    Tally m_tally;
    PushRegistry m_registry;
    PushSession *const m_session;
    std::vector<PushClient *> m_clients;
    Receivers m_receivers;
};

class SameThreadScenario : public SessionScenario
{
public:
    explicit SameThreadScenario(int clients)
    {
        for (int i = 0; i < clients; ++i)
            addClient(i, true);
        // Each connect posted an attach event to its client: handle them now, not in a run.
        QCoreApplication::sendPostedEvents();
    }

    ~SameThreadScenario() override { deleteClients(); }

    qint64 run(int pushes, QString *error) override
    {
        reset(m_receivers, &m_tally);
        QElapsedTimer clock;
        clock.start();
        for (int i = 0; i < pushes; ++i)
            m_session->push(QVariant(i));
        const qint64 ns = clock.nsecsElapsed();
        return checkAll(pushes, error) ? ns : -1;
    }
};

class CrossThreadScenario : public SessionScenario
{
public:
    // worker lives in the (running) worker thread; maxPushes is the largest run to come.
    CrossThreadScenario(QObject *worker, int clients, int maxPushes) : m_worker(worker)
    {
        // The pusher runs ahead of the worker by design; with the default buffer of 10 the
        // session would drop all but the newest messages, which is not what is measured here.
        m_session->setMaxBuffer(std::max(maxPushes, 10));
        runIn(m_worker, [this, clients] {
            for (int i = 0; i < clients; ++i)
                addClient(i, true);
        });
        // Queued behind the attach events that the connects above posted, so those are done.
        runIn(m_worker, [] {});
    }

    ~CrossThreadScenario() override
    {
        runIn(m_worker, [this] { deleteClients(); });
    }

    qint64 run(int pushes, QString *error) override
    {
        runIn(m_worker, [this] { reset(m_receivers, &m_tally); });
        QElapsedTimer clock;
        m_tally.target.store(quint64(pushes) * m_clients.size(), std::memory_order_relaxed);
        m_tally.doneNs.store(-1, std::memory_order_relaxed);
        clock.start();
        m_tally.clock.store(&clock, std::memory_order_release);
        for (int i = 0; i < pushes; ++i)
            m_session->push(QVariant(i));
        // Posted after every wake-up that the pushes posted, so once it returns the worker has
        // delivered all it will ever deliver of this run: a shortfall is a loss, found at once
        // instead of by a timeout. It also leaves the worker idle for the check below.
        runIn(m_worker, [] {});
        const bool finished = m_tally.done.tryAcquire();
        bool ok = false;
        runIn(m_worker, [&] { ok = checkAll(pushes, error); });
        if (!finished && ok)
            *error = QStringLiteral("the run never reached its delivery count");
        return finished && ok ? m_tally.doneNs.load(std::memory_order_acquire) : -1;
    }

private:
    QObject *const m_worker;
};

class QueuedScenario : public Scenario
{
public:
    QueuedScenario(QObject *worker, int clients) : m_worker(worker)
    {
        for (int i = 0; i < clients; ++i)
            m_senders.push_back(std::make_unique<Sender>());
        runIn(m_worker, [this] {
            for (const auto &sender : m_senders) {
                m_receivers.push_back(std::make_unique<Receiver>(&m_tally));
                QObject::connect(sender.get(), &Sender::message, m_receivers.back().get(),
                                 &Receiver::receive, Qt::QueuedConnection);
            }
        });
    }

    ~QueuedScenario() override
    {
        runIn(m_worker, [this] { m_receivers.clear(); });
    }

    qint64 run(int pushes, QString *error) override
    {
        runIn(m_worker, [this] { reset(m_receivers, &m_tally); });
        QElapsedTimer clock;
        m_tally.target.store(quint64(pushes) * m_senders.size(), std::memory_order_relaxed);
        m_tally.doneNs.store(-1, std::memory_order_relaxed);
        clock.start();
        m_tally.clock.store(&clock, std::memory_order_release);
        for (int i = 0; i < pushes; ++i) {
            const QVariant message(i);
            for (const auto &sender : m_senders)
                Q_EMIT sender->message(message);
        }
        runIn(m_worker, [] {}); // posted behind every delivery: all are done once it returns
        const bool finished = m_tally.done.tryAcquire();
        bool ok = false;
        runIn(m_worker, [&] { ok = check(m_receivers, m_tally, pushes, error); });
        if (!finished && ok)
            *error = QStringLiteral("the run never reached its delivery count");
        return finished && ok ? m_tally.doneNs.load(std::memory_order_acquire) : -1;
    }

private:
    QObject *const m_worker;
    Tally m_tally;
    std::vector<std::unique_ptr<Sender>> m_senders;
    Receivers m_receivers; // created, used and deleted in the worker thread
};

class PullScenario : public SessionScenario
{
public:
    explicit PullScenario(int clients)
    {
        for (int i = 0; i < clients; ++i)
            addClient(i, false);
    }

    ~PullScenario() override { deleteClients(); }

    qint64 run(int pushes, QString *error) override
    {
        quint64 pulled = 0;
        quint64 missing = 0;
        quint64 wrongId = 0;
        QVariant message;
        QElapsedTimer clock;
        clock.start();
        for (int i = 0; i < pushes; ++i) {
            const quint64 id = m_session->push(QVariant(i));
            for (PushClient *client : m_clients) {
                // The id tells this push's message from an older one that was left behind.
                if (!client->tryPull(&message))
                    ++missing;
                else if (client->lastMessageId() != id)
                    ++wrongId;
                else
                    ++pulled;
            }
        }
        const qint64 ns = clock.nsecsElapsed();
        const quint64 expected = quint64(pushes) * m_clients.size();
        const int pending = leftOver();
        if (pulled == expected && pending == 0)
            return ns;
        *error = QStringLiteral("%1 pulls instead of %2: %3 tryPull() calls found nothing, %4 "
                                "returned another push's message; %5 messages still queued")
                         .arg(pulled)
                         .arg(expected)
                         .arg(missing)
                         .arg(wrongId)
                         .arg(pending);
        return -1;
    }
};

enum class Mode { Floor, Ceiling, SameThread, CrossThread, Pull, Queued };

struct ModeInfo
{
    Mode mode;
    QLatin1String name;
};

const ModeInfo Modes[] = {
        {Mode::Floor, QLatin1String("floor")},
        {Mode::Ceiling, QLatin1String("ceiling")},
        {Mode::SameThread, QLatin1String("same-thread")},
        {Mode::CrossThread, QLatin1String("cross-thread")},
        {Mode::Pull, QLatin1String("pull")},
        {Mode::Queued, QLatin1String("queued")},
};

std::unique_ptr<Scenario> makeScenario(Mode mode, int clients, int pushes, QObject *worker)
{
    switch (mode) {
    case Mode::Floor:
        return std::make_unique<FloorScenario>(clients);
    case Mode::Ceiling:
        return std::make_unique<CeilingScenario>(clients);
    case Mode::SameThread:
        return std::make_unique<SameThreadScenario>(clients);
    case Mode::CrossThread:
        return std::make_unique<CrossThreadScenario>(worker, clients, pushes);
    case Mode::Pull:
        return std::make_unique<PullScenario>(clients);
    case Mode::Queued:
        return std::make_unique<QueuedScenario>(worker, clients);
    }
    Q_UNREACHABLE();
    return nullptr;
}

qint64 median(std::vector<qint64> values)
{
    std::sort(values.begin(), values.end());
    const size_t middle = values.size() / 2;
    return values.size() % 2 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

// A comma-separated list of positive integers, or an empty list when anything is malformed.
QList<int> parseCounts(const QString &text)
{
    QList<int> counts;
    for (const QString &part : text.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        bool ok = false;
        const int count = part.trimmed().toInt(&ok);
        if (!ok || count < 1)
            return {};
        counts.append(count);
    }
    return counts;
}

const char *dispatcherName(QThread *thread)
{
    const QAbstractEventDispatcher *dispatcher = QAbstractEventDispatcher::instance(thread);
    return dispatcher ? dispatcher->metaObject()->className() : "none";
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("qtpush-bench-fanout"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
            "Measures how fast one PushSession fans messages out to N clients in one process, "
            "against plain Qt signals. Exits with 1 if any delivery count is wrong."));
    parser.addHelpOption();
    const QCommandLineOption clientsOption(
            QStringLiteral("clients"),
            QStringLiteral("Comma-separated client counts (default 1,100,1000,10000)."),
            QStringLiteral("list"));
    const QCommandLineOption runsOption(QStringLiteral("runs"),
                                        QStringLiteral("Timed runs per measurement (default 5)."),
                                        QStringLiteral("count"));
    const QCommandLineOption messagesOption(
            QStringLiteral("messages"),
            QStringLiteral("Target deliveries per run, divided by the client count to get the "
                           "pushes per run (default 4000000)."),
            QStringLiteral("count"));
    const QCommandLineOption modesOption(
            QStringLiteral("modes"),
            QStringLiteral("Comma-separated modes besides floor, which is always measured: "
                           "ceiling, same-thread, cross-thread, pull, queued (default all but "
                           "queued)."),
            QStringLiteral("list"));
    const QCommandLineOption quickOption(
            QStringLiteral("quick"),
            QStringLiteral("Smoke run: 1,100,1000 clients, 1 run, 20000 deliveries per run, "
                           "unless given otherwise."));
    parser.addOptions({clientsOption, runsOption, messagesOption, modesOption, quickOption});
    parser.process(app);

    const bool quick = parser.isSet(quickOption);
    QList<int> clientCounts = quick ? QList<int>{1, 100, 1000} : QList<int>{1, 100, 1000, 10000};
    if (parser.isSet(clientsOption)) {
        clientCounts = parseCounts(parser.value(clientsOption));
        if (clientCounts.isEmpty()) {
            fail(QStringLiteral("--clients wants positive integers separated by commas"));
            return 2;
        }
    }
    int runs = quick ? 1 : 5;
    if (parser.isSet(runsOption)) {
        bool ok = false;
        runs = parser.value(runsOption).toInt(&ok);
        if (!ok || runs < 1) {
            fail(QStringLiteral("--runs wants a positive integer"));
            return 2;
        }
    }
    qint64 messages = quick ? 20000 : 4000000;
    if (parser.isSet(messagesOption)) {
        bool ok = false;
        messages = parser.value(messagesOption).toLongLong(&ok);
        if (!ok || messages < 1) {
            fail(QStringLiteral("--messages wants a positive integer"));
            return 2;
        }
    }
    QList<Mode> modes{Mode::Floor};
    const QStringList modeNames = parser.isSet(modesOption)
            ? parser.value(modesOption).split(QLatin1Char(','), Qt::SkipEmptyParts)
            : QStringList{QStringLiteral("ceiling"), QStringLiteral("same-thread"),
                          QStringLiteral("cross-thread"), QStringLiteral("pull")};
    for (const QString &name : modeNames) {
        const auto known = std::find_if(std::begin(Modes), std::end(Modes),
                                        [&](const ModeInfo &info) { return info.name == name; });
        if (known == std::end(Modes)) {
            fail(QStringLiteral("unknown mode %1").arg(name));
            return 2;
        }
        if (!modes.contains(known->mode))
            modes.append(known->mode);
    }

    // One worker thread for every cross-thread measurement, running its own event loop.
    QThread workerThread;
    workerThread.setObjectName(QStringLiteral("fanout worker"));
    workerThread.start();
    auto *worker = new QObject;
    worker->moveToThread(&workerThread);
    runIn(worker, [] {}); // the worker's event dispatcher exists once this returns

    std::printf("QtPush fan-out benchmark: Qt %s, %d CPUs, event dispatcher %s (worker %s)\n"
                "median of %d runs after one warm-up run; about %lld deliveries per run\n\n",
                qVersion(), QThread::idealThreadCount(), dispatcherName(app.thread()),
                dispatcherName(&workerThread), runs, messages);
    // spread: (slowest - fastest run) / median, to tell a steady result from a noisy one.
    std::printf("%-13s %7s %10s %12s %10s %10s %9s %7s\n", "mode", "clients", "pushes/run",
                "deliv./run", "Mdeliv./s", "ns/deliv.", "vs floor", "spread");
    std::fflush(stdout);

    bool allCorrect = true;
    for (const int clients : std::as_const(clientCounts)) {
        // Fewer pushes for more clients: every run makes about the same number of deliveries,
        // so that a run takes about as long at 10000 clients as at 1.
        const qint64 wanted = std::max<qint64>(1, (messages + clients / 2) / clients);
        double floorRate = 0;
        for (const Mode mode : std::as_const(modes)) {
            // queued: a tenth, as its posted events pile up (see the top of this file).
            const qint64 modeWanted
                    = mode == Mode::Queued ? std::max<qint64>(1, wanted / 10) : wanted;
            const int pushes = int(std::min<qint64>(modeWanted, std::numeric_limits<int>::max()));
            const quint64 deliveries = quint64(pushes) * quint64(clients);
            const QLatin1String name
                    = std::find_if(std::begin(Modes), std::end(Modes), [&](const ModeInfo &info) {
                          return info.mode == mode;
                      })->name;
            std::vector<qint64> times;
            {
                std::unique_ptr<Scenario> scenario = makeScenario(mode, clients, pushes, worker);
                for (int run = 0; run <= runs; ++run) { // run 0 is the warm-up
                    QString error;
                    const qint64 ns = scenario->run(pushes, &error);
                    if (ns < 0) {
                        fail(QStringLiteral("%1 with %2 clients, %3 pushes, run %4: %5")
                                     .arg(name)
                                     .arg(clients)
                                     .arg(pushes)
                                     .arg(run)
                                     .arg(error));
                        allCorrect = false;
                        times.clear();
                        break;
                    }
                    if (run > 0)
                        times.push_back(std::max<qint64>(ns, 1));
                }
            }
            // Client deletion and the session's teardown leave deferred deletes behind.
            QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
            if (times.empty()) {
                std::printf("%-13s %7d %10d %12llu %10s %10s %9s %7s\n", name.data(), clients,
                            pushes, deliveries, "FAILED", "-", "-", "-");
                std::fflush(stdout);
                continue;
            }
            const qint64 ns = median(times);
            const auto [fastest, slowest] = std::minmax_element(times.begin(), times.end());
            const double rate = double(deliveries) / (double(ns) / 1e9);
            if (mode == Mode::Floor)
                floorRate = rate;
            std::printf("%-13s %7d %10d %12llu %10.1f %10.2f %9.2f %6.0f%%\n", name.data(), clients,
                        pushes, deliveries, rate / 1e6, double(ns) / double(deliveries),
                        floorRate > 0 ? rate / floorRate : 0.0,
                        100.0 * double(*slowest - *fastest) / double(ns));
            std::fflush(stdout);
        }
    }

    worker->deleteLater();
    workerThread.quit();
    workerThread.wait();

    if (!allCorrect) {
        std::fprintf(stderr, "some delivery counts were wrong\n");
        return 1;
    }
    return 0;
}

#include "main.moc"
