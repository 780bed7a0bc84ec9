// SPDX-License-Identifier: MIT
#include "pushtestbrokers.h"

#include <QtPush/pushmemorybroker.h>
#include <QtPush/pushsession.h> // PushHistory

#include <QtCore/QHash>
#include <QtCore/QMutex>
#include <QtCore/QPointer>
#include <QtCore/QRandomGenerator>
#include <QtCore/QThread>
#include <QtCore/QWaitCondition>

#ifdef QTPUSH_TEST_SQLITE
#include <QtCore/QTemporaryDir>
#include <QtPush/pushsqlitebroker.h>
#endif

#include <algorithm>
#include <map>

namespace {

// ---- journal: a fake durable store -----------------------------------------------------------

// The journal's "disk": everything a JournalBroker stored. It outlives the brokers on it.
struct JournalDisk
{
    struct Session
    {
        QVariant key;
        quint64 epoch = 0;
        quint64 lastId = 0;
        PushRetention retention;
        quint32 flags = 0;
        quint64 trimmedBelow = 0;
        QList<PushStoredMessage> messages; // every stored message, ids 1..lastId
    };

    mutable QMutex mutex;
    QHash<QString, Session> sessions;
    QStringList violations; // what a broker must never do, seen by the store
    TestBackend::Full full = TestBackend::Full::No;
};

class JournalBroker : public PushBroker
{
public:
    explicit JournalBroker(std::shared_ptr<JournalDisk> disk) : m_disk(std::move(disk)) { }
    ~JournalBroker() override { close(); }

    Capabilities capabilities() const override { return AssignsIdsLocally | Durable; }

    void setHeld(bool held)
    {
        QMutexLocker locker(&m_mutex);
        m_held = held;
        m_wake.wakeAll();
    }
    void crash()
    {
        QMutexLocker locker(&m_mutex);
        m_crashed = true;
        m_queue.clear();
        m_wake.wakeAll();
    }
    void fullChanged(TestBackend::Full full)
    {
        if (full == TestBackend::Full::No) {
            setError(NoError, {});
            setWritable(true);
        }
        QMutexLocker locker(&m_mutex);
        m_wake.wakeAll();
    }

protected:
    bool openBackend(QList<PushStoredSession> *recovered) override
    {
        QMutexLocker locker(&m_disk->mutex);
        for (auto it = m_disk->sessions.cbegin(); it != m_disk->sessions.cend(); ++it) {
            const JournalDisk::Session &stored = it.value();
            PushStoredSession session;
            session.key = stored.key;
            session.position = {stored.epoch, stored.lastId};
            session.retention = stored.retention;
            session.flags = stored.flags;
            // The newest retention.messages, not below a trim, within the byte bound (the
            // newest always kept); the engine applies the age limit itself.
            qint64 bytes = 0;
            for (auto m = stored.messages.crbegin(); m != stored.messages.crend(); ++m) {
                if (session.retained.size() >= stored.retention.messages
                    || m->id < stored.trimmedBelow)
                    break;
                if (stored.retention.bytes > 0 && !session.retained.isEmpty()
                    && bytes + m->bytes > stored.retention.bytes)
                    break;
                bytes += m->bytes;
                session.retained.prepend(*m);
            }
            recovered->append(session);
        }
        m_writer.reset(QThread::create([this] { writerLoop(); }));
        m_writer->start();
        return true;
    }

    void closeBackend() override
    {
        {
            QMutexLocker locker(&m_mutex);
            m_stopping = true;
            m_wake.wakeAll();
        }
        m_writer->wait(); // it stores what is queued first, unless crashed
        m_writer.reset();
    }

    PushPosition sessionCreated(const QString &key, const QVariant &id,
                                const PushRetention &retention, quint32 flags) override
    {
        quint64 epoch = 0;
        while (epoch == 0)
            epoch = QRandomGenerator::global()->generate64();
        QMutexLocker locker(&m_disk->mutex);
        if (!isCrashed())
            m_disk->sessions.insert(key, {id, epoch, 0, retention, flags, 0, {}});
        return {epoch, 0};
    }

