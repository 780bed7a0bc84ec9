// SPDX-License-Identifier: MIT
#pragma once

// Internal: what QML hands to C++ as a message. Not installed.

#include <QtCore/QVariant>
#include <QtQml/QJSValue>

//! A value from QML as the core stores it: a JavaScript object or array becomes a QVariantMap
//! or QVariantList (so that it reaches C++ clients and the wire as JSON would), anything else
//! stays as it is.
inline QVariant pushMessageFromQml(const QVariant &value)
{
    if (value.metaType() == QMetaType::fromType<QJSValue>())
        return value.value<QJSValue>().toVariant();
    return value;
}
