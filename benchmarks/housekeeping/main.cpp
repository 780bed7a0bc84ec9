// SPDX-License-Identifier: MIT
// What a server that holds many retained sessions costs per second besides its pushes, and how
// long its event loop stalls: the work of housekeeping (expiry of sessions and grace periods,
// timeouts) and of an admin event stream's ticks (docs/benchmarks.md: Housekeeping).
//
// The server runs in a thread of its own, with its own registry. A loader in the main thread
// first makes N sessions through the server (one pipelined HTTP push each: sessions the server
// made, retained for the default 300 s, as a busy server holds them), then pushes at a steady
// rate to random sessions over keep-alive connections; every tenth push goes to a session that
// one WebSocket client (also in the main thread) receives, carrying its send time. Each run
// measures a phase of S seconds without and then with an admin event stream attached (after
// its snapshot has arrived and settled), and reports for each:
//   - the CPU time of the server's thread per second (CLOCK_THREAD_CPUTIME_ID), which leaves
//     out the loader, the WebSocket client and the admin tool;
//   - the longest stretch of the server's event loop's own work: the most CPU time its thread
//     used between two firings of a 5 ms timer there (what a stall costs everyone, without the
//     preemptions of a busy machine);
//   - the longest stall: how late that timer fired at worst, preemptions included;
//   - the longest delivery to the WebSocket client, push sent to frame received.
// It does this for a small number of sessions (--baseline, the pushes themselves) and for N:
// the difference in CPU is what holding N sessions costs.
//
// Checks, in every run: the WebSocket client gets every push meant for it, the snapshot lists
// every session, and the stream ticks. A failed check prints FAILED and exits with 1, so
// `--quick` doubles as a smoke test.

#include <QtPush/pushregistry.h>
#include <QtPush/pushserver.h>

#include <QtCore/QCommandLineParser>
#include <QtCore/QCoreApplication>
#include <QtCore/QElapsedTimer>
#include <QtCore/QEventLoop>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QRandomGenerator>
#include <QtCore/QThread>
#include <QtCore/QTimer>
#include <QtNetwork/QTcpSocket>
#include <QtWebSockets/QWebSocket>

#include <time.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <vector>

namespace {

double median(std::vector<double> values)
{
    std::sort(values.begin(), values.end());
    const size_t middle = values.size() / 2;
    return values.size() % 2 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

[[noreturn]] void fail(const char *what)
{
    std::printf("FAILED: %s\n", what);
    std::fflush(stdout);
    std::exit(1);
}

void runEventLoopFor(int milliseconds)
{
    QEventLoop loop;
    QTimer::singleShot(milliseconds, &loop, &QEventLoop::quit);
    loop.exec();
}

//! Runs the event loop until \a done or \a timeoutMs; returns done().
template<typename Done>
bool waitFor(Done done, int timeoutMs)
{
    QElapsedTimer waited;
    waited.start();
    while (!done() && waited.elapsed() < timeoutMs)
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents, 20);
    return done();
}

QString sessionName(int i)
{
    return QStringLiteral("s%1").arg(i, 6, 10, QLatin1Char('0'));
}

// Lives in the server's thread: the server, its registry, and the stall probe.
class ServerSide : public QObject
{
public:
    void start()
    {
        registry = std::make_unique<PushRegistry>();
        server = std::make_unique<PushServer>(registry.get());
        // The loader makes --sessions sessions and the receiver one more: the server's default
        // limit (100,000) would refuse the receiver's.
        server->setMaxSessions(0);
        if (!server->listen(QHostAddress::LocalHost, 0))
            fail("the server does not listen");
        port = server->serverPort();
        probe.setTimerType(Qt::PreciseTimer);
        probe.setInterval(5);
        connect(&probe, &QTimer::timeout, this, [this] {
            const qint64 elapsed = sinceProbe.nsecsElapsed();
            sinceProbe.start();
            maxLateNs = std::max(maxLateNs, elapsed - 5'000'000);
            const double cpu = threadCpuSeconds();
            maxBusyNs = std::max(maxBusyNs, qint64((cpu - cpuAtProbe) * 1e9));
            cpuAtProbe = cpu;
        });
        sinceProbe.start();
        probe.start();
    }
    void stop()
    {
        probe.stop();
        server.reset();
        registry.reset();
    }
    //! Starts a measured phase; called in this thread.
    void beginPhase()
    {
        maxLateNs = 0;
        maxBusyNs = 0;
        cpuAtStart = threadCpuSeconds();
    }
    double threadCpuSeconds() const
    {
        timespec spec = {};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec);
        return double(spec.tv_sec) + double(spec.tv_nsec) / 1e9;
    }

