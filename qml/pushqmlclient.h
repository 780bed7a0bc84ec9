// SPDX-License-Identifier: MIT
#pragma once

#include <QtPush/pushclient.h>
#include <QtPush/pushregistry.h>

#include <QtCore/QObject>
#include <QtCore/QPointer>
#include <QtQml/QQmlParserStatus>
#include <QtQml/qqmlregistration.h>

/*!
    A client of a session, declared in QML: `PushClient { session: "alice"; client: "panel" }`.
    With `streaming` true (the default) every message arrives through messageReceived(), a
    QVariantMap pushed from C++ as a JavaScript object. With `streaming` false messages wait
    in the client's buffer (at most the session's maxBuffer) until pull() takes them.

    Ownership: the session owns the client. This object makes it when the id is first named
    and deletes it when it is destroyed or names another id; a client that existed already
    (made by C++ or another PushClient) is only used, never deleted.
*/
class PushQmlClient : public QObject, public QQmlParserStatus
{
    Q_OBJECT
    Q_INTERFACES(QQmlParserStatus)
    QML_NAMED_ELEMENT(PushClient)
    Q_PROPERTY(QString session READ session WRITE setSession NOTIFY sessionChanged)
    Q_PROPERTY(QString client READ client WRITE setClient NOTIFY clientChanged)
    Q_PROPERTY(PushRegistry *registry READ registry WRITE setRegistry NOTIFY registryChanged)
    Q_PROPERTY(bool streaming READ isStreaming WRITE setStreaming NOTIFY streamingChanged)
    Q_PROPERTY(int pending READ pending NOTIFY pendingChanged)
    Q_PROPERTY(bool closed READ isClosed NOTIFY closedChanged)
public:
    explicit PushQmlClient(QObject *parent = nullptr);
    ~PushQmlClient() override;

    QString session() const { return m_session; }
    void setSession(const QString &session);
    QString client() const { return m_client; }
    void setClient(const QString &client);
    PushRegistry *registry() const { return m_registry; }
    void setRegistry(PushRegistry *registry);
    bool isStreaming() const { return m_streaming; }
    void setStreaming(bool streaming);
    //! Messages waiting for pull(); 0 while streaming. Live: it follows arrivals, drops and
    //! pulls made from C++ (PushClient::pendingChanged, once per event-loop turn at most), and
    //! this object's own pull() and close() update it at once.
    int pending() const;
    bool isClosed() const;

    //! Takes the oldest waiting message, or returns undefined when none waits. Never blocks.
    Q_INVOKABLE QVariant pull();
    //! Closes the client: it receives nothing more, and `closed` becomes true.
    Q_INVOKABLE void close();

    void classBegin() override { }
    void componentComplete() override;

Q_SIGNALS:
    void messageReceived(const QVariant &message);
    void sessionChanged();
    void clientChanged();
    void registryChanged();
    void streamingChanged();
    void pendingChanged();
    void closedChanged();

private:
    void bind();
    void release();
    void updateStreaming();

    QString m_session;
    QString m_client;
    QPointer<PushRegistry> m_registry;
    QPointer<PushClient> m_target;
    bool m_created = false; // m_target was made by this object, which deletes it
    bool m_streaming = true;
    bool m_complete = false;
    QMetaObject::Connection m_relay;
};