    void sessionRemoved(const QString &key, quint64 epoch, RemoveReason) override
    {
        QMutexLocker locker(&m_disk->mutex);
        if (!isCrashed() && m_disk->sessions.value(key).epoch == epoch)
            m_disk->sessions.remove(key);
    }

    void retentionChanged(const QString &key, quint64 epoch,
                          const PushRetention &retention) override
    {
        QMutexLocker locker(&m_disk->mutex);
        auto it = m_disk->sessions.find(key);
        if (!isCrashed() && it != m_disk->sessions.end() && it->epoch == epoch)
            it->retention = retention;
    }

    void retainedTrimmed(const QString &key, quint64 epoch, quint64 oldestKept) override
    {
        QMutexLocker locker(&m_disk->mutex);
        auto it = m_disk->sessions.find(key);
        if (!isCrashed() && it != m_disk->sessions.end() && it->epoch == epoch)
            it->trimmedBelow = std::max(it->trimmedBelow, oldestKept);
    }

    bool append(const QString &key, quint64 epoch, const PushStoredMessage &message) override
    {
        bool full = false;
        {
            QMutexLocker disk(&m_disk->mutex);
            full = m_disk->full == TestBackend::Full::RefuseAppends;
        }
        if (full) {
            setError(StorageFull, QStringLiteral("journal: the test made the disk full"));
            setWritable(false);
            return false;
        }
        QMutexLocker locker(&m_mutex);
        if (m_crashed)
            return false;
        m_queue.append({key, epoch, message});
        m_wake.wakeAll();
        return true;
    }

    QFuture<PushReceipt> publish(const QString &, const QVariant &, qint64) override
    {
        Q_UNREACHABLE(); // the engine numbers: AssignsIdsLocally
        return {};
    }
    QFuture<PushHistory> history(const QString &, quint64) override
    {
        Q_UNREACHABLE();
        return {};
    }

private:
    struct Queued
    {
        QString key;
        quint64 epoch;
        PushStoredMessage message;
    };
    using SessionId = std::pair<QString, quint64>;

    bool isCrashed() const
    {
        QMutexLocker locker(&m_mutex);
        return m_crashed;
    }

    void writerLoop()
    {
        for (;;) {
            QList<Queued> batch;
            {
                QMutexLocker locker(&m_mutex);
                while (!m_crashed && !m_stopping && (m_queue.isEmpty() || m_held))
                    m_wake.wait(&m_mutex);
                if (m_crashed || (m_stopping && m_queue.isEmpty()))
                    return;
                batch.swap(m_queue);
            }
            writeBatch(batch);
        }
    }

    void writeBatch(const QList<Queued> &batch)
    {
        std::map<SessionId, quint64> firstIds, lastIds;
        bool failed = false;
        {
            QMutexLocker disk(&m_disk->mutex);
            failed = m_disk->full == TestBackend::Full::FailBatches;
            for (const Queued &queued : batch) {
                const SessionId session{queued.key, queued.epoch};
                auto discarded = m_discardedFrom.find(session);
                if (discarded != m_discardedFrom.end()) {
                    // Given up earlier: the engine took these ids back and gives them again,
                    // from the first discarded one on; what was queued before that is void.
                    if (queued.message.id != discarded->second)
                        continue;
                    m_discardedFrom.erase(discarded);
                }
                firstIds.try_emplace(session, queued.message.id);
                lastIds[session] = queued.message.id;
                if (failed)
                    continue;
                auto it = m_disk->sessions.find(queued.key);
                if (it == m_disk->sessions.end() || it->epoch != queued.epoch)
                    continue; // removed since: its messages go with it
                if (queued.message.id != it->lastId + 1) {
                    m_disk->violations.append(QStringLiteral("%1: id %2 appended after %3")
                                                      .arg(queued.key)
                                                      .arg(queued.message.id)
                                                      .arg(it->lastId));
                }
                it->messages.append(queued.message);
                it->lastId = queued.message.id;
            }
        }
        if (failed) {
            setError(StorageFull, QStringLiteral("journal: the test made the disk full"));
            for (const auto &[session, firstId] : firstIds)
                m_discardedFrom[session] = firstId;
            for (const auto &[session, firstId] : firstIds)
                handler()->discarded(session.first, session.second, firstId, StorageFull);
            return;
        }
        for (const auto &[session, lastId] : lastIds)
            handler()->stored(session.first, session.second, lastId);
    }

