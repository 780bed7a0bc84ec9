// SPDX-License-Identifier: MIT
// libFuzzer target for the JWT verifier (src/server/pushtoken.cpp). Each input takes one of three
// paths, chosen by its first byte:
// - any bytes as a token: verify() refuses them unless they are a token of the secret, and a
//   token it accepts signs again to one with the same claims, and fails under another secret;
// - a header and claims of the input's choice, signed here with the secret: verify() reads any
//   JSON the holder of the secret might sign, with the same checks;
// - claims of the input's choice, signed with sign(): verify() gives them back until they
//   expire, and never accepts the token with one byte changed, cut short, or under another
//   secret.
// Built only with -DQTPUSH_FUZZ=ON and clang (docs/fuzzing.md).
#include <QtPush/pushtoken.h>

#include "fuzzrequire.h"

#include <QtCore/QLoggingCategory>
#include <QtCore/QMessageAuthenticationCode>

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>

namespace {

constexpr auto s_base64 = QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals;
constexpr qint64 s_maxNumericDateMs = 253402300799LL * 1000; // 9999-12-31T23:59:59Z

QByteArray consumeBytes(FuzzedDataProvider &provider, size_t maxLength)
{
    const std::string bytes = provider.ConsumeRandomLengthString(maxLength);
    return QByteArray(bytes.data(), qsizetype(bytes.size()));
}

QDateTime utcMs(qint64 ms)
{
    return QDateTime::fromMSecsSinceEpoch(ms, Qt::UTC);
}

bool sameClaims(const PushToken &a, const PushToken &b)
{
    return a.session == b.session && a.client == b.client && a.scopes == b.scopes
            && a.expires == b.expires;
}

//! A token that verify() accepted: signed again it gives the same claims, exp cut to whole
//! seconds (PushToken::sign()), and it is worth nothing under another secret.
void checkAccepted(const QByteArray &token, const QByteArray &secret, const PushToken &claims)
{
    FUZZ_REQUIRE(!claims.session.isEmpty());
    FUZZ_REQUIRE(!claims.expires.isValid() || claims.expires.timeSpec() == Qt::UTC);

    PushToken expected = claims;
    if (claims.expires.isValid())
        expected.expires = utcMs(claims.expires.toSecsSinceEpoch() * 1000);
    const QByteArray again = claims.sign(secret);
    PushToken::VerifyError error = PushToken::VerifyError::NoSecret;
    const QDateTime before = expected.expires.isValid() ? expected.expires.addSecs(-1)
                                                        : QDateTime::currentDateTimeUtc();
    if (again.size() <= PushToken::MaxSize) {
        const std::optional<PushToken> reread = PushToken::verify(again, secret, before, &error);
        FUZZ_REQUIRE(reread && sameClaims(*reread, expected));
    }

    const std::optional<PushToken> forged
            = PushToken::verify(token, secret + 'x', claims.expires.addSecs(-1), &error);
    FUZZ_REQUIRE(!forged && error == PushToken::VerifyError::BadSignature);
}

void verifyAnyBytes(FuzzedDataProvider &provider)
{
    const QByteArray secret = consumeBytes(provider, 64);
    const QDateTime now = utcMs(provider.ConsumeIntegral<qint32>() * qint64(1000));
    const QByteArray token = consumeBytes(provider, PushToken::MaxSize + 64);
    PushToken::VerifyError error = PushToken::VerifyError::NoSecret;
    const std::optional<PushToken> claims = PushToken::verify(token, secret, now, &error);
    if (secret.isEmpty())
        FUZZ_REQUIRE(!claims && error == PushToken::VerifyError::NoSecret);
    else if (token.size() > PushToken::MaxSize)
        FUZZ_REQUIRE(!claims && error == PushToken::VerifyError::Malformed);
    if (claims)
        checkAccepted(token, secret, *claims);
}

void verifySignedJson(FuzzedDataProvider &provider)
{
    QByteArray secret = consumeBytes(provider, 64);
    if (secret.isEmpty())
        secret = "secret";
    const QDateTime now = utcMs(provider.ConsumeIntegral<qint32>() * qint64(1000));
    const bool encode = provider.ConsumeBool(); // else the parts go in as the input spells them
    QByteArray header = consumeBytes(provider, 256);
    QByteArray payload = consumeBytes(provider, 1024);
    if (encode) {
        header = header.toBase64(s_base64);
        payload = payload.toBase64(s_base64);
    }
    const QByteArray input = header + '.' + payload;
    const QByteArray token = input + '.'
            + QMessageAuthenticationCode::hash(input, secret, QCryptographicHash::Sha256)
                      .toBase64(s_base64);
    PushToken::VerifyError error = PushToken::VerifyError::NoSecret;
    const std::optional<PushToken> claims = PushToken::verify(token, secret, now, &error);
    FUZZ_REQUIRE(claims || error != PushToken::VerifyError::NoSecret);
    if (claims)
        checkAccepted(token, secret, *claims);
}

void signAndVerify(FuzzedDataProvider &provider)
{
    const QByteArray secret = consumeBytes(provider, 64);
    PushToken token;
    token.session = QString::fromUtf8(consumeBytes(provider, 300));
    token.client = QString::fromUtf8(consumeBytes(provider, 300));
    token.scopes = PushToken::Scopes::fromInt(provider.ConsumeIntegral<quint8>());
    if (provider.ConsumeBool()) {
        token.expires = utcMs(provider.ConsumeIntegralInRange<qint64>(-2 * s_maxNumericDateMs,
                                                                      2 * s_maxNumericDateMs));
    }
    const QByteArray signedToken = token.sign(secret);
    if (secret.isEmpty() || token.session.isEmpty()) {
        FUZZ_REQUIRE(signedToken.isEmpty());
        return;
    }
    FUZZ_REQUIRE(signedToken.count('.') == 2);

    PushToken expected = token;
    expected.scopes &= PushToken::Subscribe | PushToken::Push | PushToken::Admin;
    const bool inRange = !token.expires.isValid()
            || qAbs(token.expires.toSecsSinceEpoch()) * 1000 <= s_maxNumericDateMs;
    if (token.expires.isValid())
        expected.expires = utcMs(token.expires.toSecsSinceEpoch() * 1000);
    const QDateTime before = expected.expires.isValid() ? expected.expires.addSecs(-1)
                                                        : QDateTime::currentDateTimeUtc();
    PushToken::VerifyError error = PushToken::VerifyError::NoSecret;
    const std::optional<PushToken> claims = PushToken::verify(signedToken, secret, before, &error);
    if (signedToken.size() > PushToken::MaxSize || !inRange) {
        FUZZ_REQUIRE(!claims && error == PushToken::VerifyError::Malformed);
        return;
    }
    FUZZ_REQUIRE(claims && sameClaims(*claims, expected));

    if (expected.expires.isValid()) {
        const qint64 lateMs = provider.ConsumeIntegralInRange<qint64>(0, 1000 * 1000);
        FUZZ_REQUIRE(
                !PushToken::verify(signedToken, secret, expected.expires.addMSecs(lateMs), &error)
                && error == PushToken::VerifyError::Expired);
    }
    FUZZ_REQUIRE(!PushToken::verify(signedToken, secret + 'x', before, &error)
                 && error == PushToken::VerifyError::BadSignature);

    // One byte changed anywhere, or the token cut short: refused before any claim is read.
    QByteArray altered = signedToken;
    const qsizetype at = provider.ConsumeIntegralInRange<qsizetype>(0, altered.size() - 1);
    altered[at] = char(altered.at(at) + provider.ConsumeIntegralInRange<int>(1, 255));
    FUZZ_REQUIRE(!PushToken::verify(altered, secret, before, &error)
                 && (error == PushToken::VerifyError::Malformed
                     || error == PushToken::VerifyError::BadSignature));
    const QByteArray cut = signedToken.first(
            provider.ConsumeIntegralInRange<qsizetype>(0, signedToken.size() - 1));
    FUZZ_REQUIRE(!PushToken::verify(cut, secret, before, &error)
                 && (error == PushToken::VerifyError::Malformed
                     || error == PushToken::VerifyError::BadSignature));
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    // sign() and verify() warn about an empty secret or session, which inputs give on purpose.
    QLoggingCategory::setFilterRules(QStringLiteral("qtpush.*=false"));
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzedDataProvider provider(data, size);
    switch (provider.ConsumeIntegralInRange<int>(0, 2)) {
    case 0:
        verifyAnyBytes(provider);
        break;
    case 1:
        verifySignedJson(provider);
        break;
    default:
        signAndVerify(provider);
        break;
    }
    return 0;
}
