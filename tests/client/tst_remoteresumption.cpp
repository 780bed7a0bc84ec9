// SPDX-License-Identifier: MIT
// PushRemoteClient against the real server: outages in the middle of a stream.
#include <QtPush/pushregistry.h>
#include <QtPush/pushremoteclient.h>
#include <QtPush/pushserver.h>
#include <QtPush/pushsession.h>

#include <QtCore/QProcess>
#include <QtCore/QRegularExpression>
#include <QtTest/QtTest>

class tst_RemoteResumption : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void serverDroppedAndRestartedLosesNothing();
    void restartedServerProcessIsFollowedIntoItsNewEpoch();
};

namespace {

struct Received
{
    QList<int> values;
    QList<std::pair<quint64, quint64>> gaps;
};

void record(PushRemoteClient *client, Received *received)
{
    QObject::connect(client, &PushRemoteClient::messageReceived, client,
                     [received](const QVariant &m) { received->values.append(m.toInt()); });
    QObject::connect(client, &PushRemoteClient::gap, client, [received](quint64 from, quint64 to) {
        received->gaps.append({from, to});
    });
}

} // namespace

void tst_RemoteResumption::serverDroppedAndRestartedLosesNothing()
{
    // The registry outlives the server, as the buffer of a client in its grace period does:
    // a new server on the same port serves the same sessions.
    PushRegistry registry;
    auto server = std::make_unique<PushServer>(&registry);
    QVERIFY(server->listen(QHostAddress::LocalHost, 0));
    const quint16 port = server->serverPort();

    PushRemoteClient client;
    client.setUrl(QUrl(QStringLiteral("http://127.0.0.1:%1").arg(port)));
    client.setSession(QStringLiteral("stream"));
    client.setClient(QStringLiteral("phone"));
    Received received;
    record(&client, &received);
    client.open();
    QTRY_COMPARE(client.status(), PushRemoteClient::Connected);
    PushSession *session = registry.session(QStringLiteral("stream"));

    int next = 1;
    for (; next <= 50; ++next)
        session->push(next);
    QTRY_COMPARE(received.values.size(), 50);

    // Mid-stream: the server drops every connection at once, as if its process died, while
    // pushes go on; then a new server takes the port.
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("lost|dropped|closed")));
    server->abort();
    server.reset();
    for (; next <= 120; ++next)
        session->push(next);
    QTRY_COMPARE(client.status(), PushRemoteClient::Reconnecting);
    server = std::make_unique<PushServer>(&registry);
    QVERIFY(server->listen(QHostAddress::LocalHost, port));
    QTRY_COMPARE_WITH_TIMEOUT(client.status(), PushRemoteClient::Connected, 15000);
    for (; next <= 150; ++next)
        session->push(next);

    QTRY_COMPARE(received.values.size(), 150);
    for (int i = 0; i < 150; ++i)
        QCOMPARE(received.values.at(i), i + 1); // each once, in order
    QVERIFY(received.gaps.isEmpty());
    QCOMPARE(client.lastMessageId(), session->lastMessageId());
}

void tst_RemoteResumption::restartedServerProcessIsFollowedIntoItsNewEpoch()
{
    const QString program = QStringLiteral(QTPUSH_SERVER_PROGRAM);
    QProcess process;
    process.setProgram(program);
    process.setArguments({QStringLiteral("--port"), QStringLiteral("0")});
    process.start();
    QVERIFY(process.waitForReadyRead(30000)); // bounds for a loaded machine, not timings
    const QRegularExpression listening(QStringLiteral("^listening on http://127.0.0.1:(\\d+)"));
    const QRegularExpressionMatch match = listening.match(QString::fromUtf8(process.readLine()));
    QVERIFY(match.hasMatch());
    const QString port = match.captured(1);
    const QUrl base(QStringLiteral("http://127.0.0.1:") + port);

    PushRemoteClient client;
    client.setUrl(base);
    client.setSession(QStringLiteral("s"));
    client.setClient(QStringLiteral("c"));
    Received received;
    record(&client, &received);
    client.open();
    QTRY_COMPARE(client.status(), PushRemoteClient::Connected);
    QVERIFY(client.push(1));
    QVERIFY(client.push(2));
    QTRY_COMPARE(received.values, (QList<int>{1, 2}));
    QCOMPARE(client.lastMessageId(), 2u);

    // The process dies without a word; its in-memory sessions die with it.
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral(".")));
    process.kill();
    QVERIFY(process.waitForFinished(5000));
    QTRY_COMPARE(client.status(), PushRemoteClient::Reconnecting);
    QProcess restarted;
    restarted.start(program, {QStringLiteral("--port"), port});
    QVERIFY(restarted.waitForReadyRead(30000));
    QTRY_COMPARE_WITH_TIMEOUT(client.status(), PushRemoteClient::Connected, 15000);

    // Ids count from 1 again under a new epoch: the client must not take them for repeats.
    QVERIFY(client.push(3));
    QTRY_COMPARE(received.values, (QList<int>{1, 2, 3}));
    QCOMPARE(client.lastMessageId(), 1u);
    client.close();
    restarted.terminate();
    QVERIFY(restarted.waitForFinished(30000));
    QCOMPARE(restarted.exitStatus(), QProcess::NormalExit);
    QCOMPARE(restarted.exitCode(), 0); // SIGTERM: a clean shutdown
}

QTEST_GUILESS_MAIN(tst_RemoteResumption)
#include "tst_remoteresumption.moc"
