// SPDX-License-Identifier: MIT
#include <QtPush/pushtoken.h>

#include "pushserverlogging_p.h"

#include <QtCore/QCryptographicHash>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QJsonParseError>
#include <QtCore/QJsonValue>
#include <QtCore/QMessageAuthenticationCode>
#include <QtCore/QStringTokenizer>

#include <cmath>

namespace {

constexpr auto s_base64 = QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals;

// The header sign() writes (RFC 7515 §4.1.1, RFC 7519 §5.1).
constexpr char s_header[] = R"({"alg":"HS256","typ":"JWT"})";

// 9999-12-31T23:59:59Z: a later exp is no real date, and the bound keeps exp * 1000 well
// inside qint64, where converting from double is defined.
constexpr double s_maxNumericDate = 253402300799.0;

// The words of the scope claim (protocol.md: Access), in the order sign() writes them.
struct ScopeWord
{
    PushToken::Scope scope;
    QLatin1String word;
};
constexpr ScopeWord s_scopeWords[] = {
        {PushToken::Subscribe, QLatin1String("subscribe")},
        {PushToken::Push, QLatin1String("push")},
        {PushToken::Admin, QLatin1String("admin")},
};

// Decodes one part of a compact JWT. Only the canonical spelling passes (RFC 7515 §2: base64url
// without padding): no '=', no whitespace, no stray bits in the last character, so a token has
// exactly one string form.
std::optional<QByteArray> decodePart(const QByteArray &part)
{
    QByteArray::FromBase64Result result = QByteArray::fromBase64Encoding(
            part, s_base64 | QByteArray::AbortOnBase64DecodingErrors);
    if (!result || result.decoded.toBase64(s_base64) != part)
        return std::nullopt;
    return std::move(result.decoded);
}

std::optional<QJsonObject> parseObject(const std::optional<QByteArray> &json)
{
    if (!json)
        return std::nullopt;
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(*json, &parseError);
    if (parseError.error != QJsonParseError::NoError || !document.isObject())
        return std::nullopt;
    return document.object();
}

// Takes the same time for any two arrays of one size, so that a forger learns nothing from how
// long a refusal takes (RFC 7518 §3.2). The size of an HMAC is no secret.
bool equalsInConstantTime(const QByteArray &a, const QByteArray &b)
{
    if (a.size() != b.size())
        return false;
    // volatile keeps the compiler from turning the loop into an early-exit memcmp.
    volatile unsigned char difference = 0;
    for (qsizetype i = 0; i < a.size(); ++i)
        difference = difference | static_cast<unsigned char>(a.at(i) ^ b.at(i));
    return difference == 0;
}

QByteArray hmacSha256(const QByteArray &message, const QByteArray &secret)
{
    return QMessageAuthenticationCode::hash(message, secret, QCryptographicHash::Sha256);
}

} // namespace

QByteArray PushToken::sign(const QByteArray &secret) const
{
    if (secret.isEmpty() || session.isEmpty()) {
        qCWarning(lcPushServer) << "PushToken::sign: refusing an empty"
                                << (secret.isEmpty() ? "secret" : "session");
        return {};
    }

    QJsonObject claims;
    claims.insert(QStringLiteral("sub"), session);
    if (!client.isEmpty())
        claims.insert(QStringLiteral("client"), client);
    if (expires.isValid())
        claims.insert(QStringLiteral("exp"), expires.toSecsSinceEpoch());
    if (scopes != NoScope) {
        QStringList words;
        for (const ScopeWord &scopeWord : s_scopeWords) {
            if (scopes.testFlag(scopeWord.scope))
                words.append(scopeWord.word);
        }
        claims.insert(QStringLiteral("scope"), words.join(u' '));
    }

    const QByteArray signingInput = QByteArray(s_header).toBase64(s_base64) + '.'
            + QJsonDocument(claims).toJson(QJsonDocument::Compact).toBase64(s_base64);
    return signingInput + '.' + hmacSha256(signingInput, secret).toBase64(s_base64);
}

