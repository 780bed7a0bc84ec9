// SPDX-License-Identifier: MIT
// Pushing into qtpush-server --store sqlite:FILE while it runs: a WebSocket push with a "ref" is
// acknowledged once stored (protocol.md: Acknowledged pushes), and a full store refuses pushes
// with 507 insufficient_storage (an ack with that error on a WebSocket, which stays open) while
// every reader is still served.

#include "serverprocess.h"
#include "storetestclients.h"

#include <QtCore/QTemporaryDir>
#include <QtTest/QtTest>

namespace {

QList<QJsonObject> acks(const WsClient &client)
{
    QList<QJsonObject> result;
    for (const QJsonObject &frame : client.frames) {
        if (frame.value(QLatin1String("type")).toString() == QLatin1String("ack"))
            result.append(frame);
    }
    return result;
}

} // namespace

class tst_PushDurablePush : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init()
    {
        QVERIFY(m_dir.isValid());
        m_path = m_dir.filePath(QStringLiteral("push%1.db").arg(++m_count));
    }

    void webSocketRefIsAcknowledged_data()
    {
        QTest::addColumn<QString>("store");
        QTest::newRow("memory") << QStringLiteral("memory");
        QTest::newRow("sqlite") << QStringLiteral("sqlite");
    }
    void webSocketRefIsAcknowledged()
    {
        QFETCH(QString, store);
        ServerProcess server;
        QVERIFY2(server.start({QStringLiteral("--store"),
                               store == QLatin1String("memory") ? store
                                                                : QStringLiteral("sqlite:") + m_path}),
                 server.errorOutput().constData());
        WsClient client(QUrl(QStringLiteral("ws://127.0.0.1:%1/v1/sessions/s/clients/c/ws")
                                     .arg(server.port)));
        QTRY_VERIFY_WITH_TIMEOUT(client.socket.state() == QAbstractSocket::ConnectedState, 60000);
        client.socket.sendTextMessage(QStringLiteral("{\"op\":\"push\",\"data\":1,\"ref\":\"a\"}"));
        client.socket.sendTextMessage(QStringLiteral("{\"op\":\"push\",\"data\":2,\"ref\":7}"));
        client.socket.sendTextMessage(QStringLiteral("{\"op\":\"push\",\"data\":3}")); // no ack
        QTRY_COMPARE_WITH_TIMEOUT(client.messages().size(), 3, 60000);
        QTRY_COMPARE_WITH_TIMEOUT(acks(client).size(), 2, 60000);
        const QList<QJsonObject> got = acks(client);
        QCOMPARE(got.at(0).value(QLatin1String("ref")).toString(), QStringLiteral("a"));
        QCOMPARE(got.at(0).value(QLatin1String("id")).toInt(), 1);
        QCOMPARE(got.at(1).value(QLatin1String("ref")).toInt(), 7);
        QCOMPARE(got.at(1).value(QLatin1String("id")).toInt(), 2);

        // A ref that is neither a short string nor an integer is a bad request, as any bad frame.
        client.socket.sendTextMessage(QStringLiteral("{\"op\":\"push\",\"data\":4,\"ref\":[1]}"));
        QTRY_VERIFY_WITH_TIMEOUT(client.socket.state() == QAbstractSocket::UnconnectedState, 60000);
        QCOMPARE(client.socket.closeCode(), QWebSocketProtocol::CloseCodePolicyViolated);
        QCOMPARE(server.terminate(), 0);
    }

    void fullStoreRefusesPushesAndServesReaders()
    {
        ServerProcess server;
        // A quota just above what a new store takes: the first pushes fit, then it is full.
        QVERIFY2(server.start({QStringLiteral("--store"),
                               QStringLiteral("sqlite:%1?max_size=%2").arg(m_path).arg(80 * 1024)}),
                 server.errorOutput().constData());
        BlockingHttp http;
        QVERIFY(http.open(server.port));
        const QByteArray big = "\"" + QByteArray(3000, 'x') + "\"";
        Answer answer;
        quint64 stored = 0;
        for (int n = 0; n < 1000; ++n) {
            answer = http.request("POST", "/v1/sessions/s/push", big);
            if (answer.status != 200)
                break;
            ++stored;
        }
        QVERIFY(stored > 0);
        QCOMPARE(answer.status, 507);
        QCOMPARE(answer.code(), QStringLiteral("insufficient_storage"));
        // The refusal kept the connection; the next push is refused the same way, at once.
        QCOMPARE(http.request("POST", "/v1/sessions/s/push", big).status, 507);

        // A WebSocket push with a ref gets an ack with the error, and the connection stays.
        WsClient client(QUrl(QStringLiteral("ws://127.0.0.1:%1/v1/sessions/s/clients/w/ws?since=0")
                                     .arg(server.port)));
        QTRY_COMPARE_WITH_TIMEOUT(client.messages().size(), int(stored), 60000); // readers served
        client.socket.sendTextMessage(QStringLiteral("{\"op\":\"push\",\"data\":%1,\"ref\":1}")
                                              .arg(QString::fromLatin1(big)));
        QTRY_COMPARE_WITH_TIMEOUT(acks(client).size(), 1, 60000);
        const QJsonObject ack = acks(client).first();
        QCOMPARE(ack.value(QLatin1String("error"))[QLatin1String("code")].toString(),
                 QStringLiteral("insufficient_storage"));
        QVERIFY(!ack.contains(QLatin1String("id")));
        QCOMPARE(client.socket.state(), QAbstractSocket::ConnectedState);

        // Long-poll readers too; and the ids did not move: nothing was half-stored.
        bool ok = false;
        const QList<QJsonObject> frames = pullAll(server.port, "s", 0, "p", &ok);
        QVERIFY(ok);
        QCOMPARE(quint64(frames.size()), stored);
        QCOMPARE(quint64(frames.last().value(QLatin1String("id")).toDouble()), stored);
        const Answer metrics = http.request("GET", "/metrics");
        QCOMPARE(metrics.status, 200);
        QCOMPARE(server.terminate(), 0);
    }

private:
    QTemporaryDir m_dir;
    QString m_path;
    int m_count = 0;
};

QTEST_MAIN(tst_PushDurablePush)
#include "tst_pushdurablepush.moc"
