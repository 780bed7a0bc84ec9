#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# qtpush-server against the wire contract (protocol.md), with curl as the only HTTP client.
#
#   tests/external/curl.sh path/to/qtpush-server      (or QTPUSH_SERVER=path/to/qtpush-server)
#
# Starts its own servers on free loopback ports, prints one "ok"/"not ok" line per check, then
# "N passed, M failed"; exits non-zero when anything failed. Node (a dependency of the other
# external tests, installed by scripts/setup) only reads JSON and SSE text here; every request
# is made by curl. Message ids are taken from the push replies, never assumed.
set -euo pipefail

SERVER=${1:-${QTPUSH_SERVER:-}}
if [ -z "$SERVER" ] || [ ! -x "$SERVER" ]; then
    echo "usage: $0 path/to/qtpush-server" >&2
    exit 2
fi
NODE=${NODE:-$(command -v node || command -v nodejs || true)}
if [ -z "$NODE" ]; then
    echo "curl.sh: node is needed to read JSON replies (scripts/setup installs it)" >&2
    exit 2
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/qtpush-curl.XXXXXX")
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

PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "ok - $1"; }
fail()
{
    FAILED=$((FAILED + 1))
    echo "not ok - $1"
    shift
    local line
    for line in "$@"; do
        printf '    %s\n' "$line"
    done
}

# The JSON and SSE reader: node check.js expr|eq|sse FILE ARG; prints why when it fails.
cat >"$WORK/check.js" <<'EOF'
const fs = require('fs');
const util = require('util');
const [cmd, file, arg] = process.argv.slice(2);
const text = fs.readFileSync(file, 'utf8');
const show = (s) => (s.length > 400 ? s.slice(0, 400) + '...' : s);
function bail(why) { console.log(why); process.exit(1); }
function parse(s) { try { return JSON.parse(s); } catch (e) { bail('not JSON (' + e.message + '): ' + show(s)); } }
// text/event-stream (HTML "server-sent events" §9.2.6): events end at a blank line.
function events(s) {
    const out = [];
    let ev = { data: [], id: undefined, event: undefined };
    for (const raw of s.split(/\r\n|\r|\n/)) {
        if (raw === '') {
            if (ev.data.length) out.push({ id: ev.id, event: ev.event, data: ev.data.join('\n') });
            ev = { data: [], id: undefined, event: undefined };
            continue;
        }
        if (raw.startsWith(':')) continue;
        const colon = raw.indexOf(':');
        const field = colon < 0 ? raw : raw.slice(0, colon);
        let value = colon < 0 ? '' : raw.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'data') ev.data.push(value);
        else if (field === 'id') ev.id = value;
        else if (field === 'event') ev.event = value;
    }
    return out;
}
if (cmd === 'expr') {
    const v = parse(text);
    let ok;
    try { ok = new Function('v', 'return (' + arg + ');')(v); } catch (e) { ok = false; }
    if (!ok) bail('got ' + show(text));
} else if (cmd === 'eq') {
    const v = parse(text);
    const want = JSON.parse(arg);
    if (!util.isDeepStrictEqual(v, want)) bail('got  ' + show(text) + '\nwant ' + show(arg));
} else if (cmd === 'msgs') {
    // A long-poll reply: the messages, skipping control frames the client does not know
    // (protocol.md: Receiving); a gap is never expected here.
    const v = parse(text);
    if (!Array.isArray(v)) bail('not an array: ' + show(text));
    const gap = v.find((f) => f && f.type === 'gap');
    if (gap) bail('unexpected gap ' + JSON.stringify(gap));
    const messages = v.filter((f) => !(f && typeof f === 'object' && 'type' in f));
    const want = JSON.parse(arg);
    if (!util.isDeepStrictEqual(messages, want)) bail('got  ' + show(text) + '\nwant ' + show(arg));
} else if (cmd === 'sse') {
    const all = events(text);
    const want = JSON.parse(arg);
    const messages = [];
    for (const ev of all) {
        if (ev.event !== undefined && ev.event !== 'message') {
            // A control frame: its event is its type (protocol.md: Receiving). None is expected.
            const v = parse(ev.data);
            if (v.type === 'gap' || v.type !== ev.event) bail('unexpected control event ' + ev.event + ': ' + ev.data);
            continue;
        }
        const v = parse(ev.data);
        if (ev.id !== String(v.id)) bail('event id: line "' + ev.id + '" does not match data ' + ev.data);
        messages.push(v);
    }
    if (!util.isDeepStrictEqual(messages, want))
        bail('got  ' + show(JSON.stringify(messages)) + '\nwant ' + show(arg));
} else if (cmd === 'field') {
    const v = parse(text);
    const value = new Function('v', 'return (' + arg + ');')(v);
    process.stdout.write(String(value));
} else {
    bail('check.js: unknown command ' + cmd);
}
EOF

