// SPDX-License-Identifier: MIT
#pragma once

// A PushTransportHost and deliveries that record what they are asked to do, for the unit
// suites of the server's parts (tst_pushclienttable, tst_pushdelivery): no sockets, no server.

#include "pushclienttable_p.h"
#include "pushdelivery_p.h"
#include "pushmetrics_p.h"
#include "pushserversettings_p.h"
#include "pushstreamtransport_p.h"
#include "pushtransporthost_p.h"
#include "pushwire_p.h"

#include <QtCore/QObject>
#include <QtCore/QStringList>

#include <initializer_list>

//! A list of strings, from literals (the tests build with QT_NO_CAST_FROM_ASCII).
inline QStringList strings(std::initializer_list<const char *> items)
{
    QStringList list;
    for (const char *item : items)
        list.append(QString::fromUtf8(item));
    return list;
}

//! Records every call; detaches through a client table when it has one, as the server does.
class FakeHost : public PushTransportHost
{
public:
    QObject *transportParent() override { return &parent; }
    const PushServerSettings &settings() const override { return config; }
    PushMetrics &metrics() override { return counters; }
    PushFrame &frame(const PushAttachment &attachment, quint64 id, const QVariant &data) override
    {
        lastFrame = PushFrame();
        lastFrame.sessionKey = attachment.sessionKey;
        lastFrame.epoch = attachment.sessionEpoch;
        lastFrame.id = id;
        lastFrame.json
                = PushWire::messageFrame(id, attachment.sessionJson, PushWire::encodeJson(data));
        return lastFrame;
    }
    void flushLater(PushStreamTransport *transport) override { flushes.append(transport); }
    void push(const PushPushRequest &, QObject *, PushPushDone done) override
    {
        done(PushPushOutcome());
    }
    void deliveryStopped(PushDelivery *delivery) override
    {
        stopped.append(delivery);
        if (table)
            table->detach(delivery->attachment(), delivery);
    }
    void deliveryEnded(PushDelivery *delivery) override { ended.append(delivery); }

    QObject parent;
    PushServerSettings config;
    PushMetrics counters;
    PushFrame lastFrame;
    PushClientTable *table = nullptr;
    QList<PushStreamTransport *> flushes;
    QList<PushDelivery *> stopped;
    QList<PushDelivery *> ended;
};

//! What a delivery wrote and how it was closed, as text: "hello", "3", "gap 1-2", "close 1".
class FakeDelivery : public PushDelivery
{
public:
    explicit FakeDelivery(FakeHost *host, PushTransport kind = PushTransport::WebSocket)
        : PushDelivery(host, kind)
    { }

    QStringList log;
    bool live = true; // caughtUp(): take live messages

protected:
    void writeHello(const QByteArray &json) override
    {
        Q_UNUSED(json);
        log.append(QStringLiteral("hello"));
    }
    void writeMessage(PushFrame &frame) override { log.append(QString::number(frame.id)); }
    void writeGap(quint64 from, quint64 to) override
    {
        log.append(QStringLiteral("gap %1-%2").arg(from).arg(to));
    }
    void caughtUp() override
    {
        if (live)
            takeLive();
    }
    void tookLive() override { }
    void closeFor(EndReason reason) override
    {
        log.append(QStringLiteral("close %1").arg(int(reason)));
    }
};
