// SPDX-License-Identifier: MIT
#include "notification.h"

#include <QtPush/pushclient.h>
#include <QtPush/pushregistry.h>
#include <QtPush/pushsession.h>

#include <QtCore/QAtomicInt>
#include <QtCore/QDateTime>

namespace Notification {

QString session()
{
    return QStringLiteral("notifications");
}

namespace {
QVariantMap message(const QString &kind, const QString &source)
{
    return {{QStringLiteral("kind"), kind},
            {QStringLiteral("source"), source},
            {QStringLiteral("time"), QDateTime::currentDateTime()}};
}
} // namespace

QVariantMap notification(const QString &source, const QString &level, const QString &title,
                         const QString &text)
{
    QVariantMap result = message(QStringLiteral("notification"), source);
    result.insert(QStringLiteral("level"), level);
    result.insert(QStringLiteral("title"), title);
    result.insert(QStringLiteral("text"), text);
    return result;
}

QVariantMap progress(const QString &source, const QString &text, int done, int total)
{
    QVariantMap result = message(QStringLiteral("progress"), source);
    result.insert(QStringLiteral("text"), text);
    result.insert(QStringLiteral("done"), done);
    result.insert(QStringLiteral("total"), total);
    return result;
}

QVariantMap cleared(const QString &source)
{
    return message(QStringLiteral("cleared"), source);
}

PushClient *join(PushRegistry *registry, const QString &part, QObject *owner)
{
    static QAtomicInt s_lastId;
    const QString id = part + u'-' + QString::number(s_lastId.fetchAndAddRelaxed(1) + 1);
    PushClient *client = registry->session(session())->newClient(id);
    QObject::connect(owner, &QObject::destroyed, client, &PushClient::deleteSelf);
    return client;
}

} // namespace Notification
