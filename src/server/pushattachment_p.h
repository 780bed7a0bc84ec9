// SPDX-License-Identifier: MIT
#pragma once

// Internal: the server's record of each network client, whichever transport it uses now.

#include <QtPush/pushsession.h>

#include <QtCore/QByteArray>
#include <QtCore/QHash>
#include <QtCore/QPointer>
#include <QtCore/QString>

#include <memory>

class PushClient;
class PushDelivery;

enum class PushTransport { None, WebSocket, Sse, Poll };

//! The key of a network client among the server's attachments.
inline QString attachmentKey(const QString &session, const QString &client)
{
    // The length first: ids may hold any character, NUL included, so a separator alone would
    // let session "a\0b" with client "c" and session "a" with client "b\0c" share one key.
    return QString::number(session.size()) + QChar(0) + session + client;
}
QByteArray transportName(PushTransport transport);

/*!
    One network client of the server: its core PushClient, the transport attached to it now,
    and its cursor, the id it should see next, which turns a jump in ids into a gap frame
    (protocol.md: Receiving). It survives its connections for the grace period.
*/
struct PushAttachment
{
    QPointer<PushClient> client;
    QString sessionKey;
    QString clientKey;
    QByteArray sessionJson; // the session id as a JSON string, encoded once
    quint64 sessionEpoch = 0; // ids are unique only within it
    PushTransport transport = PushTransport::None;
    PushDelivery *owner = nullptr; // the delivery serving it now; null while it waits
    quint64 expected = 0; // the next id due; 0 until the first message (nothing known)
    qint64 detachedAtMs = 0; // when its last connection ended (wall clock, shown); 0 while attached
    qint64 detachedSteadyMs = 0; // the same on the steady clock, for the grace period
    qint64 connectedSinceMs = 0;
    quint64 delivered = 0;

    enum class Admit { Skip, Deliver, GapThenDeliver };
    //! Decides what to do with message \a id: skip it (seen already), deliver it, or first
    //! report [\a gapFrom, \a gapTo] as lost.
    Admit admit(quint64 id, quint64 *gapFrom, quint64 *gapTo);
};

//! Where a connecting client asks to resume (protocol.md: since=, Last-Event-ID, epoch=).
struct PushResume
{
    bool hasSince = false;
    quint64 since = 0;
    bool hasEpoch = false;
    quint64 epoch = 0;
};

/*!
    Merges what a client should receive on (re)connecting: its own queued messages and, when it
    asked for `since`, the session's retained ones, in id order and without duplicates.
*/
QList<PushSession::Message> catchUpMessages(PushAttachment *attachment, const PushResume &resume);
