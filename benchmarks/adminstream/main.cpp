// SPDX-License-Identifier: MIT
// What one admin event stream (docs/protocol.md: The admin event stream) costs a server that
// holds many sessions, the case a dashboard left open on a busy server is.
//
// One process holds a PushServer with N sessions of one in-process client each and pushes to
// random sessions at a steady rate. It measures the process's CPU time (user + system) over a
// phase of S seconds twice in each run: without an admin stream, then with one attached. The
// difference is the stream's cost: the server's ticks (one pass over the registry a second),
// their encoding and writing, and the tool's side too (the QWebSocket in this process that reads
// and parses every frame), so the figure is an upper bound of the server's share. Both phases
// carry the same pushes, which cancel out. It also times the snapshot: from the upgrade request
// until the whole snapshot frame has arrived and been parsed.
//
// Checks, in every run: the snapshot lists N sessions, and the stream ticks about once a
// second during its phase. A failed check prints FAILED and exits with 1, so `--quick` doubles
// as a smoke test.

#include <QtPush/pushregistry.h>
#include <QtPush/pushserver.h>
#include <QtPush/pushsession.h>

#include <QtCore/QCommandLineParser>
#include <QtCore/QCoreApplication>
#include <QtCore/QElapsedTimer>
#include <QtCore/QEventLoop>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QRandomGenerator>
#include <QtCore/QTimer>
#include <QtWebSockets/QWebSocket>

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <vector>

namespace {

double cpuSeconds()
{
    rusage usage = {};
    getrusage(RUSAGE_SELF, &usage);
    return double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

double median(std::vector<double> values)
{
    std::sort(values.begin(), values.end());
    const size_t middle = values.size() / 2;
    return values.size() % 2 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

void runEventLoopFor(int milliseconds)
{
    QEventLoop loop;
    QTimer::singleShot(milliseconds, &loop, &QEventLoop::quit);
    loop.exec();
}

[[noreturn]] void fail(const char *what)
{
    std::printf("FAILED: %s\n", what);
    std::fflush(stdout);
    std::exit(1);
}

struct Run
{
    double idleCpu = 0; // CPU seconds per second without a stream
    double streamCpu = 0; // with one
    double snapshotMs = 0;
    qint64 snapshotBytes = 0;
    double tickBytes = 0; // mean size of a tick frame
};

// One tool on the admin stream: counts frames and bytes, checks the snapshot.
class AdminTool : public QObject
{
public:
    AdminTool()
    {
        connect(&m_socket, &QWebSocket::textMessageReceived, this, [this](const QString &text) {
            const QJsonObject frame = QJsonDocument::fromJson(text.toUtf8()).object();
            const QString type = frame[QLatin1String("type")].toString();
            if (type == QLatin1String("snapshot")) {
                m_snapshotMs = double(m_clock.nsecsElapsed()) / 1e6;
                m_snapshotBytes = text.toUtf8().size();
                m_snapshotSessions = int(frame[QLatin1String("sessions")].toArray().size());
            } else if (type == QLatin1String("tick")) {
                ++m_ticks;
                m_tickBytes += text.toUtf8().size();
            }
        });
    }

    void open(quint16 port)
    {
        m_clock.start();
        m_socket.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/v1/admin/events").arg(port)));
    }
    void close() { m_socket.abort(); }
    bool hasSnapshot() const { return m_snapshotSessions >= 0; }

    QWebSocket m_socket;
    QElapsedTimer m_clock;
    double m_snapshotMs = 0;
    qint64 m_snapshotBytes = 0;
    int m_snapshotSessions = -1;
    int m_ticks = 0;
    qint64 m_tickBytes = 0;
};

Run measure(PushServer &server, int sessions, int seconds)
{
    Run run;
    const int phaseMs = seconds * 1000;

    double start = cpuSeconds();
    runEventLoopFor(phaseMs);
    run.idleCpu = (cpuSeconds() - start) / seconds;

    AdminTool tool;
    tool.open(server.serverPort());
    QElapsedTimer waited;
    waited.start();
    while (!tool.hasSnapshot() && waited.elapsed() < 30000)
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents, 50);
    if (!tool.hasSnapshot())
        fail("no snapshot within 30 s");
    if (tool.m_snapshotSessions != sessions)
        fail("the snapshot does not list every session");
    run.snapshotMs = tool.m_snapshotMs;
    run.snapshotBytes = tool.m_snapshotBytes;

    // Let the snapshot's own cost settle before the stream's steady state is measured.
    runEventLoopFor(1500);
    const int ticksBefore = tool.m_ticks;
    const qint64 tickBytesBefore = tool.m_tickBytes;
    start = cpuSeconds();
    runEventLoopFor(phaseMs);
    run.streamCpu = (cpuSeconds() - start) / seconds;
    const int ticks = tool.m_ticks - ticksBefore;
    if (ticks < seconds - 1 || ticks > seconds + 1)
        fail("the stream did not tick once a second");
    run.tickBytes = double(tool.m_tickBytes - tickBytesBefore) / ticks;
    tool.close();
    return run;
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
            "CPU cost of one admin event stream on a server with many sessions (docs/benchmarks.md)."));
    parser.addHelpOption();
    const QCommandLineOption sessionsOption(QStringLiteral("sessions"),
                                            QStringLiteral("Sessions on the server."),
                                            QStringLiteral("n"), QStringLiteral("10000"));
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
    parser.addOptions({ sessionsOption, rateOption, secondsOption, runsOption, quickOption });
    parser.process(app);

