// SPDX-License-Identifier: MIT
#pragma once

// Test helpers that speak HTTP and WebSocket by hand, byte by byte, so that a test can send
// what no library would (tests/server/tst_hostile.cpp). Driven by the test's event loop.

#include <QtCore/QJsonDocument>
#include <QtCore/QList>
#include <QtNetwork/QTcpSocket>

#include <optional>

//! A raw TCP connection that keeps what it receives (while reading is on).
class RawConnection : public QObject
{
public:
    QTcpSocket socket;
    QByteArray received;
    bool closed = false;
    bool reading = true;

    RawConnection()
    {
        connect(&socket, &QTcpSocket::readyRead, this, [this] {
            if (reading)
                received += socket.readAll();
        });
        connect(&socket, &QTcpSocket::disconnected, this, [this] { closed = true; });
    }
    bool open(quint16 port)
    {
        socket.connectToHost(QHostAddress::LocalHost, port);
        return socket.waitForConnected(10000);
    }
};

struct Answer
{
    int status = 0;
    QByteArray head;
    QByteArray body;
    QString code() const
    {
        return QJsonDocument::fromJson(body)[QLatin1String("error")][QLatin1String("code")]
                .toString();
    }
};

//! The first complete HTTP answer in \a bytes, if one is there.
inline std::optional<Answer> firstAnswer(const QByteArray &bytes)
{
    const qsizetype end = bytes.indexOf("\r\n\r\n");
    if (end < 0 || !bytes.startsWith("HTTP/1.1 "))
        return std::nullopt;
    Answer answer;
    answer.head = bytes.left(end);
    answer.status = answer.head.mid(9, 3).toInt();
    qsizetype length = 0;
    const QList<QByteArray> lines = answer.head.split('\n');
    for (const QByteArray &line : lines) {
        if (line.toLower().startsWith("content-length:"))
            length = line.mid(15).trimmed().toLongLong();
    }
    if (bytes.size() < end + 4 + length)
        return std::nullopt;
    answer.body = bytes.mid(end + 4, length);
    return answer;
}

//! A client frame (RFC 6455 §5.2): \a head is FIN, RSV and opcode; masked unless told not.
inline QByteArray clientFrame(quint8 head, const QByteArray &payload, bool masked = true,
                              quint64 announced = quint64(-1))
{
    const quint64 length = announced == quint64(-1) ? quint64(payload.size()) : announced;
    QByteArray frame(1, char(head));
    const char mask = masked ? char(0x80) : char(0);
    if (length < 126) {
        frame += char(mask | char(length));
    } else if (length <= 0xffff) {
        frame += char(mask | 126);
        frame += char(length >> 8);
        frame += char(length & 0xff);
    } else {
        frame += char(mask | 127);
        for (int shift = 56; shift >= 0; shift -= 8)
            frame += char((length >> shift) & 0xff);
    }
    if (!masked)
        return frame + payload;
    const QByteArray key = QByteArrayLiteral("\x12\x34\x56\x78");
    frame += key;
    for (qsizetype i = 0; i < payload.size(); ++i)
        frame += char(payload.at(i) ^ key.at(i % 4));
    return frame;
}

struct ServerFrame
{
    int opcode = 0;
    QByteArray payload;
};

//! The complete server frames in \a bytes (unmasked, RFC 6455 §5.1).
inline QList<ServerFrame> serverFrames(const QByteArray &bytes)
{
    QList<ServerFrame> frames;
    qsizetype at = 0;
    while (bytes.size() - at >= 2) {
        const int opcode = quint8(bytes.at(at)) & 0x0f;
        quint64 length = quint8(bytes.at(at + 1)) & 0x7f;
        qsizetype header = 2;
        if (length == 126 || length == 127) {
            const int size = length == 126 ? 2 : 8;
            if (bytes.size() - at < 2 + size)
                break;
            length = 0;
            for (int i = 0; i < size; ++i)
                length = (length << 8) | quint8(bytes.at(at + 2 + i));
            header += size;
        }
        if (quint64(bytes.size() - at - header) < length)
            break;
        frames.append({opcode, bytes.mid(at + header, qsizetype(length))});
        at += header + qsizetype(length);
    }
    return frames;
}
