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
        Push = 0x2, //!< push over HTTP or WebSocket
        Admin = 0x4, //!< list and delete sessions and clients
    };
    Q_DECLARE_FLAGS(Scopes, Scope)

    enum class VerifyError {
        //! longer than MaxSize; not three canonical base64url parts of JSON objects; header
        //! not HS256, or with "crit"; sub missing or empty; a claim of the wrong type
        Malformed,
        BadSignature, //!< signed with another secret, or altered
        Expired, //!< exp is not after now
        NoSecret, //!< the secret is empty: the caller's mistake, no token can pass
    };

    //! The longest token verify() looks at, in bytes; it refuses longer ones unread.
    static constexpr qsizetype MaxSize = 8 * 1024;

    QString session; //!< sub: the session the token is for; never empty in a valid token
    QString client; //!< client: the one client id it may use; empty for any
    QDateTime expires; //!< exp, in UTC; invalid for a token that does not expire
    Scopes scopes; //!< scope; words other than subscribe, push and admin grant nothing

    //! The token as a compact JWT signed with \a secret. exp is written in whole seconds
    //! (milliseconds are dropped); client and exp are left out when empty or invalid. Returns
    //! an empty array, with a warning, for an empty \a secret or session.
    QByteArray sign(const QByteArray &secret) const;
    //! Checks \a token against \a secret and the clock \a now; returns its claims, or nullopt
    //! and sets \a error (which is left alone on success). The signature is checked before
    //! any claim is read. Never throws; bounded work for any input (see MaxSize).
    static std::optional<PushToken> verify(const QByteArray &token, const QByteArray &secret,
                                           const QDateTime &now = QDateTime::currentDateTimeUtc(),
                                           VerifyError *error = nullptr);
};
Q_DECLARE_OPERATORS_FOR_FLAGS(PushToken::Scopes)
