// SPDX-License-Identifier: MIT
#include "notificationbadge.h"

#include "notification.h"

#include <QtPush/pushclient.h>

NotificationBadge::NotificationBadge(PushRegistry *registry, QWidget *parent) : QLabel(parent)
{
    setObjectName(QStringLiteral("badge"));
    setAlignment(Qt::AlignCenter);
    showCount();
    PushClient *client = Notification::join(registry, QStringLiteral("badge"), this);
    connect(client, &PushClient::messageReceived, this, &NotificationBadge::receive);
}

NotificationBadge::~NotificationBadge() = default;

void NotificationBadge::receive(const QVariant &message)
{
    const QVariantMap map = message.toMap();
    const QString kind = map.value(QStringLiteral("kind")).toString();
    if (kind == QLatin1String("cleared")) {
        m_count = 0;
        m_hasError = false;
    } else if (kind == QLatin1String("notification")) {
        ++m_count;
        m_hasError = m_hasError || map.value(QStringLiteral("level")) == QLatin1String("error");
    } else {
        return;
    }
    showCount();
}

void NotificationBadge::showCount()
{
    if (m_count == 0) {
        setText(tr("No new notifications"));
        setStyleSheet(QStringLiteral("padding: 2px 10px; color: #757575;"));
        return;
    }
    setText(m_count == 1 ? tr("1 new notification") : tr("%1 new notifications").arg(m_count));
    setStyleSheet(QStringLiteral("padding: 2px 10px; border-radius: 9px; color: white; "
                                 "font-weight: bold; background: %1;")
                          .arg(m_hasError ? QStringLiteral("#c62828") : QStringLiteral("#1565c0")));
}
