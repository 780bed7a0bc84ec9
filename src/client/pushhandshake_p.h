// SPDX-License-Identifier: MIT
#pragma once

// Internal: what a failed QWebSocket upgrade says, read by PushReconnectingSocket, the
// connection of PushRemoteClient and PushMonitor.

#include <QtCore/QRegularExpression>
#include <QtNetwork/QAbstractSocket>

//! The HTTP status of a refused WebSocket upgrade, or 0. QWebSocket 6.4 reports a refusal only
//! as ConnectionRefusedError with the text "QWebSocketPrivate::processHandshake: Unhandled http
//! status code: %1 (%2)." (status, reason phrase); the body is dropped. The pattern takes the
//! "%1 (" part alone, so that it also matches a translated text, which keeps the arguments.
inline int refusedHandshakeStatus(QAbstractSocket::SocketError error, const QString &errorString)
{
    if (error != QAbstractSocket::ConnectionRefusedError)
        return 0;
    static const QRegularExpression pattern(QStringLiteral("\\b([1-5]\\d\\d) \\("));
    const QRegularExpressionMatch match = pattern.match(errorString);
    return match.hasMatch() ? match.captured(1).toInt() : 0;
}
