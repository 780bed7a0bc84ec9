// SPDX-License-Identifier: MIT
// The server's RFC 6455 framing (src/server/pushwebsocketframing_p.h), byte by byte.
#include "pushwebsocketframing_p.h"

#include <QtTest/QtTest>

using namespace PushWebSocket;
using Event = Parser::Event;

namespace {

//! A frame as a client sends it: masked, with \a first as its first byte (FIN, RSV, opcode).
QByteArray clientFrame(quint8 first, const QByteArray &payload, bool masked = true)
{
    const quint8 mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    QByteArray out;
    out.append(char(first));
    const quint8 maskBit = masked ? 0x80 : 0;
    const quint64 size = quint64(payload.size());
    if (size < 126) {
        out.append(char(maskBit | size));
    } else if (size <= 0xFFFF) {
        out.append(char(maskBit | 126)).append(char(size >> 8)).append(char(size));
    } else {
        out.append(char(maskBit | 127));
        for (int shift = 56; shift >= 0; shift -= 8)
            out.append(char(size >> shift));
    }
    if (masked)
        out.append(reinterpret_cast<const char *>(mask), 4);
    for (qsizetype i = 0; i < payload.size(); ++i)
        out.append(masked ? char(payload.at(i) ^ mask[i % 4]) : payload.at(i));
    return out;
}

QByteArray clientFrame(Opcode opcode, const QByteArray &payload, bool final = true)
{
    return clientFrame(quint8((final ? 0x80 : 0) | quint8(opcode)), payload);
}

QByteArray closePayload(int code, const QByteArray &reason = {})
{
    return QByteArray(1, char(code >> 8)) + char(code) + reason;
}

QString describe(const QList<Event> &events)
{
    QStringList lines;
    for (const Event &event : events) {
        lines.append(QStringLiteral("%1:%2:%3")
                             .arg(event.kind)
                             .arg(event.closeCode)
                             .arg(QString::fromLatin1(event.payload.toHex())));
    }
    return lines.join(u' ');
}

QList<Event> parseAll(const QByteArray &bytes, qint64 limit = 1 << 20)
{
    Parser parser(limit);
    QList<Event> events;
    parser.feed(bytes, &events);
    return events;
}

} // namespace

class tst_PushWebSocketFraming : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init() { QTest::failOnWarning(QRegularExpression(QStringLiteral(".*"))); }

    void acceptKeyIsTheRfcsExample();
    void serverFramesUseTheShortestLength_data();
    void serverFramesUseTheShortestLength();
    void closeReasonIsCutAtACharacterBoundary();
    void closeWithoutAStatusHasNoPayload();
    void streamParsesAlikeHoweverItIsSplit();
    void longMessagesUseExtendedLengths_data();
    void longMessagesUseExtendedLengths();
    void badFramesAreRefusedWithTheirCloseCode_data();
    void badFramesAreRefusedWithTheirCloseCode();
    void tooBigIsRefusedBeforeThePayloadArrives();
    void fragmentsCountTowardsTheLimit();
    void nothingIsParsedAfterAClose();
    void aCompleteMessageReleasesItsBuffer();
};

