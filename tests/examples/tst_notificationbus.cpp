// SPDX-License-Identifier: MIT
// The notification bus example's real parts, each with a registry of the test's own: a sync
// run by the panel reaches the list, the badge and the log through the session alone.
#include "activitylog.h"
#include "notification.h"
#include "notificationbadge.h"
#include "notificationlist.h"
#include "syncpanel.h"

#include <QtPush/pushregistry.h>
#include <QtPush/pushsession.h>

#include <QtTest/QtTest>
#include <QtWidgets/QCheckBox>
#include <QtWidgets/QHBoxLayout>
#include <QtWidgets/QListWidget>
#include <QtWidgets/QProgressBar>
#include <QtWidgets/QPushButton>
#include <QtWidgets/QTreeWidget>

namespace {
//! The parts as main() has them, side by side in a window of their own.
struct Bus
{
    explicit Bus(PushRegistry *registry)
        : sync(new SyncPanel(registry, &window)), list(new NotificationList(registry, &window)),
          badge(new NotificationBadge(registry, &window)), log(new ActivityLog(registry, &window))
    {
        sync->setStepInterval(1);
        auto *layout = new QHBoxLayout(&window);
        for (QWidget *part : {static_cast<QWidget *>(sync), static_cast<QWidget *>(list),
                              static_cast<QWidget *>(badge), static_cast<QWidget *>(log)})
            layout->addWidget(part);
        window.show();
    }

    QWidget window;
    SyncPanel *sync;
    NotificationList *list;
    NotificationBadge *badge;
    ActivityLog *log;
};

template<typename T>
T *child(QWidget *parent, const char *name)
{
    T *found = parent->findChild<T *>(QLatin1String(name));
    if (!found)
        qFatal("no %s named %s", T::staticMetaObject.className(), name);
    return found;
}
} // namespace

class tst_NotificationBus : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void init();
    void everyPartHasAClientOfItsOwn();
    void aSyncReachesTheListTheBadgeAndTheLog();
    void aFailedSyncIsAnErrorEverywhere();
    void clearingTheListResetsTheBadge();
    void twoListsBothReceiveAndClearTogether();
    void aPartOfAnotherRegistryHearsNothing();
};

void tst_NotificationBus::init()
{
    // Any warning but the offscreen platform's notice that it keeps no size hints.
    QTest::failOnWarning(QRegularExpression(
            QStringLiteral("^(?!This plugin does not support propagateSizeHints\\(\\)$)")));
}

void tst_NotificationBus::everyPartHasAClientOfItsOwn()
{
    PushRegistry registry;
    Bus bus(&registry);
    PushSession *session = registry.findSession(Notification::session());
    QVERIFY(session);
    QCOMPARE(session->count(), 3); // the list, the badge, the log; the panel only pushes
    QCOMPARE(bus.badge->text(), QStringLiteral("No new notifications"));
    QVERIFY(!child<QPushButton>(bus.list, "clearButton")->isEnabled());
}

void tst_NotificationBus::aSyncReachesTheListTheBadgeAndTheLog()
{
    PushRegistry registry;
    Bus bus(&registry);
    QPushButton *syncButton = child<QPushButton>(bus.sync, "syncButton");
    QTest::mouseClick(syncButton, Qt::LeftButton);
    QVERIFY(bus.sync->isSyncing());
    QVERIFY(!syncButton->isEnabled());

    QTRY_VERIFY(!bus.sync->isSyncing());
    QVERIFY(syncButton->isEnabled());
    QCOMPARE(child<QProgressBar>(bus.sync, "progress")->value(), 5);
    QCOMPARE(child<QTreeWidget>(bus.sync, "files")->topLevelItem(4)->text(2),
             QStringLiteral("Uploaded"));

    // The list and the badge see the one notification; the progress is for the log.
    QCOMPARE(bus.list->count(), 1);
    const QString item = child<QListWidget>(bus.list, "list")->item(0)->text();
    QVERIFY2(item.startsWith(QStringLiteral("Sync finished\n5 files uploaded, ")),
             qPrintable(item));
    QVERIFY2(item.contains(QStringLiteral("\nFile sync · ")), qPrintable(item));
    QVERIFY(child<QPushButton>(bus.list, "clearButton")->isEnabled());
    QCOMPARE(bus.badge->count(), 1);
    QVERIFY(!bus.badge->hasError());
    QCOMPARE(bus.badge->text(), QStringLiteral("1 new notification"));

    const QStringList lines = bus.log->lines();
    QCOMPARE(lines.size(), 7); // started, five uploads, finished
    QVERIFY2(lines.at(0).contains(QStringLiteral("[0/5] Sync started: 5 files")),
             qPrintable(lines.at(0)));
    QVERIFY2(lines.at(2).contains(QStringLiteral("[2/5] Uploaded Budget 2024.xlsx")),
             qPrintable(lines.at(2)));
    QVERIFY2(lines.at(6).contains(QStringLiteral("success: Sync finished. 5 files uploaded")),
             qPrintable(lines.at(6)));

    // A second run adds to what was not cleared.
    bus.sync->sync();
    QTRY_COMPARE(bus.badge->count(), 2);
    QCOMPARE(bus.badge->text(), QStringLiteral("2 new notifications"));
    QCOMPARE(bus.list->count(), 2);
    QCOMPARE(bus.log->lines().size(), 14);
}

