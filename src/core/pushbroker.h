// SPDX-License-Identifier: MIT
#pragma once

#include <QtPush/qtpushcore_export.h>

#include <QtCore/QFuture>
#include <QtCore/QList>
#include <QtCore/QObject>
#include <QtCore/QString>
#include <QtCore/QVariant>

#include <memory>

class PushBrokerHandler;
class PushBrokerPrivate;
struct PushHistory; // pushsession.h: it holds PushSession::Message
struct PushReceipt; // below PushBroker: it holds PushBroker::Error

//! Where a session stands: its epoch and an id in it. epoch 0 means "not known yet" (a remote
//! broker that has not answered).
struct PushPosition
{
    quint64 epoch = 0;
    quint64 id = 0;
};

//! How much history a session keeps (PushSession's retainedMessages, retentionPeriod,
//! maxRetainedBytes); 0 means "no bound" for periodMs and bytes and "keep none" for messages.
struct PushRetention
{
    int messages = 0;
    int periodMs = 0;
    qint64 bytes = 0;
};

//! One message as a broker stores it.
struct PushStoredMessage
{
    quint64 id = 0;
    QVariant data;
    qint64 bytes = 0; //!< what the pusher counted (PushSession::push(message, bytes))
    qint64 pushedAtMs = 0; //!< wall-clock time of the push, ms since the epoch (for age limits)
};

//! A session as a durable broker recovered it in open().
struct PushStoredSession
{
    QVariant key; //!< as first given to PushRegistry::session()
    PushPosition position; //!< its epoch and the newest stored id (also when nothing is retained)
    PushRetention retention;
    quint32 flags = 0; //!< PushBroker::SessionFlag
    QList<PushStoredMessage> retained; //!< oldest first, ids contiguous, all <= position.id
};

/*!
    Where a registry's message ids, epochs and history live: the seam between the fan-out engine
    (PushSession, PushClient) and a store.

    PushMemoryBroker, the default, keeps everything in the process, as the engine always has.
    PushSqliteBroker (QtPush::SqliteBroker) keeps it in a file, so that sessions, epochs, ids and
    retained messages survive a restart. A remote broker (Redis, several nodes) assigns the ids
    itself. Applications only construct a broker, open() it and give it to a PushRegistry; the
    registry and its sessions call the rest.

    Every implementation keeps these promises (tests/core/tst_pushbroker.cpp checks them on each):
    - per session and epoch, ids are 1, 2, 3... with no hole and no reuse: an id that a client or a
      receipt has seen is never given to another message of that epoch;
    - one total order per session: receipts, history and deliveries agree on it;
    - a Durable broker finishes a receipt only once the message would survive kill -9, and no
      client receives a message before that;
    - a session's epoch changes only when the session is removed and made again, or when a remote
      back end lost its stream (PushBrokerHandler::positionChanged());
    - the seam functions never block; open() and close() may.

    How the engine uses it: a broker that AssignsIdsLocally lets the engine number each message
    under the session's mutex, as centrifuge's memory broker numbers under its per-channel lock. A
    Durable one is then told of every message with append() and answers with
    PushBrokerHandler::stored() once it is safe, and only then does the engine deliver it. A remote
    broker (no AssignsIdsLocally) gets every message through publish() and hands publications back
    through PushBrokerHandler::publication(), for the engine to deliver.

    Ownership: a PushRegistry takes its broker at construction and deletes it with itself.
    Threading: the broker lives in its registry's thread and emits its signals there. The seam
    functions are called from any thread, some with the session's mutex held (see each);
    setError() and setWritable() may be called from any thread.
*/
class QTPUSHCORE_EXPORT PushBroker : public QObject
{
    Q_OBJECT
    Q_PROPERTY(bool writable READ isWritable NOTIFY writableChanged)

public:
    enum Error {
        NoError = 0,
        StorageFull, //!< the disk or the store's quota is full; readers are still served
        Unavailable, //!< the store is behind, lost or broken; try again later
        ReadOnly, //!< the store cannot be written (file, directory or file system)
        Locked, //!< another process holds the store
        Corrupt, //!< the store's content is damaged
        UnsupportedVersion, //!< the store was written by a newer version
        NotAStore, //!< the file is not a QtPush store
        IoError, //!< reading or writing failed
    };
    Q_ENUM(Error)

    enum Capability {
        AssignsIdsLocally = 0x1, //!< the engine numbers messages under the session's mutex
        Durable = 0x2, //!< messages survive the process; delivered only once stored
    };
    Q_DECLARE_FLAGS(Capabilities, Capability)
    Q_FLAG(Capabilities)

    enum SessionFlag {
        ServerMade = 0x1, //!< made by a PushServer for a push: the server may expire it when idle
    };

    enum class RemoveReason {
        Deleted, //!< PushRegistry::deleteSession()
        Released, //!< a server forgot an idle session it had made
    };

    ~PushBroker() override;

    virtual Capabilities capabilities() const = 0;

