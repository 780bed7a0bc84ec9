// SPDX-License-Identifier: MIT
#pragma once

// Internal: the paths of protocol.md, parsed. Not installed.

#include <QtCore/QByteArray>
#include <QtCore/QString>

struct PushRoute
{
    enum Kind {
        NotFound,
        BadId, //!< a path of ours with an id that is empty, too long or not UTF-8
        Index, //!< /: the demo page
        Health, //!< /healthz
        Metrics, //!< /metrics
        Sessions, //!< /v1/sessions
        Session, //!< /v1/sessions/{session}
        Push, //!< /v1/sessions/{session}/push
        Client, //!< /v1/sessions/{session}/clients/{client}
        WebSocket, //!< .../clients/{client}/ws
        Events, //!< .../clients/{client}/events
        Pull, //!< .../clients/{client}/pull
        AdminEvents, //!< /v1/admin/events: the admin event stream
    };
    Kind kind = NotFound;
    QString session;
    QString client;
    QString problem; // why an id was refused

    static PushRoute parse(const QByteArray &path);
    //! Whether \a id, from a JSON frame rather than a path, is a valid id (protocol.md: Names);
    //! \a problem says why not.
    static bool isValidId(const QString &id, QString *problem);
    //! Whether \a method is allowed on this kind of path.
    bool allows(const QByteArray &method) const;
    //! The Allow header's value (RFC 9110 §10.2.1).
    QByteArray allowHeader() const;
};
