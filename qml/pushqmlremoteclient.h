// SPDX-License-Identifier: MIT
#pragma once

#include <QtPush/pushremoteclient.h>

#include <QtQml/QQmlParserStatus>
#include <QtQml/qqmlregistration.h>

/*!
    PushRemoteClient, declared in QML: a client of a session on a qtpush-server, over a
    WebSocket that reconnects and resumes by itself.

        PushRemoteClient {
            url: "ws://127.0.0.1:8080"; session: "alice"; client: "panel"
            onMessageReceived: (message) => console.log(message.text)
        }

    With `active` true (the default) it connects once the object is complete and url, session
    and client are set; setting `active` false closes it. push() takes a JavaScript value and
    sends it as JSON.

    Ownership: as for any QML object; it owns its connection.
*/
class PushQmlRemoteClient : public PushRemoteClient, public QQmlParserStatus
{
    Q_OBJECT
    Q_INTERFACES(QQmlParserStatus)
    QML_NAMED_ELEMENT(PushRemoteClient)
    Q_PROPERTY(bool active READ isActive WRITE setActive NOTIFY activeChanged)
public:
    explicit PushQmlRemoteClient(QObject *parent = nullptr);

    bool isActive() const { return m_active; }
    void setActive(bool active);

    //! Pushes \a message, a JavaScript value, to every client of the session. Returns false
    //! (with a warning) when not connected.
    Q_INVOKABLE bool push(const QVariant &message);

    void classBegin() override { }
    void componentComplete() override;

Q_SIGNALS:
    void activeChanged();

private:
    void apply();

    bool m_active = true;
    bool m_complete = false;
};
