// SPDX-License-Identifier: MIT
#include <QtPush/pushtoken.h>

#include <QtCore/QCryptographicHash>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QMessageAuthenticationCode>
#include <QtCore/QRegularExpression>
#include <QtTest/QTest>

namespace {

constexpr auto s_base64 = QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals;
constexpr char s_header[] = R"({"alg":"HS256","typ":"JWT"})";

QByteArray secret()
{
    return QByteArrayLiteral("tst_PushToken secret");
}

// A fixed clock (2023-11-14T22:13:20Z), so that no test depends on today's date.
QDateTime fixedNow()
{
    return QDateTime::fromSecsSinceEpoch(1700000000, Qt::UTC);
}

QByteArray encode(const QByteArray &bytes)
{
    return bytes.toBase64(s_base64);
}

QByteArray decode(const QByteArray &part)
{
    return QByteArray::fromBase64(part, s_base64);
}

// Signs two parts exactly as they are spelled, whatever they hold, so that a test of one check
// gets past the signature and reaches the check it is about.
QByteArray signParts(const QByteArray &headerPart, const QByteArray &payloadPart,
                     const QByteArray &key = secret())
{
    const QByteArray input = headerPart + '.' + payloadPart;
    return input + '.'
            + encode(QMessageAuthenticationCode::hash(input, key, QCryptographicHash::Sha256));
}

QByteArray signPayload(const QByteArray &payloadJson, const QByteArray &headerJson = s_header)
{
    return signParts(encode(headerJson), encode(payloadJson));
}

QByteArray payloadOf(const QByteArray &token)
{
    return decode(token.split('.').value(1));
}

// Sets the lowest bit of the last character of a base64url part whose last character carries
// unused bits (RFC 4648 §3.5): the bytes decode the same, the spelling is not canonical.
QByteArray withStrayBit(const QByteArray &part)
{
    static const QByteArray alphabet
            = QByteArrayLiteral("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
    QByteArray spelled = part;
    const qsizetype value = alphabet.indexOf(spelled.back());
    spelled.back() = alphabet.at(value | 1);
    return spelled;
}

PushToken claims(const QString &session, const QString &client = {}, const QDateTime &expires = {},
                 PushToken::Scopes scopes = PushToken::NoScope)
{
    PushToken token;
    token.session = session;
    token.client = client;
    token.expires = expires;
    token.scopes = scopes;
    return token;
}

} // namespace

class tst_PushToken : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void roundTripKeepsEveryClaim_data();
    void roundTripKeepsEveryClaim();
    void everyScopeCombinationRoundTrips_data();
    void everyScopeCombinationRoundTrips();
    void scopeClaimParses_data();
    void scopeClaimParses();
    void expiredTokenIsRefused_data();
    void expiredTokenIsRefused();
    void tokenBeforeItsExpiryIsAccepted_data();
    void tokenBeforeItsExpiryIsAccepted();
    void signedExpiryIsEnforcedToTheSecond();
    void tokenWithoutExpiryNeverExpires();
    void invalidClockRefusesOnlyTokensWithExpiry();
    void wrongSecretIsRefused_data();
    void wrongSecretIsRefused();
    void tamperedTokenIsRefused_data();
    void tamperedTokenIsRefused();
    void algorithmOtherThanHs256IsRefused_data();
    void algorithmOtherThanHs256IsRefused();
    void headerVariantsWithHs256AreAccepted_data();
    void headerVariantsWithHs256AreAccepted();
    void wrongPartCountIsRefused_data();
    void wrongPartCountIsRefused();
    void badBase64IsRefused_data();
    void badBase64IsRefused();
    void payloadThatIsNoJsonObjectIsRefused_data();
    void payloadThatIsNoJsonObjectIsRefused();
    void claimMissingOrOfWrongTypeIsRefused_data();
    void claimMissingOrOfWrongTypeIsRefused();
    void unknownClaimsAreIgnored();
    void tokenLongerThanMaxSizeIsRefused_data();
    void tokenLongerThanMaxSizeIsRefused();
    void signRefusesEmptySecretOrSession_data();
    void signRefusesEmptySecretOrSession();
    void verifyRefusesEmptySecret();
    void errorIsOptionalAndSetOnlyOnFailure();
    void knownAnswerFromNodeCrypto_data();
    void knownAnswerFromNodeCrypto();
};

void tst_PushToken::init()
{
    QTest::failOnWarning(QRegularExpression(QStringLiteral(".*")));
}