# check_node NAME CMD FILE ARG: one check through check.js.
check_node()
{
    local name=$1 out
    shift
    if out=$("$NODE" "$WORK/check.js" "$@" 2>&1); then
        pass "$name"
    else
        fail "$name" "$out"
    fi
}

# start_server NAME ARGS...: starts a server and sets NAME_URL from its first stdout line.
start_server()
{
    local name=$1
    shift
    "$SERVER" --host 127.0.0.1 --port 0 "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    local pid=$! line=""
    PIDS+=("$pid")
    for _ in $(seq 300); do
        line=$(head -n 1 "$WORK/$name.out" 2>/dev/null || true)
        [[ $line == "listening on http://"* ]] && break
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "curl.sh: $SERVER $* exited before listening:" >&2
            cat "$WORK/$name.err" >&2
            exit 1
        fi
        sleep 0.1
    done
    if [[ $line != "listening on http://"* ]]; then
        echo "curl.sh: $SERVER $* printed no 'listening on' line in 30 s" >&2
        exit 1
    fi
    printf -v "${name}_URL" '%s' "${line#listening on }"
    printf -v "${name}_PID" '%s' "$pid"
}

# req METHOD URL [CURL ARGS...]: sets STATUS; the body is in $WORK/body, headers in $WORK/headers.
req()
{
    local method=$1 url=$2
    shift 2
    : >"$WORK/body"
    : >"$WORK/headers"
    STATUS=$(curl -sS --max-time 15 -X "$method" -o "$WORK/body" -D "$WORK/headers" \
        -w '%{http_code}' "$@" "$url" 2>"$WORK/curl.err") || STATUS="curl-failed($(cat "$WORK/curl.err"))"
}
body() { cat "$WORK/body"; }
# header NAME: the value of a reply header of the last req, without the CR.
header()
{
    grep -i "^$1:" "$WORK/headers" | head -n 1 | sed -e 's/^[^:]*:[[:space:]]*//' -e 's/\r$//' || true
}

expect_status()
{
    local name=$1 want=$2
    if [ "$STATUS" = "$want" ]; then
        pass "$name: $want"
    else
        fail "$name: $want" "got status $STATUS, body $(body | head -c 300)"
    fi
}

# expect_error NAME STATUS: a refusal with that status and the JSON error body of protocol.md.
expect_error()
{
    local name=$1 want=$2
    expect_status "$name" "$want"
    local type
    type=$(header Content-Type)
    if [[ $type == application/json* ]]; then
        pass "$name: Content-Type application/json"
    else
        fail "$name: Content-Type application/json" "got '$type'"
    fi
    check_node "$name: body is {\"error\":{\"code\":..,\"message\":..}}" expr "$WORK/body" \
        'Object.keys(v).length === 1 && v.error !== null && typeof v.error === "object"
         && typeof v.error.code === "string" && v.error.code.length > 0
         && typeof v.error.message === "string"'
}

expect_json() { check_node "$1" expr "$WORK/body" "$2"; }
expect_body_eq() { check_node "$1" eq "$WORK/body" "$2"; }
expect_messages() { check_node "$1" msgs "$WORK/body" "$2"; }

# push SESSION_PATH DATA [CONTENT_TYPE]: sets PUSH_ID (and STATUS); a failed push counts as a
# failed check and stops the script, since every later check relies on it.
push()
{
    local path=$1 data=$2 type=${3:-application/json}
    req POST "$BASE/v1/sessions/$path/push" -H "Content-Type: $type" --data-binary "$data"
    if [ "$STATUS" != 200 ]; then
        fail "push to $path" "got status $STATUS, body $(body)"
        finish
    fi
    PUSH_ID=$("$NODE" "$WORK/check.js" field "$WORK/body" 'Number.isInteger(v.id) && v.id > 0 ? v.id : ""')
    if [ -z "$PUSH_ID" ]; then
        fail "push to $path: reply has a positive integer id" "got $(body)"
        finish
    fi
}

# msg ID SESSION DATA: the message object of protocol.md, as JSON text.
msg() { printf '{"id":%s,"session":"%s","data":%s}' "$1" "$2" "$3"; }
# list ITEM...: a JSON array.
list()
{
    local IFS=,
    printf '[%s]' "$*"
}

