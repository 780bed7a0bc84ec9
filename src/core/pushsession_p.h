// SPDX-License-Identifier: MIT
#pragma once

// Internal: the fan-out engine shared by PushSession and PushClient. Not installed.
//
// A push takes the session mutex once, gives the message its id and appends it once to the
// inbox of every receiving thread (a PushThreadGroup), not to every client: a thread is woken
// once per batch, then hands each message to each of its clients in that thread, where a
// streaming client emits it at once and any other client queues it. A push from a thread whose
// own inbox is empty delivers to that thread's clients directly, without a queued hop. Ids are
// assigned and inboxes filled under the one mutex, so every client sees ids in increasing order.
//
// Bytes: every message carries what it costs in memory (PushSession::push(message, bytes); 0
// when nobody counts). Beside the message counts, the engine keeps these byte bounds:
// - a client's queue holds at most maxBufferBytes, and so does each inbox, except that one
//   message alone is always kept (a message larger than the bound still reaches its clients);
// - the retained list holds at most retainLimitBytes, the same exception included, and
//   retainedBytes is the sum of its messages' bytes, kept exact under the mutex;
// - a message dropped for a byte bound is reported like one dropped for the count: it joins
//   the inbox's dropped run or the client's droppedUnreported, so the client learns of it.
// An inbox that drops its newest message (DropNewest) drops every later one until it is
// drained, so that its ids and its dropped run stay contiguous.
//
// PushClient::pendingChanged: whoever changes a client's queue (enqueue, a pull, a flush, close)
// calls notePendingChanged(). Until something connects to that signal it is one relaxed atomic
// load. Once watched, the first change of a turn posts one event to the client, in its thread,
// which reads pending() and emits if the value differs from the last one it announced: one
// signal per event-loop turn however many messages arrived, and no lock or signal on the fan-out
// path itself. notePendingChanged() reads client->client, so it runs where that is stable: in
// the client's thread or under the session mutex (see PushClientState). Its postEvent() may run
// with the session mutex held, as the inbox's wake-up post does; Qt's posted-event lock is taken
// inside ours and never the other way round. The event's handler takes the session mutex only
// through pending(), from the event loop, where no code of ours holds it (deliveries emit
// without it, so even a nested event loop in a slot is safe).
//
// Change marks: a push, and a client added or removed, also mark the session as changed for the
// registry's change journals (pushchangejournal_p.h), which the server drains once a second
// instead of walking every session. A marked session pays two relaxed loads per push; the first
// change after a drain takes the hub's mutex once. The mark follows the change (after or inside
// the session mutex), and a drain clears marks before its consumer reads the sessions, so no
// change goes unreported. Lock order: a session mutex, then the hub's mutex; never the reverse.
//
// Brokers (pushbroker.h): the session's mode comes from its registry's broker when the session is
// made and never changes, so push() reads it without the mutex.
// - Memory (PushMemoryBroker, AssignsIdsLocally without Durable): everything above, untouched;
//   push() pays one byte test of mode and never touches the broker.
// - Durable (AssignsIdsLocally | Durable): push() numbers under the mutex as always and hands the
//   message to broker->append() under the same mutex, so the broker sees every session's messages
//   in id order. A refused message takes no id (lastId is not advanced). An accepted one waits in
//   unstored and reaches no inbox, client, answer or history until the broker calls stored():
//   storedUpTo() then moves it to the inboxes, so delivery always takes the queued path, also in
//   the pusher's own thread. discarded() gives the ids from its fromId back (discardFrom()).
//   Invariant D: nothing a client can observe (deliveries, afterId of a new client,
//   lastMessageId(), messagesAfter(), requestHistory()) shows an id above storedId;
//   visibleIdLocked() is the one place that says which id that is. So after a crash no id anybody
//   saw is given again. storedUpTo() works in three steps: raise storedId (visible), finish the
//   receipts, then hand the messages to the inboxes; so a receipt is finished before any client
//   can receive its message, and a finished receipt's id is already visible.
// - Remote (no AssignsIdsLocally): the broker numbers; push() forwards to broker->publish()
//   without the mutex and returns 0 (see PushRegistryPrivate::publication()).
// Lock order, whole: the registry's mutex, then a session's storeMutex (storedUpTo() only), then
// its mutex, then a broker's leaf lock (inside append(), retentionChanged(), retainedTrimmed()),
// then the change hub's mutex. A broker calls its handler (stored(), discarded()) with none of
// its locks held; the handler takes the registry's mutex only to find the session and lets it go
// before taking the session's. Receipt futures are finished outside every lock but storeMutex:
// their continuations may run inline, and may push (which never takes storeMutex).

