// SPDX-License-Identifier: MIT
// Uses every row of the Go package's API, as QtPush spells it, through the installed headers.
#include <QtPush/pushclient.h>
#include <QtPush/pushmemorybroker.h>
#include <QtPush/pushregistry.h>
#include <QtPush/pushremoteclient.h>
#include <QtPush/pushserver.h>
#include <QtPush/pushsession.h>
#include <QtPush/pushtoken.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QLoggingCategory>
#include <QtCore/QPointer>
#include <QtCore/QThread>

#include <cstdio>

static int checks = 0;
static int failures = 0;

static void check(bool ok, const char *what)
{
    ++checks;
    if (!ok) {
        ++failures;
        std::fprintf(stderr, "consumer: FAILED: %s\n", what);
    }
}

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QLoggingCategory::setFilterRules(QStringLiteral("qtpush.*.warning=false")); // null ids below

    PushRegistry *registry = PushRegistry::global(); // package map
    PushSession *session = registry->session(QStringLiteral("alice")); // NewSession
    check(session && registry->session(QStringLiteral("alice")) == session, "session");
    check(registry->findSession(QStringLiteral("nobody")) == nullptr, "findSession");
    check(registry->exists(QStringLiteral("alice")), "Exists(session)");
    check(session->maxBuffer() == 10, "MaxChannelBuffer default"); // MaxChannelBuffer
    session->setMaxBuffer(2);
    check(session->maxBuffer() == 2, "setMaxBuffer");

    check(session->newClient(QVariant()) == nullptr, "NewClient(nil)"); // NewClient
    PushClient *phone = session->newClient(QStringLiteral("phone"));
    PushClient *laptop = session->newClient(QStringLiteral("laptop"));
    check(phone && session->newClient(QStringLiteral("phone")) == phone, "NewClient");
    check(session->count() == 2 && session->clients().size() == 2, "Len/Clients");
    check(session->exists(QStringLiteral("laptop")), "Exists(client)");
    check(phone->key() == QVariant(QStringLiteral("phone")), "Key"); // Key, KeyString
    check(phone->keyString() == QStringLiteral("phone")
                  && session->keyString() == QStringLiteral("alice"),
          "KeyString");
    check(phone->session() == session, "client session");

    QList<int> streamed; // PullChan
    QObject::connect(laptop, &PushClient::messageReceived, &app,
                     [&streamed](const QVariant &message) { streamed.append(message.toInt()); });
    int dropped = 0;
    QObject::connect(phone, &PushClient::overflowed, &app, [&dropped](int n) { dropped += n; });

    const quint64 first = session->push(1); // Push
    session->push(2);
    session->push(3);
    check(first > 0 && session->lastMessageId() == first + 2, "push ids");
    check(streamed == QList<int>({1, 2, 3}), "messageReceived");
    check(dropped == 1 && phone->pending() == 2, "overflowed and pending");

    QVariant message; // Pull
    check(phone->tryPull(&message) && message.toInt() == 2, "tryPull");
    bool ok = false;
    check(phone->pull(1000, &ok).toInt() == 3 && ok, "pull");
    phone->pull(10, &ok);
    check(!ok, "pull timeout");

    phone->close(); // Close
    check(phone->isClosed(), "Close");
    phone->deleteSelf(); // DeleteSelf
    session->deleteClient(QStringLiteral("missing")); // DeleteClient
    session->deleteClient(QStringLiteral("laptop"));
    check(session->count() == 0, "DeleteClient");

    QPointer<PushSession> tracked = session;
    session->deleteSelf(); // DeleteSelf
    registry->deleteSession(QStringLiteral("missing")); // DeleteSession
    check(!registry->exists(QStringLiteral("alice")), "DeleteSession");
    QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
    check(tracked.isNull(), "session deleted");

    // A registry given its broker (pushbroker.h, pushmemorybroker.h), and publish()'s receipt.
    auto broker = std::make_unique<PushMemoryBroker>();
    check(broker->open(), "PushBroker::open");
    PushRegistry own(std::move(broker));
    const QFuture<PushReceipt> receipt = own.session(QStringLiteral("s"))->publish(7);
    check(receipt.isFinished() && receipt.result().id == 1
                  && receipt.result().error == PushBroker::NoError,
          "publish");

    // The server and client libraries link and work from the installed package too.
    PushServer server(registry);
    check(server.listen(QHostAddress::LocalHost, 0) && server.serverPort() != 0, "PushServer");
    PushToken token;
    token.session = QStringLiteral("alice");
    token.scopes = PushToken::Subscribe;
    check(PushToken::verify(token.sign("secret"), "secret").has_value(), "PushToken");
    PushRemoteClient remote;
    remote.setSession(QStringLiteral("alice"));
    check(remote.status() == PushRemoteClient::Idle && !remote.push(1), "PushRemoteClient");

    std::printf("consumer: %d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
