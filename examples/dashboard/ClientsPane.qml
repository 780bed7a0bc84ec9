// SPDX-License-Identifier: MIT
// The clients of the watched session: how each is connected and how far it has read.
import QtQuick
import QtQuick.Controls.Fusion
import QtQuick.Layouts
import QtPush

Card {
    id: pane
    required property PushMonitor monitor

    readonly property string session: monitor.watchedSession
    readonly property var now: monitor.serverTime

    title: pane.session ? "Clients of " + pane.session : "Clients"
    subtitle: pane.session ? Format.count(pane.monitor.clients.count) : ""

    readonly property int transportWidth: 70
    readonly property int pendingWidth: 70
    readonly property int deliveredWidth: 90
    readonly property int sinceWidth: 150

    ColumnLayout {
        anchors.fill: parent
        spacing: 8

        RowLayout {
            Layout.fillWidth: true
            Layout.leftMargin: 8
            Layout.rightMargin: 8
            spacing: 8
            visible: pane.session !== ""
            component HeaderText: Text {
                font.pixelSize: Theme.smallFont
                font.bold: true
                color: Theme.muted
                horizontalAlignment: Text.AlignRight
            }
            HeaderText { text: "CLIENT"; Layout.fillWidth: true; horizontalAlignment: Text.AlignLeft }
            HeaderText { text: "TRANSPORT"; Layout.preferredWidth: pane.transportWidth; horizontalAlignment: Text.AlignHCenter }
            HeaderText { text: "PENDING"; Layout.preferredWidth: pane.pendingWidth }
            HeaderText { text: "DELIVERED"; Layout.preferredWidth: pane.deliveredWidth }
            HeaderText { text: "CONNECTED"; Layout.preferredWidth: pane.sinceWidth }
        }

        ListView {
            id: list
            objectName: "clientList"
            Layout.fillWidth: true
            Layout.fillHeight: true
            clip: true
            model: pane.session ? pane.monitor.clients : null
            boundsBehavior: Flickable.StopAtBounds
            ScrollBar.vertical: ScrollBar { }

            delegate: Rectangle {
                id: row
                required property string client
                required property string transport
                required property double pending
                required property double delivered
                required property date connectedSince
                required property date disconnectedSince
                // The server does not see an in-process client's deliveries (protocol.md).
                readonly property bool local: transport === "local"

                objectName: "client:" + client
                width: ListView.view.width
                height: Theme.rowHeight
                radius: 4
                color: hover.hovered ? Theme.rowHover : "transparent"
                HoverHandler { id: hover }

                RowLayout {
                    anchors.fill: parent
                    anchors.leftMargin: 8
                    anchors.rightMargin: 8
                    spacing: 8
                    Text {
                        Layout.fillWidth: true
                        text: row.client
                        elide: Text.ElideRight
                        font.pixelSize: Theme.bodyFont
                        color: row.transport === "none" ? Theme.muted : Theme.text
                    }
                    Item {
                        Layout.preferredWidth: pane.transportWidth
                        Layout.fillHeight: true
                        Rectangle {
                            anchors.centerIn: parent
                            width: chip.implicitWidth + 14
                            height: 18
                            radius: 9
                            color: Theme.transportColor(row.transport)
                            Text {
                                id: chip
                                objectName: "transportText"
                                anchors.centerIn: parent
                                text: row.transport
                                font.pixelSize: Theme.smallFont
                                font.bold: true
                                color: "white"
                            }
                        }
                    }
                    Text {
                        Layout.preferredWidth: pane.pendingWidth
                        horizontalAlignment: Text.AlignRight
                        text: Format.count(row.pending)
                        font.pixelSize: Theme.bodyFont
                        font.bold: row.pending > 0
                        color: row.pending > 0 ? Theme.warn : Theme.muted
                    }
                    Text {
                        Layout.preferredWidth: pane.deliveredWidth
                        horizontalAlignment: Text.AlignRight
                        text: row.local ? "in-process" : Format.count(row.delivered)
                        font.pixelSize: Theme.bodyFont
                        color: row.local ? Theme.muted : Theme.text
                    }
                    Text {
                        Layout.preferredWidth: pane.sinceWidth
                        horizontalAlignment: Text.AlignRight
                        font.pixelSize: Theme.bodyFont
                        color: Theme.muted
                        text: {
                            if (row.transport === "none")
                                return "away " + Format.ago(row.disconnectedSince, pane.now)
                            return Format.ago(row.connectedSince, pane.now)
                        }
                    }
                }
            }

            Text {
                anchors.centerIn: parent
                visible: list.count === 0
                width: parent.width - 40
                horizontalAlignment: Text.AlignHCenter
                wrapMode: Text.WordWrap
                color: Theme.muted
                font.pixelSize: Theme.bodyFont
                text: pane.session
                      ? "Session " + pane.session + " has no clients."
                      : "Select a session to see its clients."
            }
        }
    }
}
