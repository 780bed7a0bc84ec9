// SPDX-License-Identifier: MIT
#pragma once

// Internal: who may do what, decided from a request's token (protocol.md: Access). Not
// installed.

#include <QtPush/pushtoken.h>

#include "pushwire_p.h"

#include <QtCore/QByteArray>
#include <QtCore/QDateTime>
#include <QtCore/QString>

#include <optional>

//! What a request may do, from its token (protocol.md: Access).
struct PushAccess
{
    bool mayPush = true;
};

//! What pushDecideAccess() looks at: the request's credentials and what it asks for.
struct PushAccessInput
{
    QByteArray secret; //!< the server's; empty: no tokens, everything is allowed
    QByteArray authorization; //!< the Authorization header, as sent
    QByteArray queryToken; //!< token= of the URL, decoded
    PushToken::Scope scope = PushToken::Subscribe; //!< what the route requires
    QString session; //!< the session of the path; null for the admin paths
    QString client; //!< the client of the path; null where the path names none
    QDateTime now; //!< wall-clock UTC: a token's exp is wall-clock time by definition
};

//! The decision: allowed with \c access, or refused with \c refusal and \c message.
struct PushAccessDecision
{
    std::optional<PushWire::Refusal> refusal; //!< none: allowed
    QString message;
    PushAccess access;

    bool isAllowed() const { return !refusal; }
};

/*!
    Decides whether a request with \a input's token may do what its route requires: a pure
    function of its input, with no I/O, so that every row of protocol.md's access rules is a
    unit test (tst_pushaccess). A bearer token in the Authorization header wins over token=
    (browsers cannot set headers on WebSocket and EventSource, so they use the query).
*/
PushAccessDecision pushDecideAccess(const PushAccessInput &input);

//! Whether a request from \a origin (its Origin header; empty when it sent none) may be
//! served by a server with \a secret: without a secret only loopback pages are trusted.
bool pushOriginAllowed(const QByteArray &secret, const QByteArray &origin);
