// SPDX-License-Identifier: MIT
#include "pushattachment_p.h"

#include <QtPush/pushclient.h>

QByteArray transportName(PushTransport transport)
{
    switch (transport) {
    case PushTransport::None:
        return QByteArrayLiteral("none");
    case PushTransport::WebSocket:
        return QByteArrayLiteral("ws");
    case PushTransport::Sse:
        return QByteArrayLiteral("sse");
    case PushTransport::Poll:
        return QByteArrayLiteral("poll");
    }
    return QByteArrayLiteral("none");
}

PushAttachment::Admit PushAttachment::admit(quint64 id, quint64 *gapFrom, quint64 *gapTo)
{
    if (expected != 0 && id < expected)
        return Admit::Skip;
    const bool gap = expected != 0 && id > expected;
    if (gap) {
        *gapFrom = expected;
        *gapTo = id - 1;
    }
    expected = id + 1;
    return gap ? Admit::GapThenDeliver : Admit::Deliver;
}

QList<PushSession::Message> catchUpMessages(PushAttachment *attachment, const PushResume &resume)
{
    QList<PushSession::Message> queued;
    PushClient *client = attachment->client;
    if (!client)
        return queued;
    QVariant data;
    while (client->tryPull(&data))
        queued.append({client->lastMessageId(), data});
    PushSession *session = client->session();
    if (!resume.hasSince || !session)
        return queued;

    // An id of another epoch, or beyond the session's newest, belongs to an earlier life of the
    // session (a restarted server): the client gets everything this life retains.
    quint64 since = resume.since;
    if ((resume.hasEpoch && resume.epoch != session->epoch()) || since > session->lastMessageId())
        since = 0;
    const QList<PushSession::Message> retained = session->messagesAfter(since);
    attachment->expected = since + 1;

    QList<PushSession::Message> merged;
    merged.reserve(retained.size() + queued.size());
    qsizetype r = 0, q = 0;
    while (r < retained.size() || q < queued.size()) {
        if (q == queued.size() || (r < retained.size() && retained.at(r).id < queued.at(q).id)) {
            merged.append(retained.at(r++));
        } else {
            if (r < retained.size() && retained.at(r).id == queued.at(q).id)
                ++r;
            merged.append(queued.at(q++));
        }
    }
    return merged;
}
