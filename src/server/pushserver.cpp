// SPDX-License-Identifier: MIT
// PushServer: settings, listen(), shutdown() and abort(). The server's parts are composed in
// PushServerPrivate (pushserver_p.h).

#include <QtPush/pushregistry.h>
#include <QtPush/pushserver.h>

#include "pushclock_p.h"
#include "pushserver_p.h"
#include "pushserverlogging_p.h"

#include <QtNetwork/QTcpSocket>

#include <limits>
#if QT_CONFIG(ssl)
#include <QtNetwork/QSslCertificate>
#include <QtNetwork/QSslKey>
#include <QtNetwork/QSslServer>
#include <QtNetwork/QSslSocket>
#endif

// PushServer

PushServer::PushServer(PushRegistry *registry, QObject *parent)
    : QObject(parent), d(std::make_unique<PushServerPrivate>(this, registry))
{ }

PushServer::~PushServer()
{
    abort();
    d->dropAll();
}

PushRegistry *PushServer::registry() const
{
    return d->registry;
}

bool PushServer::listen(const QHostAddress &address, quint16 port)
{
    if (isListening()) {
        qCWarning(lcPushServer) << "PushServer::listen: already listening on" << serverAddress()
                                << serverPort();
        return false;
    }
    if (d->config.secret.isEmpty() && !d->config.allowInsecureRemote && !address.isLoopback()) {
        // protocol.md: Access. Anyone who reaches the port could read every session.
        d->setError(ListenError,
                    QStringLiteral("refusing to listen on %1 without a secret; set one, or allow "
                                   "insecure remote access explicitly")
                            .arg(address.toString()));
        return false; // errorString() says why; the caller reports it (no second log line)
    }
#if QT_CONFIG(ssl)
    if (d->sslConfiguration) {
        // Checked now: a server that cannot complete a handshake must not seem to listen.
        const char *problem = !QSslSocket::supportsSsl()           ? "this Qt has no TLS backend"
                : d->sslConfiguration->localCertificate().isNull() ? "no certificate is set"
                : d->sslConfiguration->privateKey().isNull()       ? "no private key is set"
                                                                   : nullptr;
        if (problem) {
            d->setError(TlsError,
                        QStringLiteral("cannot serve TLS on %1 port %2: %3")
                                .arg(address.toString())
                                .arg(port)
                                .arg(QLatin1String(problem)));
            return false;
        }
        auto server = std::make_unique<QSslServer>();
        server->setSslConfiguration(*d->sslConfiguration);
        QObject::connect(server.get(), &QSslServer::errorOccurred, this,
                         [](QSslSocket *socket, QAbstractSocket::SocketError error) {
                             qCInfo(lcPushServer) << "TLS handshake with" << socket->peerAddress()
                                                  << "failed:" << error;
                         });
        d->listener = std::move(server);
    } else
#endif
    {
        d->listener = std::make_unique<QTcpServer>();
    }
    // Connections are taken as fast as they come; the kernel's backlog queues the rest.
    d->listener->setMaxPendingConnections(std::numeric_limits<int>::max());
    d->listener->setListenBacklogSize(4096); // bursts of connects (the kernel caps it: somaxconn)
    QObject::connect(d->listener.get(), &QTcpServer::pendingConnectionAvailable, this,
                     [this] { d->connections.accept(d->listener.get()); });
    if (!d->listener->listen(address, port)) {
        d->setError(ListenError,
                    QStringLiteral("cannot listen on %1 port %2: %3")
                            .arg(address.toString())
                            .arg(port)
                            .arg(d->listener->errorString()));
        d->listener.reset();
        return false;
    }
    if (!std::exchange(d->adoptedRecovered, true)) // now that the settings are set
        d->sessions.adoptRecovered(PushClock::steadyMs());
    d->shuttingDown = false;
    d->housekeepingTimer.start();
    qCInfo(lcPushServer, "listening on %s port %u", qUtf8Printable(serverAddress().toString()),
           unsigned(serverPort()));
    Q_EMIT listeningChanged();
    return true;
}

bool PushServer::isListening() const
{
    return d->listener && d->listener->isListening();
}

QHostAddress PushServer::serverAddress() const
{
    return d->listener ? d->listener->serverAddress() : QHostAddress();
}

quint16 PushServer::serverPort() const
{
    return d->listener ? d->listener->serverPort() : 0;
}

void PushServer::shutdown(int timeoutMs)
{
    qCInfo(lcPushServer) << "shutting down:" << d->connections.connectionCount()
                         << "connections to close";
    const bool wasListening = isListening();
    if (d->listener)
        d->listener->close();
    d->shuttingDown = true;
    d->shutdownTimer.start(timeoutMs);
    d->connections.shutdown();
    if (wasListening)
        Q_EMIT listeningChanged();
    d->checkShutdownFinished();
}