#include <QtPush/pushsession.h>

#include "pushchangejournal_p.h"

#include <QtCore/QList>
#include <QtCore/QMap>
#include <QtCore/QMutex>
#include <QtCore/QObject>
#include <QtCore/QPromise>
#include <QtCore/QWaitCondition>

#include <atomic>
#include <chrono>
#include <memory>
#include <vector>

class PushClient;
class QThread;
struct PushThreadGroup;

struct PushMessage
{
    PushMessage() = default;
    PushMessage(quint64 id, const QVariant &data, qint64 bytes = 0)
        : id(id), data(data), bytes(bytes)
    { }
    quint64 id = 0;
    QVariant data; // implicitly shared: one copy of the payload, however many clients hold it
    qint64 bytes = 0; // what the payload costs, as the pusher counted it
};
Q_DECLARE_TYPEINFO(PushMessage, Q_RELOCATABLE_TYPE);

// The engine's clock for retention periods.
inline qint64 steadyMilliseconds()
{
    using namespace std::chrono;
    return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

// One client's side of the engine. It outlives the PushClient object while the engine still
// refers to it, which makes a late delivery or close() on a deleted client harmless.
struct PushClientState
{
    PushClientState(const QVariant &key, const QString &keyString) : key(key), keyString(keyString)
    { }

    // The fields every delivery reads come first, to share a cache line.

    // Guarded by the session mutex. client is set and cleared in the client's own thread.
    PushClient *client = nullptr;
    quint64 afterId = 0; // messages with an id up to this one were pushed before the client joined

    // Any thread.
    std::atomic<bool> closed{false};
    std::atomic<bool> receiversChanged{true};
    std::atomic<int> queued{0};
    std::atomic<quint64> lastId{0};
    std::atomic<bool> watchesPending{false}; // something connected to pendingChanged, ever
    std::atomic<bool> pendingPosted{false}; // a pending event is on its way to the client
    std::atomic<int> notifiedPending{-1}; // last value pendingChanged announced; -1: none yet

    // Owned by the group's thread; guarded by the session mutex while homeless.
    bool streaming = false;
    int droppedUnreported = 0;
    QList<PushMessage> queue;
    qint64 queuedBytes = 0; // the sum of queue's bytes
    qsizetype memberIndex = -1; // where it stands in its group's members, for O(1) removal

    // Guarded by the session mutex.
    std::shared_ptr<PushThreadGroup> group; // null while moving between threads ("homeless")

    const QVariant key;
    const QString keyString;
};
using PushClientStatePtr = std::shared_ptr<PushClientState>;

// Defined in pushclient.cpp: posts the event that makes a watched client compare and announce
// pending(), unless one is on its way already.
void postPendingChanged(PushClientState *client);

// See the top of this file. Inline, so that an unwatched client pays one relaxed load.
inline void notePendingChanged(PushClientState *client)
{
    if (client->watchesPending.load(std::memory_order_relaxed))
        postPendingChanged(client);
}

// The clients of one session that live in one thread, and the messages on their way to them.
struct PushThreadGroup : std::enable_shared_from_this<PushThreadGroup>
{
    QThread *thread = nullptr;
    QObject *dispatcher = nullptr; // lives in thread; drains the inbox when woken

    // Guarded by the session mutex.
    QList<PushMessage> inbox; // ids strictly increasing and contiguous
    qint64 inboxBytes = 0; // the sum of inbox's bytes
    quint64 droppedFirst = 0; // ids dropped from the inbox since the last drain (a contiguous run)
    quint64 droppedLast = 0;
    bool wakePosted = false;
    int waiters = 0;
    QWaitCondition wakeCondition;
    std::atomic<bool> hasInbox{false};
    std::atomic<bool> needsPrune{false}; // a member was closed

    // Owned by thread. Entries are cleared, not removed (the list is compacted later), so that
    // a delivery may iterate it while slots add or delete clients.
    QList<PushClientStatePtr> members;
    qsizetype liveMembers = 0; // entries that are not cleared
    QList<PushClientStatePtr> removed; // cleared during a delivery; freed after it
    bool draining = false;
    bool dispatching = false; // inside the dispatcher's own event handler
    bool needsSweep = false; // some member has overflows to report or receivers to re-check
};
using PushThreadGroupPtr = std::shared_ptr<PushThreadGroup>;

// Everything a session's clients share with it. Held by the session and by every client, so
// that a client outliving its session (until its deleteLater runs) stays safe.
struct PushSessionState : std::enable_shared_from_this<PushSessionState>
{
    ~PushSessionState();

    mutable QMutex mutex;
    PushSession *session = nullptr; // cleared when the session object is destroyed
    quint64 lastId = 0; // the newest id given; Durable: possibly not stored yet
    // Set before the session is published and constant after: read without the mutex.
    enum class Mode : quint8 { Memory, Durable, Remote };
    Mode mode = Mode::Memory;
    int maxBuffer = 10;
    qint64 maxBufferBytes = 0; // 0: no byte bound
    std::atomic<bool> countsBytes{false}; // a byte bound is set: push(message) estimates
    PushSession::OverflowPolicy policy = PushSession::DropOldest;
    bool shutDown = false;
    // The newest messages, for PushSession::messagesAfter(); ids contiguous, oldest first.
    struct Retained
    {
        PushMessage message;
        qint64 pushedAtMs; // steady clock; only read when retentionPeriodMs is set
    };
    QList<Retained> retained;
    qint64 retainedBytes = 0; // the sum of retained's bytes
    int retainLimit = 0;
    qint64 retainLimitBytes = 0; // 0: no byte bound
    int retentionPeriodMs = 0;
    void pruneRetainedLocked(qint64 nowMs);
    void dropRetainedLocked(qsizetype count); // the oldest count
    void updateCountsBytesLocked()
    {
        countsBytes.store(maxBufferBytes > 0 || retainLimitBytes > 0, std::memory_order_relaxed);
    }
    QMap<QString, PushClientStatePtr> clients;
    QList<PushThreadGroupPtr> groups;
    QList<PushClientStatePtr> homeless;

    quint64 push(const QVariant &data, qint64 bytes);

    // The broker seam (see the top of this file). broker, epoch and flags are set before the
    // session is published. broker stays valid while !shutDown: the registry shuts its sessions
    // down before it deletes its broker. epoch is constant for a broker that AssignsIdsLocally.
    PushBroker *broker = nullptr;
    std::atomic<quint64> epoch{0};
    quint32 flags = 0; // PushBroker::SessionFlag
    // Durable only, guarded by the mutex. storedId <= lastId; unstored holds exactly the ids
    // storedId+1..lastId, in order, each also in retained if retention kept it.
    quint64 storedId = 0;
    // Held across storedUpTo() (outside the mutex, then around it): one store report at a time,
    // so that deliveries reach the inboxes in id order. Lock order: storeMutex, then mutex.
    QMutex storeMutex;
    QList<PushMessage> unstored;
    // Durable only: publish()'s promises for ids in unstored, in id order (push() adds none).
    struct PendingReceipt
    {
        quint64 id;
        QPromise<PushReceipt> promise;
    };
    std::vector<PendingReceipt> receipts;
    quint64 visibleIdLocked() const { return mode == Mode::Durable ? storedId : lastId; }
    PushRetention retentionLocked() const
    {
        return {retainLimit, retentionPeriodMs, retainLimitBytes};
    }
    void retentionChangedLocked()
    {
        if (broker && !shutDown)
            broker->retentionChanged(changeKey, epoch.load(std::memory_order_relaxed),
                                     retentionLocked());
    }
    // Durable: numbers, appends to the broker and keeps the message back; 0 when refused or
    // shut down (then \a receipt, if any, is finished with the error).
    quint64 pushDurable(const QVariant &data, qint64 bytes, QPromise<PushReceipt> *receipt);
    // Remote: hands the message to the broker. Without the mutex.
    QFuture<PushReceipt> publishRemote(const QVariant &data, qint64 bytes);
    // Any thread, no lock held (PushBrokerHandler::stored() and discarded()).
    void storedUpTo(quint64 epoch, quint64 upToId);
    void discardFrom(quint64 epoch, quint64 fromId, PushBroker::Error error);
    // On shutDown: publish()'s pending receipts finish with \a error and id 0.
    void failReceipts(PushBroker::Error error);
    // The retained window and the position, for messagesAfter() and requestHistory().
    PushHistory historyAfter(quint64 afterId);

    // Change marks (see the top of this file). Set by the registry before it publishes the
    // session; null for a session outside a registry.
    PushChangeHubPtr changeHub;
    QString changeKey; // the session's key string, also for the broker
    std::atomic<quint32> markedIn{0}; // the hub generation it is marked in; 0 once drained
    //! Any thread, with or without the mutex held: marks the session as changed.
    void markChanged()
    {
        if (!changeHub)
            return;
        const quint32 generation = changeHub->generation.load(std::memory_order_relaxed);
        if (generation == 0 || markedIn.load(std::memory_order_relaxed) == generation)
            return; // nobody listens, or marked already
        if (markedIn.exchange(generation, std::memory_order_relaxed) != generation)
            changeHub->mark(this);
    }

    // Called in the group's thread.
    void drain(PushThreadGroup *group);
    void joinCurrentThread(const PushClientStatePtr &client); // creates or finds the group
    void leaveThread(const PushClientStatePtr &client); // on QEvent::ThreadChange
    void detach(const PushClientStatePtr &client); // when the client is destroyed
    void refreshAndFlush(const PushClientStatePtr &client); // after a connect to messageReceived
    bool takeQueued(const PushClientStatePtr &client, PushMessage *message);
    static PushMessage takeFirstQueued(PushClientState *client); // the group's thread
    int pending(const PushClientStatePtr &client) const;

    // Any thread: stops delivery, wakes a blocked pull(), emits closed() once and optionally
    // deletes the client object with deleteLater().
    void close(const PushClientStatePtr &client, bool deleteObject);

private:
    struct Limits
    {
        int maxBuffer;
        PushSession::OverflowPolicy policy;
        qint64 maxBufferBytes;
    };
    Limits limitsLocked() const { return {maxBuffer, policy, maxBufferBytes}; }
    void appendToInboxLocked(PushThreadGroup *group, const PushMessage &message, Limits limits);
    static void enqueue(PushClientState *client, const PushMessage &message, Limits limits);
    void deliver(PushThreadGroup *group, const PushMessage &message, Limits limits);
    void deliverTo(PushThreadGroup *group, PushClientState *client, const PushMessage &message,
                   Limits limits);
    void sweep(PushThreadGroup *group);
    void prune(PushThreadGroup *group);
    void removeMember(PushThreadGroup *group, const PushClientStatePtr &client);
    void releaseIfEmpty(PushThreadGroup *group);
    static void startStreamingIfConnected(PushClientState *client); // after receivers changed
    static void flush(PushClientState *client);
    static void reportOverflow(PushClientState *client);
};
using PushSessionStatePtr = std::shared_ptr<PushSessionState>;

class PushSessionPrivate
{
public:
    PushSessionStatePtr state = std::make_shared<PushSessionState>();
    QVariant key;
    QString keyString;
    PushRegistry *registry = nullptr;

    // Closes every client and refuses further pushes; the registry calls it before deleting.
    void shutDown();
};

class PushClientPrivate
{
public:
    PushSessionStatePtr session;
    PushClientStatePtr state;
};
