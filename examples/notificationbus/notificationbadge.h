// SPDX-License-Identifier: MIT
#pragma once

#include <QtWidgets/QLabel>

class PushRegistry;

/*!
    A status bar badge: how many notifications arrived on the session Notification::session()
    since they were last cleared, red when one of them is an error. It counts through a
    PushClient of its own and knows no other part.

    Ownership: an ordinary QLabel, owned by its parent; its client belongs to the session and is
    deleted with this widget. \a registry must outlive it. Threading: GUI thread only.
*/
class NotificationBadge : public QLabel
{
    Q_OBJECT
public:
    explicit NotificationBadge(PushRegistry *registry, QWidget *parent = nullptr);
    ~NotificationBadge() override;

    int count() const { return m_count; }
    bool hasError() const { return m_hasError; }

private:
    void receive(const QVariant &message);
    void showCount();

    int m_count = 0;
    bool m_hasError = false;
};
