// SPDX-License-Identifier: MIT
#pragma once

#include <QtPush/qtpushserver_export.h>

#include <QtCore/QDateTime>
#include <QtCore/QString>
#include <QtCore/QStringList>

#include <optional>

/*!
    The claims of a QtPush access token: a JWT signed with HS256 (RFC 7519, RFC 7515), as
    docs/protocol.md (Access) describes. Use sign() to issue tokens for your users and verify()
    to check one; PushServer verifies every request with it when it has a secret.

    A value class; thread-safe as any const value.
*/
class QTPUSHSERVER_EXPORT PushToken
{
public:
    enum Scope {
        NoScope = 0,
        Subscribe = 0x1, //!< receive: WebSocket, events, pull
        Push = 0x2,      //!< push over HTTP or WebSocket
        Admin = 0x4,     //!< list and delete sessions and clients
    };
    Q_DECLARE_FLAGS(Scopes, Scope)

    enum class VerifyError {
        Malformed,        //!< not three base64url parts of JSON, or not HS256
        BadSignature,     //!< signed with another secret, or altered
        Expired,          //!< exp is in the past
    };

    QString session;      //!< sub: the session the token is for
    QString client;       //!< client: the one client id it may use; empty for any
    QDateTime expires;    //!< exp; invalid for a token that does not expire
    Scopes scopes;        //!< scope

    //! The token as a compact JWT signed with \a secret.
    QByteArray sign(const QByteArray &secret) const;
    //! Checks \a token against \a secret and the clock \a now; returns its claims, or nullopt
    //! and \a error. Never throws; bounded work for any input.
    static std::optional<PushToken> verify(const QByteArray &token, const QByteArray &secret,
                                           const QDateTime &now = QDateTime::currentDateTimeUtc(),
                                           VerifyError *error = nullptr);
};
Q_DECLARE_OPERATORS_FOR_FLAGS(PushToken::Scopes)
