// SPDX-License-Identifier: MIT
#pragma once

// Internal: the server's network clients, with the delivery serving each. Not installed.

#include "pushadminfigures_p.h"
#include "pushattachment_p.h"
#include "pushexpiry_p.h"

#include <QtPush/pushsession.h>

#include <QtCore/QHash>
#include <QtCore/QString>

#include <memory>

class PushDelivery;
class PushRegistry;
struct PushServerSettings;

/*!
    The table of network clients (PushAttachment), by session and client id: which delivery
    serves each now, and when each that none serves is deleted (its grace period,
    PushServer::clientGracePeriod()).

    attach() makes the core client if it does not exist, and ends the delivery that served it
    until then (the newest connection wins); detach() starts the grace period; expire() deletes
    the clients whose period ran out. A client deleted any other way (DELETE, the application)
    leaves the table and ends its delivery.

    Invariants: an attachment's owner is the one PushDelivery serving it, or null while it
    waits; a waiting attachment has a deadline in the grace queue, a served one none.
    Deadlines are on the steady clock (pushclock_p.h), read through setSteadyClock()'s clock.

    Ownership: the table owns the attachments (deliveries hold plain pointers and stop using
    them when the table ends them); it owns neither the deliveries nor the core clients. Not
    thread-safe: the server's thread.
*/
class PushClientTable
{
public:
    //! \a context receives the core clients' signals, and lives longer than the table.
    PushClientTable(PushRegistry *registry, const PushServerSettings &settings, QObject *context);
    ~PushClientTable();

    //! Replaces the steady clock (tests); by default PushClock::steadyMs.
    void setSteadyClock(qint64 (*clock)()) { m_steadyClock = clock; }

    /*!
        Attaches client \a clientKey of \a session to \a owner, making the client when it does
        not exist; the delivery that served it until then ends (Replaced). \a catchUp gets what
        the client should receive first (catchUpMessages()). Returns null, and in \a why the
        reason, when the client cannot be made.
    */
    PushAttachment *attach(PushSession *session, const QString &clientKey, PushTransport transport,
                           PushDelivery *owner, const PushResume &resume,
                           QList<PushSession::Message> *catchUp, QString *why);
    //! \a owner no longer serves \a attachment: its grace period starts. Nothing when another
    //! delivery serves it by now.
    void detach(PushAttachment *attachment, PushDelivery *owner);
    //! Deletes the clients whose grace period ran out by \a nowMs (steady clock).
    void expire(qint64 nowMs);
    //! Schedules every waiting client again, after the grace period changed.
    void reschedule();

    PushAttachment *find(const QString &sessionKey, const QString &clientKey) const;
    //! The admin stream's figures of \a client of \a sessionKey.
    PushAdminClient adminClient(const QString &sessionKey, PushClient *client) const;
    qsizetype size() const { return m_attachments.size(); }
    //! Clients waiting for their grace period to end.
    qsizetype waiting() const { return m_graceExpiry.size(); }

private:
    void onClientClosed(const QString &key);

    PushRegistry *const m_registry;
    const PushServerSettings &m_settings;
    QObject *const m_context;
    qint64 (*m_steadyClock)();
    // By attachmentKey(): the length of the session id, '\0', session and client id.
    QHash<QString, std::shared_ptr<PushAttachment>> m_attachments;
    PushDeadlines m_graceExpiry; // by attachment key
};
