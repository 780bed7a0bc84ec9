// SPDX-License-Identifier: MIT
#pragma once

// JSON comparisons for the fuzz targets of the JSON decoders.

#include "pushwire_p.h"

#include <QtCore/QVariant>

//! \a value with every U+FEFF at the start of a string or an object key removed. Qt 6.4's JSON
//! parser drops one there from a string that has no escape, so a text that starts with one
//! loses it each time it is read; that is Qt's doing, and the targets compare around it.
inline QVariant withoutLeadingBoms(const QVariant &value)
{
    const auto strip = [](QString text) {
        while (text.startsWith(QChar(0xFEFF)))
            text.remove(0, 1);
        return text;
    };
    switch (value.typeId()) {
    case QMetaType::QString:
        return strip(value.toString());
    case QMetaType::QVariantList: {
        QVariantList list = value.toList();
        for (QVariant &item : list)
            item = withoutLeadingBoms(item);
        return list;
    }
    case QMetaType::QVariantMap: {
        const QVariantMap map = value.toMap();
        QVariantMap stripped;
        for (auto it = map.cbegin(); it != map.cend(); ++it)
            stripped.insert(strip(it.key()), withoutLeadingBoms(it.value()));
        return stripped;
    }
    default:
        return value;
    }
}

//! Whether \a a and \a b are the same JSON value, but for what Qt's parser drops (above).
inline bool sameJson(const QVariant &a, const QVariant &b)
{
    return PushWire::encodeJson(withoutLeadingBoms(a))
            == PushWire::encodeJson(withoutLeadingBoms(b));
}