# wait_listing SESSION EXPR: waits (30 s at most) until GET /v1/sessions/SESSION satisfies the
# check.js expression EXPR; what a client does in the background is seen by the server in its
# own time, so no check assumes that it happened within a fixed delay.
wait_listing()
{
    local i
    for i in $(seq 300); do
        req GET "$BASE/v1/sessions/$1"
        if [ "$STATUS" = 200 ] && "$NODE" "$WORK/check.js" expr "$WORK/body" "$2" >/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# SSE streams read by curl -N in the background; every wait is bounded (30 s), never timed.
# sse_start NAME URL [CURL ARGS...]: waits until the reply headers arrived.
sse_start()
{
    local name=$1 url=$2
    shift 2
    : >"$WORK/$name.sse"
    : >"$WORK/$name.hdr"
    curl -sS -N --max-time 120 -D "$WORK/$name.hdr" -o "$WORK/$name.sse" "$@" "$url" \
        2>"$WORK/$name.curlerr" &
    printf -v "SSE_PID_$name" '%s' "$!"
    PIDS+=("$!")
    for _ in $(seq 300); do
        grep -q $'^\r$' "$WORK/$name.hdr" 2>/dev/null && return 0
        kill -0 "$!" 2>/dev/null || break
        sleep 0.1
    done
    return 1
}
# sse_wait_id NAME ID: waits until the stream holds an event with that id.
sse_wait_id()
{
    for _ in $(seq 300); do
        grep -qE "^id: ?$2"$'\r''?$' "$WORK/$1.sse" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
sse_pid() { local var="SSE_PID_$1"; printf '%s' "${!var}"; }
sse_stop()
{
    kill "$(sse_pid "$1")" 2>/dev/null || true
    wait "$(sse_pid "$1")" 2>/dev/null || true
}

finish()
{
    echo "$PASSED passed, $FAILED failed"
    if [ "$FAILED" -ne 0 ] || [ "$PASSED" -eq 0 ]; then
        exit 1
    fi
    exit 0
}

MAX=4096
# A grace period far longer than the script: on a loaded machine the checks of a client that
# went away may come minutes later, and none of them is about its removal.
start_server OPEN --max-message-bytes "$MAX" --client-grace 3600
BASE=$OPEN_URL
echo "# server without a secret at $BASE"

# ---------------------------------------------------------------- health, metrics
req GET "$BASE/healthz"
expect_status "GET /healthz" 200

req GET "$BASE/metrics"
expect_status "GET /metrics" 200
if [[ $(header Content-Type) == text/plain* ]]; then
    pass "GET /metrics: Content-Type text/plain"
else
    fail "GET /metrics: Content-Type text/plain" "got '$(header Content-Type)'"
fi
if grep -q '^# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* \(counter\|gauge\|histogram\|summary\|untyped\)$' "$WORK/body"; then
    pass "GET /metrics: has # TYPE lines"
else
    fail "GET /metrics: has # TYPE lines" "$(head -c 300 "$WORK/body")"
fi
# Prometheus text format 0.0.4: every other line is a comment or "name{labels} value".
bad=$(grep -v '^#' "$WORK/body" | grep -v '^$' \
    | grep -Ev '^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [-+0-9.eEInfa]+( [0-9]+)?$' || true)
if [ -z "$bad" ]; then
    pass "GET /metrics: every sample line is 'name{labels} value'"
else
    fail "GET /metrics: every sample line is 'name{labels} value'" "$bad"
fi

# ---------------------------------------------------------------- push, long-poll
S=poll
req GET "$BASE/v1/sessions/$S/clients/lp/pull?wait=1"
expect_status "long-poll with nothing pending" 200
expect_body_eq "long-poll with nothing pending: [] after wait=1 runs out" '[]'

push $S '{"n":1,"list":[1,"two",null,true],"text":"é ✓"}'
id1=$PUSH_ID
expect_json "POST push (application/json): {id, clients}" 'Number.isInteger(v.id) && v.clients === 1'
push $S 'hello, "world" é ✓' 'text/plain'
id2=$PUSH_ID
expect_json "POST push (text/plain): {id, clients}" "v.id > $id1 && v.clients === 1"
push $S '42' 'application/json; charset=utf-8'
id3=$PUSH_ID
expect_json "POST push (application/json; charset=utf-8): id increases" "v.id > $id2"

req GET "$BASE/v1/sessions/$S/clients/lp/pull?wait=1"
expect_status "long-poll with three pending" 200
expect_messages "long-poll returns exactly the pushed messages, text as a JSON string" \
    "$(list "$(msg "$id1" $S '{"n":1,"list":[1,"two",null,true],"text":"é ✓"}')" \
             "$(msg "$id2" $S '"hello, \"world\" é ✓"')" "$(msg "$id3" $S 42)")"
req GET "$BASE/v1/sessions/$S/clients/lp/pull?wait=1"
expect_body_eq "long-poll again: [] (no message twice)" '[]'

# A waiting long-poll returns as soon as a message is pending. The push comes once the server
# lists the poll as waiting (transport poll), so the poll is really waiting when it comes.
curl -sS --max-time 60 -o "$WORK/waiting.body" -w '%{http_code}' \
    "$BASE/v1/sessions/$S/clients/lp/pull?wait=20" >"$WORK/waiting.status" 2>&1 &
waiting=$!
wait_listing $S 'v.clients.some(c => c.client === "lp" && c.transport === "poll")' \
    || fail "the waiting long-poll is listed with transport poll" "$(body)"
push $S '"wake"'
id4=$PUSH_ID
wait "$waiting" || true
STATUS=$(cat "$WORK/waiting.status")
cp "$WORK/waiting.body" "$WORK/body"
expect_status "waiting long-poll (wait=20) returns when a message arrives" 200
expect_messages "waiting long-poll returns that message" "$(list "$(msg "$id4" $S '"wake"')")"

curl -sS --max-time 120 -o "$WORK/waiting.body" -w '%{http_code}' \
    "$BASE/v1/sessions/$S/clients/lp/pull?wait=999" >"$WORK/waiting.status" 2>&1 &
waiting=$!
wait_listing $S 'v.clients.some(c => c.client === "lp" && c.transport === "poll")' \
    || fail "the waiting long-poll (wait=999) is listed with transport poll" "$(body)"
push $S '"long"'
id5=$PUSH_ID
wait "$waiting" || true
STATUS=$(cat "$WORK/waiting.status")
cp "$WORK/waiting.body" "$WORK/body"
expect_status "long-poll wait=999 is accepted (counts as 60)" 200
expect_messages "long-poll wait=999 returns the message" "$(list "$(msg "$id5" $S '"long"')")"

# ---------------------------------------------------------------- SSE
S=sse
if sse_start live "$BASE/v1/sessions/$S/clients/e1/events"; then
    pass "SSE: curl -N gets the reply headers"
else
    fail "SSE: curl -N gets the reply headers" "$(cat "$WORK/live.hdr" "$WORK/live.curlerr")"
fi
STATUS=$(head -n 1 "$WORK/live.hdr" | awk '{print $2}')
expect_status "SSE: GET .../events" 200
if grep -qi '^content-type: *text/event-stream' "$WORK/live.hdr"; then
    pass "SSE: Content-Type text/event-stream"
else
    fail "SSE: Content-Type text/event-stream" "$(cat "$WORK/live.hdr")"
fi
push $S '{"a":1}'
s1=$PUSH_ID
push $S 'plain text' text/plain
s2=$PUSH_ID
push $S '[1,2,3]'
s3=$PUSH_ID
if sse_wait_id live "$s3"; then pass "SSE: the last pushed event arrives"; else fail "SSE: the last pushed event arrives" "$(cat "$WORK/live.sse")"; fi
req GET "$BASE/v1/sessions/$S"
expect_json "GET /v1/sessions/{s}: the SSE client is listed with transport sse" \
    'v.session === "sse" && v.clients.some(c => c.client === "e1" && c.transport === "sse")'
sse_stop live
check_node "SSE: exactly the pushed messages, each with its id: line" sse "$WORK/live.sse" \
    "$(list "$(msg "$s1" $S '{"a":1}')" "$(msg "$s2" $S '"plain text"')" "$(msg "$s3" $S '[1,2,3]')")"

# The client waits for its grace period, listed with transport none (once the server has seen
# curl go, in its own time).
if wait_listing $S 'v.clients.some(c => c.client === "e1" && c.transport === "none")'; then
    pass "a disconnected SSE client is listed with transport none"
else
    fail "a disconnected SSE client is listed with transport none" "got $(body)"
fi

# Missed while away: resume with Last-Event-ID (the client also kept them in its buffer, yet
# each message must arrive once).
push $S '"missed 1"'
s4=$PUSH_ID
push $S '"missed 2"'
s5=$PUSH_ID
req GET "$BASE/v1/sessions/$S"
expect_json "a waiting client counts its pending messages" \
    'v.clients.some(c => c.client === "e1" && c.transport === "none" && c.pending === 2)'
sse_start back "$BASE/v1/sessions/$S/clients/e1/events" -H "Last-Event-ID: $s3" || true
push $S '"live again"'
s6=$PUSH_ID
sse_wait_id back "$s6" || true
sse_stop back
check_node "SSE: reconnect with Last-Event-ID delivers exactly the missed, then live" sse \
    "$WORK/back.sse" \
    "$(list "$(msg "$s4" $S '"missed 1"')" "$(msg "$s5" $S '"missed 2"')" "$(msg "$s6" $S '"live again"')")"

# A new client with since=: retained messages first.
sse_start since "$BASE/v1/sessions/$S/clients/e2/events?since=$s3" || true
push $S '"after since"'
s7=$PUSH_ID
sse_wait_id since "$s7" || true
sse_stop since
check_node "SSE: since= delivers exactly the retained messages after it, then live" sse \
    "$WORK/since.sse" \
    "$(list "$(msg "$s4" $S '"missed 1"')" "$(msg "$s5" $S '"missed 2"')" \
            "$(msg "$s6" $S '"live again"')" "$(msg "$s7" $S '"after since"')")"

# Last-Event-ID wins over since (EventSource resends its first URL with a newer header).
sse_start both "$BASE/v1/sessions/$S/clients/e3/events?since=$s1" -H "Last-Event-ID: $s5" || true
push $S '"after both"'
s8=$PUSH_ID
sse_wait_id both "$s8" || true
sse_stop both
check_node "SSE: Last-Event-ID wins over since=" sse "$WORK/both.sse" \
    "$(list "$(msg "$s6" $S '"live again"')" "$(msg "$s7" $S '"after since"')" \
            "$(msg "$s8" $S '"after both"')")"

# ---------------------------------------------------------------- long-poll resume
S=pollresume
req GET "$BASE/v1/sessions/$S/clients/r1/pull?wait=1"
push $S '"r1"'
r1=$PUSH_ID
push $S '"r2"'
r2=$PUSH_ID
push $S '"r3"'
r3=$PUSH_ID
req GET "$BASE/v1/sessions/$S/clients/fresh/pull?wait=1&since=$r1"
expect_messages "long-poll: a new client with since= gets exactly the retained after it" \
    "$(list "$(msg "$r2" $S '"r2"')" "$(msg "$r3" $S '"r3"')")"
req GET "$BASE/v1/sessions/$S/clients/r1/pull?wait=1&since=$r2"
expect_messages "long-poll: since= on a client holding a buffer gets each missed message once" \
    "$(list "$(msg "$r3" $S '"r3"')")"
req GET "$BASE/v1/sessions/$S/clients/r1/pull?wait=1"
expect_body_eq "long-poll: then nothing more" '[]'

# ---------------------------------------------------------------- percent-encoded ids
SESSION_RAW='a b/é'
SESSION_PATH='a%20b%2F%C3%A9'
CLIENT_RAW='c/1 ü?#+'
CLIENT_PATH='c%2F1%20%C3%BC%3F%23%2B'
req GET "$BASE/v1/sessions/$SESSION_PATH/clients/$CLIENT_PATH/pull?wait=1"
expect_status "long-poll on a percent-encoded session and client" 200
push "$SESSION_PATH" '"encoded"'
e1=$PUSH_ID
expect_json "push to a percent-encoded session queues for its client" 'v.clients === 1'
req GET "$BASE/v1/sessions/$SESSION_PATH/clients/$CLIENT_PATH/pull?wait=1"
expect_messages "the message names the decoded session" "$(list "$(msg "$e1" "$SESSION_RAW" '"encoded"')")"
req GET "$BASE/v1/sessions"
expect_json "GET /v1/sessions lists the decoded session id" \
    'v.some(s => s.session === "a b/é" && s.clients === 1)'
req GET "$BASE/v1/sessions/$SESSION_PATH"
expect_json "GET /v1/sessions/{s} round-trips the ids" \
    'v.session === "a b/é" && v.clients.length === 1 && v.clients[0].client === "c/1 ü?#+"'
# A literal + in a path is a plus, not a space.
push '1+1' '"plus"'
req GET "$BASE/v1/sessions/1+1"
expect_json "a literal + in a path segment stays a +" 'v.session === "1+1"'
long=$(printf 'x%.0s' $(seq 256))
push "$long" '"256 bytes"'
pass "a 256-byte session id is accepted"
req POST "$BASE/v1/sessions/${long}y/push" -H 'Content-Type: application/json' --data-binary '1'
expect_error "a 257-byte session id" 400
req POST "$BASE/v1/sessions//push" -H 'Content-Type: application/json' --data-binary '1'
if [[ $STATUS == 400 || $STATUS == 404 ]]; then pass "an empty session id: 400 or 404"; else fail "an empty session id: 400 or 404" "got $STATUS"; fi

# ---------------------------------------------------------------- listing shapes
req GET "$BASE/v1/sessions"
expect_status "GET /v1/sessions" 200
expect_json "GET /v1/sessions: [{session: string, clients: number}, ...]" \
    'Array.isArray(v) && v.length > 0 && v.every(s => typeof s.session === "string"
         && Number.isInteger(s.clients) && s.clients >= 0)'
expect_json "GET /v1/sessions: counts clients" \
    'v.some(s => s.session === "poll" && s.clients === 1)'
req GET "$BASE/v1/sessions/poll"
expect_status "GET /v1/sessions/{s}" 200
expect_json "GET /v1/sessions/{s}: {session, clients: [{client, transport, pending}]}" \
    'v.session === "poll" && Array.isArray(v.clients) && v.clients.every(c =>
         typeof c.client === "string" && ["ws","sse","poll","local","none"].includes(c.transport)
         && Number.isInteger(c.pending) && c.pending >= 0)
     && v.clients.some(c => c.client === "lp")'

