// SPDX-License-Identifier: MIT
#include "activitylog.h"

#include "notification.h"

#include <QtPush/pushclient.h>

#include <QtCore/QDateTime>
#include <QtGui/QFontDatabase>
#include <QtWidgets/QLabel>
#include <QtWidgets/QPlainTextEdit>
#include <QtWidgets/QVBoxLayout>

ActivityLog::ActivityLog(PushRegistry *registry, QWidget *parent)
    : QWidget(parent), m_text(new QPlainTextEdit(this))
{
    m_text->setObjectName(QStringLiteral("log"));
    m_text->setReadOnly(true);
    m_text->setMaximumBlockCount(500);
    m_text->setLineWrapMode(QPlainTextEdit::NoWrap);
    m_text->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(new QLabel(tr("<b>Activity</b>"), this));
    layout->addWidget(m_text, 1);

    PushClient *client = Notification::join(registry, QStringLiteral("log"), this);
    connect(client, &PushClient::messageReceived, this, &ActivityLog::receive);
}

ActivityLog::~ActivityLog() = default;

QStringList ActivityLog::lines() const
{
    return m_text->toPlainText().split(u'\n', Qt::SkipEmptyParts);
}

void ActivityLog::receive(const QVariant &message)
{
    const QVariantMap map = message.toMap();
    const QString kind = map.value(QStringLiteral("kind")).toString();
    QString text;
    if (kind == QLatin1String("notification")) {
        text = map.value(QStringLiteral("level")).toString() + QStringLiteral(": ")
                + map.value(QStringLiteral("title")).toString() + QStringLiteral(". ")
                + map.value(QStringLiteral("text")).toString();
    } else if (kind == QLatin1String("progress")) {
        text = QStringLiteral("[%1/%2] ")
                        .arg(map.value(QStringLiteral("done")).toInt())
                        .arg(map.value(QStringLiteral("total")).toInt())
                + map.value(QStringLiteral("text")).toString();
    } else if (kind == QLatin1String("cleared")) {
        text = tr("notifications cleared");
    } else {
        text = tr("unknown message kind \"%1\"").arg(kind);
    }
    m_text->appendPlainText(
            map.value(QStringLiteral("time")).toDateTime().toString(QStringLiteral("HH:mm:ss"))
            + QStringLiteral("  ")
            + map.value(QStringLiteral("source")).toString().leftJustified(11)
            + QStringLiteral("  ") + text);
}
