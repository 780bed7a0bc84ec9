// SPDX-License-Identifier: MIT
#include "syncpanel.h"

#include "notification.h"

#include <QtPush/pushregistry.h>
#include <QtPush/pushsession.h>

#include <QtCore/QLocale>
#include <QtWidgets/QCheckBox>
#include <QtWidgets/QHBoxLayout>
#include <QtWidgets/QHeaderView>
#include <QtWidgets/QLabel>
#include <QtWidgets/QProgressBar>
#include <QtWidgets/QPushButton>
#include <QtWidgets/QStyle>
#include <QtWidgets/QTreeWidget>
#include <QtWidgets/QVBoxLayout>

#include <iterator>

namespace {
struct File
{
    const char *name;
    qint64 bytes;
};

constexpr File s_files[] = {
        {"Quarterly report.pdf", 2'457'600}, {"Budget 2024.xlsx", 838'656},
        {"Team photo.jpg", 5'347'737},       {"Meeting notes.md", 14'336},
        {"Product demo.mp4", 48'234'496},
};
constexpr int s_fileCount = int(std::size(s_files));
constexpr int s_failingFile = 2; // with "Work offline" checked

QString source()
{
    return QStringLiteral("File sync");
}

QString dataSize(qint64 bytes)
{
    return QLocale().formattedDataSize(bytes, 1);
}

qint64 totalBytes()
{
    qint64 bytes = 0;
    for (const File &file : s_files)
        bytes += file.bytes;
    return bytes;
}
} // namespace

SyncPanel::SyncPanel(PushRegistry *registry, QWidget *parent)
    : QWidget(parent), m_session(registry->session(Notification::session())),
      m_files(new QTreeWidget(this)), m_progress(new QProgressBar(this)),
      m_offline(new QCheckBox(tr("Work offline"), this)),
      m_syncButton(new QPushButton(tr("Sync now"), this))
{
    auto *title = new QLabel(tr("<b>File sync</b>"), this);
    auto *subtitle = new QLabel(tr("Documents folder to cloud storage"), this);
    subtitle->setForegroundRole(QPalette::PlaceholderText);

    m_files->setObjectName(QStringLiteral("files"));
    m_files->setHeaderLabels({tr("File"), tr("Size"), tr("Status")});
    m_files->setRootIsDecorated(false);
    m_files->setUniformRowHeights(true);
    for (const File &file : s_files) {
        auto *item = new QTreeWidgetItem(m_files);
        item->setText(0, QString::fromUtf8(file.name));
        item->setIcon(0, style()->standardIcon(QStyle::SP_FileIcon));
        item->setText(1, dataSize(file.bytes));
        item->setTextAlignment(1, Qt::AlignRight | Qt::AlignVCenter);
        setStatus(m_files->indexOfTopLevelItem(item), Status::Pending);
    }
    m_files->header()->setSectionResizeMode(0, QHeaderView::Stretch);
    m_files->header()->setSectionResizeMode(1, QHeaderView::ResizeToContents);
    m_files->header()->setSectionResizeMode(2, QHeaderView::ResizeToContents);
    m_files->header()->setStretchLastSection(false);

    m_progress->setObjectName(QStringLiteral("progress"));
    m_progress->setRange(0, s_fileCount);
    m_progress->setValue(0);
    m_progress->setFormat(tr("%v of %m files"));
    m_offline->setObjectName(QStringLiteral("offline"));
    m_syncButton->setObjectName(QStringLiteral("syncButton"));
    m_syncButton->setDefault(true);

    auto *buttons = new QHBoxLayout;
    buttons->addWidget(m_offline);
    buttons->addStretch();
    buttons->addWidget(m_syncButton);

    auto *layout = new QVBoxLayout(this);
    layout->addWidget(title);
    layout->addWidget(subtitle);
    layout->addWidget(m_files, 1);
    layout->addWidget(m_progress);
    layout->addLayout(buttons);

    m_timer.setInterval(400);
    connect(&m_timer, &QTimer::timeout, this, &SyncPanel::step);
    connect(m_syncButton, &QPushButton::clicked, this, &SyncPanel::sync);
}

SyncPanel::~SyncPanel() = default;

bool SyncPanel::isSyncing() const
{
    return m_timer.isActive();
}

void SyncPanel::setStepInterval(int milliseconds)
{
    m_timer.setInterval(milliseconds);
}

void SyncPanel::sync()
{
    if (isSyncing() || !m_session)
        return;
    m_done = 0;
    for (int row = 0; row < s_fileCount; ++row)
        setStatus(row, Status::Pending);
    m_progress->setValue(0);
    m_syncButton->setEnabled(false);
    m_offline->setEnabled(false);
    m_timer.start();
    m_session->push(Notification::progress(
            source(), tr("Sync started: %1 files, %2").arg(s_fileCount).arg(dataSize(totalBytes())),
            0, s_fileCount));
}

void SyncPanel::step()
{
    if (!m_session) {
        finish();
        return;
    }
    const QString name = QString::fromUtf8(s_files[m_done].name);
    if (m_offline->isChecked() && m_done == s_failingFile) {
        setStatus(m_done, Status::Failed);
        finish();
        m_session->push(Notification::notification(
                source(), QStringLiteral("error"), tr("Sync failed"),
                tr("%1 was not uploaded: no network connection.").arg(name)));
        return;
    }
    setStatus(m_done, Status::Uploaded);
    m_progress->setValue(++m_done);
    m_session->push(
            Notification::progress(source(), tr("Uploaded %1").arg(name), m_done, s_fileCount));
    if (m_done < s_fileCount)
        return;
    finish();
    m_session->push(Notification::notification(
            source(), QStringLiteral("success"), tr("Sync finished"),
            tr("%1 files uploaded, %2.").arg(s_fileCount).arg(dataSize(totalBytes()))));
}

void SyncPanel::finish()
{
    m_timer.stop();
    m_syncButton->setEnabled(true);
    m_offline->setEnabled(true);
}

void SyncPanel::setStatus(int row, Status status)
{
    QTreeWidgetItem *item = m_files->topLevelItem(row);
    switch (status) {
    case Status::Pending:
        item->setText(2, tr("Pending"));
        item->setIcon(2, style()->standardIcon(QStyle::SP_BrowserReload));
        break;
    case Status::Uploaded:
        item->setText(2, tr("Uploaded"));
        item->setIcon(2, style()->standardIcon(QStyle::SP_DialogApplyButton));
        break;
    case Status::Failed:
        item->setText(2, tr("Failed"));
        item->setIcon(2, style()->standardIcon(QStyle::SP_MessageBoxCritical));
        break;
    }
}
