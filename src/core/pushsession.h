// SPDX-License-Identifier: MIT
#pragma once

#include <QtPush/pushbroker.h>
#include <QtPush/qtpushcore_export.h>

#include <QtCore/QObject>
#include <QtCore/QVariant>

#include <memory>

class PushClient;
class PushRegistry;
class PushSessionPrivate;

/*!
    A user or a group: a set of clients that every push fans out to.

    push() stores the message once (a QVariant is implicitly shared) and queues it for every
    client of the session; it never waits for a slow client. Clients streaming in the pusher's
    thread receive it before push() returns, as with a direct connection; clients in other threads
    are woken once per thread and batch, not once per message. With a Durable broker
    (PushRegistry::broker()) every client receives it only once it is stored, through its
    thread's inbox: in the pusher's thread too, on a later event-loop turn.

    Ownership: a PushRegistry owns its sessions; PushRegistry::deleteSession() or deleteSelf()
    deletes one with deleteLater(). The session lives in the registry's thread.

    Threading: every public function is thread-safe and none blocks (push() runs the slots of
    same-thread streaming receivers, like an emit). Signals are emitted in the thread that caused
    them.
*/
class QTPUSHCORE_EXPORT PushSession : public QObject
{
    Q_OBJECT
    Q_PROPERTY(QVariant key READ key CONSTANT)
    Q_PROPERTY(QString keyString READ keyString CONSTANT)
    Q_PROPERTY(int maxBuffer READ maxBuffer WRITE setMaxBuffer NOTIFY maxBufferChanged)
    Q_PROPERTY(qint64 maxBufferBytes READ maxBufferBytes WRITE setMaxBufferBytes NOTIFY
                       maxBufferChanged)
    Q_PROPERTY(OverflowPolicy overflowPolicy READ overflowPolicy WRITE setOverflowPolicy NOTIFY
                       overflowPolicyChanged)
    Q_PROPERTY(int retainedMessages READ retainedMessages WRITE setRetainedMessages NOTIFY
                       retentionChanged)
    Q_PROPERTY(int retentionPeriod READ retentionPeriod WRITE setRetentionPeriod NOTIFY
                       retentionChanged)
    Q_PROPERTY(qint64 maxRetainedBytes READ maxRetainedBytes WRITE setMaxRetainedBytes NOTIFY
                       retentionChanged)
    Q_PROPERTY(int count READ count NOTIFY countChanged)
    Q_PROPERTY(quint64 lastMessageId READ lastMessageId)

public:
    //! What a push does to a client whose buffer is full.
    enum OverflowPolicy {
        DropOldest, //!< drop the client's oldest queued message (the default: newest wins)
        DropNewest, //!< keep the queue, drop the new message for that client
    };
    Q_ENUM(OverflowPolicy)

    //! A message as the session retains it.
    struct Message
    {
        quint64 id = 0;
        QVariant data;
    };

    ~PushSession() override;

    QVariant key() const;
    QString keyString() const;

    //! The registry that owns this session.
    PushRegistry *registry() const;

    //! Per-client limit of unconsumed messages, 10 by default (the Go package's
    //! MaxChannelBuffer). A value below 1 is refused with a warning.
    int maxBuffer() const;
    void setMaxBuffer(int maxBuffer);
    //! Per-client limit of the bytes of unconsumed messages, as push() counts them; 0 (the
    //! default) sets none. Past it the overflowPolicy drops messages as for maxBuffer, except
    //! that a message alone in a buffer is always kept, however large. Negative values are
    //! refused with a warning.
    qint64 maxBufferBytes() const;
    void setMaxBufferBytes(qint64 bytes);

    OverflowPolicy overflowPolicy() const;
    void setOverflowPolicy(OverflowPolicy policy);

    //! How many of its newest messages the session keeps for messagesAfter(), so that a client
    //! that reconnects can catch up (protocol.md: since=). 0, the default, keeps none.
    int retainedMessages() const;
    void setRetainedMessages(int messages);
    //! How long a retained message is kept, in milliseconds; 0 (the default) keeps it until
    //! retainedMessages newer ones push it out.
    int retentionPeriod() const;
    void setRetentionPeriod(int milliseconds);
    //! How many bytes of messages, as push() counts them, the session retains at most; the
    //! oldest go first, but the newest message is always kept. 0 (the default) sets no bound.
    qint64 maxRetainedBytes() const;
    void setMaxRetainedBytes(qint64 bytes);
    //! The bytes the retained messages count now. Thread-safe; never blocks.
    qint64 retainedBytes() const;
    //! Forgets the oldest retained messages until at most \a maxBytes remain (0 forgets all)
    //! and returns how many bytes it freed. A client that asks messagesAfter() for them later
    //! sees by \a oldestRetained that they are gone. Thread-safe; never blocks.
    qint64 trimRetained(qint64 maxBytes);
    //! The retained messages with an id above \a afterId, oldest first. \a oldestRetained is set
    //! to the id of the oldest message still retained (lastMessageId() + 1 when none is), so a
    //! caller can tell which of the messages it asked for are gone. Thread-safe; never blocks
    //! for longer than a copy of the list.
    QList<Message> messagesAfter(quint64 afterId, quint64 *oldestRetained = nullptr) const;

