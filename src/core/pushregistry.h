// SPDX-License-Identifier: MIT
#pragma once

#include <QtPush/qtpushcore_export.h>

#include <QtCore/QObject>
#include <QtCore/QVariant>

#include <memory>

class PushBroker;
class PushSession;
class PushRegistryPrivate;

/*!
    The map of sessions: the Go package's package-level session table, as an object.

    Use global() for the process-wide bus, or construct registries of your own (tests, several
    independent buses in one application). Ids compare by their string form, so session(123) and
    session(QStringLiteral("123")) are the same session.

    Ownership: the registry owns its sessions and deletes them with itself. It is an ordinary
    QObject and may have a parent; global() is owned by the library and lives until the
    application exits.

    Threading: every public function is thread-safe and none blocks. Sessions live in the
    registry's thread; a session created from another thread is moved there.
*/
class QTPUSHCORE_EXPORT PushRegistry : public QObject
{
    Q_OBJECT
    Q_PROPERTY(int count READ count NOTIFY countChanged)

public:
    //! A registry with a PushMemoryBroker: nothing outlives the process.
    explicit PushRegistry(QObject *parent = nullptr);
    //! A registry whose ids, epochs and history live in \a broker, which must be open
    //! (PushBroker::open()); the sessions it recovered exist at once. The registry owns the
    //! broker and closes it first when it is destroyed. A null broker gives a PushMemoryBroker;
    //! so does a closed one, with a critical message (the registry never opens a store itself:
    //! open() is where its owner learns why it failed), so compare broker() with it.
    explicit PushRegistry(std::unique_ptr<PushBroker> broker, QObject *parent = nullptr);
    ~PushRegistry() override;

    //! The process-wide registry, created on first use in the main thread's affinity.
    static PushRegistry *global();

    //! Returns the session with \a id, creating it if it does not exist (the Go package's
    //! NewSession). A null or empty id returns nullptr with a warning. The pointer stays valid
    //! until the session is deleted.
    PushSession *session(const QVariant &id);
    //! The Go package's older NewSession(sessionID, clientID, maxChannelBuffer): returns the
    //! session with \a id (created if needed) after setting its maxBuffer to \a maxBuffer and
    //! making its client \a firstClientId in the calling thread (newClient(); an existing client
    //! is kept). Returns nullptr with a warning for an empty id or a \a maxBuffer below 1.
    //! Thread-safe; never blocks.
    PushSession *session(const QVariant &id, const QVariant &firstClientId, int maxBuffer);
    //! The session with \a id, or nullptr.
    PushSession *findSession(const QVariant &id) const;
    bool exists(const QVariant &id) const;
    //! Closes every client of the session and deletes it with deleteLater(). Safe on a missing id.
    void deleteSession(const QVariant &id);
    //! The ids of all sessions, as first given, ordered by their string form.
    QVariantList sessions() const;
    int count() const;
    //! The broker the registry was given (or its PushMemoryBroker). Never null; lives as long as
    //! the registry. Thread-safe.
    PushBroker *broker() const;

Q_SIGNALS:
    void countChanged();
    void sessionAdded(const QString &sessionKey);
    void sessionRemoved(const QString &sessionKey);

private:
    friend class PushChangeJournal;
    friend class PushRegistryPrivate;
    std::unique_ptr<PushRegistryPrivate> d;
};