# ---------------------------------------------------------------- DELETE
S=deleted
sse_start del "$BASE/v1/sessions/$S/clients/d1/events" || true
req GET "$BASE/v1/sessions/$S/clients/d2/pull?wait=1"
req DELETE "$BASE/v1/sessions/$S/clients/d2"
expect_status "DELETE /v1/sessions/{s}/clients/{c}" 204
req GET "$BASE/v1/sessions/$S"
expect_json "the deleted client is gone" '!v.clients.some(c => c.client === "d2")'
req DELETE "$BASE/v1/sessions/$S/clients/never-was"
expect_status "DELETE of a missing client" 204
req DELETE "$BASE/v1/sessions/$S"
expect_status "DELETE /v1/sessions/{s}" 204
if [ ! -s "$WORK/body" ]; then pass "DELETE: 204 has no body"; else fail "DELETE: 204 has no body" "$(body)"; fi
closed=no
for _ in $(seq 300); do
    if ! kill -0 "$(sse_pid del)" 2>/dev/null; then closed=yes; break; fi
    sleep 0.1
done
if [ $closed = yes ]; then pass "DELETE closes the session's connected SSE client"; else fail "DELETE closes the session's connected SSE client" "curl -N still reading after 30 s"; fi
sse_stop del
req GET "$BASE/v1/sessions"
expect_json "the deleted session is not listed" '!v.some(s => s.session === "deleted")'
req DELETE "$BASE/v1/sessions/$S"
expect_status "DELETE of a missing session" 204
req DELETE "$BASE/v1/sessions/no-such-session-ever"
expect_status "DELETE of a session that never was" 204