void tst_PushToken::roundTripKeepsEveryClaim_data()
{
    QTest::addColumn<QString>("session");
    QTest::addColumn<QString>("client");
    QTest::addColumn<QDateTime>("expires");
    QTest::addColumn<int>("scopes");

    const QDateTime later = QDateTime::fromSecsSinceEpoch(1900000000, Qt::UTC);
    const int all = PushToken::Subscribe | PushToken::Push | PushToken::Admin;
    QTest::addRow("every claim") << QStringLiteral("s-1") << QStringLiteral("c-1") << later << all;
    QTest::addRow("no client") << QStringLiteral("s-1") << QString() << later << all;
    QTest::addRow("no expiry") << QStringLiteral("s-1") << QStringLiteral("c-1") << QDateTime()
                               << all;
    QTest::addRow("no scope") << QStringLiteral("s-1") << QStringLiteral("c-1") << later
                              << int(PushToken::NoScope);
    QTest::addRow("expiry given in another zone")
            << QStringLiteral("s-1") << QString() << later.toOffsetFromUtc(-5 * 3600)
            << int(PushToken::Push);
    // JSON escapes (quote, backslash, control) and UTF-8 beyond the BMP must survive.
    QTest::addRow("ids that need escaping")
            << QStringLiteral(u"a\"b\\c/d\te\u00e9\u2713\U0001F600")
            << QStringLiteral(u"\u00fcber \"client\"") << later << int(PushToken::Subscribe);
}

void tst_PushToken::roundTripKeepsEveryClaim()
{
    QFETCH(QString, session);
    QFETCH(QString, client);
    QFETCH(QDateTime, expires);
    QFETCH(int, scopes);

    const QByteArray token
            = claims(session, client, expires, PushToken::Scopes(scopes)).sign(secret());
    QCOMPARE(token.count('.'), 2);

    PushToken::VerifyError error = PushToken::VerifyError::Malformed;
    const std::optional<PushToken> verified
            = PushToken::verify(token, secret(), fixedNow(), &error);
    QVERIFY(verified);
    QCOMPARE(verified->session, session);
    QCOMPARE(verified->client, client);
    QCOMPARE(verified->expires, expires); // compares the instant
    QCOMPARE(verified->expires.isValid(), expires.isValid());
    if (expires.isValid())
        QCOMPARE(verified->expires.timeSpec(), Qt::UTC);
    QCOMPARE(int(verified->scopes), scopes);

    // The wire form: exp is seconds since the epoch; absent claims are not written.
    const QJsonObject payload = QJsonDocument::fromJson(payloadOf(token)).object();
    QCOMPARE(payload.value(u"sub").toString(), session);
    QCOMPARE(payload.contains(QLatin1String("client")), !client.isEmpty());
    QCOMPARE(payload.contains(QLatin1String("exp")), expires.isValid());
    if (expires.isValid())
        QCOMPARE(payload.value(u"exp").toInteger(), expires.toSecsSinceEpoch());
}

void tst_PushToken::everyScopeCombinationRoundTrips_data()
{
    QTest::addColumn<int>("scopes");
    QTest::addColumn<QString>("claim"); // the scope claim on the wire; empty when absent

    QTest::addRow("none") << int(PushToken::NoScope) << QString();
    QTest::addRow("subscribe") << int(PushToken::Subscribe) << QStringLiteral("subscribe");
    QTest::addRow("push") << int(PushToken::Push) << QStringLiteral("push");
    QTest::addRow("admin") << int(PushToken::Admin) << QStringLiteral("admin");
    QTest::addRow("subscribe push")
            << int(PushToken::Subscribe | PushToken::Push) << QStringLiteral("subscribe push");
    QTest::addRow("subscribe admin")
            << int(PushToken::Subscribe | PushToken::Admin) << QStringLiteral("subscribe admin");
    QTest::addRow("push admin") << int(PushToken::Push | PushToken::Admin)
                                << QStringLiteral("push admin");
    QTest::addRow("all") << int(PushToken::Subscribe | PushToken::Push | PushToken::Admin)
                         << QStringLiteral("subscribe push admin");
}

void tst_PushToken::everyScopeCombinationRoundTrips()
{
    QFETCH(int, scopes);
    QFETCH(QString, claim);

    const QByteArray token
            = claims(QStringLiteral("s"), {}, {}, PushToken::Scopes(scopes)).sign(secret());
    const QJsonObject payload = QJsonDocument::fromJson(payloadOf(token)).object();
    QCOMPARE(payload.contains(QLatin1String("scope")), !claim.isEmpty());
    QCOMPARE(payload.value(u"scope").toString(), claim);

    const std::optional<PushToken> verified = PushToken::verify(token, secret(), fixedNow());
    QVERIFY(verified);
    QCOMPARE(int(verified->scopes), scopes);
}

