// SPDX-License-Identifier: MIT
// The top bar: which server, whether the view is live, and the server's own figures (dimmed,
// with the time they are from, while the view is not live).
import QtQuick
import QtQuick.Layouts
import QtPush

Rectangle {
    id: header
    required property PushMonitor monitor
    required property bool embedded
    required property string embeddedError

    readonly property var figures: monitor.server
    readonly property bool live: monitor.status === PushMonitor.Connected
    //! The figures are the last ones seen: shown dimmed, every one alike, with the time they
    //! are from, rather than bright as if current.
    readonly property bool stale: !live && Object.keys(figures).length > 0

    implicitHeight: 72
    color: Theme.header

    component Figure: ColumnLayout {
        property alias label: labelText.text
        property alias value: valueText.text
        spacing: 2
        opacity: header.stale ? 0.45 : 1
        Text {
            id: valueText
            objectName: parent.objectName + "Value"
            Layout.alignment: Qt.AlignRight
            font.pixelSize: Theme.figureFont
            font.bold: true
            color: Theme.headerText
        }
        Text {
            id: labelText
            objectName: parent.objectName + "Label"
            Layout.alignment: Qt.AlignRight
            font.pixelSize: Theme.smallFont
            color: Theme.headerMuted
        }
    }

    RowLayout {
        anchors.fill: parent
        anchors.leftMargin: Theme.spacing * 2
        anchors.rightMargin: Theme.spacing * 2
        spacing: Theme.spacing * 2

        ColumnLayout {
            spacing: 4
            Layout.fillWidth: true
            RowLayout {
                spacing: 10
                Text {
                    text: "QtPush"
                    font.pixelSize: 20
                    font.bold: true
                    color: Theme.headerText
                }
                Rectangle {
                    objectName: "statusPill"
                    property string state: {
                        if (header.embeddedError || header.monitor.error === PushMonitor.AccessError)
                            return "bad"
                        return header.monitor.status === PushMonitor.Connected ? "good" : "warn"
                    }
                    implicitWidth: statusText.implicitWidth + 26
                    implicitHeight: 22
                    radius: 11
                    color: Qt.rgba(Theme[state].r, Theme[state].g, Theme[state].b, 0.22)
                    Rectangle {
                        x: 9
                        anchors.verticalCenter: parent.verticalCenter
                        width: 7; height: 7; radius: 3.5
                        color: Theme[parent.state]
                    }
                    Text {
                        id: statusText
                        objectName: "statusText"
                        x: 20
                        anchors.verticalCenter: parent.verticalCenter
                        font.pixelSize: Theme.smallFont
                        font.bold: true
                        color: Theme.headerText
                        text: {
                            if (header.embeddedError)
                                return "Not serving"
                            switch (header.monitor.status) {
                            case PushMonitor.Connected: return "Live"
                            case PushMonitor.Connecting: return "Connecting"
                            case PushMonitor.Reconnecting: return "Reconnecting"
                            default: return header.monitor.error === PushMonitor.AccessError
                                            ? "Access refused" : "Stopped"
                            }
                        }
                    }
                }
            }
            Text {
                objectName: "serverLine"
                Layout.fillWidth: true
                elide: Text.ElideMiddle
                font.pixelSize: Theme.smallFont
                color: Theme.headerMuted
                text: (header.embedded ? "embedded server at " : "")
                      + (header.monitor.url.toString() || "no server")
                      + (header.stale && header.monitor.serverTime.getTime()
                         ? "  \u00b7  figures as of "
                           + Qt.formatTime(header.monitor.serverTime, "hh:mm:ss")
                         : "")
            }
        }

        Figure { objectName: "connections"; label: "connections"; value: Format.count(header.figures.connections) }
        Figure { objectName: "sessions"; label: "sessions"; value: Format.count(header.figures.sessions) }
        Figure { objectName: "clients"; label: "clients"; value: Format.count(header.figures.clients) }
        Figure { objectName: "pushRate"; label: "pushed / s"; value: Format.rate(header.figures.pushRate) }
        Figure { objectName: "deliveryRate"; label: "delivered / s"; value: Format.rate(header.figures.deliveryRate) }
        // residentBytes is the resident memory of the server's process. Embedded, that process
        // is this dashboard itself: its GUI, QML engine and render buffers, not a server's cost.
        Figure {
            objectName: "memory"
            label: header.embedded ? "memory (whole app)" : "server memory"
            value: Format.bytes(header.figures.residentBytes)
        }
        Figure { objectName: "uptime"; label: "uptime"; value: Format.duration(header.figures.uptime) }
    }
}
