// SPDX-License-Identifier: MIT
#pragma once

// Internal: what the server does with a request before any handler runs. Not installed.

#include "pushattachment_p.h"
#include "pushhttpparser_p.h"
#include "pushroute_p.h"
#include "pushwire_p.h"

#include <QtPush/pushtoken.h>

#include <optional>

/*!
    A request routed: either the answer the router gives itself (a refusal, a CORS preflight,
    405 with Allow), or the route to handle with the scope its token needs and the parameters
    parsed from the URL.
*/
struct PushRouting
{
    enum Action {
        Handle, //!< call the route's handler after the access check
        Refuse, //!< refuse with refusal, message, closeAfter and headers
        Respond, //!< answer with status, contentType, body and headers
    };
    Action action = Handle;
    PushRoute route;

    // Refuse, Respond
    PushWire::Refusal refusal = PushWire::Refusal::BadRequest;
    QString message;
    bool closeAfter = false;
    QByteArray headers; //!< complete "Name: value\r\n" lines
    bool countsAsRefusal = false; //!< a Respond that /metrics counts as \c refusal (405)
    int status = 0;
    QByteArray contentType;
    QByteArray body;

    // Handle
    std::optional<PushToken::Scope> scope; //!< what the token needs; none: open to anyone
    QByteArray queryToken; //!< token=, for browsers that cannot set Authorization
    PushResume resume; //!< since=, epoch=, Last-Event-ID
    int waitMs = 0; //!< a long-poll's wait=
};

/*!
    The table of protocol.md's routes: for each kind of path, the methods it takes
    (PushRoute::allows()), the scope a token needs, and the checks that come before any handler,
    in this order: unknown path 404; bad id 400; a foreign Origin on a server without a secret
    403; a browser's CORS preflight 204; a method not allowed 405 with Allow; 503 while
    shutting down (but / and /healthz); since=, epoch= and wait= that do not parse 400.

    Pure: no I/O and no state, so that every row is a unit test (tst_pushrouter). The server
    then checks the token (pushDecideAccess()) and calls the route's handler.
*/
namespace PushRouter {

constexpr int maxWaitSeconds = 60; // protocol.md: Receiving
constexpr int defaultWaitSeconds = 30;

//! The scope a token needs on a route of \a kind; none for the open ones (/ and /healthz) and
//! for those no handler serves (NotFound, BadId).
std::optional<PushToken::Scope> requiredScope(PushRoute::Kind kind);

//! Routes \a request for a server with \a secret that is, or is not, \a shuttingDown.
PushRouting route(const PushHttpRequest &request, const QByteArray &secret, bool shuttingDown);

} // namespace PushRouter