void tst_PushToken::scopeClaimParses_data()
{
    QTest::addColumn<QByteArray>("payload");
    QTest::addColumn<int>("scopes");

    const int all = PushToken::Subscribe | PushToken::Push | PushToken::Admin;
    QTest::addRow("all three in another order")
            << QByteArray(R"({"sub":"s","scope":"admin subscribe push"})") << all;
    QTest::addRow("extra spaces") << QByteArray(R"({"sub":"s","scope":"  push   admin "})")
                                  << int(PushToken::Push | PushToken::Admin);
    QTest::addRow("repeated word")
            << QByteArray(R"({"sub":"s","scope":"push push"})") << int(PushToken::Push);
    QTest::addRow("unknown words are ignored")
            << QByteArray(R"({"sub":"s","scope":"read subscribe write"})")
            << int(PushToken::Subscribe);
    QTest::addRow("only unknown words")
            << QByteArray(R"({"sub":"s","scope":"read write"})") << int(PushToken::NoScope);
    QTest::addRow("words are case-sensitive")
            << QByteArray(R"({"sub":"s","scope":"Admin PUSH"})") << int(PushToken::NoScope);
    QTest::addRow("a prefix is no match")
            << QByteArray(R"({"sub":"s","scope":"administrator pushy"})")
            << int(PushToken::NoScope);
    // RFC 6749 §3.3: scope tokens are separated by spaces (%x20) only.
    QTest::addRow("a tab is no separator")
            << QByteArray(R"({"sub":"s","scope":"push\tadmin"})") << int(PushToken::NoScope);
    QTest::addRow("empty") << QByteArray(R"({"sub":"s","scope":""})") << int(PushToken::NoScope);
    QTest::addRow("absent") << QByteArray(R"({"sub":"s"})") << int(PushToken::NoScope);
}

void tst_PushToken::scopeClaimParses()
{
    QFETCH(QByteArray, payload);
    QFETCH(int, scopes);

    const std::optional<PushToken> verified
            = PushToken::verify(signPayload(payload), secret(), fixedNow());
    QVERIFY(verified);
    QCOMPARE(int(verified->scopes), scopes);
}

void tst_PushToken::expiredTokenIsRefused_data()
{
    QTest::addColumn<QByteArray>("exp");

    QTest::addRow("a second ago") << QByteArray("1699999999");
    QTest::addRow("half a second ago") << QByteArray("1699999999.5");
    // RFC 7519 §4.1.4: "on or after which the JWT MUST NOT be accepted"
    QTest::addRow("exactly now") << QByteArray("1700000000");
    QTest::addRow("exactly now, as a fraction") << QByteArray("1700000000.0");
    QTest::addRow("the epoch") << QByteArray("0");
    QTest::addRow("before the epoch") << QByteArray("-1");
}

void tst_PushToken::expiredTokenIsRefused()
{
    QFETCH(QByteArray, exp);

    const QByteArray token = signPayload(R"({"sub":"s","exp":)" + exp + '}');
    PushToken::VerifyError error = PushToken::VerifyError::Malformed;
    QVERIFY(!PushToken::verify(token, secret(), fixedNow(), &error));
    QCOMPARE(int(error), int(PushToken::VerifyError::Expired));
}

void tst_PushToken::tokenBeforeItsExpiryIsAccepted_data()
{
    QTest::addColumn<QByteArray>("exp");
    QTest::addColumn<QDateTime>("expires");

    QTest::addRow("a second from now") << QByteArray("1700000001") << fixedNow().addSecs(1);
    QTest::addRow("half a second from now")
            << QByteArray("1700000000.5") << fixedNow().addMSecs(500);
    QTest::addRow("in exponent notation") << QByteArray("1.7000001e9") << fixedNow().addSecs(100);
    QTest::addRow("the last second of year 9999")
            << QByteArray("253402300799")
            << QDateTime(QDate(9999, 12, 31), QTime(23, 59, 59), Qt::UTC);
}

void tst_PushToken::tokenBeforeItsExpiryIsAccepted()
{
    QFETCH(QByteArray, exp);
    QFETCH(QDateTime, expires);

    const QByteArray token = signPayload(R"({"sub":"s","exp":)" + exp + '}');
    const std::optional<PushToken> verified = PushToken::verify(token, secret(), fixedNow());
    QVERIFY(verified);
    QCOMPARE(verified->expires, expires);
}

void tst_PushToken::signedExpiryIsEnforcedToTheSecond()
{
    const QDateTime expires = fixedNow().addSecs(10);
    const QByteArray token = claims(QStringLiteral("s"), {}, expires).sign(secret());

    QVERIFY(PushToken::verify(token, secret(), expires.addMSecs(-1)));
    PushToken::VerifyError error = PushToken::VerifyError::Malformed;
    QVERIFY(!PushToken::verify(token, secret(), expires, &error));
    QCOMPARE(int(error), int(PushToken::VerifyError::Expired));
    error = PushToken::VerifyError::Malformed;
    QVERIFY(!PushToken::verify(token, secret(), expires.addSecs(3600), &error));
    QCOMPARE(int(error), int(PushToken::VerifyError::Expired));
}

