// SPDX-License-Identifier: MIT
#pragma once

// Internal, header-only: the constants of the wire (docs/protocol.md) that the server and the
// client both use, written once. Never installed and never part of a public header: the
// QtPushServer and QtPushClient targets add this folder to their private include paths.

namespace PushProtocol {

// protocol.md: Names: a session or client id is 1 to 256 bytes of UTF-8.
constexpr int maxIdBytes = 256;

// WebSocket close codes (RFC 6455 §7.4.1; protocol.md: Errors, WebSocket details).
constexpr int closePolicyViolated = 1008; //!< a refusal: bad request, token, scope, rate
constexpr int closeTooBig = 1009; //!< a message or header over its limit
constexpr int closeInternalError = 1011;
constexpr int closeTryAgainLater = 1013; //!< unavailable: shutting down or at a limit
// Our own (RFC 6455 §7.4.2 leaves 4000-4999 to applications): a client that gets one should
// not reconnect by itself.
constexpr int closeClientDeleted = 4000; //!< an operator deleted the client
constexpr int closeReplaced = 4001; //!< the same client id connected again elsewhere

// The JSON `code` of an error body or frame (protocol.md: Errors).
constexpr char errorBadRequest[] = "bad_request";
constexpr char errorUnauthorized[] = "unauthorized";
constexpr char errorForbidden[] = "forbidden";
constexpr char errorNotFound[] = "not_found";
constexpr char errorMethodNotAllowed[] = "method_not_allowed";
constexpr char errorTooLarge[] = "too_large";
constexpr char errorHeadersTooLarge[] = "headers_too_large";
constexpr char errorTimeout[] = "timeout";
constexpr char errorRateLimited[] = "rate_limited";
constexpr char errorUnavailable[] = "unavailable";
constexpr char errorInsufficientStorage[] = "insufficient_storage";
constexpr char errorInternal[] = "internal";

// protocol.md: The admin event stream.
constexpr char adminEventsPath[] = "/v1/admin/events";

} // namespace PushProtocol
