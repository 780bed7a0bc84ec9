// SPDX-License-Identifier: MIT
// The route table (src/server/pushrouter_p.h): every path of protocol.md and every method ->
// the kind of route, the scope its token needs, the Allow header of 405, CORS preflights, 404,
// bad ids, 503 while shutting down and the URL parameters, without a server.
#include "pushrouter_p.h"

#include <QtTest/QtTest>

#include <optional>

Q_DECLARE_METATYPE(PushRoute::Kind)
Q_DECLARE_METATYPE(PushRouting::Action)
Q_DECLARE_METATYPE(PushWire::Refusal)

namespace {

PushHttpRequest request(const QByteArray &method, const QByteArray &target,
                        const QList<std::pair<QByteArray, QByteArray>> &headers = {})
{
    PushHttpRequest request;
    request.method = method;
    const qsizetype question = target.indexOf('?');
    request.path = question < 0 ? target : target.left(question);
    request.query = question < 0 ? QByteArray() : target.mid(question + 1);
    request.headers = headers;
    request.http11 = true;
    return request;
}

const QByteArray secret = QByteArrayLiteral("0123456789abcdef0123456789abcdef");

// The scope as a number for the table: -1 for none.
int scopeOf(const std::optional<PushToken::Scope> &scope)
{
    return scope ? int(*scope) : -1;
}

} // namespace

class tst_PushRouter : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void table_data();
    void table();
    void preflight_data();
    void preflight();
    void foreignOriginWithoutSecret_data();
    void foreignOriginWithoutSecret();
    void shuttingDown_data();
    void shuttingDown();
    void parameters_data();
    void parameters();
};