    //! Opens the store and recovers what it holds. Blocks. Call it once, before giving the broker
    //! to a PushRegistry; on false, error() and errorString() say why, naming the store.
    bool open();
    bool isOpen() const;
    //! Stores what was accepted and closes. Blocks until then. ~PushRegistry calls it.
    void close();

    //! Whether pushes are accepted now: false while the disk is full or the back end is lost.
    //! Thread-safe; never blocks.
    bool isWritable() const;
    Error error() const;
    QString errorString() const;

Q_SIGNALS:
    void writableChanged(bool writable);
    void errorOccurred(PushBroker::Error error);

protected:
    explicit PushBroker(QObject *parent = nullptr);

    //! Records an error; emits errorOccurred() in the broker's thread if it changed. Any thread,
    //! also inside append(): the signal is always queued, never emitted from inside the call.
    void setError(Error error, const QString &message);
    //! Emits writableChanged() in the broker's thread if it changed (queued, as setError()).
    //! isWritable() says the new value at once. Any thread.
    void setWritable(bool writable);
    //! The registry that took the broker; null before. Valid until closeBackend() returns.
    PushBrokerHandler *handler() const;

    // The seam. Called by PushRegistry and the engine, never by applications.

    //! Opens the back end and fills \a recovered with the sessions it holds. Blocks.
    virtual bool openBackend(QList<PushStoredSession> *recovered) = 0;
    //! Stores everything accepted (finishing its stored() calls), then closes. Blocks.
    virtual void closeBackend() = 0;
    //! A session was made (not recovered). Returns its position: a local broker draws a random
    //! non-zero epoch and returns {epoch, 0}; a remote one may return {} and report it later with
    //! PushBrokerHandler::positionChanged(). Called with the registry's mutex held.
    virtual PushPosition sessionCreated(const QString &key, const QVariant &id,
                                        const PushRetention &retention, quint32 flags) = 0;
    //! The session was removed from its registry. Called with the registry's mutex held.
    virtual void sessionRemoved(const QString &key, quint64 epoch, RemoveReason reason) = 0;
    //! The session's retention changed. Called with the session's mutex held.
    virtual void retentionChanged(const QString &key, quint64 epoch,
                                  const PushRetention &retention) = 0;
    //! The engine forgot the retained messages below \a oldestKept (its memory budget,
    //! PushSession::trimRetained()). Called with the session's mutex held.
    virtual void retainedTrimmed(const QString &key, quint64 epoch, quint64 oldestKept) = 0;
    //! Durable brokers: stores \a message, numbered by the engine. Called with the session's
    //! mutex held, in id order per session: must not block, call into a registry or session, or
    //! take any lock but a leaf lock of its own. Returns false to refuse the message (the store
    //! is not writable or too far behind); the engine then takes the id back. Once stored, the
    //! broker calls PushBrokerHandler::stored(); if it fails later, discarded().
    virtual bool append(const QString &key, quint64 epoch, const PushStoredMessage &message) = 0;
    //! Remote brokers: publishes and finishes the future with the id and epoch the back end gave,
    //! or with an error. Called without any lock held.
    virtual QFuture<PushReceipt> publish(const QString &key, const QVariant &data,
                                         qint64 bytes) = 0;
    //! Remote brokers: the retained messages after \a afterId. Called without any lock held.
    virtual QFuture<PushHistory> history(const QString &key, quint64 afterId) = 0;

private:
    friend class PushRegistry;
    friend class PushRegistryPrivate;
    friend struct PushSessionState;
    friend class PushSession;
    std::unique_ptr<PushBrokerPrivate> d;
};
Q_DECLARE_OPERATORS_FOR_FLAGS(PushBroker::Capabilities)

//! What a broker made of one published message: its id and epoch, or an error and id 0.
struct PushReceipt
{
    quint64 id = 0;
    quint64 epoch = 0;
    PushBroker::Error error = PushBroker::NoError;
};

/*!
    What a registry hears from its broker. Implemented by the registry; a broker calls it from any
    thread, without any lock of its own held, and never from inside a seam function.
*/
class QTPUSHCORE_EXPORT PushBrokerHandler
{
public:
    //! Durable brokers: every message of the session up to \a upToId is stored.
    virtual void stored(const QString &key, quint64 epoch, quint64 upToId) = 0;
    //! Durable brokers: the messages from \a fromId on could not be stored and are given up; the
    //! session takes their ids back. No client has seen them.
    virtual void discarded(const QString &key, quint64 epoch, quint64 fromId,
                           PushBroker::Error error) = 0;
    //! Remote brokers: a message to deliver to this node's clients of the session.
    virtual void publication(const QString &key, PushPosition position, const QVariant &data,
                             qint64 bytes) = 0;
    //! Remote brokers: the session's position changed (known at last, or a new epoch).
    virtual void positionChanged(const QString &key, PushPosition position) = 0;

protected:
    ~PushBrokerHandler() = default;
};