void tst_PushToken::tokenWithoutExpiryNeverExpires()
{
    const QByteArray token = claims(QStringLiteral("s")).sign(secret());
    QVERIFY(!payloadOf(token).contains("exp"));

    const QDateTime endOfTime(QDate(9999, 12, 31), QTime(23, 59, 59), Qt::UTC);
    const std::optional<PushToken> verified = PushToken::verify(token, secret(), endOfTime);
    QVERIFY(verified);
    QVERIFY(!verified->expires.isValid());
}

void tst_PushToken::invalidClockRefusesOnlyTokensWithExpiry()
{
    // A token without exp needs no clock; one with exp fails closed.
    QVERIFY(PushToken::verify(claims(QStringLiteral("s")).sign(secret()), secret(), QDateTime()));

    const QByteArray token
            = claims(QStringLiteral("s"), {}, fixedNow().addSecs(3600)).sign(secret());
    QTest::ignoreMessage(QtWarningMsg,
                         "PushToken::verify: invalid clock; refusing a token with exp");
    PushToken::VerifyError error = PushToken::VerifyError::Malformed;
    QVERIFY(!PushToken::verify(token, secret(), QDateTime(), &error));
    QCOMPARE(int(error), int(PushToken::VerifyError::Expired));
}

void tst_PushToken::wrongSecretIsRefused_data()
{
    QTest::addColumn<QByteArray>("otherSecret");

    // Not "secret plus a NUL byte": HMAC pads short keys with zeros (RFC 2104 §2), so that
    // key is the same key.
    QTest::addRow("another secret") << QByteArray("another secret");
    QTest::addRow("one byte longer") << secret() + 'x';
    QTest::addRow("one byte shorter") << secret().chopped(1);
    QTest::addRow("in upper case") << secret().toUpper();
    QByteArray flipped = secret();
    flipped[0] = char(flipped.at(0) ^ 0x01);
    QTest::addRow("one bit flipped") << flipped;
    QTest::addRow("longer than the HMAC block") << QByteArray(100, 'k');
}

void tst_PushToken::wrongSecretIsRefused()
{
    QFETCH(QByteArray, otherSecret);

    const QByteArray token = claims(QStringLiteral("s"), {}, {}, PushToken::Admin).sign(secret());
    QVERIFY(PushToken::verify(token, secret(), fixedNow()));
    PushToken::VerifyError error = PushToken::VerifyError::Malformed;
    QVERIFY(!PushToken::verify(token, otherSecret, fixedNow(), &error));
    QCOMPARE(int(error), int(PushToken::VerifyError::BadSignature));
}

void tst_PushToken::tamperedTokenIsRefused_data()
{
    QTest::addColumn<QByteArray>("token");

    const QByteArray original = claims(QStringLiteral("mine"), QStringLiteral("c"),
                                       fixedNow().addSecs(60), PushToken::Subscribe)
                                        .sign(secret());
    const QList<QByteArray> parts = original.split('.');
    QCOMPARE(parts.size(), 3);
    const QByteArray signature = decode(parts.at(2));
    QCOMPARE(signature.size(), 32);

    const auto withPayload = [&](const QByteArray &json) {
        return QByteArray(parts.at(0) + '.' + encode(json) + '.' + parts.at(2));
    };
    QTest::addRow("sub changed, old signature")
            << withPayload(R"({"client":"c","exp":1700000060,"scope":"subscribe","sub":"yours"})");
    QTest::addRow("admin added to scope") << withPayload(
            R"({"client":"c","exp":1700000060,"scope":"subscribe admin","sub":"mine"})");
    QTest::addRow("exp removed") << withPayload(
            R"({"client":"c","scope":"subscribe","sub":"mine"})");
    // The signature is checked first: claims that would fail are not read.
    QTest::addRow("claims invalid, old signature") << withPayload(R"({"sub":42})");
    QTest::addRow("exp in the past, old signature")
            << withPayload(R"({"client":"c","exp":1,"scope":"subscribe","sub":"mine"})");
    QTest::addRow("header respelled") << QByteArray(encode(R"({"alg":"HS256", "typ":"JWT"})") + '.'
                                                    + parts.at(1) + '.' + parts.at(2));

    const auto withSignature = [&](const QByteArray &bytes) {
        return QByteArray(parts.at(0) + '.' + parts.at(1) + '.' + encode(bytes));
    };
    QByteArray flipped = signature;
    flipped[31] = char(flipped.at(31) ^ 0x01);
    QTest::addRow("last signature bit flipped") << withSignature(flipped);
    flipped = signature;
    flipped[0] = char(flipped.at(0) ^ 0x80);
    QTest::addRow("first signature bit flipped") << withSignature(flipped);
    QTest::addRow("signature one byte short") << withSignature(signature.chopped(1));
    QTest::addRow("signature one byte long") << withSignature(signature + '\0');
    QTest::addRow("signature empty") << withSignature({});
    QTest::addRow("signature of another token") << withSignature(
            decode(claims(QStringLiteral("yours")).sign(secret()).split('.').at(2)));
}

