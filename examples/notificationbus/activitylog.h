// SPDX-License-Identifier: MIT
#pragma once

#include <QtWidgets/QWidget>

class PushRegistry;
class QPlainTextEdit;

/*!
    Every message of the session Notification::session(), one line each, progress included: a
    developer's view of the bus. It reads through a PushClient of its own and knows no other
    part. It keeps the newest 500 lines.

    Ownership: an ordinary QWidget, owned by its parent; its client belongs to the session and
    is deleted with this widget. \a registry must outlive it. Threading: GUI thread only.
*/
class ActivityLog : public QWidget
{
    Q_OBJECT
public:
    explicit ActivityLog(PushRegistry *registry, QWidget *parent = nullptr);
    ~ActivityLog() override;

    //! The lines shown, oldest first.
    QStringList lines() const;

private:
    void receive(const QVariant &message);

    QPlainTextEdit *m_text;
};
