// SPDX-License-Identifier: MIT
#include "pushhttpparser_p.h"

#include <QtTest/QTest>

class tst_PushHttpParser : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void parsesARequest();
    void parsesByteByByte();
    void takesAChunkedBody();
    void keepAliveAndUpgrade_data();
    void keepAliveAndUpgrade();
    void pipelinedRequestsComeOneAtATime();
    void refusesWhatAProxyCouldFrameDifferently_data();
    void refusesWhatAProxyCouldFrameDifferently();
    void headersTooLargeAtAnySize_data();
    void headersTooLargeAtAnySize();
    void tooManyHeaders();
    void bodyOverTheLimitIsRefusedBeforeItComes_data();
    void bodyOverTheLimitIsRefusedBeforeItComes();
    void refusalIsFinal();
    void badRequestLineIsRefusedBeforeTheHeadEnds();
    void holdsNothingWhenIdle();
    void hasPartialRequest();
    void upgradeLeavesWhatFollowsUnparsed();
};

namespace {

constexpr qint64 bodyLimit = 1024;

struct Result
{
    QList<PushHttpRequest> requests;
    bool refused = false;
    PushWire::Refusal refusal = PushWire::Refusal::BadRequest;
    QString message;
};

Result parseAll(PushHttpParser &parser, QByteArrayView bytes)
{
    Result result;
    parser.feed(bytes);
    for (;;) {
        PushHttpRequest request;
        const PushHttpParser::Status status = parser.next(&request);
        if (status == PushHttpParser::Status::Request) {
            result.requests.append(request);
            continue;
        }
        if (status == PushHttpParser::Status::Refused) {
            result.refused = true;
            result.refusal = parser.refusal();
            result.message = parser.refusalMessage();
        }
        return result;
    }
}

Result parseAll(QByteArrayView bytes)
{
    PushHttpParser parser(bodyLimit);
    return parseAll(parser, bytes);
}

} // namespace

void tst_PushHttpParser::parsesARequest()
{
    const Result result = parseAll("POST /v1/sessions/s/push?x=1&y HTTP/1.1\r\nHost: a\r\n"
                                   "Content-Type:  application/json \r\nX-Empty:\r\n"
                                   "Content-Length: 7\r\n\r\n{\"a\":1}");
    QVERIFY(!result.refused);
    QCOMPARE(result.requests.size(), 1);
    const PushHttpRequest &request = result.requests.first();
    QCOMPARE(request.method, "POST");
    QCOMPARE(request.path, "/v1/sessions/s/push");
    QCOMPARE(request.query, "x=1&y");
    QCOMPARE(request.header("content-type"), "application/json"); // trimmed
    QCOMPARE(request.header("x-empty"), "");
    QCOMPARE(request.headers.size(), 4);
    QCOMPARE(request.body, "{\"a\":1}");
    QVERIFY(request.http11);
    QVERIFY(request.keepAlive);
    QVERIFY(!request.upgrade);
}

void tst_PushHttpParser::parsesByteByByte()
{
    const QByteArray bytes = "\r\nPOST http://host:8080/p?q HTTP/1.1\r\nHost: a\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n"
                             "2;name=value\r\nab\r\n1\r\nc\r\n0\r\nTrailer: x\r\n\r\n";
    PushHttpParser parser(bodyLimit);
    QList<PushHttpRequest> requests;
    for (char byte : bytes) {
        parser.feed(QByteArrayView(&byte, 1));
        PushHttpRequest request;
        const PushHttpParser::Status status = parser.next(&request);
        QVERIFY(status != PushHttpParser::Status::Refused);
        if (status == PushHttpParser::Status::Request)
            requests.append(request);
    }
    QCOMPARE(requests.size(), 1);
    QCOMPARE(requests.first().path, "/p"); // the absolute form
    QCOMPARE(requests.first().query, "q");
    QCOMPARE(requests.first().body, "abc");
}

void tst_PushHttpParser::takesAChunkedBody()
{
    const Result result = parseAll("POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n"
                                   "A\r\n0123456789\r\n3 ;ext\r\nabc\r\n0\r\n\r\n");
    QVERIFY(!result.refused);
    QCOMPARE(result.requests.size(), 1);
    QCOMPARE(result.requests.first().body, "0123456789abc");
}

