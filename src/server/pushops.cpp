// SPDX-License-Identifier: MIT
#include "pushops_p.h"

#include "pushroute_p.h"
#include "pushwire_p.h"

#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QStringDecoder>

#include <cmath>

namespace PushOps {

namespace {

//! The JSON object of a text frame, or nullopt with the reason in \a problem.
std::optional<QJsonObject> frameObject(const QByteArray &utf8, QString *problem)
{
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(utf8, &parseError);
    if (parseError.error != QJsonParseError::NoError || !document.isObject()) {
        *problem
                = QStringLiteral("a frame must be a JSON object: %1").arg(parseError.errorString());
        return std::nullopt;
    }
    return document.object();
}

} // namespace

std::optional<QVariant> decodePushBody(const QByteArray &contentType, const QByteArray &body,
                                       QString *problem)
{
    if (contentType.toLower().startsWith("text/")) {
        QStringDecoder decoder(QStringDecoder::Utf8, QStringDecoder::Flag::Stateless);
        const QString text = decoder(body);
        if (decoder.hasError()) {
            *problem = QStringLiteral("the body is not UTF-8");
            return std::nullopt;
        }
        return QVariant(text);
    }
    QVariant data;
    QString jsonProblem;
    if (!PushWire::decodeJson(body, &data, &jsonProblem)) {
        *problem = QStringLiteral("the body is not JSON: %1").arg(jsonProblem);
        return std::nullopt;
    }
    return data;
}

std::optional<QVariant> decodeClientFrame(const QByteArray &utf8, QString *problem,
                                          QJsonValue *ref)
{
    const std::optional<QJsonObject> frame = frameObject(utf8, problem);
    if (!frame)
        return std::nullopt;
    if (frame->value(QStringLiteral("op")).toString() != QStringLiteral("push")
        || !frame->contains(QStringLiteral("data"))) {
        *problem = QStringLiteral("expected {\"op\":\"push\",\"data\":...}");
        return std::nullopt;
    }
    // protocol.md: Acknowledged pushes. A bounded string or an exact integer, echoed as given.
    const QJsonValue given = frame->value(QStringLiteral("ref"));
    const bool isInteger = given.isDouble() && std::abs(given.toDouble()) <= 9007199254740991.0
            && given.toDouble() == std::trunc(given.toDouble());
    if (!given.isUndefined() && !isInteger
        && !(given.isString() && given.toString().toUtf8().size() <= 64)) {
        *problem = QStringLiteral("ref must be a string of at most 64 bytes or an integer");
        return std::nullopt;
    }
    if (ref)
        *ref = given;
    return frame->value(QStringLiteral("data")).toVariant();
}

std::optional<AdminOp> decodeAdminFrame(const QByteArray &utf8, QString *problem)
{
    const std::optional<QJsonObject> frame = frameObject(utf8, problem);
    if (!frame)
        return std::nullopt;
    const QString name = frame->value(QStringLiteral("op")).toString();
    const QJsonValue session = frame->value(QStringLiteral("session"));
    AdminOp op;
    if (name == QStringLiteral("push")) {
        if (!session.isString() || !frame->contains(QStringLiteral("data"))) {
            *problem = QStringLiteral("expected {\"op\":\"push\",\"session\":...,\"data\":...}");
            return std::nullopt;
        }
        op.kind = AdminOp::Push;
        op.data = frame->value(QStringLiteral("data")).toVariant();
    } else if (name == QStringLiteral("watch") && !session.isUndefined()) {
        op.kind = AdminOp::Watch;
        if (session.isNull())
            return op; // stop watching
        if (!session.isString()) {
            *problem = QStringLiteral("session must be a string or null");
            return std::nullopt;
        }
    } else {
        *problem = QStringLiteral("expected {\"op\":\"watch\",\"session\":...} or "
                                  "{\"op\":\"push\",\"session\":...,\"data\":...}");
        return std::nullopt;
    }
    if (!PushRoute::isValidId(session.toString(), problem))
        return std::nullopt;
    op.session = session.toString();
    return op;
}

bool fitsMessageLimit(qsizetype frameBytes, const QVariant &data, qint64 limit)
{
    return frameBytes <= limit || PushWire::encodeJson(data).size() <= limit;
}

} // namespace PushOps