void PushServer::abort()
{
    const bool wasListening = isListening();
    if (d->listener)
        d->listener->close();
    d->housekeepingTimer.stop();
    d->connections.abort();
    if (wasListening)
        Q_EMIT listeningChanged();
}

int PushServer::connectionCount() const
{
    return d->connections.connectionCount();
}

QByteArray PushServer::secret() const
{
    return d->config.secret;
}

void PushServer::setSecret(const QByteArray &secret)
{
    if (!secret.isEmpty() && secret.size() < 32) {
        // RFC 7518 §3.2: an HS256 key must have at least 256 bits.
        qCWarning(lcPushServer,
                  "PushServer::setSecret: a secret of %d byte%s is weak; use at "
                  "least 32 random bytes",
                  int(secret.size()), secret.size() == 1 ? "" : "s");
    }
    d->config.secret = secret;
}

void PushServer::setAllowInsecureRemote(bool allow)
{
    d->config.allowInsecureRemote = allow;
}

void PushServer::setSslConfiguration(const QSslConfiguration &configuration)
{
    d->sslConfiguration = configuration;
}

qint64 PushServer::maxMessageBytes() const
{
    return d->config.maxMessageBytes;
}

void PushServer::setMaxMessageBytes(qint64 bytes)
{
    if (bytes < 1) {
        qCWarning(lcPushServer) << "PushServer::setMaxMessageBytes: refusing" << bytes;
        return;
    }
    d->config.maxMessageBytes = bytes;
}

int PushServer::maxConnections() const
{
    return d->config.maxConnections;
}

void PushServer::setMaxConnections(int connections)
{
    d->config.maxConnections = std::max(0, connections);
}

int PushServer::maxClientsPerSession() const
{
    return d->config.maxClientsPerSession;
}

void PushServer::setMaxClientsPerSession(int clients)
{
    d->config.maxClientsPerSession = std::max(0, clients);
}

double PushServer::pushRateLimit() const
{
    return d->config.pushRateLimit;
}

void PushServer::setPushRateLimit(double pushesPerSecond)
{
    d->config.pushRateLimit = std::max(0.0, pushesPerSecond);
}

int PushServer::clientGracePeriod() const
{
    return d->config.clientGracePeriodMs;
}

void PushServer::setClientGracePeriod(int milliseconds)
{
    d->config.clientGracePeriodMs = std::max(0, milliseconds);
    d->clients.reschedule();
}

int PushServer::pingInterval() const
{
    return d->config.pingIntervalMs;
}

void PushServer::setPingInterval(int milliseconds)
{
    if (milliseconds < 100) {
        qCWarning(lcPushServer) << "PushServer::setPingInterval: refusing" << milliseconds
                                << "ms (at least 100)";
        return;
    }
    d->config.pingIntervalMs = milliseconds;
}

int PushServer::clientBuffer() const
{
    return d->config.clientBuffer;
}

void PushServer::setClientBuffer(int messages)
{
    if (messages < 1) {
        qCWarning(lcPushServer) << "PushServer::setClientBuffer: refusing" << messages;
        return;
    }
    d->config.clientBuffer = messages;
}

int PushServer::retainedMessages() const
{
    return d->config.retainedMessages;
}

void PushServer::setRetainedMessages(int messages)
{
    d->config.retainedMessages = std::max(0, messages);
}

int PushServer::retentionPeriod() const
{
    return d->config.retentionPeriodMs;
}

void PushServer::setRetentionPeriod(int milliseconds)
{
    d->config.retentionPeriodMs = std::max(0, milliseconds);
}

qint64 PushServer::clientBufferBytes() const
{
    return d->config.clientBufferBytes;
}

void PushServer::setClientBufferBytes(qint64 bytes)
{
    d->config.clientBufferBytes = std::max<qint64>(0, bytes);
}

qint64 PushServer::maxRetainedBytes() const
{
    return d->config.maxRetainedBytes;
}

void PushServer::setMaxRetainedBytes(qint64 bytes)
{
    d->config.maxRetainedBytes = std::max<qint64>(0, bytes);
}

int PushServer::maxSessions() const
{
    return d->config.maxSessions;
}

void PushServer::setMaxSessions(int sessions)
{
    d->config.maxSessions = std::max(0, sessions);
}

PushServer::Error PushServer::error() const
{
    return d->error;
}

QString PushServer::errorString() const
{
    return d->errorString;
}