void tst_PushToken::tamperedTokenIsRefused()
{
    QFETCH(QByteArray, token);

    PushToken::VerifyError error = PushToken::VerifyError::Malformed;
    QVERIFY(!PushToken::verify(token, secret(), fixedNow(), &error));
    QCOMPARE(int(error), int(PushToken::VerifyError::BadSignature));
}

void tst_PushToken::algorithmOtherThanHs256IsRefused_data()
{
    QTest::addColumn<QByteArray>("token");

    // Each header but the first is signed with HMAC-SHA256 and our secret: only the alg check
    // stands between it and acceptance (RFC 8725 §2.1, §3.1).
    const QByteArray payload = R"({"sub":"s","scope":"admin"})";
    QTest::addRow("alg none, no signature")
            << QByteArray(encode(R"({"alg":"none","typ":"JWT"})") + '.' + encode(payload) + '.');
    QTest::addRow("alg none, HS256 signature")
            << signPayload(payload, R"({"alg":"none","typ":"JWT"})");
    QTest::addRow("alg HS512") << signPayload(payload, R"({"alg":"HS512","typ":"JWT"})");
    QTest::addRow("alg RS256") << signPayload(payload, R"({"alg":"RS256","typ":"JWT"})");
    QTest::addRow("alg in lower case") << signPayload(payload, R"({"alg":"hs256","typ":"JWT"})");
    QTest::addRow("alg with a space") << signPayload(payload, R"({"alg":"HS256 ","typ":"JWT"})");
    QTest::addRow("alg missing") << signPayload(payload, R"({"typ":"JWT"})");
    QTest::addRow("alg a number") << signPayload(payload, R"({"alg":256,"typ":"JWT"})");
    QTest::addRow("alg in an array") << signPayload(payload, R"({"alg":["HS256"],"typ":"JWT"})");
    // RFC 7515 §4.1.11: an extension we do not implement, here RFC 7797's unencoded payload.
    QTest::addRow("crit extension")
            << signPayload(payload, R"({"alg":"HS256","crit":["b64"],"b64":false})");
    QTest::addRow("header an array") << signPayload(payload, R"([{"alg":"HS256"}])");
    QTest::addRow("header not JSON") << signPayload(payload, "HS256");
    QTest::addRow("header empty") << signPayload(payload, "");
}

void tst_PushToken::algorithmOtherThanHs256IsRefused()
{
    QFETCH(QByteArray, token);

    PushToken::VerifyError error = PushToken::VerifyError::BadSignature;
    QVERIFY(!PushToken::verify(token, secret(), fixedNow(), &error));
    QCOMPARE(int(error), int(PushToken::VerifyError::Malformed));
}

void tst_PushToken::headerVariantsWithHs256AreAccepted_data()
{
    QTest::addColumn<QByteArray>("header");

    // The counterpart of the refusals above: the check looks at alg, not at the header's bytes.
    QTest::addRow("without typ") << QByteArray(R"({"alg":"HS256"})");
    QTest::addRow("keys in another order") << QByteArray(R"({"typ":"JWT","alg":"HS256"})");
    QTest::addRow("with whitespace") << QByteArray("{ \"alg\" : \"HS256\" }\n");
    QTest::addRow("with a key id") << QByteArray(R"({"alg":"HS256","kid":"2024-1"})");
}

void tst_PushToken::headerVariantsWithHs256AreAccepted()
{
    QFETCH(QByteArray, header);

    const std::optional<PushToken> verified
            = PushToken::verify(signPayload(R"({"sub":"s"})", header), secret(), fixedNow());
    QVERIFY(verified);
    QCOMPARE(verified->session, QStringLiteral("s"));
}

void tst_PushToken::wrongPartCountIsRefused_data()
{
    QTest::addColumn<QByteArray>("token");

    const QByteArray valid = claims(QStringLiteral("s")).sign(secret());
    const QList<QByteArray> parts = valid.split('.');
    QTest::addRow("empty") << QByteArray();
    QTest::addRow("one part") << parts.at(0);
    QTest::addRow("two parts") << QByteArray(parts.at(0) + '.' + parts.at(1));
    QTest::addRow("two parts, header and signature") << QByteArray(parts.at(0) + '.' + parts.at(2));
    QTest::addRow("four parts") << QByteArray(valid + '.' + parts.at(2));
    QTest::addRow("trailing dot") << QByteArray(valid + '.');
    QTest::addRow("leading dot") << QByteArray('.' + valid);
    // A JWE (RFC 7516 §7.1) has five parts.
    QTest::addRow("five parts") << QByteArray(valid + '.' + parts.at(1) + '.' + parts.at(2));
}

