// SPDX-License-Identifier: MIT
// The in-process bus in a few lines: one user ("alice") with two devices. The phone streams
// through messageReceived in the main thread; the laptop is a worker thread that pulls.
#include <QtPush/pushclient.h>
#include <QtPush/pushregistry.h>
#include <QtPush/pushsession.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QJsonDocument>
#include <QtCore/QMutex>
#include <QtCore/QSemaphore>
#include <QtCore/QThread>

#include <cstdio>

namespace {
// One whole line at a time: the main thread and the worker print side by side.
void say(const QString &line)
{
    static QMutex mutex;
    QMutexLocker locker(&mutex);
    std::fputs(qPrintable(line + QLatin1Char('\n')), stdout);
    std::fflush(stdout);
}

QString describe(const QVariant &message)
{
    return QString::fromUtf8(QJsonDocument::fromVariant(message).toJson(QJsonDocument::Compact));
}
} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    const int messages = 5;

    PushSession *alice = PushRegistry::global()->session(QStringLiteral("alice"));

    PushClient *phone = alice->newClient(QStringLiteral("phone"));
    int phoneReceived = 0;
    // Same thread as the pusher: the slot runs inside push(), as with a direct connection.
    QObject::connect(phone, &PushClient::messageReceived, &app, [&](const QVariant &message) {
        ++phoneReceived;
        say(QStringLiteral("phone  (signal, main thread)  got #%1 %2")
                    .arg(phone->lastMessageId())
                    .arg(describe(message)));
    });

    // The laptop's client is created in its worker thread, so it lives and pulls there.
    int laptopReceived = 0;
    QSemaphore laptopReady;
    QThread *laptop = QThread::create([alice, &laptopReceived, &laptopReady] {
        PushClient *client = alice->newClient(QStringLiteral("laptop"));
        laptopReady.release();
        for (int i = 0; i < messages; ++i) {
            bool ok = false;
            const QVariant message = client->pull(5000, &ok);
            if (!ok)
                break;
            ++laptopReceived;
            say(QStringLiteral("laptop (pull, worker thread) got #%1 %2")
                        .arg(client->lastMessageId())
                        .arg(describe(message)));
        }
        client->deleteSelf();
    });
    laptop->start();
    laptopReady.acquire(); // the laptop's client exists, so it sees every push

    for (int i = 1; i <= messages; ++i) {
        const QVariantMap message{{QStringLiteral("title"), QStringLiteral("notification")},
                                  {QStringLiteral("n"), i}};
        const quint64 id = alice->push(message);
        say(QStringLiteral("pushed #%1 to %2 clients").arg(id).arg(alice->count()));
    }

    laptop->wait();
    delete laptop;
    say(QStringLiteral("phone received %1, laptop received %2 of %3 messages")
                .arg(phoneReceived)
                .arg(laptopReceived)
                .arg(messages));
    return phoneReceived == messages && laptopReceived == messages ? 0 : 1;
}