void tst_PushHttpParser::keepAliveAndUpgrade_data()
{
    QTest::addColumn<QByteArray>("head");
    QTest::addColumn<bool>("keepAlive");
    QTest::addColumn<bool>("upgrade");
    QTest::addRow("1.1 by default") << QByteArray("GET / HTTP/1.1\r\n") << true << false;
    QTest::addRow("1.1 close") << QByteArray("GET / HTTP/1.1\r\nConnection: Close\r\n") << false
                               << false;
    QTest::addRow("1.0 by default") << QByteArray("GET / HTTP/1.0\r\n") << false << false;
    QTest::addRow("1.0 keep-alive")
            << QByteArray("GET / HTTP/1.0\r\nConnection: keep-alive\r\n") << true << false;
    QTest::addRow("upgrade") << QByteArray("GET / HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\n"
                                           "Upgrade: websocket\r\n")
                             << true << true;
    QTest::addRow("upgrade header alone")
            << QByteArray("GET / HTTP/1.1\r\nUpgrade: websocket\r\n") << true << false;
}

void tst_PushHttpParser::keepAliveAndUpgrade()
{
    QFETCH(QByteArray, head);
    QFETCH(bool, keepAlive);
    QFETCH(bool, upgrade);
    const Result result = parseAll(QByteArray(head + "\r\n"));
    QCOMPARE(result.requests.size(), 1);
    QCOMPARE(result.requests.first().keepAlive, keepAlive);
    QCOMPARE(result.requests.first().upgrade, upgrade);
}

void tst_PushHttpParser::pipelinedRequestsComeOneAtATime()
{
    PushHttpParser parser(bodyLimit);
    parser.feed("GET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 2\r\n\r\nhiGET /c");
    PushHttpRequest request;
    QCOMPARE(parser.next(&request), PushHttpParser::Status::Request);
    QCOMPARE(request.path, "/a");
    QCOMPARE(parser.next(&request), PushHttpParser::Status::Request);
    QCOMPARE(request.path, "/b");
    QCOMPARE(request.body, "hi");
    QCOMPARE(parser.next(&request), PushHttpParser::Status::NeedMore);
    QVERIFY(parser.hasPartialRequest());
    parser.feed(" HTTP/1.1\r\n\r\n");
    QCOMPARE(parser.next(&request), PushHttpParser::Status::Request);
    QCOMPARE(request.path, "/c");
    QVERIFY(request.body.isEmpty());
}