void tst_PushWebSocketFraming::acceptKeyIsTheRfcsExample()
{
    // RFC 6455 §1.3.
    QCOMPARE(acceptKey("dGhlIHNhbXBsZSBub25jZQ=="), QByteArray("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
}

void tst_PushWebSocketFraming::serverFramesUseTheShortestLength_data()
{
    QTest::addColumn<int>("size");
    QTest::addColumn<QByteArray>("header");
    QTest::addRow("empty") << 0 << QByteArray::fromHex("8100");
    QTest::addRow("125") << 125 << QByteArray::fromHex("817d");
    QTest::addRow("126") << 126 << QByteArray::fromHex("817e007e");
    QTest::addRow("65535") << 65535 << QByteArray::fromHex("817effff");
    QTest::addRow("65536") << 65536 << QByteArray::fromHex("817f0000000000010000");
}

void tst_PushWebSocketFraming::serverFramesUseTheShortestLength()
{
    QFETCH(int, size);
    QFETCH(QByteArray, header);
    const QByteArray payload(size, 'x');
    const QByteArray encoded = frame(Opcode::Text, payload);
    QCOMPARE(encoded.first(header.size()).toHex(), header.toHex());
    QCOMPARE(encoded.size(), header.size() + size);
    QCOMPARE(encoded.sliced(header.size()), payload);
}

void tst_PushWebSocketFraming::closeReasonIsCutAtACharacterBoundary()
{
    const QByteArray reason = QStringLiteral("é").repeated(100).toUtf8(); // 200 bytes
    const QByteArray encoded = closeFrame(1008, reason);
    QCOMPARE(quint8(encoded.at(0)), quint8(0x88));
    const int size = encoded.at(1);
    QVERIFY2(size <= 125, qPrintable(QString::number(size)));
    QCOMPARE(encoded.mid(2, 2), QByteArray::fromHex("03f0"));
    const QByteArray sentReason = encoded.sliced(4);
    QCOMPARE(sentReason.size(), 122); // 123 would split the 62nd "é"
    QVERIFY(sentReason.isValidUtf8());
    QCOMPARE(closeFrame(1000, "bye").toHex(), QByteArray("880503e8627965"));
}

void tst_PushWebSocketFraming::closeWithoutAStatusHasNoPayload()
{
    QCOMPARE(closeFrame(closeNoStatus, "ignored").toHex(), QByteArray("8800"));
}

void tst_PushWebSocketFraming::streamParsesAlikeHoweverItIsSplit()
{
    const QByteArray text = QStringLiteral("grüß {\"op\":\"push\"}").toUtf8();
    const QByteArray stream = clientFrame(Opcode::Text, text)
            + clientFrame(Opcode::Ping, "are you there")
            + clientFrame(Opcode::Text, text.first(3), false) // ü split across fragments
            + clientFrame(Opcode::Pong, {}) // control frames may come between fragments
            + clientFrame(Opcode::Continuation, text.sliced(3, 5), false)
            + clientFrame(Opcode::Continuation, text.sliced(8))
            + clientFrame(Opcode::Binary, QByteArray("\x00\xff", 2)) + clientFrame(Opcode::Text, {})
            + clientFrame(Opcode::Close, closePayload(1000, "bye"));
    const QList<Event> expected = {
            {Event::Text, text, 0},
            {Event::Ping, "are you there", 0},
            {Event::Pong, {}, 0},
            {Event::Text, text, 0},
            {Event::Binary, QByteArray("\x00\xff", 2), 0},
            {Event::Text, {}, 0},
            {Event::Close, "bye", 1000},
    };
    QCOMPARE(describe(parseAll(stream)), describe(expected));

    // Byte by byte, and every split into two pieces.
    for (qsizetype piece : {1, 2, 3, 7}) {
        Parser parser(1 << 20);
        QList<Event> events;
        for (qsizetype at = 0; at < stream.size(); at += piece)
            parser.feed(QByteArrayView(stream).sliced(at, std::min(piece, stream.size() - at)),
                        &events);
        QCOMPARE(describe(events), describe(expected));
    }
    for (qsizetype cut = 1; cut < stream.size(); ++cut) {
        Parser parser(1 << 20);
        QList<Event> events;
        parser.feed(QByteArrayView(stream).first(cut), &events);
        parser.feed(QByteArrayView(stream).sliced(cut), &events);
        QCOMPARE(describe(events), describe(expected));
    }
}

void tst_PushWebSocketFraming::longMessagesUseExtendedLengths_data()
{
    QTest::addColumn<int>("size");
    QTest::addRow("16-bit length") << 126;
    QTest::addRow("16-bit length, largest") << 65535;
    QTest::addRow("64-bit length") << 70000;
}

void tst_PushWebSocketFraming::longMessagesUseExtendedLengths()
{
    QFETCH(int, size);
    QByteArray payload(size, 'a');
    for (int i = 0; i < size; ++i)
        payload[i] = char('a' + i % 26);
    const QList<Event> events = parseAll(clientFrame(Opcode::Text, payload));
    QCOMPARE(events.size(), 1);
    QCOMPARE(events.first().kind, Event::Text);
    QCOMPARE(events.first().payload, payload);
}

void tst_PushWebSocketFraming::badFramesAreRefusedWithTheirCloseCode_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<int>("closeCode");
    const int protocol = closeProtocolError;
    QTest::addRow("unmasked") << clientFrame(0x81, "hi", false) << protocol;
    QTest::addRow("reserved bit") << clientFrame(0xC1, "hi") << protocol;
    QTest::addRow("unknown data opcode") << clientFrame(0x83, "hi") << protocol;
    QTest::addRow("unknown control opcode") << clientFrame(0x8B, "hi") << protocol;
    QTest::addRow("fragmented ping") << clientFrame(Opcode::Ping, "hi", false) << protocol;
    QTest::addRow("ping of 126 bytes")
            << clientFrame(Opcode::Ping, QByteArray(126, 'p')) << protocol;
    QTest::addRow("continuation first") << clientFrame(Opcode::Continuation, "hi") << protocol;
    QTest::addRow("new message inside a fragmented one")
            << clientFrame(Opcode::Text, "a", false) + clientFrame(Opcode::Text, "b") << protocol;
    QTest::addRow("close with one byte") << clientFrame(Opcode::Close, "\x03") << protocol;
    QTest::addRow("close code 1005") << clientFrame(Opcode::Close, closePayload(1005)) << protocol;
    QTest::addRow("close code 999") << clientFrame(Opcode::Close, closePayload(999)) << protocol;
    QTest::addRow("close code 5000") << clientFrame(Opcode::Close, closePayload(5000)) << protocol;
    QTest::addRow("64-bit length with its top bit")
            << QByteArray::fromHex("81ff8000000000000001") + QByteArray(4, 0) << protocol;
    QTest::addRow("text not UTF-8") << clientFrame(Opcode::Text, "caf\xc3") << closeInvalidPayload;
    QTest::addRow("fragmented text not UTF-8") << clientFrame(Opcode::Text, "\xed", false)
                    + clientFrame(Opcode::Continuation, "\xa0\x80") // a UTF-16 surrogate
                                               << closeInvalidPayload;
    QTest::addRow("close reason not UTF-8")
            << clientFrame(Opcode::Close, closePayload(1000, "\xff")) << closeInvalidPayload;
}

void tst_PushWebSocketFraming::badFramesAreRefusedWithTheirCloseCode()
{
    QFETCH(QByteArray, bytes);
    QFETCH(int, closeCode);
    Parser parser(1 << 20);
    QList<Event> events;
    parser.feed(QByteArray(bytes + clientFrame(Opcode::Text, "after")), &events);
    QCOMPARE(events.size(), 1);
    QCOMPARE(events.first().kind, Event::Error);
    QCOMPARE(events.first().closeCode, closeCode);
    QVERIFY(!events.first().payload.isEmpty()); // a reason for the close frame
    QVERIFY(parser.isFinished());
}

void tst_PushWebSocketFraming::tooBigIsRefusedBeforeThePayloadArrives()
{
    Parser parser(1000);
    QList<Event> events;
    const QByteArray frame = clientFrame(Opcode::Text, QByteArray(1001, 'x'));
    parser.feed(QByteArrayView(frame).first(8), &events); // 2 + 2 length + 4 mask: no payload
    QCOMPARE(describe(events), describe({{Event::Error, "the message is too big", closeTooBig}}));
    QCOMPARE(parser.bufferedBytes(), 0);

    // At the limit exactly it is a message.
    const QList<Event> atLimit = parseAll(clientFrame(Opcode::Text, QByteArray(1000, 'x')), 1000);
    QCOMPARE(atLimit.size(), 1);
    QCOMPARE(atLimit.first().kind, Event::Text);
}

void tst_PushWebSocketFraming::fragmentsCountTowardsTheLimit()
{
    const QByteArray stream = clientFrame(Opcode::Text, QByteArray(600, 'x'), false)
            + clientFrame(Opcode::Continuation, QByteArray(401, 'x'));
    const QList<Event> events = parseAll(stream, 1000);
    QCOMPARE(events.size(), 1);
    QCOMPARE(events.first().kind, Event::Error);
    QCOMPARE(events.first().closeCode, closeTooBig);
}

void tst_PushWebSocketFraming::nothingIsParsedAfterAClose()
{
    Parser parser(1 << 20);
    QList<Event> events;
    parser.feed(QByteArray(clientFrame(Opcode::Close, {}) + clientFrame(Opcode::Text, "late")),
                &events);
    QCOMPARE(describe(events), describe({{Event::Close, {}, closeNoStatus}}));
    parser.feed(clientFrame(Opcode::Text, "later"), &events);
    QCOMPARE(events.size(), 1);
    QVERIFY(parser.isFinished());
}

void tst_PushWebSocketFraming::aCompleteMessageReleasesItsBuffer()
{
    Parser parser(1 << 20);
    QList<Event> events;
    const QByteArray frame = clientFrame(Opcode::Text, QByteArray(5000, 'x'));
    parser.feed(QByteArrayView(frame).first(3000), &events);
    QVERIFY(events.isEmpty());
    QVERIFY2(parser.bufferedBytes() >= 2990, qPrintable(QString::number(parser.bufferedBytes())));
    parser.feed(QByteArrayView(frame).sliced(3000), &events);
    QCOMPARE(events.size(), 1);
    QCOMPARE(parser.bufferedBytes(), 0);
}

QTEST_APPLESS_MAIN(tst_PushWebSocketFraming)
#include "tst_pushwebsocketframing.moc"
