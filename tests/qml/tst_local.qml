// SPDX-License-Identifier: MIT
// In-process: PushSession, PushClient and the PushRegistry singleton, and values crossing
// between QML and C++.
import QtQuick
import QtTest
import QtPush

TestCase {
    id: root
    name: "Local"

    PushSession { id: room; session: "qml-room" }
    PushClient { id: panel; session: "qml-room"; client: "panel" }
    SignalSpy { id: panelSpy; target: panel; signalName: "messageReceived" }

    Component {
        id: clientComponent
        PushClient { }
    }

    function test_registrySingletonIsTheProcessRegistry() {
        verify(PushRegistry.count >= 1, "the session made above is counted")
        compare(room.registry, PushRegistry)
    }

    function test_aJsObjectReachesACppClientAsJson() {
        cpp.listen("qml-room", "cpp")
        const id = room.push({ text: "hé", n: 2, list: [1, "x", { deep: true }], none: null })
        verify(id > 0)
        tryCompare(cpp.received("qml-room", "cpp"), "length", 1)
        compare(JSON.parse(cpp.received("qml-room", "cpp")[0]),
                { text: "hé", n: 2, list: [1, "x", { deep: true }], none: null })
    }

    function test_aCppMapArrivesAsAJsObject() {
        panelSpy.clear()
        const id = cpp.pushSample("qml-room")
        verify(id > 0)
        tryCompare(panelSpy, "count", 1)
        const message = panelSpy.signalArguments[0][0]
        compare(typeof message, "object")
        compare(message.text, "grüß dich")
        compare(message.count, 3)
        compare(message.ratio, 0.5)
        compare(message.ok, true)
        compare(message.nothing, null)
        compare(message.list.length, 3)
        compare(message.list[1], "two")
        compare(message.list[2].three, 3)
    }

    function test_countFollowsTheSessionsClients() {
        const before = room.count
        const other = createTemporaryObject(clientComponent, root,
                                            { session: "qml-room", client: "temporary" })
        verify(other)
        tryCompare(room, "count", before + 1)
        verify(cpp.clientExists("qml-room", "temporary"))
        other.destroy()
        tryCompare(room, "count", before)
        verify(!cpp.clientExists("qml-room", "temporary"), "the client it made went with it")
    }

    function test_maxBufferIsTheSessions() {
        room.maxBuffer = 42
        compare(cpp.maxBufferOf("qml-room"), 42)
        compare(room.maxBuffer, 42)
    }

    Component {
        id: spyComponent
        SignalSpy { signalName: "messageReceived" }
    }

    function test_pullTakesWaitingMessagesInOrder() {
        const puller = createTemporaryObject(clientComponent, root,
            { session: "qml-pull", client: "puller", streaming: false })
        const pusher = createTemporaryQmlObject('import QtPush; PushSession { session: "qml-pull" }',
                                                root)
        const spy = createTemporaryObject(spyComponent, root, { target: puller })
        pusher.push("one")
        pusher.push({ two: 2 })
        compare(puller.pull(), "one")
        compare(puller.pull().two, 2)
        compare(puller.pull(), undefined)
        compare(puller.pending, 0)
        pusher.push("three")
        compare(spy.count, 0, "nothing streams while streaming is false")
        puller.streaming = true // what waited streams out, then every push
        pusher.push("four")
        tryCompare(spy, "count", 2)
        compare(spy.signalArguments[0][0], "three")
        compare(spy.signalArguments[1][0], "four")
    }

    Component {
        id: pendingLabelComponent
        Text { property var client; text: client ? client.pending : "" }
    }

    function test_pendingFollowsArrivalsAndPullsMadeFromCpp() {
        const puller = createTemporaryObject(clientComponent, root,
            { session: "qml-pending", client: "puller", streaming: false })
        const label = createTemporaryObject(pendingLabelComponent, root, { client: puller })
        compare(label.text, "0")
        cpp.pushSample("qml-pending") // from C++: nothing in QML touched the client
        cpp.pushSample("qml-pending")
        tryCompare(label, "text", "2")
        verify(cpp.pullFromCpp("qml-pending", "puller"))
        tryCompare(label, "text", "1")
        cpp.pushSample("qml-pending")
        tryCompare(label, "text", "2")
        cpp.closeFromCpp("qml-pending", "puller") // drops what waited
        tryCompare(label, "text", "0")
    }

    function test_closeStopsDelivery() {
        const client = createTemporaryObject(clientComponent, root,
                                             { session: "qml-close", client: "c" })
        compare(client.closed, false)
        client.close()
        compare(client.closed, true)
    }

    function test_pushWithoutASessionWarnsAndReturnsZero() {
        const lonely = createTemporaryQmlObject('import QtPush; PushSession { }', root)
        ignoreWarning(/PushSession.push: no session is named/)
        compare(lonely.push("x"), 0)
    }
}
