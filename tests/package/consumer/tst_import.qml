// SPDX-License-Identifier: MIT
// `import QtPush` from an installed package: every type is there and a push goes round.
import QtQuick
import QtTest
import QtPush

TestCase {
    name: "InstalledImport"

    PushSession { id: session; session: "installed" }
    PushClient { id: client; session: "installed"; client: "c" }
    SignalSpy { id: spy; target: client; signalName: "messageReceived" }
    PushServer { id: server; port: 0 }
    PushRemoteClient { id: remote; active: false }

    function test_typesWork() {
        compare(session.count, 1)
        session.push({ installed: true })
        tryCompare(spy, "count", 1)
        compare(spy.signalArguments[0][0].installed, true)
        compare(session.registry, PushRegistry)
        verify(server.running && server.port > 0)
        compare(remote.status, PushRemoteClient.Idle)
    }
}
