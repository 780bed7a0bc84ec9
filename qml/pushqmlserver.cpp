// SPDX-License-Identifier: MIT
#include "pushqmlserver.h"

#include "pushqmllogging_p.h"

#include <QtPush/pushserver.h>

#include <QtNetwork/QHostAddress>

PushQmlServer::PushQmlServer(QObject *parent) : QObject(parent), m_registry(PushRegistry::global())
{ }

PushQmlServer::~PushQmlServer() = default;

void PushQmlServer::setHost(const QString &host)
{
    if (m_host == host)
        return;
    m_host = host;
    Q_EMIT hostChanged();
    restart();
}

void PushQmlServer::setPort(int port)
{
    if (m_requestedPort == port && this->port() == port)
        return;
    if (port < 0 || port > 65535) {
        qCWarning(lcPushQml) << "PushServer.port: not a port:" << port;
        return;
    }
    m_requestedPort = port;
    Q_EMIT portChanged();
    restart();
}

bool PushQmlServer::isRunning() const
{
    return m_server && m_server->isListening();
}

void PushQmlServer::setRunning(bool running)
{
    if (m_wantRunning == running)
        return;
    m_wantRunning = running;
    restart();
}

void PushQmlServer::setSecret(const QString &secret)
{
    if (m_secret == secret)
        return;
    m_secret = secret;
    Q_EMIT secretChanged();
    restart();
}

void PushQmlServer::setRegistry(PushRegistry *registry)
{
    if (m_registry == registry)
        return;
    m_registry = registry;
    Q_EMIT registryChanged();
    restart();
}

QUrl PushQmlServer::url() const
{
    if (!isRunning())
        return {};
    QUrl url;
    url.setScheme(QStringLiteral("http"));
    url.setHost(m_server->serverAddress().toString());
    url.setPort(m_server->serverPort());
    return url;
}

int PushQmlServer::port() const
{
    return isRunning() ? m_server->serverPort() : m_requestedPort;
}

int PushQmlServer::connectionCount() const
{
    return m_server ? m_server->connectionCount() : 0;
}

void PushQmlServer::componentComplete()
{
    m_complete = true;
    restart();
}

void PushQmlServer::restart()
{
    if (!m_complete)
        return;
    m_server.reset();
    if (m_wantRunning && m_registry) {
        m_server = std::make_unique<PushServer>(m_registry);
        m_server->setSecret(m_secret.toUtf8());
        connect(m_server.get(), &PushServer::connectionCountChanged, this,
                &PushQmlServer::connectionCountChanged);
        const QHostAddress address(
                m_host == QLatin1String("localhost") ? QStringLiteral("127.0.0.1") : m_host);
        if (address.isNull()) {
            setErrorString(QStringLiteral("not an IP address: %1").arg(m_host));
            m_server.reset();
        } else if (!m_server->listen(address, quint16(m_requestedPort))) {
            setErrorString(m_server->errorString());
            m_server.reset();
        } else {
            setErrorString({});
        }
    } else {
        setErrorString({});
    }
    // A restart is rare: every figure that may have changed is announced.
    Q_EMIT runningChanged();
    Q_EMIT portChanged();
    Q_EMIT urlChanged();
    Q_EMIT connectionCountChanged();
}

void PushQmlServer::setErrorString(const QString &errorString)
{
    if (m_errorString == errorString)
        return;
    m_errorString = errorString;
    if (!errorString.isEmpty())
        qCWarning(lcPushQml) << "PushServer:" << errorString;
    Q_EMIT errorStringChanged();
}