# ---------------------------------------------------------------- refusals
req GET "$BASE/nope"
expect_error "GET /nope" 404
req GET "$BASE/v1/nope"
expect_error "GET /v1/nope" 404
req GET "$BASE/v1/sessions/s/clients/c/nope"
expect_error "GET /v1/sessions/s/clients/c/nope" 404
req GET "$BASE/v1/sessions/s/clients"
expect_error "GET /v1/sessions/s/clients" 404

# expect_405 METHOD PATH ALLOWED...: the Allow header lists each allowed method.
expect_405()
{
    local method=$1 path=$2
    shift 2
    req "$method" "$BASE$path"
    expect_error "$method $path" 405
    local allow m missing=""
    allow=$(header Allow)
    for m in "$@"; do
        [[ ",$(echo "$allow" | tr -d ' ')," == *",$m,"* ]] || missing+=" $m"
    done
    if [ -n "$allow" ] && [ -z "$missing" ]; then
        pass "$method $path: Allow lists $*"
    else
        fail "$method $path: Allow lists $*" "got Allow: '$allow'"
    fi
}
expect_405 PUT /v1/sessions/s/push POST
expect_405 GET /v1/sessions/s/push POST
expect_405 POST /v1/sessions/s/clients/c/pull GET
expect_405 POST /v1/sessions GET
expect_405 PUT /v1/sessions/s GET DELETE
expect_405 POST /healthz GET
expect_405 DELETE /metrics GET

