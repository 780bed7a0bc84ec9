// SPDX-License-Identifier: MIT
// Acknowledged means durable: the real qtpush-server with --store sqlite:FILE is killed with
// SIGKILL at random moments under a pushing load, again and again on one file. After every
// restart, every push that was answered (HTTP 200, or a WebSocket push whose echo reached its
// sender) must be there with its id and data, everything a client received must be there, ids
// must stay contiguous from 1 in one epoch, and no id may ever name two messages.
//
// The kill moments are random (the seed is printed, QTPUSH_KILL_SEED repeats a run); what is
// asserted holds for every moment, so the test cannot fail by timing. QTPUSH_KILL_LOOPS sets the
// number of kills (50).

#include "serverprocess.h"
#include "storetestclients.h"

#include <QtCore/QHash>
#include <QtCore/QRandomGenerator>
#include <QtCore/QTemporaryDir>
#include <QtTest/QtTest>
#include <QtWebSockets/QWebSocket>

namespace {

QByteArray compact(const QJsonValue &value)
{
    return QJsonDocument(value.toObject()).toJson(QJsonDocument::Compact);
}

//! Pushes {"p":P,"n":N} over one keep-alive connection, one at a time, and records the answers.
class HttpPusher : public QObject
{
public:
    HttpPusher(int pusher, int iteration, QHash<quint64, QByteArray> *answered, quint16 port)
        : m_pusher(pusher), m_iteration(iteration), m_answered(answered)
    {
        connect(&m_socket, &QTcpSocket::connected, this, [this] { sendNext(); });
        connect(&m_socket, &QTcpSocket::readyRead, this, [this] {
            m_buffer += m_socket.readAll();
            while (const std::optional<Answer> answer = firstAnswer(m_buffer)) {
                m_buffer.remove(0, answer->head.size() + 4 + answer->body.size());
                if (answer->status == 200) {
                    const quint64 id = quint64(
                            QJsonDocument::fromJson(answer->body)[QLatin1String("id")].toDouble());
                    record(id, m_inFlight);
                }
                sendNext();
            }
        });
        m_socket.connectToHost(QHostAddress::LocalHost, port);
    }
    //! An id answered for two different messages: counted, and the test fails on it.
    int conflicts = 0;

private:
    void record(quint64 id, const QByteArray &data)
    {
        const auto it = m_answered->constFind(id);
        if (it != m_answered->constEnd() && *it != data)
            ++conflicts;
        m_answered->insert(id, data);
    }
    void sendNext()
    {
        m_inFlight = QByteArrayLiteral("{\"i\":") + QByteArray::number(m_iteration)
                + ",\"n\":" + QByteArray::number(++m_sequence) + ",\"p\":"
                + QByteArray::number(m_pusher) + '}';
        m_socket.write("POST /v1/sessions/k/push HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       "Content-Type: application/json\r\nContent-Length: "
                       + QByteArray::number(m_inFlight.size()) + "\r\n\r\n" + m_inFlight);
    }

    QTcpSocket m_socket;
    QByteArray m_buffer;
    QByteArray m_inFlight;
    const int m_pusher;
    const int m_iteration;
    int m_sequence = 0;
    QHash<quint64, QByteArray> *const m_answered;
};

} // namespace

