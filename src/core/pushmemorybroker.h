// SPDX-License-Identifier: MIT
#pragma once

#include <QtPush/pushbroker.h>

/*!
    The default broker: ids, epochs and history live in the process and end with it. The engine
    numbers every message under its session's mutex and delivers it at once; this class only draws
    each new session's random epoch. PushRegistry() and PushRegistry::global() use one.

    A registry given one explicitly behaves exactly as one constructed without a broker:
    \code
    auto broker = std::make_unique<PushMemoryBroker>();
    broker->open();
    PushRegistry registry(std::move(broker));
    \endcode
*/
class QTPUSHCORE_EXPORT PushMemoryBroker : public PushBroker
{
    Q_OBJECT

public:
    explicit PushMemoryBroker(QObject *parent = nullptr);
    ~PushMemoryBroker() override;

    Capabilities capabilities() const override;

protected:
    bool openBackend(QList<PushStoredSession> *recovered) override;
    void closeBackend() override;
    PushPosition sessionCreated(const QString &key, const QVariant &id,
                                const PushRetention &retention, quint32 flags) override;
    void sessionRemoved(const QString &key, quint64 epoch, RemoveReason reason) override;
    void retentionChanged(const QString &key, quint64 epoch,
                          const PushRetention &retention) override;
    void retainedTrimmed(const QString &key, quint64 epoch, quint64 oldestKept) override;
    bool append(const QString &key, quint64 epoch, const PushStoredMessage &message) override;
    QFuture<PushReceipt> publish(const QString &key, const QVariant &data, qint64 bytes) override;
    QFuture<PushHistory> history(const QString &key, quint64 afterId) override;
};
