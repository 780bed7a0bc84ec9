// SPDX-License-Identifier: MIT
// PushMonitor over a real embedded server: the sessions and clients models as views see them
// (roles by name), and a push from the monitor reaching a C++ client and a remote client.
import QtQuick
import QtQml
import QtTest
import QtPush

TestCase {
    id: root
    name: "Monitor"

    PushServer { id: server; port: 0 }
    PushMonitor {
        id: monitor
        url: server.url
    }
    SignalSpy { id: pushedSpy; target: monitor; signalName: "pushed" }

    // Delegates that read the roles by name, as a ListView's would.
    Instantiator {
        id: sessionRows
        model: monitor.sessions
        delegate: QtObject {
            required property string session
            required property int clients
        }
    }
    Instantiator {
        id: clientRows
        model: monitor.clients
        delegate: QtObject {
            required property string client
            required property string transport
        }
    }

    Component {
        id: remoteComponent
        PushRemoteClient { }
    }
    Component {
        id: spyComponent
        SignalSpy { signalName: "messageReceived" }
    }
    Component {
        id: sessionComponent
        PushSession { }
    }

    function rowOf(instantiator, role, value) {
        for (let i = 0; i < instantiator.count; ++i) {
            if (instantiator.objectAt(i)[role] === value)
                return instantiator.objectAt(i)
        }
        return null
    }

    function initTestCase() {
        tryCompare(monitor, "status", PushMonitor.Connected, 10000)
    }

    function test_aModelIsNotMadeInQml() {
        try {
            Qt.createQmlObject("import QtPush; PushSessionsModel { }", root, "inline")
        } catch (error) {
            verify(error.qmlErrors[0].message.indexOf("comes from PushMonitor.sessions") >= 0,
                   error.qmlErrors[0].message)
            return
        }
        fail("QML made a PushSessionsModel of its own")
    }

    function test_aRemoteClientShowsInBothModels() {
        const remote = createTemporaryObject(remoteComponent, root,
                                             { url: server.url, session: "qml-watch",
                                               client: "tablet" })
        tryCompare(remote, "status", PushRemoteClient.Connected, 10000)
        tryVerify(() => rowOf(sessionRows, "session", "qml-watch") !== null, 10000)
        tryCompare(rowOf(sessionRows, "session", "qml-watch"), "clients", 1, 10000)
        const row = monitor.sessions.indexOf("qml-watch")
        verify(row >= 0)
        compare(monitor.sessions.get(row).session, "qml-watch")

        monitor.watchedSession = "qml-watch"
        compare(monitor.clients.session, "qml-watch")
        tryCompare(monitor.clients, "count", 1, 10000)
        compare(clientRows.objectAt(0).client, "tablet")
        compare(clientRows.objectAt(0).transport, "ws")
        verify(monitor.clients.get(0).connectedSince instanceof Date)

        remote.active = false
        monitor.watchedSession = ""
        compare(monitor.clients.count, 0)
    }

    function test_aMonitorPushReachesCppAndRemoteClients() {
        cpp.listen("qml-monitor", "cpp")
        const remote = createTemporaryObject(remoteComponent, root,
                                             { url: server.url, session: "qml-monitor",
                                               client: "remote" })
        tryCompare(remote, "status", PushRemoteClient.Connected, 10000)
        const spy = createTemporaryObject(spyComponent, root, { target: remote })
        monitor.watchedSession = "qml-monitor"
        pushedSpy.clear()
        verify(monitor.push({ text: "from the monitor", n: 1 }))
        tryCompare(spy, "count", 1, 10000)
        compare(spy.signalArguments[0][0], { text: "from the monitor", n: 1 })
        tryCompare(cpp.received("qml-monitor", "cpp"), "length", 1, 10000)
        compare(JSON.parse(cpp.received("qml-monitor", "cpp")[0]), { text: "from the monitor", n: 1 })
        tryCompare(pushedSpy, "count", 1, 10000)
        compare(pushedSpy.signalArguments[0][0], "qml-monitor")
        compare(pushedSpy.signalArguments[0][2], 2) // the C++ client and the remote one

        verify(monitor.pushTo("qml-other", "plain"))
        tryCompare(pushedSpy, "count", 2, 10000)
        compare(pushedSpy.signalArguments[1][0], "qml-other")
        monitor.watchedSession = ""
    }

    function test_serverFiguresAreAJsObject() {
        tryVerify(() => monitor.server.sessions !== undefined, 10000)
        verify(monitor.server.connections >= 1)
        verify(monitor.server.uptime >= 0)
        verify(monitor.serverTime instanceof Date)
    }

    function test_aSessionMadeInQmlAppearsAndGoes() {
        const before = monitor.sessions.count
        const session = createTemporaryObject(sessionComponent, root, { session: "qml-made" })
        session.push("x")
        tryCompare(monitor.sessions, "count", before + 1, 10000)
        cpp.deleteSession("qml-made")
        tryCompare(monitor.sessions, "count", before, 10000)
        compare(monitor.sessions.indexOf("qml-made"), -1)
    }

    function test_inactiveCloses() {
        monitor.active = false
        compare(monitor.status, PushMonitor.Idle)
        monitor.active = true
        tryCompare(monitor, "status", PushMonitor.Connected, 10000)
    }
}
