// SPDX-License-Identifier: MIT
#pragma once

// Internal: the long-poll transport (protocol.md: Receiving).

#include <QtPush/pushsession.h>

#include <QtCore/QObject>
#include <QtCore/QTimer>

class PushHttpConnection;
class PushServerPrivate;
struct PushAttachment;

/*!
    One long-poll request: answers at once with what the client has pending, or waits up to
    `wait` seconds for the first message, then answers with everything that arrived in that
    event-loop turn, as a JSON array of message objects and gap control frames.
    Ownership: the server owns it; it lives for one request.
*/
class PushLongPoll : public QObject
{
    Q_OBJECT
public:
    PushLongPoll(PushServerPrivate *server, PushAttachment *attachment,
                 PushHttpConnection *connection);

    PushHttpConnection *connection() const { return m_connection; }
    PushAttachment *attachment() const { return m_attachment; }
    void setAttachment(PushAttachment *attachment) { m_attachment = attachment; }
    void start(const QList<PushSession::Message> &catchUp, int waitMs);
    //! Answers now with what has arrived (shutdown, the client deleted or replaced).
    void finish();
    //! The connection went away before the answer: nothing more is taken.
    void release();

private:
    void take(quint64 id, const QVariant &data);
    void onMessage(const QVariant &data);

    PushServerPrivate *const m_server;
    PushAttachment *m_attachment;
    PushHttpConnection *m_connection;
    QMetaObject::Connection m_streaming;
    QTimer m_timer;
    QByteArrayList m_items;
    bool m_finishing = false;
};
