// SPDX-License-Identifier: MIT
#include "pushaccess_p.h"

#include <QtCore/QUrl>
#include <QtNetwork/QHostAddress>

namespace {

PushAccessDecision refused(PushWire::Refusal refusal, const QString &message)
{
    PushAccessDecision decision;
    decision.refusal = refusal;
    decision.message = message;
    return decision;
}

} // namespace

bool pushOriginAllowed(const QByteArray &secret, const QByteArray &origin)
{
    if (!secret.isEmpty() || origin.isEmpty())
        return true;
    // Without a secret only loopback is trusted: a page from elsewhere that a local browser
    // runs must not reach the sessions (protocol.md: Access).
    const QString host = QUrl(QString::fromLatin1(origin)).host();
    return host == QLatin1String("localhost") || QHostAddress(host).isLoopback();
}

PushAccessDecision pushDecideAccess(const PushAccessInput &input)
{
    if (input.secret.isEmpty())
        return {};
    QByteArray token;
    const QByteArray &authorization = input.authorization;
    if (authorization.size() > 7
        && authorization.first(7).compare("Bearer ", Qt::CaseInsensitive) == 0)
        token = authorization.mid(7).trimmed();
    else
        token = input.queryToken; // browsers cannot set headers on WebSocket and EventSource
    if (token.isEmpty())
        return refused(PushWire::Refusal::Unauthorized, QStringLiteral("a token is required"));
    PushToken::VerifyError verifyError;
    const std::optional<PushToken> claims
            = PushToken::verify(token, input.secret, input.now, &verifyError);
    if (!claims) {
        return refused(PushWire::Refusal::Unauthorized,
                       verifyError == PushToken::VerifyError::Expired
                               ? QStringLiteral("the token has expired")
                               : QStringLiteral("the token is not valid"));
    }
    // admin is the operator's scope: it may do anything on any session.
    if (claims->scopes.testFlag(PushToken::Admin))
        return {};
    if (input.scope == PushToken::Admin || !claims->scopes.testFlag(input.scope)) {
        return refused(PushWire::Refusal::Forbidden,
                       QStringLiteral("the token's scope does not allow this"));
    }
    if (claims->session != input.session)
        return refused(PushWire::Refusal::Forbidden,
                       QStringLiteral("the token is for another session"));
    if (!input.client.isEmpty() && !claims->client.isEmpty() && claims->client != input.client)
        return refused(PushWire::Refusal::Forbidden,
                       QStringLiteral("the token is for another client"));
    PushAccessDecision decision;
    decision.access.mayPush = claims->scopes.testFlag(PushToken::Push);
    return decision;
}
