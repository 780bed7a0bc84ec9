// SPDX-License-Identifier: MIT
// qtpush-dashboard: a live view of a qtpush-server through its admin event stream
// (docs/protocol.md "The admin event stream"). With no serverUrl it serves the process's own
// registry with an embedded PushServer and watches that.
import QtQuick
import QtQuick.Controls.Fusion
import QtQuick.Layouts
import QtPush
import QtPushDashboard

ApplicationWindow {
    id: window

    //! The server to watch; empty starts an embedded server on embeddedPort and watches it.
    property string serverUrl
    //! A token with admin scope, for a server that has a secret.
    property string token
    property int embeddedPort: 8080
    //! The session whose clients are shown and to which the push bar pushes.
    property string selectedSession

    readonly property bool embedded: serverUrl === ""
    readonly property bool live: monitor.status === PushMonitor.Connected

    width: 1280
    height: 800
    minimumWidth: 900
    minimumHeight: 560
    visible: true
    title: "QtPush dashboard: " + (monitor.url.toString() || "starting")
    color: Theme.window

    PushServer {
        id: embeddedServer
        running: window.embedded
        port: window.embeddedPort
    }

    PushMonitor {
        id: monitor
        url: window.embedded ? embeddedServer.url : window.serverUrl
        token: window.token
        watchedSession: window.selectedSession
    }

    SessionFilterModel {
        id: sessions
        sourceModel: monitor.sessions
    }

    ColumnLayout {
        anchors.fill: parent
        spacing: 0

        ServerHeader {
            Layout.fillWidth: true
            monitor: monitor
            embedded: window.embedded
            embeddedError: embeddedServer.errorString
        }

        // Said once, in words, whenever what is shown is not live.
        Rectangle {
            objectName: "offlineBanner"
            Layout.fillWidth: true
            Layout.preferredHeight: 34
            visible: !window.live
            color: monitor.error === PushMonitor.AccessError || embeddedServer.errorString
                   ? "#fbe3e3" : "#fff4d6"
            Text {
                anchors.fill: parent
                anchors.leftMargin: Theme.spacing * 2
                verticalAlignment: Text.AlignVCenter
                font.pixelSize: Theme.bodyFont
                color: Theme.text
                elide: Text.ElideRight
                text: {
                    if (embeddedServer.errorString)
                        return "The embedded server could not start: " + embeddedServer.errorString
                    if (monitor.error === PushMonitor.AccessError)
                        return "Access refused (" + monitor.errorString + "). The dashboard needs "
                               + "a token with admin scope: set QTPUSH_TOKEN or pass --token."
                    if (monitor.sessions.count > 0)
                        return "Lost the server; reconnecting. The figures below are the last ones seen."
                    return "Connecting to " + monitor.url + " ..."
                }
            }
        }

        RowLayout {
            Layout.fillWidth: true
            Layout.fillHeight: true
            Layout.margins: Theme.spacing
            spacing: Theme.spacing
            opacity: window.live ? 1 : 0.55

            SessionsPane {
                Layout.preferredWidth: Math.max(380, window.width * 0.38)
                Layout.fillHeight: true
                model: sessions
                total: monitor.sessions.count
                selectedSession: window.selectedSession
                onSelected: (session) => window.selectedSession = session
            }

            ColumnLayout {
                Layout.fillWidth: true
                Layout.fillHeight: true
                spacing: Theme.spacing

                RateChart {
                    Layout.fillWidth: true
                    Layout.preferredHeight: 220
                    monitor: monitor
                }
                ClientsPane {
                    Layout.fillWidth: true
                    Layout.fillHeight: true
                    monitor: monitor
                }
                PushBar {
                    Layout.fillWidth: true
                    monitor: monitor
                    enabled: window.live && window.selectedSession !== ""
                }
            }
        }
    }
}
