// SPDX-License-Identifier: MIT
#pragma once

#include <QtCore/QPointer>
#include <QtCore/QTimer>
#include <QtWidgets/QWidget>

class PushRegistry;
class PushSession;
class QCheckBox;
class QProgressBar;
class QPushButton;
class QTreeWidget;

/*!
    The part that works: a simulated sync of a few files to cloud storage. "Sync now" uploads
    them one per step; with "Work offline" checked the third upload fails. It tells the rest of
    the application what happens only by pushing to the session Notification::session(): a
    "progress" message per step, then a "notification" that the sync finished or failed. It
    knows no receiver.

    Ownership: an ordinary QWidget, owned by its parent. The session belongs to \a registry,
    which must outlive this panel. Threading: GUI thread only.
*/
class SyncPanel : public QWidget
{
    Q_OBJECT
public:
    explicit SyncPanel(PushRegistry *registry, QWidget *parent = nullptr);
    ~SyncPanel() override;

    bool isSyncing() const;
    //! The time an upload takes; 400 ms by default.
    void setStepInterval(int milliseconds);

public Q_SLOTS:
    //! Starts a sync; does nothing while one runs.
    void sync();

private:
    enum class Status { Pending, Uploaded, Failed };

    void step();
    void finish();
    void setStatus(int row, Status status);

    QPointer<PushSession> m_session;
    QTreeWidget *m_files;
    QProgressBar *m_progress;
    QCheckBox *m_offline;
    QPushButton *m_syncButton;
    QTimer m_timer;
    int m_done = 0;
};
