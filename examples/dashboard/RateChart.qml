// SPDX-License-Identifier: MIT
// Messages per second over the last two minutes: pushed (all sessions) and delivered (frames
// written to network clients), one sample per tick of the admin stream.
import QtQuick
import QtQuick.Layouts
import QtPush

Card {
    id: chart
    required property PushMonitor monitor
    //! How many ticks the chart keeps: two minutes at the stream's one tick a second.
    property int capacity: 120
    //! Oldest first; each {pushed, delivered}.
    property var samples: []

    title: "Messages per second"
    subtitle: "last " + Math.round(chart.capacity / 60) + " minutes"

    Connections {
        target: chart.monitor
        function onTicked() {
            const server = chart.monitor.server
            const next = chart.samples.slice(Math.max(0, chart.samples.length - chart.capacity + 1))
            next.push({ pushed: Number(server.pushRate || 0), delivered: Number(server.deliveryRate || 0) })
            chart.samples = next
        }
    }

    // The top of the scale: the first of 4, 8, 20, 40, 80, 200, ... above the largest sample,
    // so that the four grid lines fall on round numbers (1, 2, 5, 10, 20, 50, ... apart).
    readonly property real scaleTop: {
        let top = 0
        for (const s of samples)
            top = Math.max(top, s.pushed, s.delivered)
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
                    text: {
                        const last = chart.samples.length ? chart.samples[chart.samples.length - 1] : null
                        return modelData.name + " " + Format.rate(last ? last[modelData.name] : 0)
                    }
                }
            }
        }
    ]

    Item {
        anchors.fill: parent

        // Scale labels on the left, the plot to their right.
        Repeater {
            model: 5
            delegate: Text {
                required property int index
                x: 0
                width: 44
                y: plot.y + plot.height * index / 4 - height / 2
                horizontalAlignment: Text.AlignRight
                font.pixelSize: Theme.smallFont - 1
                color: Theme.muted
                text: Format.rate(chart.scaleTop * (4 - index) / 4)
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

            readonly property int sampleCount: chart.samples.length
            onWidthChanged: requestPaint()
            onHeightChanged: requestPaint()
            Connections {
                target: chart
                function onSamplesChanged() { plot.requestPaint() }
            }

            function line(ctx, key, color) {
                const samples = chart.samples
                if (samples.length < 2)
                    return
                const dx = width / (chart.capacity - 1)
                const x0 = width - (samples.length - 1) * dx
                const yOf = (v) => height - height * v / chart.scaleTop
                ctx.beginPath()
                ctx.moveTo(x0, yOf(samples[0][key]))
                for (let i = 1; i < samples.length; ++i)
                    ctx.lineTo(x0 + i * dx, yOf(samples[i][key]))
                ctx.strokeStyle = color
                ctx.lineWidth = 2
                ctx.stroke()
                // A light fill under the line makes the two series easy to tell apart.
                ctx.lineTo(width, height)
                ctx.lineTo(x0, height)
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
                line(ctx, "delivered", Theme.deliveredLine)
                line(ctx, "pushed", Theme.pushedLine)
            }
        }

        // Time labels under the plot: the newest sample is at the right edge.
        Repeater {
            model: [
                { text: Math.round(chart.capacity / 60) + " min ago", at: 0 },
                { text: Math.round(chart.capacity / 120) + " min ago", at: 0.5 },
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
            visible: chart.samples.length < 2
            color: Theme.muted
            font.pixelSize: Theme.bodyFont
            text: "The chart fills in once a second while the dashboard is connected."
        }
    }
}
