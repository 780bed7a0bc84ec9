// SPDX-License-Identifier: MIT
// Over a real server on a free loopback port: an embedded PushServer, a PushRemoteClient, and
// pushes between QML, C++ and the network.
import QtQuick
import QtTest
import QtPush

TestCase {
    id: root
    name: "Network"

    PushServer { id: server; port: 0 }
    PushSession { id: room; session: "qml-net" }
    PushClient { id: local; session: "qml-net"; client: "local" }
    SignalSpy { id: localSpy; target: local; signalName: "messageReceived" }

    Component {
        id: remoteComponent
        PushRemoteClient { session: "qml-net" }
    }
    Component {
        id: spyComponent
        SignalSpy { signalName: "messageReceived" }
    }

    function connectedRemote(client) {
        const remote = createTemporaryObject(remoteComponent, root,
                                             { url: server.url, client: client })
        verify(remote)
        tryCompare(remote, "status", PushRemoteClient.Connected, 10000)
        return remote
    }

    function test_serverListensOnAFreePort() {
        compare(server.running, true)
        verify(server.port > 0, "the real port, not 0")
        compare(String(server.url), "http://127.0.0.1:" + server.port)
        compare(server.errorString, "")
    }

    function test_aQmlPushReachesARemoteClientAsAJsObject() {
        const remote = connectedRemote("remote-a")
        const spy = createTemporaryObject(spyComponent, root, { target: remote })
        room.push({ hello: "network", n: [1, 2] })
        tryCompare(spy, "count", 1, 10000)
        const message = spy.signalArguments[0][0]
        compare(message.hello, "network")
        compare(message.n, [1, 2])
    }

    function test_aRemotePushReachesQmlAndCpp() {
        cpp.listen("qml-net", "cpp")
        localSpy.clear()
        const remote = connectedRemote("remote-b")
        verify(remote.push({ from: "remote", ok: true }))
        tryCompare(localSpy, "count", 1, 10000)
        compare(localSpy.signalArguments[0][0].from, "remote")
        tryCompare(cpp.received("qml-net", "cpp"), "length", 1, 10000)
        compare(JSON.parse(cpp.received("qml-net", "cpp")[0]), { from: "remote", ok: true })
    }

    function test_stoppingTheServerDropsTheRemoteClientAndStartingResumes() {
        const remote = connectedRemote("remote-c")
        const spy = createTemporaryObject(spyComponent, root, { target: remote })
        const port = server.port
        server.running = false
        compare(server.running, false)
        compare(String(server.url), "")
        tryCompare(remote, "status", PushRemoteClient.Reconnecting, 10000)
        room.push("while away") // kept in the client's buffer of the registry
        server.port = port // the same port again, so that the remote client finds it
        server.running = true
        compare(server.running, true)
        tryCompare(spy, "count", 1, 15000)
        compare(spy.signalArguments[0][0], "while away")
    }

    function test_aBusyPortIsReported() {
        ignoreWarning(/PushServer: .*cannot listen/)
        const other = createTemporaryQmlObject(
            'import QtPush; PushServer { port: ' + server.port + ' }', root)
        compare(other.running, false)
        verify(other.errorString.length > 0)
    }
}
