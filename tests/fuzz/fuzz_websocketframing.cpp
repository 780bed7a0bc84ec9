// SPDX-License-Identifier: MIT
// libFuzzer target for the server's WebSocket parser (src/server/pushwebsocketframing.cpp):
// any bytes, fed whole and split at a point the input chooses, must give the same events,
// never more buffered than the limit allows, and never a crash or undefined behaviour.
// Built only with -DQTPUSH_FUZZ=ON and clang (docs/server.md: Why these dependencies).
#include "pushwebsocketframing_p.h"

#include <cstdint>
#include <cstdlib>

using PushWebSocket::Parser;

namespace {

constexpr qint64 limit = 4096;

QList<Parser::Event> parse(QByteArrayView bytes, qsizetype cut)
{
    Parser parser(limit);
    QList<Parser::Event> events;
    parser.feed(bytes.first(cut), &events);
    if (parser.bufferedBytes() > limit + 14)
        std::abort();
    parser.feed(bytes.sliced(cut), &events);
    if (parser.bufferedBytes() > limit + 14)
        std::abort();
    return events;
}

bool same(const QList<Parser::Event> &a, const QList<Parser::Event> &b)
{
    if (a.size() != b.size())
        return false;
    for (qsizetype i = 0; i < a.size(); ++i) {
        if (a[i].kind != b[i].kind || a[i].payload != b[i].payload
            || a[i].closeCode != b[i].closeCode)
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
    if (!same(parse(bytes, 0), parse(bytes, cut)))
        std::abort();
    return 0;
}