void tst_NotificationBus::aFailedSyncIsAnErrorEverywhere()
{
    PushRegistry registry;
    Bus bus(&registry);
    child<QCheckBox>(bus.sync, "offline")->setChecked(true);
    bus.sync->sync();
    QTRY_VERIFY(!bus.sync->isSyncing());

    QCOMPARE(child<QProgressBar>(bus.sync, "progress")->value(), 2);
    QCOMPARE(child<QTreeWidget>(bus.sync, "files")->topLevelItem(2)->text(2),
             QStringLiteral("Failed"));
    QCOMPARE(bus.list->count(), 1);
    const QString item = child<QListWidget>(bus.list, "list")->item(0)->text();
    QVERIFY2(item.startsWith(QStringLiteral("Sync failed\nTeam photo.jpg was not uploaded")),
             qPrintable(item));
    QCOMPARE(bus.badge->count(), 1);
    QVERIFY(bus.badge->hasError());
    const QStringList lines = bus.log->lines();
    QCOMPARE(lines.size(), 4); // started, two uploads, failed
    QVERIFY2(lines.at(3).contains(QStringLiteral("error: Sync failed.")), qPrintable(lines.at(3)));
}

void tst_NotificationBus::clearingTheListResetsTheBadge()
{
    PushRegistry registry;
    Bus bus(&registry);
    child<QCheckBox>(bus.sync, "offline")->setChecked(true);
    bus.sync->sync();
    QTRY_VERIFY(!bus.sync->isSyncing());
    QCOMPARE(bus.badge->count(), 1);

    QTest::mouseClick(child<QPushButton>(bus.list, "clearButton"), Qt::LeftButton);
    QCOMPARE(bus.list->count(), 0);
    QCOMPARE(bus.badge->count(), 0);
    QVERIFY(!bus.badge->hasError());
    QCOMPARE(bus.badge->text(), QStringLiteral("No new notifications"));
    QVERIFY2(bus.log->lines().constLast().contains(
                     QStringLiteral("Notifications  notifications cleared")),
             qPrintable(bus.log->lines().constLast()));
}

void tst_NotificationBus::twoListsBothReceiveAndClearTogether()
{
    PushRegistry registry;
    Bus bus(&registry);
    NotificationList second(&registry);
    QCOMPARE(registry.findSession(Notification::session())->count(), 4);

    bus.sync->sync();
    QTRY_COMPARE(second.count(), 1);
    QCOMPARE(bus.list->count(), 1);
    second.clear(); // the other list's button
    QCOMPARE(bus.list->count(), 0);
    QCOMPARE(second.count(), 0);
}

void tst_NotificationBus::aPartOfAnotherRegistryHearsNothing()
{
    PushRegistry registry;
    PushRegistry other;
    Bus bus(&registry);
    NotificationBadge elsewhere(&other);
    bus.sync->sync();
    QTRY_COMPARE(bus.badge->count(), 1);
    QCOMPARE(elsewhere.count(), 0);
}

QTEST_MAIN(tst_NotificationBus)
#include "tst_notificationbus.moc"