void tst_PushToken::wrongPartCountIsRefused()
{
    QFETCH(QByteArray, token);

    PushToken::VerifyError error = PushToken::VerifyError::BadSignature;
    QVERIFY(!PushToken::verify(token, secret(), fixedNow(), &error));
    QCOMPARE(int(error), int(PushToken::VerifyError::Malformed));
}

void tst_PushToken::badBase64IsRefused_data()
{
    QTest::addColumn<QByteArray>("token");

    // Header and payload parts are signed as spelled, so that the signature passes and only
    // the base64 check can refuse them.
    const QByteArray header = encode(s_header);
    const QByteArray payload = encode(R"({"sub":"s"})");
    QTest::addRow("header with a '*'") << signParts(header + '*', payload);
    QTest::addRow("payload with a '*'") << signParts(header, payload + '*');
    QTest::addRow("payload with a space")
            << signParts(header, payload.left(4) + ' ' + payload.mid(4));
    QTest::addRow("payload with a line break")
            << signParts(header, payload.left(4) + '\n' + payload.mid(4));
    QTest::addRow("payload of impossible length") << signParts(header, payload + payload.left(1));

    // {"sub":"~~~??>>"} in the standard alphabet has '+' and '/' where base64url has '-', '_'.
    const QByteArray json = R"({"sub":"~~~??>>"})";
    const QByteArray standard = json.toBase64(QByteArray::OmitTrailingEquals);
    QVERIFY(standard.contains('+') && standard.contains('/'));
    QTest::addRow("payload in the standard alphabet") << signParts(header, standard);
    const QByteArray padded = json.toBase64(QByteArray::Base64UrlEncoding);
    QVERIFY(padded.endsWith('='));
    QTest::addRow("payload with padding") << signParts(header, padded);
    QVERIFY(encode(json).size() % 4 != 0); // so its last character has unused bits
    QTest::addRow("payload with stray bits") << signParts(header, withStrayBit(encode(json)));

    const QList<QByteArray> parts = signParts(header, payload).split('.');
    const QByteArray input = parts.at(0) + '.' + parts.at(1) + '.';
    QTest::addRow("signature with a '*'") << QByteArray(input + parts.at(2) + '*');
    QTest::addRow("signature with padding") << QByteArray(input + parts.at(2) + '=');
    QTest::addRow("signature with stray bits") << QByteArray(input + withStrayBit(parts.at(2)));
    QTest::addRow("dots only") << QByteArray("..");
}

void tst_PushToken::badBase64IsRefused()
{
    QFETCH(QByteArray, token);

    PushToken::VerifyError error = PushToken::VerifyError::BadSignature;
    QVERIFY(!PushToken::verify(token, secret(), fixedNow(), &error));
    QCOMPARE(int(error), int(PushToken::VerifyError::Malformed));
}

void tst_PushToken::payloadThatIsNoJsonObjectIsRefused_data()
{
    QTest::addColumn<QByteArray>("payload");

    QTest::addRow("not JSON") << QByteArray("sub=s");
    QTest::addRow("JSON array") << QByteArray(R"([{"sub":"s"}])");
    QTest::addRow("JSON string") << QByteArray(R"("s")");
    QTest::addRow("JSON number") << QByteArray("42");
    QTest::addRow("JSON null") << QByteArray("null");
    QTest::addRow("truncated object") << QByteArray(R"({"sub":"s")");
    QTest::addRow("garbage after the object") << QByteArray(R"({"sub":"s"}x)");
    QTest::addRow("two objects") << QByteArray(R"({"sub":"s"}{"sub":"t"})");
    QTest::addRow("empty") << QByteArray();
}

void tst_PushToken::payloadThatIsNoJsonObjectIsRefused()
{
    QFETCH(QByteArray, payload);

    PushToken::VerifyError error = PushToken::VerifyError::BadSignature;
    QVERIFY(!PushToken::verify(signPayload(payload), secret(), fixedNow(), &error));
    QCOMPARE(int(error), int(PushToken::VerifyError::Malformed));
}