void tst_PushRouter::table_data()
{
    QTest::addColumn<QByteArray>("method");
    QTest::addColumn<QByteArray>("path");
    QTest::addColumn<PushRoute::Kind>("kind");
    QTest::addColumn<int>("status"); // 0: handled
    QTest::addColumn<QByteArray>("allow"); // of a 405
    QTest::addColumn<int>("scope"); // when handled; -1: none

    const int none = -1;
    const int subscribe = PushToken::Subscribe;
    const int push = PushToken::Push;
    const int admin = PushToken::Admin;
    struct Row
    {
        const char *path;
        PushRoute::Kind kind;
        QList<QByteArray> allowed;
        int scope;
    };
    const QList<Row> rows = {
            {"/", PushRoute::Index, {"GET"}, none},
            {"/healthz", PushRoute::Health, {"GET"}, none},
            {"/metrics", PushRoute::Metrics, {"GET"}, admin},
            {"/v1/sessions", PushRoute::Sessions, {"GET"}, admin},
            {"/v1/sessions/s1", PushRoute::Session, {"GET", "DELETE"}, admin},
            {"/v1/sessions/s1/push", PushRoute::Push, {"POST"}, push},
            {"/v1/sessions/s1/clients/c1", PushRoute::Client, {"DELETE"}, admin},
            {"/v1/sessions/s1/clients/c1/ws", PushRoute::WebSocket, {"GET"}, subscribe},
            {"/v1/sessions/s1/clients/c1/events", PushRoute::Events, {"GET"}, subscribe},
            {"/v1/sessions/s1/clients/c1/pull", PushRoute::Pull, {"GET"}, subscribe},
            {"/v1/admin/events", PushRoute::AdminEvents, {"GET"}, admin},
    };
    const QList<QByteArray> methods = {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"};
    for (const Row &row : rows) {
        for (const QByteArray &method : methods) {
            const bool allowed = row.allowed.contains(method);
            QTest::addRow("%s %s", method.constData(), row.path)
                    << method << QByteArray(row.path) << row.kind << (allowed ? 0 : 405)
                    << (allowed ? QByteArray() : row.allowed.join(", "))
                    << (allowed ? row.scope : none);
        }
    }
    for (const char *path : {"/nope", "/v1", "/v1/sessions/s1/other", "/v1/sessions/s1/clients",
                             "/v1/sessions/s1/clients/c1/other", "/v2/sessions"}) {
        for (const QByteArray &method : {QByteArray("GET"), QByteArray("POST")})
            QTest::addRow("%s %s", method.constData(), path)
                    << method << QByteArray(path) << PushRoute::NotFound << 404 << QByteArray()
                    << none;
    }
    for (const char *path :
         {"/v1/sessions/%FF", "/v1/sessions/%FF/push", "/v1/sessions/s1/clients/%FF/ws"}) {
        QTest::addRow("GET %s", path) << QByteArray("GET") << QByteArray(path) << PushRoute::BadId
                                      << 400 << QByteArray() << none;
    }
}

void tst_PushRouter::table()
{
    QFETCH(QByteArray, method);
    QFETCH(QByteArray, path);
    QFETCH(PushRoute::Kind, kind);
    QFETCH(int, status);
    QFETCH(QByteArray, allow);
    QFETCH(int, scope);

    const PushRouting routing = PushRouter::route(request(method, path), secret, false);
    QCOMPARE(routing.route.kind, kind);
    switch (status) {
    case 0:
        QCOMPARE(routing.action, PushRouting::Handle);
        QCOMPARE(scopeOf(routing.scope), scope);
        QCOMPARE(scopeOf(PushRouter::requiredScope(kind)), scope);
        break;
    case 405:
        QCOMPARE(routing.action, PushRouting::Respond);
        QCOMPARE(routing.status, 405);
        QVERIFY(routing.countsAsRefusal);
        QCOMPARE(routing.refusal, PushWire::Refusal::MethodNotAllowed);
        QCOMPARE(routing.headers, "Allow: " + allow + "\r\n");
        QCOMPARE(routing.contentType, QByteArray("application/json"));
        QVERIFY2(routing.body.contains("\"method_not_allowed\""), routing.body.constData());
        QVERIFY2(routing.body.contains(QByteArray(method + " is not allowed here")),
                 routing.body.constData());
        break;
    case 404:
        QCOMPARE(routing.action, PushRouting::Refuse);
        QCOMPARE(routing.refusal, PushWire::Refusal::NotFound);
        QCOMPARE(routing.message, QStringLiteral("no such path: ") + QString::fromLatin1(path));
        QVERIFY(!routing.closeAfter);
        break;
    case 400:
        QCOMPARE(routing.action, PushRouting::Refuse);
        QCOMPARE(routing.refusal, PushWire::Refusal::BadRequest);
        QVERIFY(!routing.message.isEmpty());
        break;
    default:
        QFAIL("no such status in the table");
    }
}

void tst_PushRouter::preflight_data()
{
    QTest::addColumn<QByteArray>("path");
    QTest::addColumn<QByteArray>("methods");

    QTest::newRow("push") << QByteArray("/v1/sessions/s1/push") << QByteArray("POST, OPTIONS");
    QTest::newRow("session") << QByteArray("/v1/sessions/s1") << QByteArray("GET, DELETE, OPTIONS");
    QTest::newRow("client") << QByteArray("/v1/sessions/s1/clients/c1")
                            << QByteArray("DELETE, OPTIONS");
    QTest::newRow("events") << QByteArray("/v1/sessions/s1/clients/c1/events")
                            << QByteArray("GET, OPTIONS");
}

void tst_PushRouter::preflight()
{
    QFETCH(QByteArray, path);
    QFETCH(QByteArray, methods);

    // A browser's preflight names an Origin; any origin may call a server with a secret.
    const PushRouting routing = PushRouter::route(
            request("OPTIONS", path, {{"origin", "https://example.com"}}), secret, false);
    QCOMPARE(routing.action, PushRouting::Respond);
    QCOMPARE(routing.status, 204);
    QVERIFY(!routing.countsAsRefusal);
    QCOMPARE(routing.headers,
             "Access-Control-Allow-Methods: " + methods
                     + "\r\nAccess-Control-Allow-Headers: Authorization, Content-Type, "
                       "Last-Event-ID\r\nAccess-Control-Max-Age: 600\r\n");

    // Without an Origin, OPTIONS is a method like any other: 405.
    const PushRouting plain = PushRouter::route(request("OPTIONS", path), secret, false);
    QCOMPARE(plain.action, PushRouting::Respond);
    QCOMPARE(plain.status, 405);
}

void tst_PushRouter::foreignOriginWithoutSecret_data()
{
    QTest::addColumn<QByteArray>("origin");
    QTest::addColumn<bool>("upgrade");
    QTest::addColumn<bool>("refused");

    QTest::newRow("foreign") << QByteArray("https://example.com") << false << true;
    QTest::newRow("foreign upgrade closes") << QByteArray("https://example.com") << true << true;
    QTest::newRow("loopback") << QByteArray("http://127.0.0.1:8080") << false << false;
    QTest::newRow("localhost") << QByteArray("http://localhost") << false << false;
}

void tst_PushRouter::foreignOriginWithoutSecret()
{
    QFETCH(QByteArray, origin);
    QFETCH(bool, upgrade);
    QFETCH(bool, refused);

    PushHttpRequest get = request("GET", "/v1/sessions/s1/clients/c1/ws", {{"origin", origin}});
    get.upgrade = upgrade;
    const PushRouting routing = PushRouter::route(get, {}, false);
    if (!refused) {
        QCOMPARE(routing.action, PushRouting::Handle);
        return;
    }
    QCOMPARE(routing.action, PushRouting::Refuse);
    QCOMPARE(routing.refusal, PushWire::Refusal::Forbidden);
    QCOMPARE(routing.closeAfter, upgrade);
    // With a secret the token decides.
    QCOMPARE(PushRouter::route(get, secret, false).action, PushRouting::Handle);
}

void tst_PushRouter::shuttingDown_data()
{
    QTest::addColumn<QByteArray>("path");
    QTest::addColumn<bool>("served");

    QTest::newRow("index") << QByteArray("/") << true;
    QTest::newRow("health") << QByteArray("/healthz") << true;
    QTest::newRow("metrics") << QByteArray("/metrics") << false;
    QTest::newRow("sessions") << QByteArray("/v1/sessions") << false;
    QTest::newRow("events") << QByteArray("/v1/sessions/s1/clients/c1/events") << false;
}

void tst_PushRouter::shuttingDown()
{
    QFETCH(QByteArray, path);
    QFETCH(bool, served);

    const PushRouting routing = PushRouter::route(request("GET", path), secret, true);
    if (served) {
        QCOMPARE(routing.action, PushRouting::Handle);
        return;
    }
    QCOMPARE(routing.action, PushRouting::Refuse);
    QCOMPARE(routing.refusal, PushWire::Refusal::Unavailable);
    QCOMPARE(routing.message, QStringLiteral("the server is shutting down"));
    QVERIFY(routing.closeAfter);
    // Unknown paths are still 404 first.
    QCOMPARE(PushRouter::route(request("GET", "/nope"), secret, true).refusal,
             PushWire::Refusal::NotFound);
}

void tst_PushRouter::parameters_data()
{
    QTest::addColumn<QByteArray>("target");
    QTest::addColumn<QByteArray>("lastEventId");
    QTest::addColumn<bool>("ok");
    QTest::addColumn<QByteArray>("queryToken");
    QTest::addColumn<bool>("hasSince");
    QTest::addColumn<quint64>("since");
    QTest::addColumn<bool>("hasEpoch");
    QTest::addColumn<quint64>("epoch");
    QTest::addColumn<int>("waitMs");

    const QByteArray pull = "/v1/sessions/s1/clients/c1/pull";
    const QByteArray events = "/v1/sessions/s1/clients/c1/events";
    const QByteArray ws = "/v1/sessions/s1/clients/c1/ws";
    QTest::newRow("pull, nothing") << pull << QByteArray() << true << QByteArray() << false
                                   << quint64(0) << false << quint64(0) << 30000;
    QTest::newRow("pull, wait=5") << pull + "?wait=5" << QByteArray() << true << QByteArray()
                                  << false << quint64(0) << false << quint64(0) << 5000;
    QTest::newRow("pull, wait=0") << pull + "?wait=0" << QByteArray() << true << QByteArray()
                                  << false << quint64(0) << false << quint64(0) << 0;
    QTest::newRow("pull, wait capped") << pull + "?wait=600" << QByteArray() << true << QByteArray()
                                       << false << quint64(0) << false << quint64(0) << 60000;
    QTest::newRow("pull, wait=-1") << pull + "?wait=-1" << QByteArray() << false << QByteArray()
                                   << false << quint64(0) << false << quint64(0) << 0;
    QTest::newRow("pull, wait=x") << pull + "?wait=x" << QByteArray() << false << QByteArray()
                                  << false << quint64(0) << false << quint64(0) << 0;
    QTest::newRow("ws, since and epoch")
            << ws + "?since=7&epoch=ff&token=a%2Bb" << QByteArray() << true << QByteArray("a+b")
            << true << quint64(7) << true << quint64(255) << 0;
    QTest::newRow("ws, bad since") << ws + "?since=x" << QByteArray() << false << QByteArray()
                                   << false << quint64(0) << false << quint64(0) << 0;
    QTest::newRow("ws, bad epoch") << ws + "?epoch=zz" << QByteArray() << false << QByteArray()
                                   << false << quint64(0) << false << quint64(0) << 0;
    QTest::newRow("events, Last-Event-ID wins")
            << events + "?since=3" << QByteArray(" 9 ") << true << QByteArray() << true
            << quint64(9) << false << quint64(0) << 0;
    QTest::newRow("events, Last-Event-ID not a number is ignored")
            << events + "?since=3" << QByteArray("abc") << true << QByteArray() << true
            << quint64(3) << false << quint64(0) << 0;
    QTest::newRow("ws, Last-Event-ID is not read")
            << ws << QByteArray("9") << true << QByteArray() << false << quint64(0) << false
            << quint64(0) << 0;
}

void tst_PushRouter::parameters()
{
    QFETCH(QByteArray, target);
    QFETCH(QByteArray, lastEventId);
    QFETCH(bool, ok);
    QFETCH(QByteArray, queryToken);
    QFETCH(bool, hasSince);
    QFETCH(quint64, since);
    QFETCH(bool, hasEpoch);
    QFETCH(quint64, epoch);
    QFETCH(int, waitMs);

    QList<std::pair<QByteArray, QByteArray>> headers;
    if (!lastEventId.isEmpty())
        headers.append({"last-event-id", lastEventId});
    const PushRouting routing = PushRouter::route(request("GET", target, headers), secret, false);
    if (!ok) {
        QCOMPARE(routing.action, PushRouting::Refuse);
        QCOMPARE(routing.refusal, PushWire::Refusal::BadRequest);
        QVERIFY(!routing.closeAfter);
        return;
    }
    QCOMPARE(routing.action, PushRouting::Handle);
    QCOMPARE(routing.queryToken, queryToken);
    QCOMPARE(routing.resume.hasSince, hasSince);
    QCOMPARE(routing.resume.since, since);
    QCOMPARE(routing.resume.hasEpoch, hasEpoch);
    QCOMPARE(routing.resume.epoch, epoch);
    QCOMPARE(routing.waitMs, waitMs);
}

QTEST_APPLESS_MAIN(tst_PushRouter)
#include "tst_pushrouter.moc"
