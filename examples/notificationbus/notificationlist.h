// SPDX-License-Identifier: MIT
#pragma once

#include <QtCore/QPointer>
#include <QtWidgets/QWidget>

class PushRegistry;
class PushSession;
class QLabel;
class QListWidget;
class QPushButton;

/*!
    The notifications the user has not dismissed, newest first: every "notification" message of
    the session Notification::session(), received through a PushClient of its own. "Clear"
    pushes a "cleared" message, and the list empties when that message arrives, as every other
    part that counts notifications does.

    Ownership: an ordinary QWidget, owned by its parent; its client belongs to the session and
    is deleted with this widget. \a registry must outlive it. Threading: GUI thread only.
*/
class NotificationList : public QWidget
{
    Q_OBJECT
public:
    explicit NotificationList(PushRegistry *registry, QWidget *parent = nullptr);
    ~NotificationList() override;

    int count() const;

public Q_SLOTS:
    //! Tells every part that the user dismissed the notifications.
    void clear();

private:
    void receive(const QVariant &message);
    void showEmptyState();

    QPointer<PushSession> m_session;
    QListWidget *m_list;
    QLabel *m_empty;
    QPushButton *m_clearButton;
};
