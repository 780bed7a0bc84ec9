// SPDX-License-Identifier: MIT
// Who may do what (src/server/pushaccess_p.h): the pure access decision over a table of
// tokens and routes, and the loopback rule of a server without a secret (protocol.md: Access).
#include "pushaccess_p.h"

#include <QtTest/QtTest>

namespace {

const QByteArray secret = QByteArrayLiteral("0123456789abcdef0123456789abcdef");
const QDateTime now = QDateTime(QDate(2026, 1, 1), QTime(12, 0), Qt::UTC);

QByteArray token(const QString &session, PushToken::Scopes scopes, const QString &client = {},
                 const QDateTime &expires = {})
{
    PushToken claims;
    claims.session = session;
    claims.client = client;
    claims.scopes = scopes;
    claims.expires = expires;
    return claims.sign(secret);
}

QByteArray bearer(const QByteArray &token)
{
    return "Bearer " + token;
}

} // namespace

Q_DECLARE_METATYPE(PushToken::Scope)
Q_DECLARE_METATYPE(PushWire::Refusal)

class tst_PushAccess : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void origin_data();
    void origin();
    void decide_data();
    void decide();
    void noSecretAllowsEverything();
};

void tst_PushAccess::origin_data()
{
    QTest::addColumn<QByteArray>("secret");
    QTest::addColumn<QByteArray>("origin");
    QTest::addColumn<bool>("allowed");

    QTest::newRow("no secret, no origin") << QByteArray() << QByteArray() << true;
    QTest::newRow("no secret, localhost")
            << QByteArray() << QByteArray("http://localhost:8080") << true;
    QTest::newRow("no secret, 127.0.0.1") << QByteArray() << QByteArray("http://127.0.0.1") << true;
    QTest::newRow("no secret, ::1") << QByteArray() << QByteArray("http://[::1]:3000") << true;
    QTest::newRow("no secret, foreign")
            << QByteArray() << QByteArray("https://example.com") << false;
    QTest::newRow("no secret, localhost lookalike")
            << QByteArray() << QByteArray("http://localhost.example.com") << false;
    QTest::newRow("no secret, null origin") << QByteArray() << QByteArray("null") << false;
    QTest::newRow("secret, foreign") << secret << QByteArray("https://example.com") << true;
}

void tst_PushAccess::origin()
{
    QFETCH(QByteArray, secret);
    QFETCH(QByteArray, origin);
    QFETCH(bool, allowed);
    QCOMPARE(pushOriginAllowed(secret, origin), allowed);
}