    const bool quick = parser.isSet(quickOption);
    const int sessions = quick ? 200 : std::max(1, parser.value(sessionsOption).toInt());
    const int pushRate = quick ? 100 : std::max(0, parser.value(rateOption).toInt());
    const int seconds = quick ? 2 : std::max(2, parser.value(secondsOption).toInt());
    const int runs = quick ? 1 : std::max(1, parser.value(runsOption).toInt());

    PushRegistry registry;
    std::vector<PushSession *> all;
    all.reserve(size_t(sessions));
    for (int i = 0; i < sessions; ++i) {
        PushSession *session = registry.session(QStringLiteral("session-%1").arg(i, 6, 10,
                                                                                QLatin1Char('0')));
        session->newClient(QStringLiteral("device"));
        all.push_back(session);
    }
    PushServer server(&registry);
    if (!server.listen(QHostAddress::LocalHost, 0))
        fail("the server does not listen");

    // Pushes in batches every 10 ms, so the rate is steady without a timer per push.
    QTimer pusher;
    pusher.setTimerType(Qt::PreciseTimer);
    int pushed = 0;
    QObject::connect(&pusher, &QTimer::timeout, &app, [&] {
        const int batch = pushRate / 100;
        for (int i = 0; i < batch; ++i)
            all[QRandomGenerator::global()->bounded(int(all.size()))]->push(++pushed);
    });
    pusher.start(10);

    std::printf("%d sessions, %d pushes/s, %d s phases, %d runs\n", sessions, pushRate, seconds,
                runs);
    std::vector<double> idle, stream, extra, snapshotMs, tickBytes;
    qint64 snapshotBytes = 0;
    for (int i = 0; i < runs; ++i) {
        const Run run = measure(server, sessions, seconds);
        std::printf("run %d: cpu idle %.1f%%, with stream %.1f%% (+%.1f%% of a core); snapshot "
                    "%lld bytes in %.0f ms; tick %.0f bytes\n",
                    i + 1, run.idleCpu * 100, run.streamCpu * 100,
                    (run.streamCpu - run.idleCpu) * 100, run.snapshotBytes, run.snapshotMs,
                    run.tickBytes);
        idle.push_back(run.idleCpu);
        stream.push_back(run.streamCpu);
        extra.push_back(run.streamCpu - run.idleCpu);
        snapshotMs.push_back(run.snapshotMs);
        tickBytes.push_back(run.tickBytes);
        snapshotBytes = run.snapshotBytes;
    }
    std::printf("median: cpu idle %.1f%%, with stream %.1f%%, stream +%.1f%% of a core; snapshot "
                "%lld bytes in %.0f ms; tick %.0f bytes\n",
                median(idle) * 100, median(stream) * 100, median(extra) * 100, snapshotBytes,
                median(snapshotMs), median(tickBytes));
    return 0;
}
