// SPDX-License-Identifier: MIT
// Push a test message to the selected session, as an operator would with curl.
import QtQuick
import QtQuick.Controls.Fusion
import QtQuick.Layouts
import QtPush

Rectangle {
    id: bar
    required property PushMonitor monitor
    //! The answer to the last push, about bar.resultSession only. It is cleared when another
    //! session is picked and whenever the connection drops or is made again: message ids are
    //! per session and start again at 1 when the server restarts, so an old "#12" would mislead.
    property string result
    property string resultSession

    implicitHeight: 56
    color: Theme.card
    radius: Theme.radius
    border.color: Theme.border

    //! JSON when the text parses as JSON ({"a":1}, 42, "quoted"), otherwise the text itself.
    function message(text) {
        try {
            return JSON.parse(text)
        } catch (e) {
            return text
        }
    }

    function send() {
        if (field.text === "" || !bar.enabled)
            return
        bar.resultSession = bar.monitor.watchedSession
        if (bar.monitor.push(bar.message(field.text)))
            bar.result = "Sending..."
        else
            bar.result = "Not sent: the dashboard is not connected."
    }

    function clearResult() {
        bar.result = ""
        bar.resultSession = ""
    }

    Connections {
        target: bar.monitor
        function onPushed(session, id, clients) {
            if (session !== bar.monitor.watchedSession)
                return // the answer to a push made before another session was picked
            bar.resultSession = session
            bar.result = "#" + id + " queued for " + clients + (clients === 1 ? " client" : " clients")
            field.clear()
        }
        function onWatchedSessionChanged() { bar.clearResult() }
        function onConnected() { bar.clearResult() }
        function onDisconnected() { bar.clearResult() }
    }

    RowLayout {
        anchors.fill: parent
        anchors.margins: 10
        spacing: 10
        Text {
            text: "Push to " + (bar.monitor.watchedSession || "...")
            font.pixelSize: Theme.bodyFont
            font.bold: true
            color: Theme.text
            Layout.maximumWidth: 220
            elide: Text.ElideRight
        }
        TextField {
            id: field
            objectName: "pushField"
            Layout.fillWidth: true
            selectByMouse: true
            placeholderText: {
                if (bar.monitor.status !== PushMonitor.Connected)
                    return "Waiting for the server"
                return bar.monitor.watchedSession ? "{\"title\": \"Deploy done\"} or plain text"
                                                  : "Select a session first"
            }
            onAccepted: bar.send()
        }
        Button {
            objectName: "pushButton"
            text: "Push"
            enabled: field.text !== ""
            onClicked: bar.send()
        }
        Text {
            objectName: "pushResult"
            Layout.preferredWidth: 280
            text: bar.result
            elide: Text.ElideRight
            font.pixelSize: Theme.bodyFont
            color: Theme.muted
        }
    }
}