void tst_PushHttpParser::refusesWhatAProxyCouldFrameDifferently_data()
{
    QTest::addColumn<QByteArray>("bytes");
    const QByteArray post = "POST / HTTP/1.1\r\nHost: a\r\n";
    QTest::addRow("chunk data not followed by CRLF")
            << post + "Transfer-Encoding: chunked\r\n\r\n3\r\n[1]XX0\r\n\r\n";
    QTest::addRow("chunk data followed by LF") << post + "Transfer-Encoding: chunked\r\n\r\n"
                                                         "3\r\n[1]\n0\r\n\r\n";
    QTest::addRow("chunk size line ending in LF")
            << post + "Transfer-Encoding: chunked\r\n\r\n3\n[1]\r\n0\r\n\r\n";
    QTest::addRow("chunk size not hex") << post + "Transfer-Encoding: chunked\r\n\r\n"
                                                  "x3\r\n[1]\r\n0\r\n\r\n";
    QTest::addRow("chunk size with a sign") << post + "Transfer-Encoding: chunked\r\n\r\n"
                                                      "+3\r\n[1]\r\n0\r\n\r\n";
    QTest::addRow("Content-Length and Transfer-Encoding")
            << post + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n[1]\r\n0\r\n\r\n";
    QTest::addRow("Transfer-Encoding then Content-Length")
            << post + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n";
    QTest::addRow("two Content-Lengths") << post + "Content-Length: 3\r\nContent-Length: 3\r\n\r\n";
    QTest::addRow("a list of Content-Lengths") << post + "Content-Length: 3, 3\r\n\r\n";
    QTest::addRow("signed Content-Length") << post + "Content-Length: +3\r\n\r\n";
    QTest::addRow("hex Content-Length") << post + "Content-Length: 0x3\r\n\r\n";
    QTest::addRow("empty Content-Length") << post + "Content-Length:\r\n\r\n";
    QTest::addRow("Transfer-Encoding gzip") << post + "Transfer-Encoding: gzip\r\n\r\n";
    QTest::addRow("chunked not last") << post + "Transfer-Encoding: chunked, gzip\r\n\r\n";
    QTest::addRow("chunked twice")
            << post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n";
    QTest::addRow("chunked with a space inside") << post + "Transfer-Encoding: chun ked\r\n\r\n";
    QTest::addRow("Transfer-Encoding in HTTP/1.0")
            << QByteArray("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    QTest::addRow("obs-fold") << post + "Content-Length: 3\r\nX-A: b\r\n c\r\n\r\n[1]";
    QTest::addRow("obs-fold with a tab") << post + "X-A: b\r\n\tTransfer-Encoding: chunked\r\n\r\n";
    QTest::addRow("space before the colon") << post + "Content-Length : 3\r\n\r\n[1]";
    QTest::addRow("tab before the colon") << post + "Transfer-Encoding\t: chunked\r\n\r\n";
    QTest::addRow("bare LF in the headers") << QByteArray("POST / HTTP/1.1\nHost: a\n\n");
    QTest::addRow("bare LF at the end") << post + "Content-Length: 0\r\n\n";
    QTest::addRow("bare CR") << post + "X-A: b\rContent-Length: 3\r\n\r\n[1]";
    QTest::addRow("two Host headers") << post + "Host: b\r\n\r\n";
    QTest::addRow("NUL in a value") << post + QByteArray("X-A: a\0b\r\n\r\n", 13);
    QTest::addRow("no colon") << post + "Content-Length 3\r\n\r\n";
    QTest::addRow("empty header name") << post + ": 3\r\n\r\n";
    QTest::addRow("two spaces in the request line") << QByteArray("GET  / HTTP/1.1\r\n\r\n");
    QTest::addRow("HTTP/2 on HTTP/1") << QByteArray("GET / HTTP/2.0\r\n\r\n");
    QTest::addRow("HTTP/0.9") << QByteArray("GET /\r\n\r\n");
    QTest::addRow("lower-case version") << QByteArray("GET / http/1.1\r\n\r\n");
    QTest::addRow("target not a path") << QByteArray("GET * HTTP/1.1\r\n\r\n");
    QTest::addRow("fragment") << QByteArray("GET /a#b HTTP/1.1\r\n\r\n");
    QTest::addRow("control in the target") << QByteArray("GET /a\x01 HTTP/1.1\r\n\r\n");
    QTest::addRow("method not a token") << QByteArray("G(T / HTTP/1.1\r\n\r\n");
}

void tst_PushHttpParser::refusesWhatAProxyCouldFrameDifferently()
{
    QFETCH(QByteArray, bytes);
    const Result result = parseAll(bytes);
    QVERIFY(result.requests.isEmpty());
    QVERIFY(result.refused);
    QCOMPARE(result.refusal, PushWire::Refusal::BadRequest);
    QVERIFY(!result.message.isEmpty());
}

void tst_PushHttpParser::headersTooLargeAtAnySize_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<bool>("whole");
    for (int kib : {17, 20, 100, 1024}) {
        const QByteArray big(kib * 1024, 'a');
        QTest::addRow("%d KiB header", kib)
                << "GET / HTTP/1.1\r\nX-Big: " + big + "\r\n\r\n" << true;
        QTest::addRow("%d KiB target", kib) << "GET /" + big + " HTTP/1.1\r\n\r\n" << true;
        QTest::addRow("%d KiB header, unfinished", kib)
                << "GET / HTTP/1.1\r\nX-Big: " + big << false;
    }
    QByteArray many = "GET / HTTP/1.1\r\n";
    while (many.size() < 20 * 1024)
        many += "X-A: b\r\n";
    QTest::addRow("many small headers") << many + "\r\n" << true;
    QTest::addRow("trailers") << "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
                    + many.sliced(16) + "\r\n"
                              << true;
}

void tst_PushHttpParser::headersTooLargeAtAnySize()
{
    QFETCH(QByteArray, bytes);
    QFETCH(bool, whole);
    Q_UNUSED(whole);
    PushHttpParser parser(bodyLimit);
    const Result result = parseAll(parser, bytes);
    QVERIFY(result.requests.isEmpty());
    QVERIFY(result.refused);
    QCOMPARE(result.refusal, PushWire::Refusal::HeadersTooLarge);
    QCOMPARE(PushWire::httpStatus(result.refusal), 431);
    // The same request arriving in 4 KiB pieces is refused once 16 KiB are held.
    PushHttpParser pieces(bodyLimit);
    qsizetype fed = 0;
    PushHttpParser::Status status = PushHttpParser::Status::NeedMore;
    while (fed < bytes.size() && status == PushHttpParser::Status::NeedMore) {
        const QByteArrayView piece = QByteArrayView(bytes).sliced(fed).first(
                std::min<qsizetype>(4096, bytes.size() - fed));
        pieces.feed(piece);
        fed += piece.size();
        PushHttpRequest request;
        status = pieces.next(&request);
        QVERIFY(pieces.heldBytes() <= PushHttpParser::maxHeaderBytes + bodyLimit);
    }
    QCOMPARE(status, PushHttpParser::Status::Refused);
    QCOMPARE(pieces.refusal(), PushWire::Refusal::HeadersTooLarge);
    QVERIFY(fed <= PushHttpParser::maxHeaderBytes + 8192);
}

