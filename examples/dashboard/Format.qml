// SPDX-License-Identifier: MIT
// Numbers, sizes and durations as an operator reads them at a glance; a figure the server has
// not sent yet (undefined) reads as a dash, not as a zero it never said.
pragma Singleton
import QtQuick

QtObject {
    function count(value) {
        if (value === undefined)
            return "\u2013"
        return Number(value || 0).toLocaleString(Qt.locale("en_US"), "f", 0)
    }

    //! A rate: one decimal below 10, whole numbers above, "k" and "M" past a thousand.
    function rate(value) {
        if (value === undefined)
            return "\u2013"
        const v = Number(value || 0)
        if (v >= 1e6)
            return (v / 1e6).toFixed(1) + " M"
        if (v >= 1e4)
            return (v / 1e3).toFixed(1) + " k"
        if (v >= 10)
            return count(v)
        return v === 0 ? "0" : v.toFixed(1)
    }

    //! A label of an axis whose top is \a top and whose labels are top / 4 apart: every label of
    //! one axis has the same unit and the same number of decimals ("0 5 10 15 20",
    //! "0 2.5 k 5.0 k ..."), unlike rate(), which picks a format per value.
    function axis(value, top) {
        const divisor = top >= 1e7 ? 1e6 : top >= 1e4 ? 1e3 : 1
        const suffix = divisor === 1e6 ? " M" : divisor === 1e3 ? " k" : ""
        const step = top / 4 / divisor
        const decimals = Number.isInteger(step) ? 0 : 1
        const v = Number(value || 0) / divisor
        if (v === 0)
            return "0"
        return v.toLocaleString(Qt.locale("en_US"), "f", decimals) + suffix
    }

    function bytes(value) {
        if (value === undefined)
            return "\u2013"
        const v = Number(value || 0)
        if (v >= 1 << 30)
            return (v / (1 << 30)).toFixed(1) + " GiB"
        if (v >= 1 << 20)
            return (v / (1 << 20)).toFixed(1) + " MiB"
        return Math.round(v / 1024) + " KiB"
    }

    //! Whole seconds as "45 s", "12 min 5 s", "3 h 4 min" or "2 d 5 h".
    function duration(seconds) {
        if (seconds === undefined)
            return "\u2013"
        const s = Math.max(0, Math.floor(Number(seconds || 0)))
        if (s < 60)
            return s + " s"
        if (s < 3600)
            return Math.floor(s / 60) + " min " + (s % 60) + " s"
        if (s < 86400)
            return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min"
        return Math.floor(s / 86400) + " d " + Math.floor((s % 86400) / 3600) + " h"
    }

    //! How long ago \a since was, seen from \a now (the server's clock, so the two agree).
    function ago(since, now) {
        if (!since || isNaN(since.getTime()))
            return ""
        return duration((now.getTime() - since.getTime()) / 1000) + " ago"
    }
}