    std::unique_ptr<PushRegistry> registry;
    std::unique_ptr<PushServer> server;
    quint16 port = 0;
    QTimer probe{this}; // a child: it moves to the server's thread with this object
    QElapsedTimer sinceProbe;
    qint64 maxLateNs = 0; // the 5 ms timer's worst lateness: includes the OS's preemptions
    qint64 maxBusyNs = 0; // the most CPU the thread used between two firings: its own work
    double cpuAtProbe = 0;
    double cpuAtStart = 0;
};

// HTTP pushes over a few keep-alive connections, pipelined, counting the answers.
class Loader : public QObject
{
public:
    Loader(quint16 port, int connections)
    {
        for (int i = 0; i < connections; ++i) {
            auto socket = std::make_unique<QTcpSocket>();
            connect(socket.get(), &QTcpSocket::readyRead, this, [this, s = socket.get()] {
                const QByteArray data = s->readAll();
                // Every answer starts with its status line; no body holds that text.
                answered += int(data.count("HTTP/1.1 200"));
                failed += int(data.count("HTTP/1.1 ")) - int(data.count("HTTP/1.1 200"));
            });
            socket->connectToHost(QHostAddress::LocalHost, port);
            m_sockets.push_back(std::move(socket));
        }
    }
    bool connected() const
    {
        return std::all_of(m_sockets.begin(), m_sockets.end(), [](const auto &socket) {
            return socket->state() == QAbstractSocket::ConnectedState;
        });
    }
    void push(const QString &session, const QByteArray &body)
    {
        QTcpSocket *socket = m_sockets[size_t(m_next++ % m_sockets.size())].get();
        socket->write("POST /v1/sessions/" + session.toLatin1()
                      + "/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        "Content-Length: "
                      + QByteArray::number(body.size()) + "\r\n\r\n" + body);
        ++sent;
    }

    int sent = 0;
    int answered = 0;
    int failed = 0;

private:
    std::vector<std::unique_ptr<QTcpSocket>> m_sockets;
    qsizetype m_next = 0;
};

// The WebSocket client whose deliveries are timed.
class Receiver : public QObject
{
public:
    Receiver(quint16 port, const QElapsedTimer *clock) : m_clock(clock)
    {
        connect(&socket, &QWebSocket::textMessageReceived, this, [this](const QString &text) {
            const QJsonObject frame = QJsonDocument::fromJson(text.toUtf8()).object();
            if (!frame.contains(QLatin1String("id")))
                return; // hello
            ++received;
            const qint64 sentNs = qint64(frame[QLatin1String("data")].toDouble());
            maxLatencyNs = std::max(maxLatencyNs, m_clock->nsecsElapsed() - sentNs);
        });
        socket.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/v1/sessions/watched/clients/probe/ws")
                                 .arg(port)));
    }
    QWebSocket socket;
    int received = 0;
    qint64 maxLatencyNs = 0;

private:
    const QElapsedTimer *m_clock;
};

// An operator's tool on the admin event stream.
class AdminTool : public QObject
{
public:
    explicit AdminTool(quint16 port)
    {
        connect(&socket, &QWebSocket::textMessageReceived, this, [this](const QString &text) {
            const QJsonObject frame = QJsonDocument::fromJson(text.toUtf8()).object();
            const QString type = frame[QLatin1String("type")].toString();
            if (type == QLatin1String("snapshot"))
                snapshotSessions = int(frame[QLatin1String("sessions")].toArray().size());
            else if (type == QLatin1String("tick"))
                ++ticks;
        });
        socket.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/v1/admin/events").arg(port)));
    }
    QWebSocket socket;
    int snapshotSessions = -1;
    int ticks = 0;
};

struct Phase
{
    double cpu = 0; // of the server's thread, per second
    double stallMs = 0;
    double busyMs = 0;
    double deliveryMs = 0;
};

struct Setup
{
    int sessions = 0;
    int pushRate = 0;
    int seconds = 0;
};

