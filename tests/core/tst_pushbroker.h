// SPDX-License-Identifier: MIT
#pragma once

// The broker conformance suite, tst_PushBroker: the class and the helpers its two source files
// share (tst_pushbroker.cpp: ids, history, retention, epochs; tst_pushbroker_durable.cpp:
// concurrency, durability).

#include <QtPush/pushclient.h>
#include <QtPush/pushregistry.h>
#include <QtPush/pushsession.h>

#include <QtCore/QObject>
#include <QtTest/QTest>

#include "pushtestbrokers.h"

#include <memory>

using namespace Qt::StringLiterals;

inline bool operator==(const PushPosition &a, const PushPosition &b)
{
    return a.epoch == b.epoch && a.id == b.id;
}
inline char *toString(const PushPosition &position)
{
    return QTest::toString(u"{epoch %1, id %2}"_s.arg(position.epoch).arg(position.id));
}

namespace conformance {
inline constexpr int Timeout = 60000; // generous: ASan, and two cores shared by many builds

// Ids and messages of a history, as "id:data" strings, for readable comparisons.
inline QStringList describe(const QList<PushSession::Message> &messages)
{
    QStringList out;
    for (const PushSession::Message &message : messages)
        out.append(u"%1:%2"_s.arg(message.id).arg(message.data.toString()));
    return out;
}

// What a session should hold: ids from..to, each message's data being its id as a string.
inline QStringList expected(quint64 from, quint64 to)
{
    QStringList out;
    for (quint64 id = from; id <= to; ++id)
        out.append(u"%1:%1"_s.arg(id));
    return out;
}
// Receipts with ids from..to, one epoch, no error: "" when so, else what differs.
inline QString checkReceipts(const QList<PushReceipt> &receipts, quint64 from, quint64 to,
                             quint64 epoch)
{
    if (quint64(receipts.size()) != to - from + 1)
        return u"%1 receipts, expected %2"_s.arg(receipts.size()).arg(to - from + 1);
    for (qsizetype i = 0; i < receipts.size(); ++i) {
        const PushReceipt &receipt = receipts.at(i);
        if (receipt.id != from + quint64(i) || receipt.epoch != epoch
            || receipt.error != PushBroker::NoError)
            return u"receipt %1: id %2 epoch %3 error %4, expected id %5 epoch %6"_s.arg(i)
                    .arg(receipt.id)
                    .arg(receipt.epoch)
                    .arg(receipt.error)
                    .arg(from + quint64(i))
                    .arg(epoch);
    }
    return {};
}
} // namespace conformance
using namespace conformance;

class tst_PushBroker : public QObject
{
    Q_OBJECT

private:
    std::unique_ptr<TestBackend> m_backend;
    std::unique_ptr<PushRegistry> m_registry;
    bool isDurable() const { return m_registry->broker()->capabilities() & PushBroker::Durable; }
    bool assignsIdsLocally() const
    {
        return m_registry->broker()->capabilities() & PushBroker::AssignsIdsLocally;
    }
    bool openRegistry();
    bool reopenRegistry();
    QList<PushReceipt> publishAll(PushSession *session, quint64 from, quint64 to,
                                  qint64 bytes = -1);
    PushHistory history(PushSession *session, quint64 afterId);

private Q_SLOTS:
    void initTestCase_data();
    void init();
    void cleanup();

    void idsStartAtOneContiguous();
    void idsPerSession();
    void pushReturnsIdWhenLocal();
    void historyInsideWindow();
    void historyOutsideWindow();
    void historyAtAndBeyondTop();
    void retentionByCount_data();
    void retentionByCount();
    void retentionByAge();
    void retentionByBytes();
    void trimRetained();
    void epochFixedForLifetime();
    void deleteSession();
    void concurrentPublishers();
    void deliveryNotBeforeReceipt();
    void receiptAfterStore();
    void reopenKeepsPosition();
    void reopenKeepsSessionSet();
    void reopenAfterDeleteStaysDeleted();
    void payloadRoundTrip();
    void refusedWhenFull();
    void crashLosesOnlyUnreceipted();
};
