// SPDX-License-Identifier: MIT
#pragma once

#include <QtCore/QString>
#include <QtCore/QVariantMap>

class PushClient;
class PushRegistry;
class QObject;

/*!
    All that the parts of the notification bus share: the name of a session and the shape of its
    messages. No part includes another part's header.

    A message is a QVariantMap with "kind", "source" (who pushed it, for people) and "time" (a
    QDateTime), and by kind:
    - "notification": "level" ("info", "success" or "error"), "title" and "text";
    - "progress": "text", "done" and "total";
    - "cleared": nothing more; the user dismissed the notifications.
*/
namespace Notification {

//! The session every part names: "notifications".
QString session();

QVariantMap notification(const QString &source, const QString &level, const QString &title,
                         const QString &text);
QVariantMap progress(const QString &source, const QString &text, int done, int total);
QVariantMap cleared(const QString &source);

/*!
    A new client of the session in \a registry for a part called \a part, with an id of its own
    ("list-1", "list-2", ...), so that two instances of one part never share a client. Its
    messages start with the next push.

    The session owns the client; it is deleted (PushClient::deleteSelf()) when \a owner is
    destroyed, or earlier with its session. Call from the thread \a owner lives in.
*/
PushClient *join(PushRegistry *registry, const QString &part, QObject *owner);

} // namespace Notification