    const std::shared_ptr<JournalDisk> m_disk;
    std::unique_ptr<QThread> m_writer;
    std::map<SessionId, quint64> m_discardedFrom; // the writer's own

    mutable QMutex m_mutex; // a leaf lock: append() takes it under a session's mutex
    QWaitCondition m_wake;
    QList<Queued> m_queue;
    bool m_held = false;
    bool m_crashed = false;
    bool m_stopping = false;
};

class JournalBackend : public TestBackend
{
public:
    JournalBackend() : TestBackend(QStringLiteral("journal")) { }

    std::unique_ptr<PushBroker> open(QString *error) override
    {
        auto broker = std::make_unique<JournalBroker>(m_disk);
        if (!broker->open()) {
            *error = broker->errorString();
            return {};
        }
        m_current = broker.get();
        return broker;
    }
    bool reopens() const override { return true; }

    bool setFull(Full mode) override
    {
        {
            QMutexLocker locker(&m_disk->mutex);
            m_disk->full = mode;
        }
        if (m_current)
            m_current->fullChanged(mode);
        return true;
    }
    bool setHeld(bool held) override
    {
        if (m_current)
            m_current->setHeld(held);
        return bool(m_current);
    }
    bool crash() override
    {
        if (m_current)
            m_current->crash();
        return bool(m_current);
    }
    QStringList violations() const override
    {
        QMutexLocker locker(&m_disk->mutex);
        return m_disk->violations;
    }

private:
    const std::shared_ptr<JournalDisk> m_disk = std::make_shared<JournalDisk>();
    QPointer<JournalBroker> m_current;
};

// ---- memory ----------------------------------------------------------------------------------

class MemoryBackend : public TestBackend
{
public:
    MemoryBackend() : TestBackend(QStringLiteral("memory")) { }

    std::unique_ptr<PushBroker> open(QString *error) override
    {
        auto broker = std::make_unique<PushMemoryBroker>();
        if (!broker->open()) {
            *error = broker->errorString();
            return {};
        }
        return broker;
    }
};

// ---- sqlite ----------------------------------------------------------------------------------

#ifdef QTPUSH_TEST_SQLITE
class SqliteBackend : public TestBackend
{
public:
    SqliteBackend() : TestBackend(QStringLiteral("sqlite")) { }

    std::unique_ptr<PushBroker> open(QString *error) override
    {
        if (!m_dir.isValid()) {
            *error = QStringLiteral("no temporary directory: ") + m_dir.errorString();
            return {};
        }
        auto broker = std::make_unique<PushSqliteBroker>(m_dir.filePath(QStringLiteral("push.db")));
        if (!broker->open()) {
            *error = broker->errorString();
            return {};
        }
        m_current = broker.get();
        return broker;
    }
    bool reopens() const override { return true; }

    // A quota (PRAGMA max_page_count) at the file's size: the next commit that needs a page
    // fails, and the broker gives its batch up with discarded(StorageFull).
    bool setFull(Full mode) override
    {
        if (mode == Full::RefuseAppends || !m_current)
            return false;
        m_current->setMaxSize(mode == Full::FailBatches ? 1 : 0);
        return true;
    }

private:
    QTemporaryDir m_dir;
    QPointer<PushSqliteBroker> m_current;
};
#endif

} // namespace

QStringList testBackendNames()
{
    QStringList names{QStringLiteral("memory"), QStringLiteral("journal")};
#ifdef QTPUSH_TEST_SQLITE
    names.append(QStringLiteral("sqlite"));
#endif
    return names;
}

std::unique_ptr<TestBackend> makeTestBackend(const QString &name)
{
    if (name == QLatin1String("memory"))
        return std::make_unique<MemoryBackend>();
    if (name == QLatin1String("journal"))
        return std::make_unique<JournalBackend>();
#ifdef QTPUSH_TEST_SQLITE
    if (name == QLatin1String("sqlite"))
        return std::make_unique<SqliteBackend>();
#endif
    return {};
}
