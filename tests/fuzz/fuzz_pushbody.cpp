// SPDX-License-Identifier: MIT
// libFuzzer target for the body of an HTTP push (PushOps::decodePushBody, src/server/pushops.cpp):
// a Content-Type and a body of the input's choice. A text body decodes exactly when it is UTF-8
// and gives the body back; any other body decodes exactly when it is one JSON value, and the
// value re-encodes to JSON that decodes to the same (but for what Qt's parser drops, fuzzjson.h),
// at most 6 times the body's size (a control character in a string, which Qt's parser takes raw
// although RFC 8259 §7 wants it escaped, is written as \u00XX). A refusal gives a short reason.
// Built only with -DQTPUSH_FUZZ=ON and clang (docs/fuzzing.md).
#include "fuzzjson.h"
#include "fuzzrequire.h"
#include "pushops_p.h"
#include "pushwire_p.h"

#include <QtCore/QJsonDocument>

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>

namespace {

void checkText(const QByteArray &body, const std::optional<QVariant> &data)
{
    FUZZ_REQUIRE(data.has_value() == QByteArrayView(body).isValidUtf8());
    if (!data)
        return;
    FUZZ_REQUIRE(data->typeId() == QMetaType::QString);
    const QByteArray text = data->toString().toUtf8();
    // RFC 3629 §6: an initial byte order mark is a signature, not text.
    FUZZ_REQUIRE(text == body || (body.startsWith("\xEF\xBB\xBF") && text == body.sliced(3)));
}

void checkJson(const QByteArray &body, const std::optional<QVariant> &data)
{
    // An object or array that Qt reads on its own is read the same here, and the other way round.
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(body, &parseError);
    const bool isContainer = parseError.error == QJsonParseError::NoError;
    // Compared as values: an object whose key lost a leading U+FEFF (fuzzjson.h) keeps the
    // place of the key as it was, so its toJson() order is not the sorted one.
    if (isContainer)
        FUZZ_REQUIRE(data && sameJson(*data, document.toVariant()));
    if (!data)
        return;
    const QJsonValue value = QJsonValue::fromVariant(*data);
    FUZZ_REQUIRE(!value.isUndefined());
    if (value.isObject() || value.isArray())
        FUZZ_REQUIRE(isContainer);

    const QByteArray json = PushWire::encodeJson(*data);
    FUZZ_REQUIRE(json.size() <= 6 * body.size());
    QVariant again;
    QString problem;
    FUZZ_REQUIRE(PushWire::decodeJson(json, &again, &problem));
    FUZZ_REQUIRE(sameJson(again, *data));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzedDataProvider provider(data, size);
    static const char *const types[]
            = {"text/plain", "TEXT/plain; charset=utf-8",        "text/", "application/json",
               "",           "application/x-www-form-urlencoded"};
    const std::string chosen = provider.ConsumeBool()
            ? std::string(provider.PickValueInArray(types))
            : provider.ConsumeRandomLengthString(64);
    const QByteArray contentType(chosen.data(), qsizetype(chosen.size()));
    const std::string rest = provider.ConsumeRemainingBytesAsString();
    const QByteArray body(rest.data(), qsizetype(rest.size()));

    QString problem;
    const std::optional<QVariant> decoded = PushOps::decodePushBody(contentType, body, &problem);
    if (!decoded)
        FUZZ_REQUIRE(!problem.isEmpty() && problem.size() <= 200);
    if (contentType.toLower().startsWith("text/"))
        checkText(body, decoded);
    else
        checkJson(body, decoded);
    return 0;
}
