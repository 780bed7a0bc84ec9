// SPDX-License-Identifier: MIT
// One person's window: a PushRemoteClient of the room, the messages it received (its own
// included: a push reaches every client of the session) and a field to send from.
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import QtPush

ApplicationWindow {
    id: window

    required property url serverUrl
    required property string room
    required property string clientId
    required property string userName

    readonly property bool connected: link.status === PushRemoteClient.Connected

    // Sends what the field holds as {from, text, time}; the field empties once it is sent.
    function send() {
        const text = field.text.trim()
        if (text === "" || !connected)
            return
        if (link.push({ from: userName, text: text, time: new Date().toISOString() }))
            field.clear()
    }

    //! What a bubble says: the text of a chat message; for an object without a text (or
    //! with a text that is not a string), the object as JSON.
    function bodyOf(chat) {
        if (typeof chat.text === "string" && chat.text !== "")
            return chat.text
        return JSON.stringify(chat)
    }

    function colorFor(name) {
        const colors = ["#1e88e5", "#43a047", "#e53935", "#8e24aa", "#fb8c00", "#00897b"]
        let hash = 7
        for (let i = 0; i < name.length; ++i)
            hash = (hash * 33 + name.charCodeAt(i)) % 1009
        return colors[hash % colors.length]
    }

    width: 380
    height: 520
    minimumWidth: 280
    minimumHeight: 300
    title: qsTr("%1 - QtPush chat").arg(userName)
    color: "#eef1f5"

    PushRemoteClient {
        id: link
        objectName: "link"
        url: window.serverUrl
        session: window.room
        client: window.clientId
        // Anyone may push to the room (curl, another program): show what is not a chat
        // message as text from "someone", and an object without a text as its JSON, never
        // as an empty bubble.
        onMessageReceived: (message) => {
            const isObject = message !== null && typeof message === "object"
                    && !Array.isArray(message)
            const chat = isObject ? message : { text: JSON.stringify(message) }
            const from = String(chat.from ?? qsTr("someone"))
            messages.append({ from: from, text: window.bodyOf(chat),
                              time: String(chat.time ?? ""), mine: from === window.userName })
        }
    }

    ListModel { id: messages; objectName: "messages" }

    header: ToolBar {
        // Each side: the style sets a horizontal and a vertical padding of its own.
        leftPadding: 10
        rightPadding: 10
        topPadding: 6
        bottomPadding: 6

        RowLayout {
            anchors.fill: parent
            spacing: 10

            Rectangle {
                implicitWidth: 34
                implicitHeight: 34
                radius: 17
                color: window.colorFor(window.userName)
                Label {
                    anchors.centerIn: parent
                    text: window.userName.charAt(0)
                    color: "white"
                    font.bold: true
                    font.pixelSize: 16
                }
            }
            ColumnLayout {
                spacing: 0
                Layout.fillWidth: true
                Label {
                    text: window.userName
                    font.bold: true
                    font.pixelSize: 15
                }
                Label {
                    objectName: "status"
                    text: {
                        switch (link.status) {
                        case PushRemoteClient.Connected:
                            return qsTr("#%1 on %2").arg(window.room)
                                                    .arg(window.serverUrl.toString())
                        case PushRemoteClient.Reconnecting:
                            return qsTr("Reconnecting...")
                        default:
                            return qsTr("Connecting...")
                        }
                    }
                    opacity: 0.7
                    elide: Text.ElideRight
                    Layout.fillWidth: true
                }
            }
            Rectangle {
                implicitWidth: 10
                implicitHeight: 10
                radius: 5
                color: window.connected ? "#43a047" : "#bdbdbd"
            }
        }
    }

    ListView {
        id: list
        objectName: "messageList"
        anchors.fill: parent
        topMargin: 10
        bottomMargin: 10
        spacing: 8
        clip: true
        model: messages
        ScrollBar.vertical: ScrollBar { }
        onCountChanged: Qt.callLater(list.positionViewAtEnd)

        delegate: Item {
            id: row

            required property string from
            required property string text
            required property string time
            required property bool mine

            width: ListView.view.width
            height: bubble.height

            Rectangle {
                id: bubble

                readonly property real textWidth: row.width * 0.75 - 24

                x: row.mine ? row.width - width - 12 : 12
                width: Math.max(sender.implicitWidth, stamp.implicitWidth,
                                Math.min(body.implicitWidth, textWidth)) + 24
                height: column.implicitHeight + 16
                radius: 12
                color: row.mine ? "#d6e8ff" : "white"
                border.color: "#dde2e8"

                Column {
                    id: column
                    x: 12
                    y: 8
                    spacing: 2
                    Label {
                        id: sender
                        text: row.mine ? qsTr("You") : row.from
                        color: window.colorFor(row.from)
                        font.bold: true
                    }
                    Label {
                        id: body
                        objectName: "messageText"
                        width: Math.min(implicitWidth, bubble.textWidth)
                        text: row.text
                        wrapMode: Text.Wrap
                    }
                    Label {
                        id: stamp
                        x: bubble.width - 24 - width // right-aligned in the bubble
                        text: row.time === "" ? "" : Qt.formatTime(new Date(row.time), "hh:mm")
                        font.pixelSize: 11
                        opacity: 0.55
                    }
                }
            }
        }
    }

    Label {
        anchors.centerIn: parent
        visible: list.count === 0
        text: qsTr("No messages yet. Say hello!")
        opacity: 0.55
    }

    footer: ToolBar {
        leftPadding: 8
        rightPadding: 8
        topPadding: 8
        bottomPadding: 8

        RowLayout {
            anchors.fill: parent
            spacing: 8

            TextField {
                id: field
                objectName: "messageField"
                Layout.fillWidth: true
                placeholderText: qsTr("Message #%1").arg(window.room)
                focus: true
                onAccepted: window.send()
            }
            Button {
                objectName: "sendButton"
                text: qsTr("Send")
                highlighted: true
                enabled: window.connected && field.text.trim() !== ""
                onClicked: window.send()
            }
        }
    }
}
