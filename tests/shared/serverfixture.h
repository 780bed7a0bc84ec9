// SPDX-License-Identifier: MIT
#pragma once

// Test helpers for talking to a PushServer on loopback: HTTP requests, raw event streams and
// WebSocket clients, each waiting with a bound instead of sleeping.

#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtNetwork/QNetworkAccessManager>
#include <QtNetwork/QNetworkReply>
#include <QtNetwork/QTcpSocket>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>
#include <QtWebSockets/QWebSocket>

#include <memory>

struct HttpReply
{
    int status = 0;
    QByteArray body;
    QList<QNetworkReply::RawHeaderPair> headers;

    QJsonValue json() const { return QJsonDocument::fromJson('[' + body + ']').array().first(); }
    QString errorCode() const
    {
        return json()[QLatin1String("error")][QLatin1String("code")].toString();
    }
    QByteArray header(const QByteArray &name) const
    {
        for (const auto &[key, value] : headers) {
            if (key.compare(name, Qt::CaseInsensitive) == 0)
                return value;
        }
        return {};
    }
};

//! Sends one HTTP request and waits up to 10 s for its answer.
inline HttpReply httpRequest(QNetworkAccessManager &manager, const QByteArray &method,
                             const QUrl &url, const QByteArray &body = {},
                             const QByteArray &contentType = QByteArrayLiteral("application/json"),
                             const QList<std::pair<QByteArray, QByteArray>> &headers = {})
{
    QNetworkRequest request(url);
    if (!body.isEmpty())
        request.setHeader(QNetworkRequest::ContentTypeHeader, contentType);
    for (const auto &[name, value] : headers)
        request.setRawHeader(name, value);
    std::unique_ptr<QNetworkReply> reply(manager.sendCustomRequest(request, method, body));
    QSignalSpy finished(reply.get(), &QNetworkReply::finished);
    if (!reply->isFinished() && !finished.wait(10000))
        return {};
    return {reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt(), reply->readAll(),
            reply->rawHeaderPairs()};
}

//! A WebSocket client that records every text frame it receives; hello frames apart.
class WebSocketClient : public QObject
{
public:
    QWebSocket socket;
    QStringList frames;
    QList<QJsonObject> hellos;
    int closeCode = QWebSocketProtocol::CloseCodeNormal; // an int: codes 4000+ are no enumerator
    bool disconnected = false;

    WebSocketClient()
    {
        connect(&socket, &QWebSocket::textMessageReceived, this, [this](const QString &frame) {
            const QJsonObject object = QJsonDocument::fromJson(frame.toUtf8()).object();
            if (object.value(QLatin1String("type")) == QLatin1String("hello"))
                hellos.append(object);
            else
                frames.append(frame);
        });
        connect(&socket, &QWebSocket::disconnected, this, [this] {
            closeCode = int(socket.closeCode());
            disconnected = true;
        });
    }
    bool open(const QUrl &url)
    {
        QSignalSpy connected(&socket, &QWebSocket::connected);
        socket.open(url);
        return connected.wait(10000);
    }
    QJsonObject frame(int index) const
    {
        return QJsonDocument::fromJson(frames.at(index).toUtf8()).object();
    }
};

//! A raw HTTP connection reading a Server-Sent Events stream.
class EventStreamClient : public QObject
{
public:
    QTcpSocket socket;
    QByteArray received;

    EventStreamClient()
    {
        connect(&socket, &QTcpSocket::readyRead, this,
                [this] { received.append(socket.readAll()); });
    }
    bool open(quint16 port, const QByteArray &path, const QByteArray &extraHeaders = {})
    {
        socket.connectToHost(QHostAddress::LocalHost, port);
        if (!socket.waitForConnected(10000))
            return false;
        socket.write("GET " + path + " HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n"
                     + extraHeaders + "\r\n");
        return true;
    }
    //! The data lines of the events received so far, without the control events.
    QList<QJsonObject> messages() const
    {
        QList<QJsonObject> result;
        const QList<QByteArray> lines = received.split('\n');
        for (const QByteArray &line : lines) {
            if (line.startsWith("data: {\"id\""))
                result.append(QJsonDocument::fromJson(line.mid(6)).object());
        }
        return result;
    }
};