void tst_PushHttpParser::tooManyHeaders()
{
    QByteArray bytes = "GET / HTTP/1.1\r\n";
    for (int i = 0; i <= PushHttpParser::maxHeaders; ++i)
        bytes += "X-" + QByteArray::number(i) + ": v\r\n";
    const Result result = parseAll(QByteArray(bytes + "\r\n"));
    QVERIFY(result.refused);
    QCOMPARE(result.refusal, PushWire::Refusal::HeadersTooLarge);
    bytes.truncate(bytes.lastIndexOf("X-"));
    QCOMPARE(parseAll(QByteArray(bytes + "\r\n")).requests.size(), 1); // exactly the limit is fine
}

void tst_PushHttpParser::bodyOverTheLimitIsRefusedBeforeItComes_data()
{
    QTest::addColumn<QByteArray>("head");
    QTest::addRow("Content-Length") << QByteArray("POST / HTTP/1.1\r\nContent-Length: 1025\r\n\r\n");
    QTest::addRow("huge Content-Length")
            << QByteArray("POST / HTTP/1.1\r\nContent-Length: 999999999999999999\r\n\r\n");
    QTest::addRow("one chunk") << QByteArray("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                                             "\r\n401\r\n");
    QTest::addRow("huge chunk") << QByteArray("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                                              "\r\nffffffffffffffffffff\r\n");
    QTest::addRow("chunks adding up") << "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "200\r\n" + QByteArray(512, 'a') + "\r\n201\r\n";
}

void tst_PushHttpParser::bodyOverTheLimitIsRefusedBeforeItComes()
{
    QFETCH(QByteArray, head);
    const Result result = parseAll(head);
    QVERIFY(result.refused);
    QCOMPARE(result.refusal, PushWire::Refusal::TooLarge);
}

void tst_PushHttpParser::badRequestLineIsRefusedBeforeTheHeadEnds()
{
    // A client that speaks no HTTP (here the start of a TLS ClientHello) sends no empty line:
    // waiting for one would hold the connection until the request timeout.
    PushHttpParser parser(bodyLimit);
    QVERIFY(parseAll(parser, QByteArray("\x16\x03\x01\x02\x00\r\n", 7)).refused);
    PushHttpParser good(bodyLimit);
    const Result partial = parseAll(good, "GET / HTTP/1.1\r\nHost: a\r\n");
    QVERIFY(!partial.refused);
    QVERIFY(partial.requests.isEmpty());
}

void tst_PushHttpParser::refusalIsFinal()
{
    PushHttpParser parser(bodyLimit);
    QVERIFY(parseAll(parser, "GET / HTTP/1.1\nHost: a\n\n").refused);
    QVERIFY(parser.isRefused());
    const Result after = parseAll(parser, "GET / HTTP/1.1\r\n\r\n");
    QVERIFY(after.requests.isEmpty());
    QVERIFY(after.refused);
    QCOMPARE(parser.heldBytes(), 0);
}

void tst_PushHttpParser::holdsNothingWhenIdle()
{
    PushHttpParser parser(bodyLimit);
    QCOMPARE(parseAll(parser, "POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\n[1]").requests.size(),
             1);
    QCOMPARE(parser.heldBytes(), 0);
    QVERIFY(!parser.hasPartialRequest());
}

void tst_PushHttpParser::hasPartialRequest()
{
    PushHttpParser parser(bodyLimit);
    QVERIFY(!parser.hasPartialRequest());
    QVERIFY(parseAll(parser, "\r\n").requests.isEmpty()); // an empty line before a request
    QVERIFY(!parser.hasPartialRequest());
    QVERIFY(parseAll(parser, "G").requests.isEmpty());
    QVERIFY(parser.hasPartialRequest());
    QCOMPARE(parseAll(parser, "ET / HTTP/1.1\r\n\r\n").requests.size(), 1);
    QVERIFY(!parser.hasPartialRequest());
}

void tst_PushHttpParser::upgradeLeavesWhatFollowsUnparsed()
{
    PushHttpParser parser(bodyLimit);
    parser.feed("GET /ws HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x80");
    PushHttpRequest request;
    QCOMPARE(parser.next(&request), PushHttpParser::Status::Request);
    QVERIFY(request.upgrade);
    QCOMPARE(parser.takeUnparsed(), "\x81\x80");
    QCOMPARE(parser.heldBytes(), 0);
}

QTEST_GUILESS_MAIN(tst_PushHttpParser)
#include "tst_pushhttpparser.moc"
