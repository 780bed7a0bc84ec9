// SPDX-License-Identifier: MIT
// The server's housekeeping: timeouts, expiry of sessions and clients, and the admin streams'
// ticks, once a second (docs/server.md: Scaling).
//
// Its cost must grow with what changed or fell due in that second, not with what exists: a
// server holding 100,000 retained sessions would otherwise stall its event loop for a walk over
// all of them every second, and once more for every admin stream. So the registry reports the
// sessions that changed (PushChangeJournal), deadlines wait in PushDeadlines, and the admin
// streams get the sessions whose figures changed, measured against one record the server keeps
// (PushAdminHub).

#include "pushchangejournal_p.h"
#include "pushclock_p.h"
#include "pushserver_p.h"

void PushServerPrivate::housekeeping()
{
    const qint64 now = PushClock::steadyMs();
    connections.sweep(now);
    // Sessions the server made that have no clients left and nothing retained: without this,
    // every id anyone ever pushed to would stay in memory. A session is looked at when it
    // changed, and when what it retains may have aged out.
    const QStringList changed = changes->takeChanged();
    for (const QString &sessionKey : changed)
        sessions.review(sessionKey, now, true);
    const QStringList due = sessions.takeDue(now);
    for (const QString &sessionKey : due)
        sessions.review(sessionKey, now, false);
    clients.expire(now);
    admin.tick(changed);
}
