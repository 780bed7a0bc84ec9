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

QList<PushSession::Message> catchUpMessages(PushAttachment *attachment, bool hasSince,
                                            quint64 since)
{
    QList<PushSession::Message> queued;
    PushClient *client = attachment->client;
    if (!client)
        return queued;
    QVariant data;
    while (client->tryPull(&data))
        queued.append({client->lastMessageId(), data});
    PushSession *session = client->session();
    if (!hasSince || !session)
        return queued;

    QList<PushSession::Message> retained = session->messagesAfter(since);
    // An id beyond the session's newest comes from an earlier life of the server: start afresh.
    const quint64 last = session->lastMessageId();
    attachment->expected = since < last ? since + 1 : last + 1;

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
