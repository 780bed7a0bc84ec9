// SPDX-License-Identifier: MIT
// The dashboard's colours and sizes, in one place.
pragma Singleton
import QtQuick

QtObject {
    readonly property color window: "#eef1f5"
    readonly property color card: "#ffffff"
    readonly property color border: "#dde2e9"
    readonly property color rowHover: "#f3f6fa"
    readonly property color selection: "#e4edfd"
    readonly property color text: "#1c2330"
    readonly property color muted: "#687385"
    readonly property color header: "#1b2433"
    readonly property color headerText: "#f4f6fa"
    readonly property color headerMuted: "#9aa6b8"
    readonly property color accent: "#2f6fed"
    readonly property color good: "#1f9d55"
    readonly property color warn: "#d98a00"
    readonly property color bad: "#d64545"

    readonly property color pushedLine: "#2f6fed"
    readonly property color deliveredLine: "#1f9d55"

    //! Transport chips: the same colours in every view.
    function transportColor(transport) {
        switch (transport) {
        case "ws": return "#2f6fed"
        case "sse": return "#1f9d55"
        case "poll": return "#d98a00"
        case "local": return "#7b4fd6"
        default: return "#8a94a3"
        }
    }

    readonly property int spacing: 12
    readonly property int radius: 6
    readonly property int rowHeight: 30
    readonly property int smallFont: 11
    readonly property int bodyFont: 13
    readonly property int titleFont: 15
    readonly property int figureFont: 20
}