req GET "$BASE/v1/sessions/bad/clients/watcher/pull?wait=1"
req POST "$BASE/v1/sessions/bad/push" -H 'Content-Type: application/json' --data-binary '{"unterminated": '
expect_error "POST push with malformed JSON" 400
req POST "$BASE/v1/sessions/bad/push" -H 'Content-Type: application/json' --data-binary '{"a":1} trailing'
expect_error "POST push with JSON then garbage" 400
req POST "$BASE/v1/sessions/bad/push" -H 'Content-Type: application/json' --data-binary ''
expect_error "POST push with an empty JSON body" 400
printf 'abc\xff\xfe' >"$WORK/bad-utf8"
req POST "$BASE/v1/sessions/bad/push" -H 'Content-Type: text/plain' --data-binary "@$WORK/bad-utf8"
expect_error "POST push with invalid UTF-8 text" 400
printf '"\xc3\x28"' >"$WORK/bad-utf8-json"
req POST "$BASE/v1/sessions/bad/push" -H 'Content-Type: application/json' --data-binary "@$WORK/bad-utf8-json"
expect_error "POST push with invalid UTF-8 inside JSON" 400

head -c $((MAX * 2)) /dev/zero | tr '\0' a >"$WORK/big.txt"
req POST "$BASE/v1/sessions/bad/push" -H 'Content-Type: text/plain' --data-binary "@$WORK/big.txt"
expect_error "POST push text over --max-message-bytes" 413
{ printf '"'; head -c $((MAX * 2)) /dev/zero | tr '\0' b; printf '"'; } >"$WORK/big.json"
req POST "$BASE/v1/sessions/bad/push" -H 'Content-Type: application/json' --data-binary "@$WORK/big.json"
expect_error "POST push JSON over --max-message-bytes" 413
head -c $((4 * 1024 * 1024)) /dev/zero | tr '\0' c >"$WORK/huge.txt"
req POST "$BASE/v1/sessions/bad/push" -H 'Content-Type: text/plain' --data-binary "@$WORK/huge.txt"
expect_error "POST push of 4 MiB" 413
push bad '"still fine"'
fine=$PUSH_ID
pass "the server still takes pushes after the refusals"
req GET "$BASE/v1/sessions/bad/clients/watcher/pull?wait=1"
expect_messages "refused pushes queued nothing" "$(list "$(msg "$fine" bad '"still fine"')")"

