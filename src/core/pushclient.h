// SPDX-License-Identifier: MIT
#pragma once

#include <QtPush/qtpushcore_export.h>

#include <QtCore/QObject>
#include <QtCore/QVariant>

#include <memory>

class PushSession;
class PushClientPrivate;
struct PushSessionState;

/*!
    A receiver of a session's messages: one device, window, connection or worker.

    A client is created by PushSession::newClient() and lives in the thread that created it; it
    emits there and moveToThread() moves it with its queued messages. Every message pushed to its
    session after the client was created reaches it once, in id order. A message is
    consumed once: by tryPull()/pull(), or by the emission of messageReceived() as soon as anything
    is connected to that signal (streaming starts with what was queued before).

    The client holds at most PushSession::maxBuffer unconsumed messages; past that the session's
    overflowPolicy drops one and overflowed() tells how many were lost.

    Ownership: the session owns its clients. PushSession::deleteClient(), deleteSelf() and the
    deletion of the session delete it with deleteLater() in its own thread; hold the pointer in a
    QPointer across event loops. Deleting it directly from its own thread is allowed too.

    Threading: close(), isClosed(), pending(), lastMessageId(), key() and keyString() are
    thread-safe. tryPull() and pull() are called from the client's thread, which is also where
    the signals are emitted. Delete a client before the thread it lives in finishes: Qt runs no
    deleteLater() in a finished thread.
*/
class QTPUSHCORE_EXPORT PushClient : public QObject
{
    Q_OBJECT
    Q_PROPERTY(QVariant key READ key CONSTANT)
    Q_PROPERTY(QString keyString READ keyString CONSTANT)
    Q_PROPERTY(int pending READ pending NOTIFY pendingChanged)
    Q_PROPERTY(bool closed READ isClosed NOTIFY closed)
    Q_PROPERTY(quint64 lastMessageId READ lastMessageId)

public:
    ~PushClient() override;

    QVariant key() const;
    QString keyString() const;

    //! The session this client belongs to; nullptr once the session was deleted. Thread-safe
    //! only while the session is not being deleted concurrently.
    PushSession *session() const;

    //! Unconsumed messages queued for this client, at most PushSession::maxBuffer. Thread-safe.
    //! pendingChanged() announces changes, in the client's thread.
    int pending() const;

    //! The id of the message most recently consumed (pulled or emitted); 0 before the first.
    quint64 lastMessageId() const;

    //! Takes the oldest queued message. Never blocks; returns false when none is queued or the
    //! client is closed. Call it from the client's thread.
    bool tryPull(QVariant *message);

    //! Waits up to \a timeoutMs (-1: forever) for a message and returns it. Blocks the calling
    //! thread, which must be the client's (typically a worker); sets \a ok to false and returns
    //! an invalid QVariant on timeout or when the client is or becomes closed.
    QVariant pull(int timeoutMs = -1, bool *ok = nullptr);

    //! Stops delivery, drops what is queued and wakes a blocked pull(). The client stays in its
    //! session until deleted. Thread-safe; emits closed() once.
    void close();
    bool isClosed() const;

    //! Removes the client from its session (PushSession::deleteClient()). Thread-safe.
    void deleteSelf();

Q_SIGNALS:
    void messageReceived(const QVariant &message);
    //! \a dropped messages meant for this client were lost because its buffer was full.
    void overflowed(int dropped);
    void closed();
    //! pending() changed: messages arrived, were pulled or streamed, dropped (a lowered
    //! maxBuffer) or discarded by close(). Emitted in the client's thread, at most once per
    //! event-loop turn, when the value differs from the one last announced; never from inside
    //! push(), tryPull() or pull(), so a slot may push or pull freely. Costs nothing until
    //! something connects to it.
    void pendingChanged();

protected:
    bool event(QEvent *event) override;
    void connectNotify(const QMetaMethod &signal) override;
    void disconnectNotify(const QMetaMethod &signal) override;

private:
    friend class PushSession;
    friend struct PushSessionState;
    explicit PushClient(std::unique_ptr<PushClientPrivate> d);
    std::unique_ptr<PushClientPrivate> d;
};