class Bench
{
public:
    explicit Bench(const Setup &setup) : m_setup(setup)
    {
        m_clock.start();
        m_thread.start();
        m_side.moveToThread(&m_thread);
        QMetaObject::invokeMethod(
                &m_side, [this] { m_side.start(); }, Qt::BlockingQueuedConnection);
        m_loader = std::make_unique<Loader>(m_side.port, 4);
        if (!waitFor([this] { return m_loader->connected(); }, 30000))
            fail("the loader did not connect");
        // The sessions, made by the server: one push each, in windows of pipelined requests.
        for (int i = 0; i < setup.sessions; ++i) {
            m_loader->push(sessionName(i), "0");
            if (m_loader->sent - m_loader->answered > 2000
                && !waitFor([this] { return m_loader->sent - m_loader->answered <= 1000; }, 60000))
                fail("the server did not answer the pushes that make the sessions");
        }
        if (!waitFor([this] { return m_loader->answered + m_loader->failed == m_loader->sent; },
                     60000)
            || m_loader->failed > 0)
            fail("the sessions were not all made");
        m_receiver = std::make_unique<Receiver>(m_side.port, &m_clock);
        if (!waitFor(
                    [this] {
                        return m_receiver->socket.state() == QAbstractSocket::ConnectedState;
                    },
                    30000))
            fail(qPrintable(QStringLiteral("the WebSocket client did not connect: ")
                            + m_receiver->socket.errorString()));
        runEventLoopFor(500); // its hello, and its session announced
        m_pusher.setTimerType(Qt::PreciseTimer);
        QObject::connect(&m_pusher, &QTimer::timeout, &m_pusher, [this] { pushBatch(); });
        m_pusher.start(10);
    }

    ~Bench()
    {
        m_pusher.stop();
        m_receiver.reset();
        m_loader.reset();
        QMetaObject::invokeMethod(
                &m_side, [this] { m_side.stop(); }, Qt::BlockingQueuedConnection);
        m_thread.quit();
        m_thread.wait();
    }

    Phase measure(bool withTool)
    {
        std::unique_ptr<AdminTool> tool;
        if (withTool) {
            tool = std::make_unique<AdminTool>(m_side.port);
            if (!waitFor([&] { return tool->snapshotSessions >= 0; }, 60000))
                fail("no snapshot within 60 s");
            if (tool->snapshotSessions < m_setup.sessions + 1)
                fail("the snapshot does not list every session");
            runEventLoopFor(1500); // the snapshot's own cost is not the steady state
        }
        const int ticksBefore = tool ? tool->ticks : 0;
        const int wantedBefore = m_toReceiver;
        m_receiver->received = 0;
        m_receiver->maxLatencyNs = 0;
        double cpuStart = 0;
        QMetaObject::invokeMethod(
                &m_side,
                [this, &cpuStart] {
                    m_side.beginPhase();
                    cpuStart = m_side.cpuAtStart;
                },
                Qt::BlockingQueuedConnection);
        runEventLoopFor(m_setup.seconds * 1000);
        Phase phase;
        QMetaObject::invokeMethod(
                &m_side,
                [this, &phase, cpuStart] {
                    phase.cpu = (m_side.threadCpuSeconds() - cpuStart) / m_setup.seconds;
                    phase.stallMs = double(m_side.maxLateNs) / 1e6;
                    phase.busyMs = double(m_side.maxBusyNs) / 1e6;
                },
                Qt::BlockingQueuedConnection);
        const int wanted = m_toReceiver - wantedBefore;
        if (!waitFor([&] { return m_receiver->received >= wanted; }, 30000))
            fail("the WebSocket client missed pushes");
        phase.deliveryMs = double(m_receiver->maxLatencyNs) / 1e6;
        // Not once a second: a server that cannot keep up (as this one could not before it
        // stopped walking every session) ticks late, which the stall figures show.
        if (tool && tool->ticks == ticksBefore)
            fail("the admin stream did not tick");
        return phase;
    }

private:
    void pushBatch()
    {
        // Every 10 ms; every tenth push is timed through the WebSocket client.
        const int batch = std::max(1, m_setup.pushRate / 100);
        for (int i = 0; i < batch; ++i) {
            if (++m_pushes % 10 == 0) {
                ++m_toReceiver;
                m_loader->push(QStringLiteral("watched"),
                               QByteArray::number(m_clock.nsecsElapsed()));
            } else {
                const int session = int(QRandomGenerator::global()->bounded(
                        quint32(std::max(1, m_setup.sessions))));
                m_loader->push(sessionName(session), QByteArray::number(m_pushes));
            }
        }
    }