class tst_PushKillLoop : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void answeredPushesSurviveKill()
    {
        const int loops = qEnvironmentVariableIsSet("QTPUSH_KILL_LOOPS")
                ? qEnvironmentVariableIntValue("QTPUSH_KILL_LOOPS")
                : 50;
        const quint32 seed = qEnvironmentVariableIsSet("QTPUSH_KILL_SEED")
                ? quint32(qEnvironmentVariableIntValue("QTPUSH_KILL_SEED"))
                : QRandomGenerator::system()->generate();
        qInfo("kill loop: %d kills, QTPUSH_KILL_SEED=%u", loops, seed);
        QRandomGenerator random(seed);

        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QStringList arguments{
                QStringLiteral("--store"), QStringLiteral("sqlite:") + dir.filePath(QStringLiteral("push.db")),
                QStringLiteral("--retain-messages"), QStringLiteral("16000000"),
                QStringLiteral("--retain-seconds"), QStringLiteral("0"),
                QStringLiteral("--client-buffer"), QStringLiteral("1000000")};

        QHash<quint64, QByteArray> answered; // id -> data, from every answer ever seen
        QHash<quint64, QByteArray> received; // id -> data, from what the WebSocket client saw
        QString epoch;
        quint64 verifiedTop = 0; // ids 1..verifiedTop were checked after a restart
        int missing = 0, reused = 0, wsPushes = 0;

        ServerProcess server;
        for (int iteration = 1; iteration <= loops; ++iteration) {
            QVERIFY2(server.start(arguments), server.errorOutput().constData());

            // Everything up to here must be there, unchanged, contiguous, in the same epoch.
            bool ok = false;
            const QList<QJsonObject> frames = pullAll(
                    server.port, "k", verifiedTop,
                    "check" + QByteArray::number(iteration), &ok);
            QVERIFY(ok);
            quint64 expected = verifiedTop + 1;
            for (const QJsonObject &frame : frames) {
                QVERIFY2(!frame.contains(QLatin1String("type")), compact(frame).constData());
                const quint64 id = quint64(frame.value(QLatin1String("id")).toDouble());
                QCOMPARE(id, expected++);
                const QByteArray data = compact(frame.value(QLatin1String("data")));
                if (answered.contains(id) && answered.value(id) != data)
                    ++reused;
                if (received.contains(id) && received.value(id) != data)
                    ++reused;
                answered.insert(id, data); // what is stored now is what later checks compare
            }
            const quint64 top = expected - 1;
            for (auto it = answered.cbegin(); it != answered.cend(); ++it)
                missing += it.key() > top ? 1 : 0;
            for (auto it = received.cbegin(); it != received.cend(); ++it)
                missing += it.key() > top ? 1 : 0;
            verifiedTop = top;
            answered.removeIf([top](const auto &entry) { return entry.key() > top; });
            received.removeIf([top](const auto &entry) { return entry.key() > top; });

            // A load: eight HTTP pushers and one WebSocket client that pushes and receives.
            QWebSocket ws;
            QString helloEpoch;
            QHash<quint64, QByteArray> wsAnswered;
            QObject::connect(&ws, &QWebSocket::textMessageReceived, &ws,
                             [&](const QString &text) {
                                 const QJsonObject frame
                                         = QJsonDocument::fromJson(text.toUtf8()).object();
                                 if (frame.value(QLatin1String("type")) == QLatin1String("hello"))
                                     helloEpoch = frame.value(QLatin1String("epoch")).toString();
                                 if (!frame.contains(QLatin1String("id")))
                                     return;
                                 const QJsonObject data = frame[QLatin1String("data")].toObject();
                                 const quint64 id = quint64(frame[QLatin1String("id")].toDouble());
                                 received.insert(id, compact(data));
                                 if (data.value(QLatin1String("p")).toInt() == 9)
                                     wsAnswered.insert(id, compact(data));
                             });
            int wsSequence = 0;
            QObject::connect(&ws, &QWebSocket::connected, &ws, [&] {
                for (int n = 0; n < 200; ++n) {
                    ws.sendTextMessage(QStringLiteral("{\"op\":\"push\",\"data\":{\"i\":%1,"
                                                      "\"n\":%2,\"p\":9}}")
                                               .arg(iteration)
                                               .arg(++wsSequence));
                }
            });
            ws.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/v1/sessions/k/clients/w/ws?since=%2")
                                 .arg(server.port)
                                 .arg(top)));
            std::vector<std::unique_ptr<HttpPusher>> pushers;
            for (int p = 1; p <= 8; ++p)
                pushers.push_back(std::make_unique<HttpPusher>(p, iteration, &answered, server.port));

            QTest::qWait(20 + int(random.bounded(380))); // the random moment; nothing waits on it
            server.kill();

            for (const auto &pusher : pushers)
                reused += pusher->conflicts;
            for (auto it = wsAnswered.cbegin(); it != wsAnswered.cend(); ++it) {
                if (answered.contains(it.key()) && answered.value(it.key()) != it.value())
                    ++reused;
                answered.insert(it.key(), it.value());
            }
            wsPushes += int(wsAnswered.size());
            if (!helloEpoch.isEmpty()) {
                if (epoch.isEmpty())
                    epoch = helloEpoch;
                QCOMPARE(helloEpoch, epoch);
            }
            ws.abort();
        }

        // The last kill's answers, checked once more after a final start.
        QVERIFY2(server.start(arguments), server.errorOutput().constData());
        bool ok = false;
        const QList<QJsonObject> all = pullAll(server.port, "k", 0, "final", &ok);
        QVERIFY(ok);
        QHash<quint64, QByteArray> stored;
        quint64 expected = 1;
        for (const QJsonObject &frame : all) {
            const quint64 id = quint64(frame.value(QLatin1String("id")).toDouble());
            QCOMPARE(id, expected++);
            stored.insert(id, compact(frame.value(QLatin1String("data"))));
        }
        for (auto it = answered.cbegin(); it != answered.cend(); ++it) {
            if (!stored.contains(it.key()))
                ++missing;
            else if (stored.value(it.key()) != it.value())
                ++reused;
        }
        for (auto it = received.cbegin(); it != received.cend(); ++it) {
            if (!stored.contains(it.key()))
                ++missing;
            else if (stored.value(it.key()) != it.value())
                ++reused;
        }
        QCOMPARE(server.terminate(), 0);

        qInfo("kill loop: %lld messages stored, %d answered over WebSocket, %d missing, "
              "%d reused",
              qlonglong(stored.size()), wsPushes, missing, reused);
        QVERIFY(stored.size() > loops); // the load really pushed, so the checks checked something
        QCOMPARE(missing, 0);
        QCOMPARE(reused, 0);
    }
};

QTEST_MAIN(tst_PushKillLoop)
#include "tst_pushkillloop.moc"
