// SPDX-License-Identifier: MIT
#pragma once

#include <QtPush/pushmonitor.h>

#include <QtQml/QQmlParserStatus>
#include <QtQml/qqml.h>
#include <QtQml/qqmlregistration.h>

/*!
    PushMonitor, declared in QML: an operator's live view of a qtpush-server through its admin
    event stream (docs/protocol.md "The admin event stream").

        PushMonitor {
            id: monitor
            url: "http://127.0.0.1:8080"; token: adminToken
            watchedSession: sessionList.currentSession
        }
        ListView { model: monitor.sessions; delegate: Text { text: session + " " + clients } }

    With `active` true (the default) it connects once the object is complete and url is set;
    setting `active` false closes it, and a new url or token reconnects. `server` is a
    JavaScript object of the server's figures; push() and pushTo() take JavaScript values.

    Ownership: as for any QML object; it owns its connection and its two models.
*/
class PushQmlMonitor : public PushMonitor, public QQmlParserStatus
{
    Q_OBJECT
    Q_INTERFACES(QQmlParserStatus)
    QML_NAMED_ELEMENT(PushMonitor)
    Q_PROPERTY(bool active READ isActive WRITE setActive NOTIFY activeChanged)
public:
    explicit PushQmlMonitor(QObject *parent = nullptr);

    bool isActive() const { return m_active; }
    void setActive(bool active);

    //! Pushes \a message, a JavaScript value, to the watched session. Returns false (with a
    //! warning) when not connected or no session is watched; the answer comes as pushed().
    Q_INVOKABLE bool push(const QVariant &message);
    //! Pushes \a message to \a session, which the server makes if it does not exist.
    Q_INVOKABLE bool pushTo(const QString &session, const QVariant &message);

    void classBegin() override { }
    void componentComplete() override;

Q_SIGNALS:
    void activeChanged();

private:
    void apply();

    bool m_active = true;
    bool m_complete = false;
};

//! The models reach QML only through PushMonitor.sessions and PushMonitor.clients.
struct PushQmlSessionsModel
{
    Q_GADGET
    QML_FOREIGN(PushSessionsModel)
    QML_NAMED_ELEMENT(PushSessionsModel)
    QML_UNCREATABLE("PushSessionsModel comes from PushMonitor.sessions")
};

struct PushQmlClientsModel
{
    Q_GADGET
    QML_FOREIGN(PushClientsModel)
    QML_NAMED_ELEMENT(PushClientsModel)
    QML_UNCREATABLE("PushClientsModel comes from PushMonitor.clients")
};
