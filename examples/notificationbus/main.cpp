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

#include <QtCore/QCommandLineParser>
#include <QtWidgets/QApplication>
#include <QtWidgets/QMainWindow>
#include <QtWidgets/QSplitter>
#include <QtWidgets/QStatusBar>

namespace {
//! Only --help: answered by a QCoreApplication, which needs no window system, so that a machine
//! without a display can ask too (as qtpush-dashboard does).
bool asksOnlyForHelp(int argc, char *argv[])
{
    for (int i = 1; i < argc; ++i) {
        const QByteArray argument(argv[i]);
        if (argument == "-h" || argument == "--help" || argument == "--help-all")
            return true;
    }
    return false;
}

void parseArguments(const QCoreApplication &app)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
            "An in-app notification bus: a sync panel pushes to the session \"notifications\"; "
            "a list, a badge and a log each react through a client of their own."));
    parser.addHelpOption();
    parser.process(app); // answers --help and refuses unknown options, and exits for both
}
} // namespace

int main(int argc, char *argv[])
{
    if (asksOnlyForHelp(argc, argv)) {
        QCoreApplication app(argc, argv);
        QCoreApplication::setApplicationName(QStringLiteral("qtpush-notificationbus"));
        parseArguments(app);
    }
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("qtpush-notificationbus"));
    parseArguments(app);
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