# ---------------------------------------------------------------- access
SECRET='external-test-secret'
start_server AUTH --secret "$SECRET" --client-grace 3600
BASE=$AUTH_URL
echo "# server with --secret at $BASE"
token() { "$SERVER" --secret "$SECRET" --issue-token "$@"; }
T_PUSHSUB=$(token auth --scope "subscribe push")
T_ADMIN=$(token auth --scope "subscribe push admin")
T_SUB=$(token auth --scope "subscribe")
T_PUSH=$(token auth --scope "push")
T_CLIENT=$(token auth --scope "subscribe push" --client c1)
T_ENCODED=$(token "$SESSION_RAW" --scope "subscribe push" --client "$CLIENT_RAW")
T_OTHER_KEY=$("$SERVER" --secret "not-$SECRET" --issue-token auth --scope "subscribe push admin")
# exp an hour ago, signed with the right secret (RFC 7519), and an unsigned "alg":"none" token.
read -r T_EXPIRED T_NONE < <("$NODE" -e '
    const crypto = require("crypto");
    const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const claims = { sub: "auth", scope: "subscribe push admin", exp: Math.floor(Date.now() / 1000) - 3600 };
    const input = b64({ alg: "HS256", typ: "JWT" }) + "." + b64(claims);
    const sig = crypto.createHmac("sha256", process.argv[1]).update(input).digest("base64url");
    const none = b64({ alg: "none", typ: "JWT" }) + "." + b64({ sub: "auth", scope: "subscribe push admin" }) + ".";
    console.log(input + "." + sig, none);' "$SECRET")
T_TAMPERED="${T_PUSHSUB%?}"
[[ ${T_PUSHSUB: -1} == A ]] && T_TAMPERED+=B || T_TAMPERED+=A

PUSH_URL="$BASE/v1/sessions/auth/push"
PULL_URL="$BASE/v1/sessions/auth/clients/c1/pull?wait=1"
bearer() { printf 'Authorization: Bearer %s' "$1"; }
json=(-H 'Content-Type: application/json' --data-binary '"auth"')

# The issued one-second token: valid at once, refused once it has run out (checked at the end).
# Its exp is in whole seconds, so it may run out well within a second of issue: the first check
# counts only when the answer came 200 ms or more before the token's own exp.
T_SHORT=$(token auth --scope "subscribe push" --expires-in 1)
short_payload=$(echo "$T_SHORT" | cut -d. -f2 | tr '_-' '/+')
while [ $((${#short_payload} % 4)) -ne 0 ]; do short_payload+='='; done
short_exp_ms=$(($(echo "$short_payload" | base64 -d | sed -n 's/.*"exp":\([0-9]*\).*/\1/p') * 1000))
req POST "$PUSH_URL" "${json[@]}" -H "$(bearer "$T_SHORT")"
if [ $(($(date +%s%N) / 1000000)) -lt $((short_exp_ms - 200)) ]; then
    expect_status "auth: a --expires-in 1 token before it runs out" 200
fi

req POST "$PUSH_URL" "${json[@]}"
expect_error "auth: push without a token" 401
req GET "$PULL_URL"
expect_error "auth: long-poll without a token" 401
req GET "$BASE/v1/sessions/auth/clients/c1/events"
expect_error "auth: SSE without a token" 401
req GET "$BASE/v1/sessions"
expect_error "auth: listing without a token" 401
req DELETE "$BASE/v1/sessions/auth"
expect_error "auth: DELETE without a token" 401
req POST "$PUSH_URL" "${json[@]}" -H "$(bearer "$T_EXPIRED")"
expect_error "auth: an expired token (exp an hour ago)" 401
req POST "$PUSH_URL" "${json[@]}" -H "$(bearer "$T_OTHER_KEY")"
expect_error "auth: a token signed with another secret" 401
req POST "$PUSH_URL" "${json[@]}" -H "$(bearer "$T_TAMPERED")"
expect_error "auth: a token with a changed signature" 401
req POST "$PUSH_URL" "${json[@]}" -H "$(bearer "$T_NONE")"
expect_error "auth: an unsigned alg none token" 401
req POST "$PUSH_URL" "${json[@]}" -H "Authorization: Bearer not-a-token"
expect_error "auth: garbage for a token" 401
req GET "$BASE/v1/sessions/other/clients/c1/pull?wait=1" -H "$(bearer "$T_PUSHSUB")"
expect_error "auth: a token of another session (long-poll)" 403
req POST "$BASE/v1/sessions/other/push" "${json[@]}" -H "$(bearer "$T_PUSHSUB")"
expect_error "auth: a token of another session (push)" 403
req GET "$BASE/v1/sessions/auth/clients/c2/pull?wait=1" -H "$(bearer "$T_CLIENT")"
expect_error "auth: a token for another client" 403
req GET "$BASE/v1/sessions/auth/clients/c2/events" -H "$(bearer "$T_CLIENT")"
expect_error "auth: a token for another client (SSE)" 403
req POST "$PUSH_URL" "${json[@]}" -H "$(bearer "$T_SUB")"
expect_error "auth: push with a subscribe-only token" 403
req GET "$PULL_URL" -H "$(bearer "$T_PUSH")"
expect_error "auth: long-poll with a push-only token" 403
req GET "$BASE/v1/sessions/auth/clients/c1/events" -H "$(bearer "$T_PUSH")"
expect_error "auth: SSE with a push-only token" 403
req GET "$BASE/v1/sessions" -H "$(bearer "$T_PUSHSUB")"
expect_error "auth: GET /v1/sessions without admin" 403
req GET "$BASE/v1/sessions/auth" -H "$(bearer "$T_PUSHSUB")"
expect_error "auth: GET /v1/sessions/{s} without admin" 403
req DELETE "$BASE/v1/sessions/auth" -H "$(bearer "$T_PUSHSUB")"
expect_error "auth: DELETE /v1/sessions/{s} without admin" 403
req DELETE "$BASE/v1/sessions/auth/clients/c1" -H "$(bearer "$T_PUSHSUB")"
expect_error "auth: DELETE a client without admin" 403

req GET "$PULL_URL" -H "$(bearer "$T_CLIENT")"
expect_status "auth: long-poll as the token's client (header)" 200
req POST "$PUSH_URL" "${json[@]}" -H "$(bearer "$T_PUSHSUB")"
expect_status "auth: push with a valid token (header)" 200
a1=$("$NODE" "$WORK/check.js" field "$WORK/body" v.id)
req POST "$PUSH_URL?token=$T_PUSHSUB" -H 'Content-Type: application/json' --data-binary '"query"'
expect_status "auth: push with a valid token (?token=)" 200
a2=$("$NODE" "$WORK/check.js" field "$WORK/body" v.id)
req GET "$BASE/v1/sessions/auth/clients/c1/pull?wait=1&token=$T_CLIENT"
expect_status "auth: long-poll with ?token=" 200
expect_messages "auth: long-poll with ?token= gets the pushes" \
    "$(list "$(msg "$a1" auth '"auth"')" "$(msg "$a2" auth '"query"')")"
sse_start authsse "$BASE/v1/sessions/auth/clients/c1/events?since=$a1&token=$T_CLIENT" || true
sse_wait_id authsse "$a2" || true
sse_stop authsse
STATUS=$(head -n 1 "$WORK/authsse.hdr" | awk '{print $2}')
expect_status "auth: SSE with ?token=" 200
check_node "auth: SSE with ?token= and since= gets the missed" sse "$WORK/authsse.sse" \
    "$(list "$(msg "$a2" auth '"query"')")"
req GET "$BASE/v1/sessions" -H "$(bearer "$T_ADMIN")"
expect_status "auth: GET /v1/sessions with admin" 200
req GET "$BASE/v1/sessions/auth?token=$T_ADMIN"
expect_status "auth: GET /v1/sessions/{s} with admin (?token=)" 200
req DELETE "$BASE/v1/sessions/auth/clients/c2" -H "$(bearer "$T_ADMIN")"
expect_status "auth: DELETE a client with admin" 204
req GET "$BASE/v1/sessions/$SESSION_PATH/clients/$CLIENT_PATH/pull?wait=1" \
    -H "$(bearer "$T_ENCODED")"
expect_status "auth: a token for a percent-encoded session and client" 200

while [ $(($(date +%s%N) / 1000000)) -lt $((short_exp_ms + 1200)) ]; do
    sleep 0.1
done
req POST "$PUSH_URL" "${json[@]}" -H "$(bearer "$T_SHORT")"
expect_error "auth: a --expires-in 1 token once it has run out" 401

finish