void tst_PushAccess::decide_data()
{
    QTest::addColumn<QByteArray>("authorization");
    QTest::addColumn<QByteArray>("queryToken");
    QTest::addColumn<PushToken::Scope>("scope");
    QTest::addColumn<QString>("session");
    QTest::addColumn<QString>("client");
    QTest::addColumn<bool>("allowed");
    QTest::addColumn<PushWire::Refusal>("refusal"); // when refused
    QTest::addColumn<QString>("message"); // when refused
    QTest::addColumn<bool>("mayPush"); // when allowed

    using T = PushToken;
    const QString s = QStringLiteral("s1");
    const QString c = QStringLiteral("c1");
    const auto ok = PushWire::Refusal::BadRequest; // unused when allowed
    const auto unauthorized = PushWire::Refusal::Unauthorized;
    const auto forbidden = PushWire::Refusal::Forbidden;

    QTest::newRow("no token") << QByteArray() << QByteArray() << T::Subscribe << s << c << false
                              << unauthorized << "a token is required" << false;
    QTest::newRow("header") << bearer(token(s, T::Subscribe)) << QByteArray() << T::Subscribe << s
                            << c << true << ok << QString() << false;
    QTest::newRow("header, any case") << "bEaReR " + token(s, T::Subscribe) << QByteArray()
                                      << T::Subscribe << s << c << true << ok << QString() << false;
    QTest::newRow("query") << QByteArray() << token(s, T::Subscribe) << T::Subscribe << s << c
                           << true << ok << QString() << false;
    QTest::newRow("header wins over query")
            << bearer("garbage") << token(s, T::Subscribe) << T::Subscribe << s << c << false
            << unauthorized << "the token is not valid" << false;
    QTest::newRow("not bearer: the query is read")
            << QByteArray("Basic dXNlcjpwYXNz") << token(s, T::Subscribe) << T::Subscribe << s << c
            << true << ok << QString() << false;
    QTest::newRow("bearer without a token")
            << QByteArray("Bearer ") << QByteArray() << T::Subscribe << s << c << false
            << unauthorized << "a token is required" << false;
    QTest::newRow("malformed") << bearer("a.b.c") << QByteArray() << T::Subscribe << s << c << false
                               << unauthorized << "the token is not valid" << false;
    {
        PushToken other;
        other.session = s;
        other.scopes = T::Subscribe;
        QTest::newRow("other secret") << bearer(other.sign("another secret of thirty-two bytes!!"))
                                      << QByteArray() << T::Subscribe << s << c << false
                                      << unauthorized << "the token is not valid" << false;
    }
    QTest::newRow("expired") << bearer(token(s, T::Subscribe, {}, now.addSecs(-1))) << QByteArray()
                             << T::Subscribe << s << c << false << unauthorized
                             << "the token has expired" << false;
    QTest::newRow("not yet expired")
            << bearer(token(s, T::Subscribe, {}, now.addSecs(60))) << QByteArray() << T::Subscribe
            << s << c << true << ok << QString() << false;
    QTest::newRow("missing scope")
            << bearer(token(s, T::Subscribe)) << QByteArray() << T::Push << s << QString() << false
            << forbidden << "the token's scope does not allow this" << false;
    QTest::newRow("push needs no subscribe") << bearer(token(s, T::Push)) << QByteArray() << T::Push
                                             << s << QString() << true << ok << QString() << true;
    QTest::newRow("subscribe and push: mayPush")
            << bearer(token(s, T::Subscribe | T::Push)) << QByteArray() << T::Subscribe << s << c
            << true << ok << QString() << true;
    QTest::newRow("admin route, subscribe and push token")
            << bearer(token(s, T::Subscribe | T::Push)) << QByteArray() << T::Admin << QString()
            << QString() << false << forbidden << "the token's scope does not allow this" << false;
    QTest::newRow("other session")
            << bearer(token(QStringLiteral("s2"), T::Subscribe)) << QByteArray() << T::Subscribe
            << s << c << false << forbidden << "the token is for another session" << false;
    QTest::newRow("other client") << bearer(token(s, T::Subscribe, QStringLiteral("c2")))
                                  << QByteArray() << T::Subscribe << s << c << false << forbidden
                                  << "the token is for another client" << false;
    QTest::newRow("its client") << bearer(token(s, T::Subscribe, c)) << QByteArray() << T::Subscribe
                                << s << c << true << ok << QString() << false;
    QTest::newRow("client token, route without client")
            << bearer(token(s, T::Push, c)) << QByteArray() << T::Push << s << QString() << true
            << ok << QString() << true;
    QTest::newRow("admin anywhere")
            << bearer(token(QStringLiteral("any"), T::Admin)) << QByteArray() << T::Subscribe << s
            << c << true << ok << QString() << true;
    QTest::newRow("admin on an admin route")
            << bearer(token(QStringLiteral("any"), T::Admin)) << QByteArray() << T::Admin
            << QString() << QString() << true << ok << QString() << true;
}

void tst_PushAccess::decide()
{
    QFETCH(QByteArray, authorization);
    QFETCH(QByteArray, queryToken);
    QFETCH(PushToken::Scope, scope);
    QFETCH(QString, session);
    QFETCH(QString, client);
    QFETCH(bool, allowed);
    QFETCH(PushWire::Refusal, refusal);
    QFETCH(QString, message);
    QFETCH(bool, mayPush);

    PushAccessInput input;
    input.secret = secret;
    input.authorization = authorization;
    input.queryToken = queryToken;
    input.scope = scope;
    input.session = session;
    input.client = client;
    input.now = now;
    const PushAccessDecision decision = pushDecideAccess(input);
    QCOMPARE(decision.isAllowed(), allowed);
    if (allowed) {
        QCOMPARE(decision.access.mayPush, mayPush);
    } else {
        QCOMPARE(int(*decision.refusal), int(refusal));
        QCOMPARE(decision.message, message);
    }
}

void tst_PushAccess::noSecretAllowsEverything()
{
    // protocol.md: Access. Without a secret nothing is read: a garbage header is no refusal,
    // and a client may push.
    for (PushToken::Scope scope : {PushToken::Subscribe, PushToken::Push, PushToken::Admin}) {
        PushAccessInput input;
        input.authorization = bearer("garbage");
        input.scope = scope;
        input.session = QStringLiteral("s1");
        input.now = now;
        const PushAccessDecision decision = pushDecideAccess(input);
        QVERIFY(decision.isAllowed());
        QVERIFY(decision.access.mayPush);
    }
}

QTEST_APPLESS_MAIN(tst_PushAccess)
#include "tst_pushaccess.moc"
