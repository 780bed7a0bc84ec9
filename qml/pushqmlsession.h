// SPDX-License-Identifier: MIT
#pragma once

#include <QtPush/pushregistry.h>
#include <QtPush/pushsession.h>

#include <QtCore/QObject>
#include <QtCore/QPointer>
#include <QtQml/QQmlParserStatus>
#include <QtQml/qqmlregistration.h>

/*!
    A session, declared in QML: `PushSession { session: "alice" }` is the session "alice" of its
    registry (PushRegistry::global() unless `registry` says otherwise), made when first named.
    push() sends a message to every client of it; a JavaScript object or array arrives in C++
    as a QVariantMap or QVariantList.

    Several PushSession objects, and C++, may name the same session: they share it, and a
    maxBuffer written by one is the session's.

    Ownership: the registry owns the session; this object only refers to it, and deleting it
    leaves the session and its clients alone.
*/
class PushQmlSession : public QObject, public QQmlParserStatus
{
    Q_OBJECT
    Q_INTERFACES(QQmlParserStatus)
    QML_NAMED_ELEMENT(PushSession)
    Q_PROPERTY(QString session READ session WRITE setSession NOTIFY sessionChanged)
    Q_PROPERTY(PushRegistry *registry READ registry WRITE setRegistry NOTIFY registryChanged)
    Q_PROPERTY(int count READ count NOTIFY countChanged)
    Q_PROPERTY(int maxBuffer READ maxBuffer WRITE setMaxBuffer NOTIFY maxBufferChanged)
public:
    explicit PushQmlSession(QObject *parent = nullptr);
    ~PushQmlSession() override;

    QString session() const { return m_session; }
    void setSession(const QString &session);
    PushRegistry *registry() const { return m_registry; }
    void setRegistry(PushRegistry *registry);
    //! The session's clients, in-process and remote.
    int count() const;
    int maxBuffer() const;
    void setMaxBuffer(int maxBuffer);

    //! Pushes \a message and returns its id, or 0 (with a warning) when no session is named.
    Q_INVOKABLE double push(const QVariant &message);

    void classBegin() override { }
    void componentComplete() override;

Q_SIGNALS:
    void sessionChanged();
    void registryChanged();
    void countChanged();
    void maxBufferChanged();

private:
    void bind();

    QString m_session;
    QPointer<PushRegistry> m_registry;
    QPointer<PushSession> m_target;
    int m_maxBuffer = 0; // 0: not set here, the session's own
    bool m_complete = false;
};
