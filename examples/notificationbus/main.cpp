// SPDX-License-Identifier: MIT
// An in-app notification bus: a file sync panel pushes to the session "notifications" of the
// process-wide registry, and a notification list, a status bar badge and an activity log each
// react through a client of their own. The parts know nothing of each other, only the session
// name (notification.h); main() only lays them out.
#include "activitylog.h"
#include "notificationbadge.h"
#include "notificationlist.h"
#include "syncpanel.h"

#include <QtPush/pushregistry.h>

#include <QtWidgets/QApplication>
#include <QtWidgets/QMainWindow>
#include <QtWidgets/QSplitter>
#include <QtWidgets/QStatusBar>

int main(int argc, char *argv[])
{
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("qtpush-notificationbus"));
    PushRegistry *registry = PushRegistry::global();

    QMainWindow window;
    window.setWindowTitle(QApplication::translate("main", "QtPush notification bus"));

    auto *side = new QSplitter(Qt::Vertical);
    side->addWidget(new NotificationList(registry));
    side->addWidget(new ActivityLog(registry));
    side->setSizes({250, 210});

    auto *splitter = new QSplitter(Qt::Horizontal);
    splitter->addWidget(new SyncPanel(registry));
    splitter->addWidget(side);
    splitter->setSizes({340, 640});
    splitter->setChildrenCollapsible(false);

    window.setCentralWidget(splitter);
    window.statusBar()->addPermanentWidget(new NotificationBadge(registry));
    window.resize(980, 540);
    window.show();
    return app.exec();
}