    //! Returns the client with \a id, creating it in the calling thread if it does not exist.
    //! A null or empty id returns nullptr with a warning. The session owns the client; see
    //! PushClient for how long the pointer lives.
    PushClient *newClient(const QVariant &id);
    //! The client with \a id, or nullptr.
    PushClient *findClient(const QVariant &id) const;
    bool exists(const QVariant &clientId) const;
    //! Closes and removes the client; it is deleted in its own thread. Safe on a missing id.
    void deleteClient(const QVariant &clientId);
    //! The Go package's older Session.Pull(clientID): PushClient::pull() on the client with
    //! \a clientId. Blocks the calling thread, which must be the client's, for up to \a timeoutMs
    //! (-1: forever); sets \a ok to false and returns an invalid QVariant on timeout, when the
    //! client is closed or when there is no such client (with a warning).
    QVariant pull(const QVariant &clientId, int timeoutMs = -1, bool *ok = nullptr);
    //! PushClient::tryPull() on the client with \a clientId: false when nothing is queued or
    //! there is no such client. Never blocks; call it from the client's thread.
    bool tryPull(const QVariant &clientId, QVariant *message);
    //! The ids of all clients, as they were given to newClient(), ordered by their string form.
    QVariantList clients() const;
    int count() const;

    //! Queues \a message for every client and returns its id: positive and strictly increasing
    //! within the session. Never blocks; returns 0 on a deleted session (with a warning), when
    //! the registry's broker refuses the message (PushBroker::isWritable() false; nothing was
    //! queued and no id taken) or when a remote broker numbers it (use publish() to learn the
    //! id). With a Durable broker the id is given at once but clients receive the message only
    //! once it is stored (see publish()).
    quint64 push(const QVariant &message);
    //! As push(message), with what \a message costs in memory, in \a bytes, counted by the
    //! caller against maxBufferBytes and maxRetainedBytes. push(message) counts
    //! estimateBytes(message) when one of those bounds is set, and 0 otherwise.
    quint64 push(const QVariant &message, qint64 bytes);
    //! As push(), and tells when the registry's broker has taken the message: the future
    //! finishes with its id and epoch once it is stored (PushMemoryBroker: before publish()
    //! returns; PushSqliteBroker: after the transaction that holds it is committed; a remote
    //! broker: when the back end answers), or with an error and id 0 (PushBroker::StorageFull,
    //! Unavailable). With a Durable broker no client receives the message before the future
    //! finishes. \a bytes as for push(message, bytes); -1 counts as push(message) does.
    //! Thread-safe; never blocks.
    QFuture<PushReceipt> publish(const QVariant &message, qint64 bytes = -1);
    //! The retained messages after \a afterId, the session's position and its oldest retained
    //! id, as messagesAfter() gives them. Finished on return when the broker assigns ids
    //! locally; a remote broker finishes it when its back end answers. Thread-safe; never blocks.
    QFuture<PushHistory> requestHistory(quint64 afterId) const;
    //! About how many bytes of memory \a message holds: the QVariant and, for strings, byte
    //! arrays, lists and maps nested in it, their heap blocks. Thread-safe.
    static qint64 estimateBytes(const QVariant &message);
    //! The id of the newest message clients can see, 0 before the first. With a Durable broker,
    //! the newest stored one: push() may have given higher ids already.
    quint64 lastMessageId() const;
    //! A random number fixed for the session's lifetime, drawn by the registry's broker. Message
    //! ids compare only within one epoch: a session deleted and made again counts from 1 under
    //! a new epoch, and so does one made again by a restarted process unless the broker is
    //! Durable (then the session, its epoch and its ids survive). Thread-safe.
    quint64 epoch() const;

    //! Removes the session from its registry (PushRegistry::deleteSession()).
    void deleteSelf();

Q_SIGNALS:
    void maxBufferChanged();
    void overflowPolicyChanged();
    void retentionChanged();
    void countChanged();
    void clientAdded(const QString &clientKey);
    void clientRemoved(const QString &clientKey);

private:
    friend class PushRegistry;
    friend class PushRegistryPrivate;
    friend class PushClient;
    PushSession(const QVariant &key, PushRegistry *registry);
    std::unique_ptr<PushSessionPrivate> d;
};

//! A session's history as PushSession::requestHistory() gives it.
struct PushHistory
{
    PushPosition position; //!< the session's epoch and the newest id a client may see
    quint64 oldestRetained = 0; //!< position.id + 1 when nothing is retained
    QList<PushSession::Message> messages; //!< the ids above the one asked for, oldest first
    PushBroker::Error error = PushBroker::NoError;
};
