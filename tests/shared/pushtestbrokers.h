// SPDX-License-Identifier: MIT
#pragma once

// Back ends by name for the data-driven broker tests (tst_pushbroker):
//   memory  - PushMemoryBroker
//   journal - a small fake Durable broker for tests only: its "disk" outlives the broker, so a
//             test can reopen a new broker on it; it stores from its own writer thread and calls
//             stored() from there, as a real durable broker does; hooks make it full, hold its
//             writer or crash it.
//   sqlite  - PushSqliteBroker on a file in a QTemporaryDir (only with QTPUSH_TEST_SQLITE).

#include <QtPush/pushbroker.h>

#include <QtCore/QStringList>

#include <memory>

class TestBackend
{
public:
    enum class Full {
        No,
        RefuseAppends, //!< append() refuses (PushBroker::StorageFull, not writable)
        FailBatches, //!< append() accepts, the writer gives the batch up with discarded()
    };

    virtual ~TestBackend() = default;

    QString name() const { return m_name; }
    //! A new, open broker on this back end's store: the first call makes an empty store, later
    //! ones reopen it (for a memory broker, an empty one again). Null (with a test failure
    //! message in \a error) if open() failed.
    virtual std::unique_ptr<PushBroker> open(QString *error) = 0;
    //! Whether open() after a registry was destroyed recovers what it stored.
    virtual bool reopens() const { return false; }

    //! The store refuses new messages (\a full) or accepts them again. False if the back end has
    //! no way to fill up in a test, or not in that \a mode.
    virtual bool setFull(Full mode)
    {
        Q_UNUSED(mode);
        return false;
    }
    //! Holds the writer: nothing is stored (and no stored() is called) until released. False if
    //! the back end has no such hook.
    virtual bool setHeld(bool held)
    {
        Q_UNUSED(held);
        return false;
    }
    //! The process "dies": what the writer has not stored yet is lost, nothing more is written,
    //! and the broker's close() stores nothing. The broker must then be destroyed (with its
    //! registry) and the store reopened. False if the back end has no such hook.
    virtual bool crash() { return false; }
    //! What the store saw that breaks a broker's promises (an id out of order, ...), for back
    //! ends that can check it themselves; empty when all is well.
    virtual QStringList violations() const { return {}; }

protected:
    explicit TestBackend(const QString &name) : m_name(name) { }

private:
    QString m_name;
};

//! The back ends this build can test, in the order their rows appear.
QStringList testBackendNames();
std::unique_ptr<TestBackend> makeTestBackend(const QString &name);
