// SPDX-License-Identifier: MIT
// The chat: an embedded server unless serverUrl names a running one, and windowCount windows,
// each a network client of the session `room` with a client id and a name of its own.
import QtQuick
import QtPush

QtObject {
    id: chat

    // A running qtpush-server, http://host:port; empty: the embedded server below.
    property url serverUrl
    property int windowCount: 3
    property string room: "room"

    // Part of every client id, so that two chats on one server never share a client.
    readonly property string instance: Math.random().toString(36).slice(2, 8)
    readonly property var names: ["Ada", "Grace", "Alan", "Barbara", "Dennis", "Frances",
                                  "Ken", "Margaret"]
    readonly property url url: String(serverUrl) !== "" ? serverUrl : server.url

    // Serves this process's PushRegistry::global() on a free loopback port; stopped when
    // serverUrl names another server.
    readonly property PushServer server: PushServer {
        objectName: "server"
        running: String(chat.serverUrl) === ""
    }

    readonly property Instantiator windows: Instantiator {
        model: chat.windowCount
        delegate: ChatWindow {
            required property int index

            objectName: "chatWindow" + (index + 1)
            serverUrl: chat.url
            room: chat.room
            clientId: chat.instance + "-" + (index + 1)
            userName: index < chat.names.length ? chat.names[index]
                                                : qsTr("Guest %1").arg(index + 1)
            x: 40 + (index % 4) * (width + 16)
            y: 60 + Math.floor(index / 4) * 40
            visible: true
        }
    }
}
