// SPDX-License-Identifier: MIT
// Messages per second over the last two minutes: pushed (all sessions) and delivered (frames
// written to network clients). Each sample carries the time it arrived and the x axis is time,
// so an outage shows as a shaded gap of its real length and the labels below stay true.
import QtQuick
import QtQuick.Layouts
import QtPush

Card {
    id: chart
    required property PushMonitor monitor
    //! How much time the chart shows, in milliseconds.
    property real span: 120000
    //! A pause between samples longer than this is a gap, even without a disconnect (the
    //! stream ticks once a second; a loaded machine may be late by a tick or so).
    property real gapAfter: 2500
    //! Oldest first; each {t (ms since the epoch), pushed, delivered}, or {t, gap: true} where
    //! the connection was lost.
    property var samples: []
    //! The right edge of the chart: the current time, moved on every sample and every second.
    property real now: Date.now()

    readonly property bool live: monitor.status === PushMonitor.Connected
    //! The samples split into the runs that have no gap inside: one line each.
    readonly property var runs: {
        const result = []
        let run = []
        for (const s of samples) {
            const broken = s.gap || (run.length > 0 && s.t - run[run.length - 1].t > gapAfter)
            if (broken && run.length > 0) {
                result.push(run)
                run = []
            }
            if (!s.gap)
                run.push(s)
        }
        if (run.length > 0)
            result.push(run)
        return result
    }
    readonly property var lastSample: {
        for (let i = samples.length - 1; i >= 0; --i) {
            if (!samples[i].gap)
                return samples[i]
        }
        return null
    }

    title: "Messages per second"
    subtitle: "last " + Math.round(chart.span / 60000) + " minutes"
              + (chart.live || !chart.lastSample ? "" : ", offline")

    function append(sample) {
        const oldest = sample.t - chart.span - chart.gapAfter
        const next = chart.samples.filter((s) => s.t >= oldest)
        next.push(sample)
        chart.now = sample.t
        chart.samples = next
    }

    Connections {
        target: chart.monitor
        function onTicked() {
            const server = chart.monitor.server
            chart.append({ t: Date.now(), pushed: Number(server.pushRate || 0),
                           delivered: Number(server.deliveryRate || 0) })
        }
        function onDisconnected() {
            if (chart.lastSample)
                chart.append({ t: Date.now(), gap: true })
        }
    }

    // The time axis moves on while no sample comes, so a gap grows as long as the outage does.
    Timer {
        interval: 1000
        repeat: true
        running: chart.visible && !chart.live
        onTriggered: chart.now = Date.now()
    }

    // The top of the scale: the first of 4, 8, 20, 40, 80, 200, ... above the largest sample,
    // so that the four grid lines fall on round numbers (1, 2, 5, 10, 20, 50, ... apart).
    readonly property real scaleTop: {
        let top = 0
        for (const s of samples) {
            if (!s.gap)
                top = Math.max(top, s.pushed, s.delivered)
        }
        for (let power = 1; power < 1e12; power *= 10) {
            for (const step of [4, 8, 20]) {
                if (step * power >= top)
                    return step * power
            }
        }
        return 4 // not a finite number: nothing sensible to scale to
    }

    actions: [
        Repeater {
            model: [
                { name: "pushed", color: Theme.pushedLine },
                { name: "delivered", color: Theme.deliveredLine }
            ]
            delegate: RowLayout {
                required property var modelData
                spacing: 4
                Rectangle { width: 10; height: 10; radius: 2; color: modelData.color }
                Text {
                    objectName: "legend:" + modelData.name
                    font.pixelSize: Theme.smallFont
                    color: Theme.muted
                    // The latest figure seen, marked as such while not live (never a made-up 0).
                    text: modelData.name + " "
                          + Format.rate(chart.lastSample ? chart.lastSample[modelData.name] : undefined)
                          + (chart.live || !chart.lastSample ? "" : " (last seen)")
                }
            }
        }
    ]

    Item {
        anchors.fill: parent

        // Scale labels on the left, one format for the whole axis, the plot to their right.
        Repeater {
            model: 5
            delegate: Text {
                required property int index
                objectName: "axisLabel:" + index
                x: 0
                width: 44
                y: plot.y + plot.height * index / 4 - height / 2
                horizontalAlignment: Text.AlignRight
                font.pixelSize: Theme.smallFont - 1
                color: Theme.muted
                text: Format.axis(chart.scaleTop * (4 - index) / 4, chart.scaleTop)
            }
        }

        Canvas {
            id: plot
            objectName: "rateCanvas"
            x: 52
            y: 6
            width: parent.width - x
            height: parent.height - 24
            renderStrategy: Canvas.Cooperative

            readonly property int sampleCount: chart.samples.filter((s) => !s.gap).length
            readonly property int segmentCount: chart.runs.length
            //! When the newest line starts (ms since the epoch); 0 without samples.
            readonly property real lastRunStart: chart.runs.length ? chart.runs[chart.runs.length - 1][0].t : 0
            onWidthChanged: requestPaint()
            onHeightChanged: requestPaint()
            Connections {
                target: chart
                function onSamplesChanged() { plot.requestPaint() }
                function onNowChanged() { plot.requestPaint() }
            }

            function xOf(t) {
                return width - (chart.now - t) * width / chart.span
            }

            function line(ctx, run, key, color) {
                const yOf = (v) => height - height * v / chart.scaleTop
                ctx.beginPath()
                ctx.moveTo(xOf(run[0].t), yOf(run[0][key]))
                for (let i = 1; i < run.length; ++i)
                    ctx.lineTo(xOf(run[i].t), yOf(run[i][key]))
                if (run.length === 1) // a lone sample between gaps: a short tick, not nothing
                    ctx.lineTo(xOf(run[0].t) + 2, yOf(run[0][key]))
                ctx.strokeStyle = color
                ctx.lineWidth = 2
                ctx.stroke()
                // A light fill under the line makes the two series easy to tell apart.
                ctx.lineTo(xOf(run[run.length - 1].t), height)
                ctx.lineTo(xOf(run[0].t), height)
                ctx.closePath()
                ctx.fillStyle = Qt.rgba(color.r, color.g, color.b, 0.10)
                ctx.fill()
            }

            onPaint: {
                const ctx = getContext("2d")
                ctx.reset()
                ctx.strokeStyle = Theme.border
                ctx.lineWidth = 1
                for (let i = 0; i <= 4; ++i) {
                    const y = Math.round(height * i / 4) + 0.5
                    ctx.beginPath()
                    ctx.moveTo(0, y)
                    ctx.lineTo(width, y)
                    ctx.stroke()
                }
                // Gaps: between two runs, and from the last sample to now while not live.
                const runs = chart.runs
                ctx.fillStyle = Qt.rgba(0.5, 0.55, 0.62, 0.14)
                for (let i = 0; i < runs.length; ++i) {
                    const from = runs[i][runs[i].length - 1].t
                    const to = i + 1 < runs.length ? runs[i + 1][0].t : (chart.live ? from : chart.now)
                    if (to > from)
                        ctx.fillRect(xOf(from), 0, xOf(to) - xOf(from), height)
                }
                for (const run of runs) {
                    line(ctx, run, "delivered", Theme.deliveredLine)
                    line(ctx, run, "pushed", Theme.pushedLine)
                }
            }
        }

        // Time labels under the plot; the right edge is now, so these hold at any time.
        Repeater {
            model: [
                { text: Math.round(chart.span / 60000) + " min ago", at: 0 },
                { text: Math.round(chart.span / 120000) + " min ago", at: 0.5 },
                { text: "now", at: 1 }
            ]
            delegate: Text {
                required property var modelData
                x: plot.x + plot.width * modelData.at - width * modelData.at
                y: plot.y + plot.height + 4
                font.pixelSize: Theme.smallFont - 1
                color: Theme.muted
                text: modelData.text
            }
        }

        Text {
            anchors.centerIn: plot
            visible: plot.sampleCount < 2
            color: Theme.muted
            font.pixelSize: Theme.bodyFont
            text: "The chart fills in once a second while the dashboard is connected."
        }
    }
}
