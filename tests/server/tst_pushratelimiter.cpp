// SPDX-License-Identifier: MIT
// The per-connection push rate limit (src/server/pushratelimiter_p.h), driven by a fake clock.
#include "pushratelimiter_p.h"

#include <QtTest/QtTest>

class tst_PushRateLimiter : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void noRateIsNoLimit();
    void burstIsTheRate();
    void refillsAtTheRate();
    void rateUnderOneStillAllowsOnePush();
    void idleTimeFillsNoMoreThanTheBurst();
    void timeGoingBackGivesNothing();
};

void tst_PushRateLimiter::noRateIsNoLimit()
{
    PushRateLimiter limiter;
    for (int i = 0; i < 1000; ++i)
        QVERIFY(limiter.take(0, 0));
}

void tst_PushRateLimiter::burstIsTheRate()
{
    PushRateLimiter limiter;
    for (int i = 0; i < 10; ++i)
        QVERIFY2(limiter.take(10, 5000), qPrintable(QString::number(i)));
    QVERIFY(!limiter.take(10, 5000));
}

void tst_PushRateLimiter::refillsAtTheRate()
{
    PushRateLimiter limiter;
    for (int i = 0; i < 10; ++i)
        QVERIFY(limiter.take(10, 0));
    QVERIFY(!limiter.take(10, 99)); // 0.99 of a token
    QVERIFY(limiter.take(10, 100));
    QVERIFY(!limiter.take(10, 100));
    QVERIFY(limiter.take(10, 300)); // two tokens came back; one is left
    QVERIFY(limiter.take(10, 300));
    QVERIFY(!limiter.take(10, 300));
}

void tst_PushRateLimiter::rateUnderOneStillAllowsOnePush()
{
    // 0.5 a second: one push, then one every 2 s. A bucket capped at the rate (0.5) would
    // refuse them all.
    PushRateLimiter limiter;
    QVERIFY(limiter.take(0.5, 0));
    QVERIFY(!limiter.take(0.5, 0));
    QVERIFY(!limiter.take(0.5, 1999));
    QVERIFY(limiter.take(0.5, 2000));
    QVERIFY(!limiter.take(0.5, 3000));

    PushRateLimiter rare; // one an hour
    QVERIFY(rare.take(1.0 / 3600, 0));
    QVERIFY(!rare.take(1.0 / 3600, 3599 * 1000));
    QVERIFY(rare.take(1.0 / 3600, 3600 * 1000));
}

void tst_PushRateLimiter::idleTimeFillsNoMoreThanTheBurst()
{
    PushRateLimiter limiter;
    QVERIFY(limiter.take(2, 0));
    int taken = 0;
    while (limiter.take(2, 3'600'000)) // an hour idle
        ++taken;
    QCOMPARE(taken, 2);

    PushRateLimiter slow;
    QVERIFY(slow.take(0.5, 0));
    QVERIFY(slow.take(0.5, 3'600'000));
    QVERIFY(!slow.take(0.5, 3'600'000)); // the burst is one, not an hour's worth
}

void tst_PushRateLimiter::timeGoingBackGivesNothing()
{
    PushRateLimiter limiter;
    QVERIFY(limiter.take(1, 10'000));
    QVERIFY(!limiter.take(1, 0));
    QVERIFY(!limiter.take(1, 10'999)); // and the step back did not move the refill's start
    QVERIFY(limiter.take(1, 11'000));
}

QTEST_APPLESS_MAIN(tst_PushRateLimiter)
#include "tst_pushratelimiter.moc"
