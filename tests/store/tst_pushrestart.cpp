// SPDX-License-Identifier: MIT
// What survives a restart of the real qtpush-server with --store sqlite:FILE: sessions, their
// epochs and newest ids, and their retained messages. A client that resumes with since+epoch
// after the restart gets exactly what it missed, as if the server had never stopped, and new
// pushes continue at the next id in the same epoch (docs/server.md, "Durable store").

#include "serverprocess.h"
#include "storetestclients.h"

#include <QtCore/QTemporaryDir>
#include <QtTest/QtTest>

namespace {

QByteArray message(int n)
{
    return QByteArrayLiteral("{\"n\":") + QByteArray::number(n) + '}';
}

int numberOf(const QJsonObject &frame)
{
    return frame.value(QLatin1String("data"))[QLatin1String("n")].toInt();
}

//! The events of an SSE stream, parsed from a raw connection (hello first).
class SseClient : public RawConnection
{
public:
    QList<QJsonObject> frames() const
    {
        QList<QJsonObject> result;
        const QList<QByteArray> lines = received.split('\n');
        for (const QByteArray &line : lines) {
            if (line.startsWith("data: "))
                result.append(QJsonDocument::fromJson(line.mid(6)).object());
        }
        return result;
    }
    QList<QJsonObject> messages() const
    {
        QList<QJsonObject> result;
        const QList<QJsonObject> all = frames();
        for (const QJsonObject &frame : all) {
            if (!frame.contains(QLatin1String("type")))
                result.append(frame);
        }
        return result;
    }
};

struct Hello
{
    QString epoch;
    quint64 lastId = 0;
};

//! The hello frame a new WebSocket client of \a session gets.
std::optional<Hello> helloOf(quint16 port, const QString &session)
{
    WsClient client(QUrl(QStringLiteral("ws://127.0.0.1:%1/v1/sessions/%2/clients/probe/ws")
                                 .arg(port)
                                 .arg(session)));
    QElapsedTimer timer;
    timer.start();
    while (client.frames.isEmpty() && timer.elapsed() < 60000)
        QTest::qWait(10);
    if (client.frames.isEmpty()
        || client.frames.first().value(QLatin1String("type")).toString() != QLatin1String("hello"))
        return std::nullopt;
    const QJsonObject hello = client.frames.first();
    return Hello{hello.value(QLatin1String("epoch")).toString(),
                 quint64(hello.value(QLatin1String("lastId")).toDouble())};
}

} // namespace