void tst_PushToken::claimMissingOrOfWrongTypeIsRefused_data()
{
    QTest::addColumn<QByteArray>("payload");

    QTest::addRow("sub missing") << QByteArray(R"({"scope":"admin"})");
    QTest::addRow("sub a number") << QByteArray(R"({"sub":42})");
    QTest::addRow("sub null") << QByteArray(R"({"sub":null})");
    QTest::addRow("sub empty") << QByteArray(R"({"sub":""})");
    QTest::addRow("sub an object") << QByteArray(R"({"sub":{"id":"s"}})");
    QTest::addRow("sub an array") << QByteArray(R"({"sub":["s"]})");
    QTest::addRow("client a number") << QByteArray(R"({"sub":"s","client":7})");
    QTest::addRow("client null") << QByteArray(R"({"sub":"s","client":null})");
    // An empty client would otherwise read as "any client".
    QTest::addRow("client empty") << QByteArray(R"({"sub":"s","client":""})");
    QTest::addRow("exp a string") << QByteArray(R"({"sub":"s","exp":"2000000000"})");
    QTest::addRow("exp null") << QByteArray(R"({"sub":"s","exp":null})");
    QTest::addRow("exp true") << QByteArray(R"({"sub":"s","exp":true})");
    QTest::addRow("exp after year 9999") << QByteArray(R"({"sub":"s","exp":1e300})");
    QTest::addRow("exp beyond double") << QByteArray(R"({"sub":"s","exp":1e400})");
    QTest::addRow("scope an array") << QByteArray(R"({"sub":"s","scope":["admin"]})");
    QTest::addRow("scope a number") << QByteArray(R"({"sub":"s","scope":4})");
    QTest::addRow("scope null") << QByteArray(R"({"sub":"s","scope":null})");
}

void tst_PushToken::claimMissingOrOfWrongTypeIsRefused()
{
    QFETCH(QByteArray, payload);

    PushToken::VerifyError error = PushToken::VerifyError::BadSignature;
    QVERIFY(!PushToken::verify(signPayload(payload), secret(), fixedNow(), &error));
    QCOMPARE(int(error), int(PushToken::VerifyError::Malformed));
}

void tst_PushToken::unknownClaimsAreIgnored()
{
    // RFC 7519 §4: claims that are not understood MUST be ignored.
    const QByteArray payload
            = R"({"iat":1700000000,"jti":"j-1","iss":"me","x":{"y":[1,2]},"sub":"s","scope":"push"})";
    const std::optional<PushToken> verified
            = PushToken::verify(signPayload(payload), secret(), fixedNow());
    QVERIFY(verified);
    QCOMPARE(verified->session, QStringLiteral("s"));
    QCOMPARE(int(verified->scopes), int(PushToken::Push));
}

void tst_PushToken::tokenLongerThanMaxSizeIsRefused_data()
{
    QTest::addColumn<QByteArray>("token");
    QTest::addColumn<bool>("accepted");

    // Tokens signed with the right secret that differ only in the length of a padding claim:
    // the largest that fits and the smallest that does not.
    const auto padded = [](qsizetype length) {
        return signPayload(R"({"sub":"s","pad":")" + QByteArray(length, 'p') + "\"}");
    };
    qsizetype length = PushToken::MaxSize * 3 / 4 - 100;
    QVERIFY(padded(length).size() < PushToken::MaxSize);
    while (padded(length + 1).size() <= PushToken::MaxSize)
        ++length;
    const QByteArray largest = padded(length);
    const QByteArray smallestTooLarge = padded(length + 1);
    QVERIFY(largest.size() >= PushToken::MaxSize - 1); // base64 skips at most one length
    QVERIFY(smallestTooLarge.size() > PushToken::MaxSize);

    QTest::addRow("largest that fits") << largest << true;
    QTest::addRow("smallest that does not") << smallestTooLarge << false;
    QTest::addRow("a megabyte") << padded(3 * 256 * 1024) << false;
}

void tst_PushToken::tokenLongerThanMaxSizeIsRefused()
{
    QFETCH(QByteArray, token);
    QFETCH(bool, accepted);

    PushToken::VerifyError error = PushToken::VerifyError::BadSignature;
    QCOMPARE(PushToken::verify(token, secret(), fixedNow(), &error).has_value(), accepted);
    if (!accepted)
        QCOMPARE(int(error), int(PushToken::VerifyError::Malformed));
}

void tst_PushToken::signRefusesEmptySecretOrSession_data()
{
    QTest::addColumn<QByteArray>("key");
    QTest::addColumn<QString>("session");
    QTest::addColumn<QString>("warning");

    QTest::addRow("empty secret") << QByteArray() << QStringLiteral("s")
                                  << QStringLiteral("PushToken::sign: refusing an empty secret");
    QTest::addRow("empty session") << secret() << QString()
                                   << QStringLiteral("PushToken::sign: refusing an empty session");
}

void tst_PushToken::signRefusesEmptySecretOrSession()
{
    QFETCH(QByteArray, key);
    QFETCH(QString, session);
    QFETCH(QString, warning);

    QTest::ignoreMessage(QtWarningMsg, qPrintable(warning));
    QVERIFY(claims(session, QStringLiteral("c"), {}, PushToken::Admin).sign(key).isEmpty());
}

