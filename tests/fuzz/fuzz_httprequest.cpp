// SPDX-License-Identifier: MIT
// libFuzzer target for the server's HTTP/1.1 request parser (src/server/pushhttpparser.cpp):
// any bytes, fed whole and split at a point the input chooses, must give the same requests and
// the same refusal, never more held than the limits allow, and never a crash or undefined
// behaviour. Built only with -DQTPUSH_FUZZ=ON and clang (docs/server.md: Fuzzing).
#include "pushhttpparser_p.h"

#include <cstdint>
#include <cstdlib>

namespace {

constexpr qint64 bodyLimit = 4096;
constexpr qint64 heldLimit = PushHttpParser::maxHeaderBytes + bodyLimit;

struct Outcome
{
    QList<PushHttpRequest> requests;
    bool refused = false;
    PushWire::Refusal refusal = PushWire::Refusal::BadRequest;
    QString message;
};

void drain(PushHttpParser *parser, Outcome *outcome)
{
    for (;;) {
        PushHttpRequest request;
        switch (parser->next(&request)) {
        case PushHttpParser::Status::Request:
            if (request.body.size() > bodyLimit
                || request.headers.size() > PushHttpParser::maxHeaders || request.path.isEmpty())
                std::abort();
            outcome->requests.append(request);
            continue;
        case PushHttpParser::Status::Refused:
            outcome->refused = true;
            outcome->refusal = parser->refusal();
            outcome->message = parser->refusalMessage();
            return;
        case PushHttpParser::Status::NeedMore:
            if (parser->heldBytes() > heldLimit)
                std::abort();
            return;
        }
    }
}

Outcome parse(QByteArrayView bytes, qsizetype cut)
{
    PushHttpParser parser(bodyLimit);
    Outcome outcome;
    parser.feed(bytes.first(cut));
    drain(&parser, &outcome);
    parser.feed(bytes.sliced(cut));
    drain(&parser, &outcome);
    return outcome;
}

bool same(const PushHttpRequest &a, const PushHttpRequest &b)
{
    return a.method == b.method && a.path == b.path && a.query == b.query
            && a.headers == b.headers && a.body == b.body && a.upgrade == b.upgrade
            && a.keepAlive == b.keepAlive && a.http11 == b.http11;
}

bool same(const Outcome &a, const Outcome &b)
{
    if (a.requests.size() != b.requests.size() || a.refused != b.refused
        || a.refusal != b.refusal || a.message != b.message)
        return false;
    for (qsizetype i = 0; i < a.requests.size(); ++i) {
        if (!same(a.requests[i], b.requests[i]))
            return false;
    }
    return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const QByteArrayView bytes(reinterpret_cast<const char *>(data) + 1, qsizetype(size - 1));
    const qsizetype cut = bytes.isEmpty() ? 0 : data[0] % (bytes.size() + 1);
    if (!same(parse(bytes, bytes.size()), parse(bytes, cut)))
        std::abort();
    return 0;
}