class tst_PushRestart : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init()
    {
        QVERIFY(m_dir.isValid());
        m_store = QStringLiteral("sqlite:") + m_dir.filePath(QStringLiteral("push.db"));
        QFile::remove(m_dir.filePath(QStringLiteral("push.db")));
    }

    void resumeAfterSigterm_data()
    {
        QTest::addColumn<QString>("transport");
        QTest::newRow("ws") << QStringLiteral("ws");
        QTest::newRow("sse") << QStringLiteral("sse");
        QTest::newRow("sse Last-Event-ID") << QStringLiteral("sse-last-event-id");
        QTest::newRow("poll") << QStringLiteral("poll");
    }
    void resumeAfterSigterm()
    {
        QFETCH(QString, transport);
        const QStringList arguments{QStringLiteral("--store"), m_store,
                                    QStringLiteral("--retain-messages"), QStringLiteral("100")};
        ServerProcess server;
        QVERIFY2(server.start(arguments), server.errorOutput().constData());
        {
            BlockingHttp http;
            QVERIFY(http.open(server.port));
            for (int n = 1; n <= 20; ++n)
                QCOMPARE(http.push("s", message(n)), quint64(n));
        }
        const std::optional<Hello> before = helloOf(server.port, QStringLiteral("s"));
        QVERIFY(before);
        QCOMPARE(before->lastId, quint64(20));
        QCOMPARE(server.terminate(), 0);

        QVERIFY2(server.start(arguments), server.errorOutput().constData());
        const std::optional<Hello> after = helloOf(server.port, QStringLiteral("s"));
        QVERIFY(after);
        QCOMPARE(after->epoch, before->epoch);
        QCOMPARE(after->lastId, quint64(20));

        // Resume from 12: exactly 13..20, no gap; then the next push is 21 and arrives.
        const QByteArray resume = "since=12&epoch=" + before->epoch.toLatin1();
        QList<QJsonObject> got;
        BlockingHttp http;
        QVERIFY(http.open(server.port));
        if (transport == QLatin1String("ws")) {
            WsClient client(QUrl(QStringLiteral("ws://127.0.0.1:%1/v1/sessions/s/clients/c/ws?%2")
                                         .arg(server.port)
                                         .arg(QString::fromLatin1(resume))));
            QTRY_COMPARE_WITH_TIMEOUT(client.messages().size(), 8, 60000);
            QCOMPARE(http.push("s", message(21)), quint64(21));
            QTRY_COMPARE_WITH_TIMEOUT(client.messages().size(), 9, 60000);
            got = client.frames.mid(1); // after the hello
        } else if (transport.startsWith(QLatin1String("sse"))) {
            SseClient client;
            QVERIFY(client.open(server.port));
            const bool header = transport == QLatin1String("sse-last-event-id");
            client.socket.write("GET /v1/sessions/s/clients/c/events"
                                + (header ? QByteArray() : '?' + resume)
                                + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                + (header ? QByteArray("Last-Event-ID: 12\r\n") : QByteArray())
                                + "\r\n");
            QTRY_COMPARE_WITH_TIMEOUT(client.messages().size(), 8, 60000);
            QCOMPARE(http.push("s", message(21)), quint64(21));
            QTRY_COMPARE_WITH_TIMEOUT(client.messages().size(), 9, 60000);
            got = client.frames().mid(1);
        } else {
            const Answer first = http.request("GET", "/v1/sessions/s/clients/c/pull?wait=0&"
                                                             + resume);
            QCOMPARE(first.status, 200);
            for (const QJsonValue &value : QJsonDocument::fromJson(first.body).array())
                got.append(value.toObject());
            QCOMPARE(http.push("s", message(21)), quint64(21));
            const Answer second
                    = http.request("GET", "/v1/sessions/s/clients/c/pull?wait=0&since=20");
            QCOMPARE(second.status, 200);
            for (const QJsonValue &value : QJsonDocument::fromJson(second.body).array())
                got.append(value.toObject());
        }
        QCOMPARE(got.size(), 9);
        for (int i = 0; i < got.size(); ++i) {
            QVERIFY2(!got.at(i).contains(QLatin1String("type")),
                     QJsonDocument(got.at(i)).toJson().constData());
            QCOMPARE(quint64(got.at(i).value(QLatin1String("id")).toDouble()), quint64(13 + i));
            QCOMPARE(numberOf(got.at(i)), 13 + i);
        }
        QCOMPARE(server.terminate(), 0);
    }

    void sinceOlderThanRetainedAfterRestart()
    {
        const QStringList arguments{QStringLiteral("--store"), m_store,
                                    QStringLiteral("--retain-messages"), QStringLiteral("5")};
        ServerProcess server;
        QVERIFY2(server.start(arguments), server.errorOutput().constData());
        {
            BlockingHttp http;
            QVERIFY(http.open(server.port));
            for (int n = 1; n <= 20; ++n)
                QCOMPARE(http.push("s", message(n)), quint64(n));
        }
        const std::optional<Hello> before = helloOf(server.port, QStringLiteral("s"));
        QVERIFY(before);
        QCOMPARE(server.terminate(), 0);
        QVERIFY2(server.start(arguments), server.errorOutput().constData());

        bool ok = false;
        const QList<QJsonObject> frames = pullAll(server.port, "s", 3, "c", &ok);
        QVERIFY(ok);
        // A gap for what is no longer retained (4..15), then the five newest.
        QCOMPARE(frames.size(), 6);
        QCOMPARE(frames.first().value(QLatin1String("type")).toString(), QStringLiteral("gap"));
        QCOMPARE(frames.first().value(QLatin1String("from")).toInt(), 4);
        QCOMPARE(frames.first().value(QLatin1String("to")).toInt(), 15);
        for (int i = 1; i < frames.size(); ++i)
            QCOMPARE(numberOf(frames.at(i)), 15 + i);
        QCOMPARE(server.terminate(), 0);
    }

    void deletedSessionStaysDeletedAfterRestart()
    {
        const QStringList arguments{QStringLiteral("--store"), m_store};
        ServerProcess server;
        QVERIFY2(server.start(arguments), server.errorOutput().constData());
        std::optional<Hello> before;
        {
            BlockingHttp http;
            QVERIFY(http.open(server.port));
            for (int n = 1; n <= 3; ++n) {
                QCOMPARE(http.push("gone", message(n)), quint64(n));
                QCOMPARE(http.push("kept", message(n)), quint64(n));
            }
            before = helloOf(server.port, QStringLiteral("gone"));
            QVERIFY(before);
            QCOMPARE(http.request("DELETE", "/v1/sessions/gone").status, 204);
        }
        QCOMPARE(server.terminate(), 0);
        QVERIFY2(server.start(arguments), server.errorOutput().constData());

        BlockingHttp http;
        QVERIFY(http.open(server.port));
        const Answer list = http.request("GET", "/v1/sessions");
        QCOMPARE(list.status, 200);
        QStringList names;
        for (const QJsonValue &value : QJsonDocument::fromJson(list.body).array())
            names.append(value[QLatin1String("session")].toString());
        QCOMPARE(names, QStringList{QStringLiteral("kept")});
        // Made again: ids from 1 under another epoch.
        QCOMPARE(http.push("gone", message(1)), quint64(1));
        const std::optional<Hello> after = helloOf(server.port, QStringLiteral("gone"));
        QVERIFY(after);
        QVERIFY(after->epoch != before->epoch);
        QCOMPARE(http.push("kept", message(4)), quint64(4));
        QCOMPARE(server.terminate(), 0);
    }

    void serverMadeSessionsExpireAfterRestart()
    {
        // Sessions the server made before the restart are its own again: once nothing is
        // retained (the period of the new run, 1 s) and no client is attached, they go.
        const QStringList before{QStringLiteral("--store"), m_store,
                                 QStringLiteral("--retain-seconds"), QStringLiteral("3600")};
        ServerProcess server;
        QVERIFY2(server.start(before), server.errorOutput().constData());
        {
            BlockingHttp http;
            QVERIFY(http.open(server.port));
            QCOMPARE(http.push("e", message(1)), quint64(1));
        }
        QCOMPARE(server.terminate(), 0);
        QVERIFY2(server.start({QStringLiteral("--store"), m_store,
                               QStringLiteral("--retain-seconds"), QStringLiteral("1")}),
                 server.errorOutput().constData());
        BlockingHttp http;
        QVERIFY(http.open(server.port));
        const auto sessions = [&http] {
            const Answer list = http.request("GET", "/v1/sessions");
            return QJsonDocument::fromJson(list.body).array().size();
        };
        QCOMPARE(sessions(), 1); // recovered
        QTRY_COMPARE_WITH_TIMEOUT(sessions(), 0, 60000);
        QCOMPARE(server.terminate(), 0);
        QVERIFY2(server.start(before), server.errorOutput().constData());
        BlockingHttp again;
        QVERIFY(again.open(server.port));
        QCOMPARE(again.request("GET", "/v1/sessions").body, QByteArray("[]")); // gone from the file
        QCOMPARE(server.terminate(), 0);
    }

    void memoryStoreStartsAgain()
    {
        // Without --store nothing is kept: the contrast that shows the tests above can fail.
        ServerProcess server;
        QVERIFY2(server.start({}), server.errorOutput().constData());
        {
            BlockingHttp http;
            QVERIFY(http.open(server.port));
            QCOMPARE(http.push("s", message(1)), quint64(1));
            QCOMPARE(http.push("s", message(2)), quint64(2));
        }
        QCOMPARE(server.terminate(), 0);
        QVERIFY2(server.start({}), server.errorOutput().constData());
        BlockingHttp http;
        QVERIFY(http.open(server.port));
        QCOMPARE(http.push("s", message(1)), quint64(1));
        QCOMPARE(server.terminate(), 0);
    }

private:
    QTemporaryDir m_dir;
    QString m_store;
};

QTEST_MAIN(tst_PushRestart)
#include "tst_pushrestart.moc"