    Setup m_setup;
    QElapsedTimer m_clock;
    QThread m_thread;
    ServerSide m_side;
    std::unique_ptr<Loader> m_loader;
    std::unique_ptr<Receiver> m_receiver;
    QTimer m_pusher;
    int m_pushes = 0;
    int m_toReceiver = 0;
};

struct Result
{
    std::vector<double> cpu[2], stall[2], busy[2], delivery[2]; // [0] without a tool, [1] with one
};

Result runSize(Setup setup, int runs)
{
    std::printf("%d sessions, %d pushes/s, %d s phases:\n", setup.sessions, setup.pushRate,
                setup.seconds);
    std::fflush(stdout);
    Result result;
    Bench bench(setup);
    for (int i = 0; i < runs; ++i) {
        for (int withTool = 0; withTool < 2; ++withTool) {
            const Phase phase = bench.measure(withTool);
            std::printf("  run %d %-12s server thread %5.1f%% of a core, longest busy %6.1f ms, "
                        "longest stall %6.1f ms, longest delivery %6.1f ms\n",
                        i + 1, withTool ? "with stream" : "no stream", phase.cpu * 100,
                        phase.busyMs, phase.stallMs, phase.deliveryMs);
            std::fflush(stdout);
            result.cpu[withTool].push_back(phase.cpu);
            result.stall[withTool].push_back(phase.stallMs);
            result.busy[withTool].push_back(phase.busyMs);
            result.delivery[withTool].push_back(phase.deliveryMs);
        }
    }
    return result;
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
            "Per-second cost and event-loop stalls of a server holding many sessions "
            "(docs/benchmarks.md)."));
    parser.addHelpOption();
    const QCommandLineOption sessionsOption(QStringLiteral("sessions"),
                                            QStringLiteral("Sessions on the server."),
                                            QStringLiteral("n"), QStringLiteral("100000"));
    const QCommandLineOption baselineOption(
            QStringLiteral("baseline"),
            QStringLiteral("Sessions of the comparison run (the pushes themselves)."),
            QStringLiteral("n"), QStringLiteral("1000"));
    const QCommandLineOption rateOption(QStringLiteral("push-rate"),
                                        QStringLiteral("Pushes a second, to random sessions."),
                                        QStringLiteral("n"), QStringLiteral("1000"));
    const QCommandLineOption secondsOption(QStringLiteral("seconds"),
                                           QStringLiteral("Length of each measured phase."),
                                           QStringLiteral("s"), QStringLiteral("5"));
    const QCommandLineOption runsOption(QStringLiteral("runs"), QStringLiteral("Timed runs."),
                                        QStringLiteral("n"), QStringLiteral("3"));
    const QCommandLineOption quickOption(QStringLiteral("quick"),
                                         QStringLiteral("A tiny run: a smoke test."));
    parser.addOptions(
            {sessionsOption, baselineOption, rateOption, secondsOption, runsOption, quickOption});
    parser.process(app);

    const bool quick = parser.isSet(quickOption);
    Setup setup;
    setup.sessions = quick ? 2000 : std::max(1, parser.value(sessionsOption).toInt());
    setup.pushRate = quick ? 200 : std::max(100, parser.value(rateOption).toInt());
    setup.seconds = quick ? 2 : std::max(2, parser.value(secondsOption).toInt());
    const int runs = quick ? 1 : std::max(1, parser.value(runsOption).toInt());
    Setup baseline = setup;
    baseline.sessions = quick ? 100 : std::max(1, parser.value(baselineOption).toInt());

    const Result small = runSize(baseline, runs);
    const Result large = runSize(setup, runs);
    for (int withTool = 0; withTool < 2; ++withTool) {
        const double extra = median(large.cpu[withTool]) - median(small.cpu[withTool]);
        std::printf("median %s: %d sessions %.1f%%, %d sessions %.1f%% of a core (+%.1f%%); "
                    "with %d sessions longest busy %.1f ms, stall %.1f ms, delivery %.1f ms\n",
                    withTool ? "with stream" : "no stream", baseline.sessions,
                    median(small.cpu[withTool]) * 100, setup.sessions,
                    median(large.cpu[withTool]) * 100, extra * 100, setup.sessions,
                    median(large.busy[withTool]), median(large.stall[withTool]),
                    median(large.delivery[withTool]));
    }
    return 0;
}
