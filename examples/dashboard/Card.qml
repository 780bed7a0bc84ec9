// SPDX-License-Identifier: MIT
// A titled white panel; children go below the title, `actions` to the title's right.
import QtQuick
import QtQuick.Layouts

Rectangle {
    id: card
    property alias title: titleLabel.text
    property alias subtitle: subtitleLabel.text
    default property alias content: body.data
    property alias actions: actionRow.data

    color: Theme.card
    radius: Theme.radius
    border.color: Theme.border

    ColumnLayout {
        anchors.fill: parent
        anchors.margins: Theme.spacing
        spacing: 8

        RowLayout {
            Layout.fillWidth: true
            spacing: 8
            Text {
                id: titleLabel
                font.pixelSize: Theme.titleFont
                font.bold: true
                color: Theme.text
            }
            Text {
                id: subtitleLabel
                Layout.fillWidth: true
                font.pixelSize: Theme.bodyFont
                color: Theme.muted
                elide: Text.ElideRight
            }
            RowLayout {
                id: actionRow
                spacing: 8
            }
        }
        Item {
            id: body
            Layout.fillWidth: true
            Layout.fillHeight: true
        }
    }
}