void tst_PushToken::verifyRefusesEmptySecret()
{
    // HMAC accepts an empty key: without the check, this token would pass.
    const QByteArray token = signParts(encode(s_header), encode(R"({"sub":"s"})"), QByteArray());
    QTest::ignoreMessage(QtWarningMsg, "PushToken::verify: empty secret; refusing every token");
    PushToken::VerifyError error = PushToken::VerifyError::Malformed;
    QVERIFY(!PushToken::verify(token, QByteArray(), fixedNow(), &error));
    QCOMPARE(int(error), int(PushToken::VerifyError::NoSecret));
}

void tst_PushToken::errorIsOptionalAndSetOnlyOnFailure()
{
    QVERIFY(!PushToken::verify("not a token", secret(), fixedNow()));
    QVERIFY(!PushToken::verify(claims(QStringLiteral("s")).sign("x"), secret()));

    // The default clock is the current time; this token has no exp.
    PushToken::VerifyError error = PushToken::VerifyError::Expired;
    QVERIFY(PushToken::verify(claims(QStringLiteral("s")).sign(secret()), secret(),
                              QDateTime::currentDateTimeUtc(), &error));
    QCOMPARE(int(error), int(PushToken::VerifyError::Expired));
}

void tst_PushToken::knownAnswerFromNodeCrypto_data()
{
    QTest::addColumn<QByteArray>("key");
    QTest::addColumn<QByteArray>("token");
    QTest::addColumn<QString>("session");
    QTest::addColumn<QString>("client");
    QTest::addColumn<QDateTime>("expires");
    QTest::addColumn<int>("scopes");

    // Made once by an independent implementation, Node.js 20's built-in crypto, with:
    //   node -e 'const c=require("crypto"),b=s=>Buffer.from(s).toString("base64url"),
    //   k="qtpush known-answer secret",t=p=>{const i=b(JSON.stringify({alg:"HS256",typ:"JWT"}))
    //   +"."+b(JSON.stringify(p));return i+"."+c.createHmac("sha256",k).update(i)
    //   .digest("base64url")};console.log(t({client:"browser-1",exp:2000000000,
    //   scope:"subscribe push admin",sub:"sessión-42"}));console.log(t({scope:"push",sub:"s"}))'
    // (one line; "ó" is U+00F3). The claims are in alphabetical order, the order in which
    // QJsonDocument writes them, so sign() must reproduce the tokens byte for byte.
    const QByteArray key = QByteArrayLiteral("qtpush known-answer secret");
    QTest::addRow("every claim, non-ASCII session")
            << key
            << QByteArrayLiteral(
                       "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
                       ".eyJjbGllbnQiOiJicm93c2VyLTEiLCJleHAiOjIwMDAwMDAwMDAsInNjb3BlIjoic"
                       "3Vic2NyaWJlIHB1c2ggYWRtaW4iLCJzdWIiOiJzZXNzacOzbi00MiJ9"
                       ".OjPzzWvQJy13balZnDWRMnQBux1ww9sklgiciEGlaCM")
            << QStringLiteral(u"sessi\u00f3n-42") << QStringLiteral("browser-1")
            << QDateTime::fromSecsSinceEpoch(2000000000, Qt::UTC)
            << int(PushToken::Subscribe | PushToken::Push | PushToken::Admin);
    QTest::addRow("no client, no expiry")
            << key
            << QByteArrayLiteral("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzY29wZSI6InB1c2giLCJzdWIi"
                                 "OiJzIn0.1UJdz4-GCDmoH_JLDJIJEoV3aN6-M84jHVzepBknMiM")
            << QStringLiteral("s") << QString() << QDateTime() << int(PushToken::Push);
}

void tst_PushToken::knownAnswerFromNodeCrypto()
{
    QFETCH(QByteArray, key);
    QFETCH(QByteArray, token);
    QFETCH(QString, session);
    QFETCH(QString, client);
    QFETCH(QDateTime, expires);
    QFETCH(int, scopes);

    const std::optional<PushToken> verified = PushToken::verify(token, key, fixedNow());
    QVERIFY(verified);
    QCOMPARE(verified->session, session);
    QCOMPARE(verified->client, client);
    QCOMPARE(verified->expires, expires);
    QCOMPARE(int(verified->scopes), scopes);

    QCOMPARE(claims(session, client, expires, PushToken::Scopes(scopes)).sign(key), token);

    PushToken::VerifyError error = PushToken::VerifyError::Malformed;
    QVERIFY(!PushToken::verify(token, secret(), fixedNow(), &error));
    QCOMPARE(int(error), int(PushToken::VerifyError::BadSignature));
}

QTEST_GUILESS_MAIN(tst_PushToken)
#include "tst_pushtoken.moc"
