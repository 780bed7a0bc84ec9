// SPDX-License-Identifier: MIT
// SessionFilterModel, the dashboard's filtered and sorted view of the sessions, over a plain
// model with the roles of PushSessionsModel.

#include "sessionfiltermodel.h"

#include <QtGui/QStandardItemModel>
#include <QtTest/QAbstractItemModelTester>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

namespace {
enum Role { SessionRole = Qt::UserRole + 1, ClientsRole, PushedRole, RateRole };

class Sessions : public QStandardItemModel
{
public:
    Sessions()
    {
        setItemRoleNames({{SessionRole, "session"},
                          {ClientsRole, "clients"},
                          {PushedRole, "pushed"},
                          {RateRole, "rate"}});
    }
    void add(const QString &session, int clients, qint64 pushed, double rate)
    {
        auto *item = new QStandardItem;
        item->setData(session, SessionRole);
        item->setData(clients, ClientsRole);
        item->setData(pushed, PushedRole);
        item->setData(rate, RateRole);
        appendRow(item);
    }
};

//! "a b c" as a list: the sessions in the order a test expects them.
QStringList names(const char *spaced)
{
    return QString::fromLatin1(spaced).split(u' ');
}

QStringList ids(const SessionFilterModel &model)
{
    QStringList result;
    for (int row = 0; row < model.count(); ++row)
        result << model.sessionAt(row);
    return result;
}
} // namespace

class tst_SessionFilterModel : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void init();
    void sortsLargestFirstThenById_data();
    void sortsLargestFirstThenById();
    void filtersByAPartOfTheIdInAnyCase();
    void followsTheSourceLive();
    void findsRowsBySession();
    void holdOrderKeepsRowsInPlace();

private:
    Sessions m_sessions;
    SessionFilterModel m_model;
};

void tst_SessionFilterModel::init()
{
    m_sessions.clear();
    m_model.setSourceModel(nullptr);
    m_model.setFilterText(QString());
    m_model.setSortKey(SessionFilterModel::ById);
    m_model.setHoldOrder(false);
    m_sessions.add(QStringLiteral("carol"), 1, 50, 0);
    m_sessions.add(QStringLiteral("alice"), 3, 10, 2.5);
    m_sessions.add(QStringLiteral("dave"), 3, 90, 0);
    m_sessions.add(QStringLiteral("bob"), 2, 10, 7);
    m_model.setSourceModel(&m_sessions);
}

void tst_SessionFilterModel::sortsLargestFirstThenById_data()
{
    QTest::addColumn<SessionFilterModel::SortKey>("key");
    QTest::addColumn<QStringList>("order");
    QTest::addRow("by id") << SessionFilterModel::ById
                           << names("alice bob carol dave");
    // alice and dave tie on 3 clients: the id decides.
    QTest::addRow("by clients") << SessionFilterModel::ByClients
                                << names("alice dave bob carol");
    QTest::addRow("by messages") << SessionFilterModel::ByMessages
                                 << names("dave carol alice bob");
    QTest::addRow("by rate") << SessionFilterModel::ByRate
                             << names("bob alice carol dave");
}

void tst_SessionFilterModel::sortsLargestFirstThenById()
{
    QFETCH(SessionFilterModel::SortKey, key);
    QFETCH(QStringList, order);
    QAbstractItemModelTester tester(&m_model);
    QSignalSpy keyChanged(&m_model, &SessionFilterModel::sortKeyChanged);
    m_model.setSortKey(key);
    QCOMPARE(keyChanged.size(), key == SessionFilterModel::ById ? 0 : 1);
    QCOMPARE(ids(m_model), order);
}

void tst_SessionFilterModel::filtersByAPartOfTheIdInAnyCase()
{
    QSignalSpy countChanged(&m_model, &SessionFilterModel::countChanged);
    m_model.setFilterText(QStringLiteral("A"));
    QCOMPARE(ids(m_model), names("alice carol dave"));
    QVERIFY(!countChanged.isEmpty());
    m_model.setFilterText(QStringLiteral("ro"));
    QCOMPARE(ids(m_model), names("carol"));
    m_model.setFilterText(QStringLiteral("zed"));
    QCOMPARE(m_model.count(), 0);
    m_model.setFilterText(QString());
    QCOMPARE(m_model.count(), 4);
}

void tst_SessionFilterModel::followsTheSourceLive()
{
    QAbstractItemModelTester tester(&m_model);
    m_model.setSortKey(SessionFilterModel::ByRate);
    QSignalSpy countChanged(&m_model, &SessionFilterModel::countChanged);
    QSignalSpy reset(&m_model, &QAbstractItemModel::modelReset);

    // carol gets busy: she moves to the top without a reset.
    m_sessions.item(0)->setData(9.5, RateRole);
    QCOMPARE(ids(m_model), names("carol bob alice dave"));

    m_sessions.add(QStringLiteral("erin"), 1, 1, 4);
    QCOMPARE(ids(m_model), names("carol bob erin alice dave"));
    QCOMPARE(countChanged.size(), 1);

    m_sessions.removeRow(1); // alice
    QCOMPARE(ids(m_model), names("carol bob erin dave"));
    QCOMPARE(countChanged.size(), 2);
    QCOMPARE(reset.size(), 0);
}

void tst_SessionFilterModel::findsRowsBySession()
{
    m_model.setSortKey(SessionFilterModel::ByMessages);
    QCOMPARE(m_model.indexOf(QStringLiteral("carol")), 1);
    QCOMPARE(m_model.indexOf(QStringLiteral("nobody")), -1);
    m_model.setFilterText(QStringLiteral("bob"));
    QCOMPARE(m_model.indexOf(QStringLiteral("carol")), -1);
    QCOMPARE(m_model.sessionAt(0), QStringLiteral("bob"));
    QCOMPARE(m_model.sessionAt(1), QString());
}

void tst_SessionFilterModel::holdOrderKeepsRowsInPlace()
{
    QAbstractItemModelTester tester(&m_model);
    m_model.setSortKey(SessionFilterModel::ByRate);
    QCOMPARE(ids(m_model), names("bob alice carol dave"));
    QSignalSpy holdChanged(&m_model, &SessionFilterModel::holdOrderChanged);
    QSignalSpy reset(&m_model, &QAbstractItemModel::modelReset);
    m_model.setHoldOrder(true);
    QCOMPARE(holdChanged.size(), 1);

    // carol gets busiest: her row shows it, but stays where the pointer is.
    m_sessions.item(0)->setData(9.5, RateRole);
    QCOMPARE(ids(m_model), names("bob alice carol dave"));
    QCOMPARE(m_model.index(2, 0).data(RateRole).toDouble(), 9.5);
    // Sessions still come and go while the order is held.
    m_sessions.add(QStringLiteral("erin"), 1, 1, 4);
    QCOMPARE(m_model.count(), 5);
    QVERIFY(m_model.indexOf(QStringLiteral("erin")) >= 0);
    m_sessions.removeRow(3); // bob
    QCOMPARE(m_model.indexOf(QStringLiteral("bob")), -1);
    QCOMPARE(m_model.count(), 4);

    m_model.setHoldOrder(false); // released: sorted again, in place
    QCOMPARE(holdChanged.size(), 2);
    QCOMPARE(ids(m_model), names("carol erin alice dave"));
    QCOMPARE(reset.size(), 0);
    // and live again
    m_sessions.item(1)->setData(20.0, RateRole); // alice
    QCOMPARE(ids(m_model), names("alice carol erin dave"));
}

QTEST_GUILESS_MAIN(tst_SessionFilterModel)
#include "tst_sessionfiltermodel.moc"
