// SPDX-License-Identifier: MIT
#include "notificationlist.h"

#include "notification.h"

#include <QtPush/pushclient.h>
#include <QtPush/pushregistry.h>
#include <QtPush/pushsession.h>

#include <QtCore/QDateTime>
#include <QtWidgets/QHBoxLayout>
#include <QtWidgets/QLabel>
#include <QtWidgets/QListWidget>
#include <QtWidgets/QPushButton>
#include <QtWidgets/QStyle>
#include <QtWidgets/QVBoxLayout>

NotificationList::NotificationList(PushRegistry *registry, QWidget *parent)
    : QWidget(parent), m_session(registry->session(Notification::session())),
      m_list(new QListWidget(this)), m_empty(new QLabel(tr("No notifications"), this)),
      m_clearButton(new QPushButton(tr("Clear"), this))
{
    auto *title = new QLabel(tr("<b>Notifications</b>"), this);
    m_clearButton->setObjectName(QStringLiteral("clearButton"));
    auto *header = new QHBoxLayout;
    header->addWidget(title);
    header->addStretch();
    header->addWidget(m_clearButton);

    m_list->setObjectName(QStringLiteral("list"));
    m_list->setIconSize(QSize(32, 32));
    m_list->setSpacing(2);
    m_list->setSelectionMode(QAbstractItemView::NoSelection);
    m_list->setFocusPolicy(Qt::NoFocus);
    m_empty->setAlignment(Qt::AlignCenter);
    m_empty->setForegroundRole(QPalette::PlaceholderText);

    auto *layout = new QVBoxLayout(this);
    layout->addLayout(header);
    layout->addWidget(m_list, 1);
    layout->addWidget(m_empty, 1);
    showEmptyState();

    connect(m_clearButton, &QPushButton::clicked, this, &NotificationList::clear);
    PushClient *client = Notification::join(registry, QStringLiteral("list"), this);
    connect(client, &PushClient::messageReceived, this, &NotificationList::receive);
}

NotificationList::~NotificationList() = default;

int NotificationList::count() const
{
    return m_list->count();
}

void NotificationList::clear()
{
    if (m_session)
        m_session->push(Notification::cleared(tr("Notifications")));
}

void NotificationList::receive(const QVariant &message)
{
    const QVariantMap map = message.toMap();
    const QString kind = map.value(QStringLiteral("kind")).toString();
    if (kind == QLatin1String("cleared")) {
        m_list->clear();
        showEmptyState();
        return;
    }
    if (kind != QLatin1String("notification"))
        return;

    const QString level = map.value(QStringLiteral("level")).toString();
    const QStyle::StandardPixmap icon = level == QLatin1String("error")
            ? QStyle::SP_MessageBoxCritical
            : level == QLatin1String("success") ? QStyle::SP_DialogApplyButton
                                                : QStyle::SP_MessageBoxInformation;
    const QString time
            = map.value(QStringLiteral("time")).toDateTime().toString(QStringLiteral("HH:mm:ss"));
    auto *item = new QListWidgetItem(style()->standardIcon(icon),
                                     map.value(QStringLiteral("title")).toString() + u'\n'
                                             + map.value(QStringLiteral("text")).toString() + u'\n'
                                             + map.value(QStringLiteral("source")).toString()
                                             + QStringLiteral(" · ") + time);
    m_list->insertItem(0, item);
    showEmptyState();
}

void NotificationList::showEmptyState()
{
    const bool empty = m_list->count() == 0;
    m_list->setVisible(!empty);
    m_empty->setVisible(empty);
    m_clearButton->setEnabled(!empty);
}
