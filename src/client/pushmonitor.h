// SPDX-License-Identifier: MIT
#pragma once

#include <QtPush/pushclientsmodel.h>
#include <QtPush/pushsessionsmodel.h>
#include <QtPush/qtpushclient_export.h>

#include <QtCore/QDateTime>
#include <QtCore/QObject>
#include <QtCore/QUrl>
#include <QtCore/QVariantMap>

#include <memory>

class PushMonitorPrivate;

//! A client of the admin event stream (docs/protocol.md "The admin event stream"): keeps
//! sessions() and clients() up to date and pushes as an operator. Its connection behaves as
//! PushRemoteClient's: reconnects with backoff (250 ms doubling to 10 s, ±20%), gives up an
//! upgrade not answered within 30 s, pings every 30 s and drops a connection on which nothing
//! (no frame, no pong) arrived for 60 s; it stops for good (AccessError, Idle) when the server
//! refuses the token. Owned by its parent; the models are its children and live as long as
//! it. GUI (or any one) thread; nothing blocks.
class QTPUSHCLIENT_EXPORT PushMonitor : public QObject
{
    Q_OBJECT
    Q_PROPERTY(QUrl url READ url WRITE setUrl NOTIFY urlChanged)
    Q_PROPERTY(QString token READ token WRITE setToken NOTIFY tokenChanged)
    Q_PROPERTY(Status status READ status NOTIFY statusChanged)
    Q_PROPERTY(Error error READ error NOTIFY errorChanged)
    Q_PROPERTY(QString errorString READ errorString NOTIFY errorChanged)
    Q_PROPERTY(QString watchedSession READ watchedSession WRITE setWatchedSession NOTIFY
                       watchedSessionChanged)
    Q_PROPERTY(QVariantMap server READ server NOTIFY serverChanged)
    Q_PROPERTY(QDateTime serverTime READ serverTime NOTIFY serverTimeChanged)
    Q_PROPERTY(PushSessionsModel *sessions READ sessions CONSTANT)
    Q_PROPERTY(PushClientsModel *clients READ clients CONSTANT)
public:
    enum Status { Idle, Connecting, Connected, Reconnecting };
    Q_ENUM(Status)
    enum Error { NoError = 0, ConnectionError, AccessError, ProtocolError };
    Q_ENUM(Error)

    explicit PushMonitor(QObject *parent = nullptr);
    ~PushMonitor() override;

    QUrl url() const;
    void setUrl(const QUrl &url);
    QString token() const;
    void setToken(const QString &token);
    Status status() const;
    Error error() const;
    QString errorString() const;
    QString watchedSession() const;
    //! Sends {"op":"watch"} when connected, and again after each reconnect; empty stops.
    void setWatchedSession(const QString &session);
    QVariantMap server() const;
    QDateTime serverTime() const;
    PushSessionsModel *sessions() const;
    PushClientsModel *clients() const;

    void open();
    void close();
    //! Pushes to the watched session; false (and a warning) when not connected or none watched.
    bool push(const QVariant &data);
    bool pushTo(const QString &session, const QVariant &data);

Q_SIGNALS:
    void urlChanged();
    void tokenChanged();
    void statusChanged();
    void errorChanged();
    void watchedSessionChanged();
    void serverChanged();
    void serverTimeChanged();
    void ticked();
    void pushed(const QString &session, quint64 id, int clients);
    void connected();
    void disconnected();
    void errorOccurred(PushMonitor::Error error);

private:
    friend class PushMonitorPrivate;
    std::unique_ptr<PushMonitorPrivate> d;
};
