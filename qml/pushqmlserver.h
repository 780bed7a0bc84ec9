// SPDX-License-Identifier: MIT
#pragma once

#include <QtPush/pushregistry.h>

#include <QtCore/QObject>
#include <QtCore/QPointer>
#include <QtCore/QUrl>
#include <QtQml/QQmlParserStatus>
#include <QtQml/qqmlregistration.h>

#include <memory>

class PushServer;

/*!
    An embedded qtpush-server, declared in QML: `PushServer { port: 8080 }` serves the
    registry (PushRegistry::global() by default) over WebSocket, Server-Sent Events, long-poll
    and HTTP push, as docs/protocol.md describes. `running` is true by default: the server
    listens once the object is complete, and `port` then holds the real port (0 picks a free
    one). Setting `running` to false closes the server and drops its connections; changing
    host, port, secret or registry while running restarts it.

    Without a secret the server listens on loopback only (docs/server.md: Access).

    Ownership: this object owns its PushServer; the registry is not owned.
*/
class PushQmlServer : public QObject, public QQmlParserStatus
{
    Q_OBJECT
    Q_INTERFACES(QQmlParserStatus)
    QML_NAMED_ELEMENT(PushServer)
    Q_PROPERTY(QString host READ host WRITE setHost NOTIFY hostChanged)
    Q_PROPERTY(int port READ port WRITE setPort NOTIFY portChanged)
    Q_PROPERTY(bool running READ isRunning WRITE setRunning NOTIFY runningChanged)
    Q_PROPERTY(QString secret READ secret WRITE setSecret NOTIFY secretChanged)
    Q_PROPERTY(PushRegistry *registry READ registry WRITE setRegistry NOTIFY registryChanged)
    Q_PROPERTY(QUrl url READ url NOTIFY urlChanged)
    Q_PROPERTY(int connectionCount READ connectionCount NOTIFY connectionCountChanged)
    Q_PROPERTY(QString errorString READ errorString NOTIFY errorStringChanged)
public:
    explicit PushQmlServer(QObject *parent = nullptr);
    ~PushQmlServer() override;

    QString host() const { return m_host; }
    void setHost(const QString &host);
    //! The port it listens on while running; otherwise the one set.
    int port() const;
    void setPort(int port);
    //! True while the server listens. Set false to stop, true to start again.
    bool isRunning() const;
    void setRunning(bool running);
    QString secret() const { return m_secret; }
    void setSecret(const QString &secret);
    PushRegistry *registry() const { return m_registry; }
    void setRegistry(PushRegistry *registry);
    //! `http://HOST:PORT` while running, for a PushRemoteClient's url; empty otherwise.
    QUrl url() const;
    int connectionCount() const;
    //! Why the server is not running when it should be (the address, the port), or empty.
    QString errorString() const { return m_errorString; }

    void classBegin() override { }
    void componentComplete() override;

Q_SIGNALS:
    void hostChanged();
    void portChanged();
    void runningChanged();
    void secretChanged();
    void registryChanged();
    void urlChanged();
    void connectionCountChanged();
    void errorStringChanged();

private:
    void restart();
    void setErrorString(const QString &errorString);

    QString m_host = QStringLiteral("127.0.0.1");
    int m_requestedPort = 0;
    QString m_secret;
    QPointer<PushRegistry> m_registry;
    bool m_wantRunning = true;
    bool m_complete = false;
    QString m_errorString;
    std::unique_ptr<PushServer> m_server;
};
