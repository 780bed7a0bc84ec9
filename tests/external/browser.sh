#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A real browser against qtpush-server: headless Chromium loads a page from another origin (a
# small Node http server on loopback) that subscribes with new WebSocket(...) and
# new EventSource(...), tokens in ?token= as protocol.md says for browsers, then pushes with a
# {"op":"push"} frame and with a cross-origin fetch(); then its EventSource is closed by the
# server (DELETE of its client) and must resume with Last-Event-ID. The page writes its verdict into the DOM,
# which chromium --dump-dom prints; the page server holds an <img> until the verdict is in, so
# the load event (and the dump) come after it.
#
#   tests/external/browser.sh path/to/qtpush-server      (or QTPUSH_SERVER=...)
#
# Exit 0 pass, 1 fail, 77 skipped (no Chromium installed).
set -euo pipefail

SERVER=${1:-${QTPUSH_SERVER:-}}
if [ -z "$SERVER" ] || [ ! -x "$SERVER" ]; then
    echo "usage: $0 path/to/qtpush-server" >&2
    exit 2
fi
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$CHROMIUM" ]; then
    echo "browser.sh: SKIP: chromium is not installed (scripts/setup installs it)"
    exit 77
fi
NODE=${NODE:-$(command -v node || command -v nodejs || true)}
if [ -z "$NODE" ]; then
    echo "browser.sh: node is needed for the page server (scripts/setup installs it)" >&2
    exit 1
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/qtpush-browser.XXXXXX")
PIDS=()
cleanup()
{
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

# wait_line FILE PREFIX PID: the first line of FILE, once it starts with PREFIX (30 s at most).
wait_line()
{
    local line=""
    for _ in $(seq 300); do
        line=$(head -n 1 "$1" 2>/dev/null || true)
        if [[ $line == "$2"* ]]; then
            printf '%s' "${line#"$2"}"
            return 0
        fi
        kill -0 "$3" 2>/dev/null || break
        sleep 0.1
    done
    return 1
}

SECRET=browser-test-secret
"$SERVER" --host 127.0.0.1 --port 0 --secret "$SECRET" >"$WORK/server.out" 2>"$WORK/server.err" &
server_pid=$!
PIDS+=("$server_pid")
if ! QTPUSH_URL=$(wait_line "$WORK/server.out" "listening on " "$server_pid"); then
    echo "browser.sh: qtpush-server did not start:" >&2
    cat "$WORK/server.err" >&2
    exit 1
fi
SESSION='browser é'
export QTPUSH_URL SESSION
PAGE_TOKEN=$("$SERVER" --secret "$SECRET" --issue-token "$SESSION" --scope "subscribe push")
ADMIN_TOKEN=$("$SERVER" --secret "$SECRET" --issue-token "$SESSION" --scope "subscribe push admin")
export PAGE_TOKEN ADMIN_TOKEN

cat >"$WORK/page-server.js" <<'EOF'
'use strict';
// Serves the test page on a free loopback port, pushes once both of the page's subscriptions are
// listed by qtpush-server, and holds /hold until the page posts its verdict (bounded).
const http = require('http');
const fs = require('fs');
const { QTPUSH_URL, SESSION, PAGE_TOKEN, ADMIN_TOKEN, RESULT_FILE } = process.env;
const session = encodeURIComponent(SESSION);
const config = {
    session: SESSION,
    ws: `${QTPUSH_URL.replace(/^http/, 'ws')}/v1/sessions/${session}/clients/w/ws?token=${PAGE_TOKEN}`,
    es: `${QTPUSH_URL}/v1/sessions/${session}/clients/e/events?token=${PAGE_TOKEN}`,
    push: `${QTPUSH_URL}/v1/sessions/${session}/push`,
    token: PAGE_TOKEN,
};
const page = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>qtpush browser test</title></head>
<body><pre id="result">PENDING</pre>
<script>
'use strict';
const cfg = ${JSON.stringify(config)};
const got = { ws: [], es: [] };
const log = [];
let finished = false;
const note = (s) => { log.push(s); fetch('/log', { method: 'POST', body: s }).catch(() => {}); };
function finish(ok, why) {
    if (finished) return;
    finished = true;
    const verdict = (ok ? 'PASS ' : 'FAIL ') + JSON.stringify({ why, got, log });
    document.getElementById('result').textContent = verdict;
    fetch('/result', { method: 'POST', body: verdict }).catch(() => {});
}
const wanted = ['from the harness', 'from a push frame', 'from fetch', 'while away'];
const datas = (list) => list.map((m) => m.data);
function check() {
    const w = datas(got.ws), e = datas(got.es.map((x) => x.message));
    if (w.length >= 3 && e.length >= 3 && !check.away) {
        // The harness deletes the EventSource's client, which closes its stream, and pushes
        // while it is away: EventSource reconnects (cross-origin) with Last-Event-ID and resumes.
        check.away = true;
        fetch('/away', { method: 'POST' }).catch(() => {});
    }
    if (w.length < 4 || e.length < 4) {
        if (w.length === 1 && !check.framed) {
            check.framed = true;
            ws.send(JSON.stringify({ op: 'push', data: 'from a push frame' }));
        }
        if (w.length === 2 && e.length >= 2 && !check.fetched) {
            check.fetched = true;
            // Cross-origin with an Authorization header: a CORS preflight, then the push.
            fetch(cfg.push, { method: 'POST', headers: { 'Content-Type': 'application/json',
                                                         Authorization: 'Bearer ' + cfg.token },
                              body: JSON.stringify('from fetch') })
                .then((r) => r.json().then((j) => note('fetch push: ' + r.status + ' ' + JSON.stringify(j))))
                .catch((err) => finish(false, 'cross-origin fetch push failed: ' + err));
        }
        return;
    }
    // Everything arrived; anything more within 300 ms would be a duplicate.
    if (check.settling) return;
    check.settling = true;
    setTimeout(() => {
        const w2 = datas(got.ws), e2 = datas(got.es.map((x) => x.message));
        const same = (a) => JSON.stringify(a) === JSON.stringify(wanted);
        const idsOk = got.es.every((x) => x.lastEventId === String(x.message.id))
            && got.ws.every((m, i) => got.es[i] && got.es[i].message.id === m.id)
            && got.ws.every((m) => m.session === cfg.session);
        if (same(w2) && same(e2) && idsOk) finish(true, 'each message once over both');
        else finish(false, 'wrong messages or ids');
    }, 300);
}
const ws = new WebSocket(cfg.ws);
ws.onopen = () => note('ws open');
ws.onmessage = (e) => {
    const f = JSON.parse(e.data);
    if ('type' in f) { note('ws control ' + e.data); return; }
    if (f.error) { finish(false, 'ws error frame ' + e.data); return; }
    got.ws.push(f);
    check();
};
ws.onclose = (e) => { note('ws closed ' + e.code); if (!finished) finish(false, 'ws closed ' + e.code); };
const es = new EventSource(cfg.es);
es.onopen = () => note('es open');
es.onmessage = (e) => { got.es.push({ lastEventId: e.lastEventId, message: JSON.parse(e.data) }); check(); };
es.onerror = () => note('es error, readyState ' + es.readyState);
// Bounds, not timings: each step waits for the one before, and a loaded machine may be slow.
setTimeout(() => finish(false, 'timed out in the page'), 60000);
</script>
<img src="/hold" alt="">
</body></html>`;

let verdict = null;
const holders = [];
const release = () => {
    for (const res of holders.splice(0))
        res.end(Buffer.from('R0lGODlhAQABAAAAACw=', 'base64'));
};
const bodyOf = (req) => new Promise((resolve) => {
    let t = '';
    req.on('data', (d) => (t += d));
    req.on('end', () => resolve(t));
});
const pageServer = http.createServer(async (req, res) => {
    if (req.url === '/') {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
        res.end(page);
    } else if (req.url === '/hold') {
        res.writeHead(200, { 'Content-Type': 'image/gif', 'Cache-Control': 'no-store' });
        if (verdict) res.end(Buffer.from('R0lGODlhAQABAAAAACw=', 'base64'));
        else holders.push(res);
    } else if (req.url === '/result' && req.method === 'POST') {
        verdict = await bodyOf(req);
        fs.writeFileSync(RESULT_FILE, verdict);
        res.end();
        release();
    } else if (req.url === '/away' && req.method === 'POST') {
        res.end();
        const deleted = await qtpush('DELETE', `/v1/sessions/${session}/clients/e`);
        const reply = await qtpush('POST', `/v1/sessions/${session}/push`, JSON.stringify('while away'));
        console.error(`harness: deleted client e: ${deleted.status}; pushed: ${reply.status} ${reply.text}`);
    } else if (req.url === '/log' && req.method === 'POST') {
        console.error('page: ' + (await bodyOf(req)));
        res.end();
    } else {
        res.writeHead(404);
        res.end();
    }
});

function qtpush(method, path, body) {
    return new Promise((resolve, reject) => {
        const req = http.request(`${QTPUSH_URL}${path}`, {
            method, agent: false,
            headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
        }, (res) => bodyOf(res).then((text) => resolve({ status: res.statusCode, text })));
        req.on('error', reject);
        req.end(body);
    });
}

async function pushWhenSubscribed() {
    const deadline = Date.now() + 50000;
    while (Date.now() < deadline) {
        const listing = await qtpush('GET', `/v1/sessions/${session}`);
        if (listing.status === 200) {
            const clients = JSON.parse(listing.text).clients;
            const has = (c, t) => clients.some((x) => x.client === c && x.transport === t);
            if (has('w', 'ws') && has('e', 'sse')) {
                const reply = await qtpush('POST', `/v1/sessions/${session}/push`,
                                           JSON.stringify('from the harness'));
                console.error(`harness: pushed: ${reply.status} ${reply.text}`);
                return;
            }
        }
        await new Promise((r) => setTimeout(r, 100));
    }
    console.error('harness: the page never had both a WebSocket and an EventSource listed');
}

pageServer.listen(0, '127.0.0.1', () => {
    console.log(`page on http://127.0.0.1:${pageServer.address().port}/`);
    pushWhenSubscribed().catch((e) => console.error('harness: ' + e));
});
// Bounded: give up holding after 70 s, and exit after 80 s whatever happens.
setTimeout(release, 70000).unref();
setTimeout(() => process.exit(0), 80000).unref();
EOF

