// SPDX-License-Identifier: MIT
#pragma once

// Blocking clients for the store tests (tests/store/): they talk to a qtpush-server child
// process one request at a time. Each wait is bounded and ends in a value the test checks.

#include "rawwire.h"

#include <QtCore/QElapsedTimer>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtNetwork/QTcpSocket>
#include <QtWebSockets/QWebSocket>

#include <optional>

//! A keep-alive HTTP/1.1 connection that sends one request at a time and waits for its answer.
class BlockingHttp
{
public:
    bool open(quint16 port)
    {
        m_socket.connectToHost(QHostAddress::LocalHost, port);
        return m_socket.waitForConnected(30000);
    }
    //! The answer, or one with status 0 when the connection ended or 60 s passed.
    Answer request(const QByteArray &method, const QByteArray &path, const QByteArray &body = {})
    {
        QByteArray request = method + ' ' + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
        if (!body.isEmpty() || method == "POST") {
            request += "Content-Type: application/json\r\nContent-Length: "
                    + QByteArray::number(body.size()) + "\r\n";
        }
        m_socket.write(request + "\r\n" + body);
        QElapsedTimer timer;
        timer.start();
        while (timer.elapsed() < 60000) {
            if (const std::optional<Answer> answer = firstAnswer(m_buffer)) {
                m_buffer.remove(0, answer->head.size() + 4 + answer->body.size());
                return *answer;
            }
            if (m_socket.state() != QAbstractSocket::ConnectedState && !m_socket.bytesAvailable())
                break;
            if (m_socket.waitForReadyRead(1000) || m_socket.bytesAvailable())
                m_buffer += m_socket.readAll();
        }
        return {};
    }
    //! Pushes \a json to \a session; the id from a 200 answer, 0 otherwise.
    quint64 push(const QByteArray &session, const QByteArray &json)
    {
        const Answer answer = request("POST", "/v1/sessions/" + session + "/push", json);
        if (answer.status != 200)
            return 0;
        return quint64(QJsonDocument::fromJson(answer.body)[QLatin1String("id")].toDouble());
    }

private:
    QTcpSocket m_socket;
    QByteArray m_buffer;
};

//! One message or control frame as a client received it.
struct Received
{
    QJsonObject frame;
    QString type() const { return frame.value(QLatin1String("type")).toString(); }
    quint64 id() const { return quint64(frame.value(QLatin1String("id")).toDouble()); }
};

//! Every retained message of \a session after \a since, fetched with long-polls (wait=0) by a
//! fresh client until one comes back empty; frames in order, gaps included.
inline QList<QJsonObject> pullAll(quint16 port, const QByteArray &session, quint64 since,
                                  const QByteArray &client, bool *ok)
{
    *ok = false;
    BlockingHttp http;
    if (!http.open(port))
        return {};
    QList<QJsonObject> frames;
    for (;;) {
        const Answer answer = http.request("GET", "/v1/sessions/" + session + "/clients/" + client
                                                   + "/pull?wait=0&since="
                                                   + QByteArray::number(since));
        if (answer.status != 200)
            return frames;
        const QJsonArray batch = QJsonDocument::fromJson(answer.body).array();
        if (batch.isEmpty())
            break;
        for (const QJsonValue &value : batch) {
            frames.append(value.toObject());
            if (value.toObject().contains(QLatin1String("id")))
                since = quint64(value[QLatin1String("id")].toDouble());
        }
    }
    *ok = true;
    return frames;
}

//! The frames a WebSocket client receives, hello first.
class WsClient : public QObject
{
public:
    explicit WsClient(const QUrl &url)
    {
        connect(&socket, &QWebSocket::textMessageReceived, this, [this](const QString &text) {
            frames.append(QJsonDocument::fromJson(text.toUtf8()).object());
        });
        socket.open(url);
    }
    ~WsClient() override { socket.abort(); }
    QList<QJsonObject> messages() const
    {
        QList<QJsonObject> result;
        for (const QJsonObject &frame : frames) {
            if (!frame.contains(QLatin1String("type")))
                result.append(frame);
        }
        return result;
    }
    QWebSocket socket;
    QList<QJsonObject> frames;
};
