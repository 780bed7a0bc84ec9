// SPDX-License-Identifier: MIT
#pragma once

// Internal: the figures the admin event stream reports (protocol.md: The admin event stream).
// Not installed.

#include <QtCore/QByteArray>
#include <QtCore/QHash>
#include <QtCore/QJsonObject>
#include <QtCore/QString>
#include <QtCore/QStringList>

//! One session as the admin stream describes it: its session object.
struct PushAdminSession
{
    int clients = 0;
    quint64 pushed = 0; // the session's last message id
    double rate = 0; // messages per second over the last tick

    bool operator==(const PushAdminSession &other) const
    {
        return clients == other.clients && pushed == other.pushed && rate == other.rate;
    }
    bool operator!=(const PushAdminSession &other) const { return !(*this == other); }
};

//! One client of a watched session: its client object.
struct PushAdminClient
{
    QByteArray transport;
    int pending = 0;
    qint64 delivered = -1; // -1: not seen by the server (an in-process client)
    qint64 connectedSinceMs = 0;
    qint64 disconnectedSinceMs = 0;

    bool operator==(const PushAdminClient &other) const
    {
        return transport == other.transport && pending == other.pending
                && delivered == other.delivered && connectedSinceMs == other.connectedSinceMs
                && disconnectedSinceMs == other.disconnectedSinceMs;
    }
    bool operator!=(const PushAdminClient &other) const { return !(*this == other); }
};

//! What the server holds now, measured once per tick and shared by every admin stream: for a
//! snapshot every session, for a tick the sessions that changed and those removed.
struct PushAdminState
{
    qint64 timeMs = 0;
    QJsonObject server; // the server figures
    QHash<QString, PushAdminSession> sessions;
    QStringList removed;
    //! For a tick: \c sessions as a JSON array, encoded once for every stream.
    QByteArray sessionsJson;
};

//! \a sessions as a JSON array of session objects: in the order of \a keys when given (a
//! snapshot's, sorted), else in the hash's (a tick's).
QByteArray adminSessionsJson(const QHash<QString, PushAdminSession> &sessions,
                             const QStringList *keys = nullptr);
