// SPDX-License-Identifier: MIT
// libFuzzer target for the ops of WebSocket text frames (PushOps::decodeClientFrame and
// decodeAdminFrame, src/server/pushops.cpp), any bytes as a frame. An op that decodes encodes
// again to a frame that decodes to the same op (but for what Qt's parser drops, fuzzjson.h); an
// admin session is null (watch only) or a valid id; an admin push is a client push of the same
// data, and a client's push whose session is an id is an admin push; the data, encoded, is at most
// 6 times the frame's size (as in fuzz_pushbody.cpp); a refusal gives a short reason. Built only
// with -DQTPUSH_FUZZ=ON and clang (docs/fuzzing.md).
#include "fuzzjson.h"
#include "fuzzrequire.h"
#include "pushops_p.h"
#include "pushwire_p.h"

#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>

#include <cstdint>

using PushOps::AdminOp;

namespace {

QByteArray clientFrame(const QVariant &data)
{
    return QJsonDocument(QJsonObject{{QStringLiteral("op"), QStringLiteral("push")},
                                     {QStringLiteral("data"), QJsonValue::fromVariant(data)}})
            .toJson(QJsonDocument::Compact);
}

QByteArray adminFrame(const AdminOp &op)
{
    QJsonObject frame{{QStringLiteral("op"),
                       op.kind == AdminOp::Push ? QStringLiteral("push") : QStringLiteral("watch")},
                      {QStringLiteral("session"),
                       op.session.isNull() ? QJsonValue() : QJsonValue(op.session)}};
    if (op.kind == AdminOp::Push)
        frame.insert(QStringLiteral("data"), QJsonValue::fromVariant(op.data));
    return QJsonDocument(frame).toJson(QJsonDocument::Compact);
}

void checkRefusal(const QString &problem)
{
    FUZZ_REQUIRE(!problem.isEmpty() && problem.size() <= 200);
}

void checkData(const QByteArray &frame, const QVariant &data)
{
    const QByteArray json = PushWire::encodeJson(data);
    FUZZ_REQUIRE(json.size() <= 6 * frame.size());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size)
{
    const QByteArray frame(reinterpret_cast<const char *>(bytes), qsizetype(size));
    QString problem;

    const std::optional<QVariant> data = PushOps::decodeClientFrame(frame, &problem);
    if (data) {
        checkData(frame, *data);
        const QByteArray encoded = clientFrame(*data);
        const std::optional<QVariant> again = PushOps::decodeClientFrame(encoded, &problem);
        FUZZ_REQUIRE(again && sameJson(*again, *data));
    } else {
        checkRefusal(problem);
    }

    problem.clear();
    const std::optional<AdminOp> op = PushOps::decodeAdminFrame(frame, &problem);
    if (data) {
        const QJsonValue session
                = QJsonDocument::fromJson(frame).object().value(QStringLiteral("session"));
        const qsizetype idBytes = session.toString().toUtf8().size();
        if (session.isString() && idBytes >= 1 && idBytes <= 256)
            FUZZ_REQUIRE(op && op->kind == AdminOp::Push && op->session == session.toString());
    }
    if (!op) {
        checkRefusal(problem);
        return 0;
    }
    FUZZ_REQUIRE(op->kind == AdminOp::Push || op->kind == AdminOp::Watch);
    if (op->session.isNull()) {
        FUZZ_REQUIRE(op->kind == AdminOp::Watch);
    } else {
        const qsizetype idBytes = op->session.toUtf8().size();
        FUZZ_REQUIRE(idBytes >= 1 && idBytes <= 256);
    }
    if (op->kind == AdminOp::Push) {
        FUZZ_REQUIRE(data && PushWire::encodeJson(op->data) == PushWire::encodeJson(*data));
        checkData(frame, op->data);
    }
    if (op->session.startsWith(QChar(0xFEFF)))
        return 0; // Qt's parser would drop it from the id (fuzzjson.h)
    const std::optional<AdminOp> again = PushOps::decodeAdminFrame(adminFrame(*op), &problem);
    FUZZ_REQUIRE(again && again->kind == op->kind && again->session == op->session
                 && again->session.isNull() == op->session.isNull()
                 && sameJson(again->data, op->data));
    return 0;
}
