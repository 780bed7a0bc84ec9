// SPDX-License-Identifier: MIT
// Every session of the server: filter by id, sort by a column, pick one to see its clients.
import QtQuick
import QtQuick.Controls.Fusion
import QtQuick.Layouts
import QtPushDashboard

Card {
    id: pane
    required property SessionFilterModel model
    required property int total
    required property string selectedSession
    signal selected(string session)

    title: "Sessions"
    subtitle: (pane.model.count === pane.total
               ? Format.count(pane.total)
               : Format.count(pane.model.count) + " of " + Format.count(pane.total))
              + (pane.holding ? "  \u00b7  order held while the pointer is on the list" : "")

    //! Rows do not move under the pointer: while it is over the list, or the list is scrolled
    //! or a row pressed, the order holds (figures still update in place); it resorts after.
    readonly property bool holdOrder: listHover.hovered || list.moving || list.dragging
    //! Whether holding is visible to the user: only an order by a changing figure moves rows.
    readonly property bool holding: holdOrder && pane.model.sortKey !== SessionFilterModel.ById
    Binding {
        target: pane.model
        property: "holdOrder"
        value: pane.holdOrder
    }

    readonly property int clientsWidth: 70
    readonly property int pushedWidth: 90
    readonly property int rateWidth: 80

    function select(row) {
        if (row >= 0 && row < pane.model.count) {
            pane.selected(pane.model.sessionAt(row))
            list.positionViewAtIndex(row, ListView.Contain)
        }
    }

    ColumnLayout {
        anchors.fill: parent
        spacing: 8

        RowLayout {
            Layout.fillWidth: true
            spacing: 8
            TextField {
                id: filterField
                objectName: "sessionFilter"
                Layout.fillWidth: true
                placeholderText: "Filter by session id"
                selectByMouse: true
                onTextChanged: {
                    pane.model.filterText = text
                    list.positionViewAtBeginning()
                }
                Keys.onDownPressed: pane.select(0)
            }
            ComboBox {
                id: sortBox
                objectName: "sessionSort"
                Layout.preferredWidth: 150
                textRole: "text"
                valueRole: "key"
                model: [
                    { text: "Sort by id", key: SessionFilterModel.ById },
                    { text: "Most clients", key: SessionFilterModel.ByClients },
                    { text: "Most messages", key: SessionFilterModel.ByMessages },
                    { text: "Busiest now", key: SessionFilterModel.ByRate }
                ]
                onActivated: {
                    pane.model.sortKey = currentValue
                    list.positionViewAtBeginning()
                }
            }
        }

        // Column headers, aligned with the delegate's columns.
        RowLayout {
            Layout.fillWidth: true
            Layout.leftMargin: 8
            Layout.rightMargin: 8
            spacing: 8
            component HeaderText: Text {
                font.pixelSize: Theme.smallFont
                font.bold: true
                color: Theme.muted
                horizontalAlignment: Text.AlignRight
            }
            HeaderText { text: "SESSION"; Layout.fillWidth: true; horizontalAlignment: Text.AlignLeft }
            HeaderText { text: "CLIENTS"; Layout.preferredWidth: pane.clientsWidth }
            HeaderText { text: "MESSAGES"; Layout.preferredWidth: pane.pushedWidth }
            HeaderText { text: "PER SEC"; Layout.preferredWidth: pane.rateWidth }
        }

        ListView {
            id: list
            objectName: "sessionList"
            Layout.fillWidth: true
            Layout.fillHeight: true
            clip: true
            model: pane.model
            boundsBehavior: Flickable.StopAtBounds
            keyNavigationEnabled: false
            ScrollBar.vertical: ScrollBar { }
            HoverHandler { id: listHover }
            Keys.onUpPressed: pane.select(pane.model.indexOf(pane.selectedSession) - 1)
            Keys.onDownPressed: pane.select(pane.model.indexOf(pane.selectedSession) + 1)

            delegate: Rectangle {
                id: row
                required property string session
                required property int clients
                required property double pushed
                required property double rate
                readonly property bool current: session === pane.selectedSession

                objectName: "session:" + session
                width: ListView.view.width
                height: Theme.rowHeight
                radius: 4
                color: current ? Theme.selection : hover.hovered ? Theme.rowHover : "transparent"

                HoverHandler { id: hover }
                TapHandler {
                    onTapped: {
                        list.forceActiveFocus()
                        pane.selected(row.session)
                    }
                }

                RowLayout {
                    anchors.fill: parent
                    anchors.leftMargin: 8
                    anchors.rightMargin: 8
                    spacing: 8
                    Text {
                        Layout.fillWidth: true
                        text: row.session
                        elide: Text.ElideRight
                        font.pixelSize: Theme.bodyFont
                        font.bold: row.current
                        color: Theme.text
                    }
                    Text {
                        objectName: "clientsText"
                        Layout.preferredWidth: pane.clientsWidth
                        horizontalAlignment: Text.AlignRight
                        text: Format.count(row.clients)
                        font.pixelSize: Theme.bodyFont
                        color: row.clients > 0 ? Theme.text : Theme.muted
                    }
                    Text {
                        Layout.preferredWidth: pane.pushedWidth
                        horizontalAlignment: Text.AlignRight
                        text: Format.count(row.pushed)
                        font.pixelSize: Theme.bodyFont
                        color: Theme.text
                    }
                    Text {
                        Layout.preferredWidth: pane.rateWidth
                        horizontalAlignment: Text.AlignRight
                        text: Format.rate(row.rate)
                        font.pixelSize: Theme.bodyFont
                        font.bold: row.rate > 0
                        color: row.rate > 0 ? Theme.accent : Theme.muted
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
                text: pane.total === 0
                      ? "No sessions yet. A session appears when a client connects or a message is pushed to it."
                      : "No session id contains \"" + filterField.text + "\"."
            }
        }
    }
}