std::optional<PushToken> PushToken::verify(const QByteArray &token, const QByteArray &secret,
                                           const QDateTime &now, VerifyError *error)
{
    const auto refuse = [error](VerifyError reason) {
        if (error)
            *error = reason;
        return std::optional<PushToken>();
    };

    if (secret.isEmpty()) {
        qCWarning(lcPushServer) << "PushToken::verify: empty secret; refusing every token";
        return refuse(VerifyError::NoSecret);
    }
    // Bound the work before looking inside (STYLE.md: Errors).
    if (token.size() > MaxSize || token.count('.') != 2)
        return refuse(VerifyError::Malformed);
    const qsizetype firstDot = token.indexOf('.');
    const qsizetype secondDot = token.indexOf('.', firstDot + 1);

    // RFC 8725 §2.1, §3.1: the algorithm is ours to fix, never the token's to choose; "none"
    // and every other alg are refused. RFC 7515 §4.1.11: we implement no extension, so a
    // header that marks one critical is refused too.
    const std::optional<QJsonObject> header = parseObject(decodePart(token.first(firstDot)));
    if (!header || header->value(u"alg").toString() != u"HS256"
        || header->contains(QLatin1String("crit")))
        return refuse(VerifyError::Malformed);

    // RFC 7515 §5.2: the MAC covers the parts as they are spelled in the token.
    const std::optional<QByteArray> signature = decodePart(token.sliced(secondDot + 1));
    if (!signature)
        return refuse(VerifyError::Malformed);
    if (!equalsInConstantTime(*signature, hmacSha256(token.first(secondDot), secret)))
        return refuse(VerifyError::BadSignature);

    // Only now are the claims from the holder of the secret.
    const std::optional<QJsonObject> claims
            = parseObject(decodePart(token.sliced(firstDot + 1, secondDot - firstDot - 1)));
    if (!claims)
        return refuse(VerifyError::Malformed);

    PushToken result;
    // protocol.md: Names: ids are non-empty strings. An empty client would widen the token
    // to every client, so it is refused rather than read as "any".
    const QJsonValue sub = claims->value(u"sub");
    if (!sub.isString() || sub.toString().isEmpty())
        return refuse(VerifyError::Malformed);
    result.session = sub.toString();

    const QJsonValue client = claims->value(u"client");
    if (!client.isUndefined()) {
        if (!client.isString() || client.toString().isEmpty())
            return refuse(VerifyError::Malformed);
        result.client = client.toString();
    }

    // RFC 8693 §4.2: space-delimited, case-sensitive words; unknown ones grant nothing.
    const QJsonValue scope = claims->value(u"scope");
    if (!scope.isUndefined() && !scope.isString())
        return refuse(VerifyError::Malformed);
    const QString scopeText = scope.toString();
    for (QStringView word : qTokenize(scopeText, u' ', Qt::SkipEmptyParts)) {
        for (const ScopeWord &scopeWord : s_scopeWords) {
            if (word == scopeWord.word)
                result.scopes |= scopeWord.scope;
        }
    }

    // RFC 7519 §2, §4.1.4: exp is a NumericDate, seconds that may have a fraction; the token
    // is refused on or after that instant.
    const QJsonValue exp = claims->value(u"exp");
    if (!exp.isUndefined()) {
        const double seconds = exp.toDouble();
        if (!exp.isDouble() || !(std::abs(seconds) <= s_maxNumericDate))
            return refuse(VerifyError::Malformed);
        result.expires = QDateTime::fromMSecsSinceEpoch(
                static_cast<qint64>(std::floor(seconds * 1000)), Qt::UTC);
        if (!now.isValid()) {
            qCWarning(lcPushServer)
                    << "PushToken::verify: invalid clock; refusing a token with exp";
            return refuse(VerifyError::Expired);
        }
        if (result.expires <= now)
            return refuse(VerifyError::Expired);
    }
    return result;
}