export RESULT_FILE="$WORK/result.txt"
NODE_PATH=${NODE_PATH:-} "$NODE" "$WORK/page-server.js" >"$WORK/page.out" 2>"$WORK/page.err" &
page_pid=$!
PIDS+=("$page_pid")
if ! PAGE_URL=$(wait_line "$WORK/page.out" "page on " "$page_pid"); then
    echo "browser.sh: the page server did not start:" >&2
    cat "$WORK/page.err" >&2
    exit 1
fi

mkdir "$WORK/profile"
status=0
timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --disable-dev-shm-usage --user-data-dir="$WORK/profile" --dump-dom "$PAGE_URL" \
    >"$WORK/dom.html" 2>"$WORK/chromium.err" || status=$?

verdict=$(sed -n 's/.*<pre id="result">\([^<]*\)<\/pre>.*/\1/p' "$WORK/dom.html" | head -n 1)
echo "chromium: $("$CHROMIUM" --version 2>/dev/null | head -n 1), exit $status"
echo "page: ${verdict:-no verdict in the DOM}"
if [[ $verdict == PASS* ]] && [ "$status" -eq 0 ]; then
    echo "ok - a page in headless Chromium receives each push once over WebSocket and EventSource"
    echo "1 passed, 0 failed"
    exit 0
fi
echo "not ok - a page in headless Chromium receives each push once over WebSocket and EventSource"
echo "--- page server and page log"
cat "$WORK/page.err"
echo "--- verdict posted by the page: $(cat "$RESULT_FILE" 2>/dev/null || echo none)"
echo "--- DOM"
head -c 2000 "$WORK/dom.html"
echo "--- chromium stderr (last lines)"
grep -v 'dbus' "$WORK/chromium.err" | tail -n 20
echo "--- qtpush-server stderr"
tail -n 20 "$WORK/server.err"
echo "0 passed, 1 failed"
exit 1
