// SPDX-License-Identifier: MIT
// Conveniences for code ported from the Go package's older API, which named a client by its id
// on the session (Session.Pull(clientID)) and made a session with its first client and buffer
// size (NewSession(sessionID, clientID, maxChannelBuffer)). Kept apart from the engine: they
// only combine public calls. docs/core.md maps the older API row by row.
#include <QtPush/pushclient.h>
#include <QtPush/pushregistry.h>
#include <QtPush/pushsession.h>

#include "pushcorelogging_p.h"

PushSession *PushRegistry::session(const QVariant &id, const QVariant &firstClientId, int maxBuffer)
{
    if (maxBuffer < 1 || firstClientId.toString().isEmpty()) {
        qCWarning(lcPushCore) << "PushRegistry::session: refusing client id" << firstClientId
                              << "and buffer" << maxBuffer << "for session" << id
                              << "(a non-empty id and a buffer of at least 1)";
        return nullptr;
    }
    PushSession *created = session(id);
    if (!created)
        return nullptr;
    // The buffer first, so that the client never holds more than the caller asked for.
    created->setMaxBuffer(maxBuffer);
    if (!created->newClient(firstClientId))
        return nullptr; // the session was deleted meanwhile; newClient() said so
    return created;
}

QVariant PushSession::pull(const QVariant &clientId, int timeoutMs, bool *ok)
{
    if (ok)
        *ok = false;
    // The client can be deleted only in its own thread, which is this one while we wait (a
    // deleteClient() from elsewhere closes it, which wakes pull()), so the pointer stays valid.
    PushClient *client = findClient(clientId);
    if (!client) {
        qCWarning(lcPushCore) << "PushSession::pull: no client" << clientId << "in session"
                              << keyString();
        return {};
    }
    return client->pull(timeoutMs, ok);
}

bool PushSession::tryPull(const QVariant &clientId, QVariant *message)
{
    PushClient *client = findClient(clientId);
    return client && client->tryPull(message);
}
