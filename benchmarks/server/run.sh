#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Server benchmark: qtpush-server, the Node `ws` server and the websocketpp server, each measured
# by qtpush-bench-loadgen in the same run, on loopback. See docs/benchmarks.md (Server).
#
#   benchmarks/server/run.sh [options] BUILD_DIR
#
# Builds nothing: BUILD_DIR/bin must hold qtpush-bench-loadgen and the servers to measure
# (qtpush-server, qtpush-bench-websocketpp); a server that is missing is skipped with a note.
# Every measurement starts its server afresh on a free port and stops it afterwards, so no run
# inherits another's sessions, clients or heap. Runs are interleaved (run 1 of every server, then
# run 2, ...), so a change in the machine's load hits every server alike. Prints every result
# line, then medians per server and the ratios qtpush/node and qtpush/websocketpp.
#
# Exit code: 0 if every measurement passed its checks, 1 if one failed, 2 on bad usage.

set -u -o pipefail

usage() {
    cat >&2 <<'EOF'
usage: run.sh [options] BUILD_DIR
  --quick                tiny smoke run: 50 subscribers, 200 idle connections, 2 s, 1 run
  --runs R               runs of every mode against every server [5]
  --servers LIST         comma-separated: qtpush,node,websocketpp [all three]
  --modes LIST           comma-separated: fanout,latency,idle,idlesse,sse,poll [all]
  --clients N            subscribers in fanout, latency, sse and poll [1000]
  --idle-connections N   connections in idle and idlesse, at most ~19,000 [10000]
  --duration S           measured seconds per measurement [5]
  --warmup S             unmeasured seconds of load before it [1]
  --window W             publisher's window in messages [64]
  --latency-rate R       messages per second in the latency mode [50]
  --pin                  server on CPU 0, load generator on CPU 1
  --log FILE             where to keep the raw result lines [a file in ${TMPDIR:-/tmp}]
  --max-minutes M        stop starting measurements after M minutes [60]
EOF
    exit 2
}

runs=5
servers=qtpush,node,websocketpp
modes=fanout,latency,idle,idlesse,sse,poll
clients=1000
idle_connections=10000
duration=5
warmup=1
window=64
latency_rate=50
pin=0
log=
max_minutes=60
build=

while [ $# -gt 0 ]; do
    case $1 in
    --quick)
        runs=1 clients=50 idle_connections=200 duration=2 warmup=0.5 max_minutes=5
        shift ;;
    --runs) runs=$2; shift 2 ;;
    --servers) servers=$2; shift 2 ;;
    --modes) modes=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --idle-connections) idle_connections=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --window) window=$2; shift 2 ;;
    --latency-rate) latency_rate=$2; shift 2 ;;
    --pin) pin=1; shift ;;
    --log) log=$2; shift 2 ;;
    --max-minutes) max_minutes=$2; shift 2 ;;
    -h|--help) usage ;;
    -*) echo "run.sh: unknown option $1" >&2; usage ;;
    *) [ -z "$build" ] || usage; build=$1; shift ;;
    esac
done
[ -n "$build" ] || usage
for number in "$runs" "$clients" "$idle_connections" "$window" "$max_minutes"; do
    [[ $number =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: not a positive whole number: $number" >&2; exit 2; }
done

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bin=$(cd "$build" 2>/dev/null && pwd)/bin
loadgen=$bin/qtpush-bench-loadgen
[ -x "$loadgen" ] || { echo "run.sh: $loadgen not found; build target qtpush-bench-loadgen" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/qtpush-bench-server.XXXXXX")
[ -n "$log" ] || log=$work/results.log
: > "$log"

server_pid=
cleanup() {
    if [ -n "$server_pid" ]; then
        kill -TERM "$server_pid" 2>/dev/null
        sleep 0.5
        kill -KILL "$server_pid" 2>/dev/null
        wait "$server_pid" 2>/dev/null
    fi
    rm -f "$work"/server.out "$work"/server.err
}
trap cleanup EXIT
trap 'exit 130' INT TERM

server_cpu=() loadgen_cpu=()
if [ "$pin" = 1 ]; then
    server_cpu=(taskset -c 0) loadgen_cpu=(taskset -c 1)
fi

# Which servers can run here, and which modes each one serves.
available=()
for server in ${servers//,/ }; do
    case $server in
    qtpush)
        if [ -x "$bin/qtpush-server" ]; then available+=(qtpush)
        else echo "run.sh: skipping qtpush: $bin/qtpush-server not built" >&2; fi ;;
    node)
        if command -v node >/dev/null \
            && NODE_PATH=${NODE_PATH:-/usr/share/nodejs} node -e "require('ws')" 2>/dev/null; then
            available+=(node)
        else echo "run.sh: skipping node: node or its ws package missing" >&2; fi ;;
    websocketpp)
        if [ -x "$bin/qtpush-bench-websocketpp" ]; then available+=(websocketpp)
        else echo "run.sh: skipping websocketpp: $bin/qtpush-bench-websocketpp not built" >&2; fi ;;
    *) echo "run.sh: unknown server $server" >&2; exit 2 ;;
    esac
done
[ ${#available[@]} -gt 0 ] || { echo "run.sh: no server to measure" >&2; exit 2; }

serves() { # server mode: websocketpp has no SSE or long-poll (no streamed HTTP replies)
    [ "$1" != websocketpp ] || { [ "$2" != sse ] && [ "$2" != poll ] && [ "$2" != idlesse ]; }
}

start_server() {
    local name=$1
    : > "$work/server.out"
    case $name in
    qtpush)
        "${server_cpu[@]}" "$bin/qtpush-server" --host 127.0.0.1 --port 0 \
            > "$work/server.out" 2> "$work/server.err" & ;;
    node)
        NODE_PATH=${NODE_PATH:-/usr/share/nodejs} "${server_cpu[@]}" node "$here/node/server.js" \
            --host 127.0.0.1 --port 0 > "$work/server.out" 2> "$work/server.err" & ;;
    websocketpp)
        "${server_cpu[@]}" "$bin/qtpush-bench-websocketpp" --host 127.0.0.1 --port 0 \
            > "$work/server.out" 2> "$work/server.err" & ;;
    esac
    server_pid=$!
    local i
    for i in $(seq 100); do
        port=$(sed -n 's|^listening on http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$work/server.out")
        [ -n "$port" ] && return 0
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "run.sh: $name did not start listening:" >&2
    cat "$work/server.err" >&2
    stop_server
    return 1
}

stop_server() {
    [ -n "$server_pid" ] || return 0
    kill -TERM "$server_pid" 2>/dev/null
    local i
    for i in $(seq 60); do # qtpush-server closes its connections politely, for up to 5 s
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
    server_pid=
}

failures=0
measure() { # mode server
    local mode=$1 name=$2 args limit
    case $mode in
    fanout|sse|poll)
        args=("$mode" --clients "$clients" --duration "$duration" --warmup "$warmup" --window "$window") ;;
    latency)
        args=(fanout --clients "$clients" --duration "$duration" --warmup "$warmup" --window "$window"
              --rate "$latency_rate") ;;
    idle|idlesse)
        args=("$mode" --clients "$idle_connections") ;;
    esac
    limit=$(awk -v d="$duration" -v w="$warmup" 'BEGIN { printf "%d", d + w + 150 }')
    start_server "$name" || { failures=$((failures + 1)); return; }
    local line
    line=$("${loadgen_cpu[@]}" timeout "$limit" "$loadgen" "${args[@]}" --port "$port" \
           --server "$name" --server-pid "$server_pid" 2> "$work/loadgen.err" | grep '^result ')
    local status=$?
    stop_server
    if [ -z "$line" ]; then
        line="result mode=${args[0]} server=$name status=FAILED reason=no-result"
        sed 's/^/    /' "$work/loadgen.err" >&2
    fi
    line=${line/result mode=fanout /result mode=$mode }
    echo "$line" | tee -a "$log"
    if [ $status -ne 0 ] || [[ $line != *status=ok* ]]; then
        failures=$((failures + 1))
    fi
}

echo "# $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# servers: ${available[*]}; modes: $modes; runs: $runs; clients: $clients;" \
     "idle connections: $idle_connections; duration: $duration s; window: $window;" \
     "latency rate: $latency_rate/s; pinned: $([ $pin = 1 ] && echo yes || echo no)"
echo "# raw results: $log"
deadline=$((SECONDS + max_minutes * 60))
for run in $(seq "$runs"); do
    for mode in ${modes//,/ }; do
        case $mode in fanout|latency|idle|idlesse|sse|poll) ;; *) echo "run.sh: unknown mode $mode" >&2; exit 2 ;; esac
        for name in "${available[@]}"; do
            serves "$name" "$mode" || continue
            if [ $SECONDS -ge $deadline ]; then
                echo "run.sh: --max-minutes $max_minutes reached; summarising what was measured" >&2
                break 3
            fi
            measure "$mode" "$name"
        done
    done
done

# Medians per mode and server over the runs that passed; ratios of those medians.
echo
awk -v servers="${available[*]}" '
function median(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return n == 0 ? "" : (n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2)
}
function fmt(v) { return v == "" ? "-" : (v >= 100 ? sprintf("%.0f", v) : sprintf("%.2f", v)) }
/^result / {
    delete kv
    for (i = 2; i <= NF; i++) { split($i, p, "="); kv[p[1]] = p[2] }
    key = kv["mode"] SUBSEP kv["server"]
    if (kv["status"] != "ok") { failed[key]++; next }
    ok[key]++
    if (!(kv["mode"] in seen)) { seen[kv["mode"]] = 1; order[++nmodes] = kv["mode"] }
    if (kv["mode"] == "idle" || kv["mode"] == "idlesse") metrics = "kib_per_conn connect_s"
    else if (kv["mode"] == "latency") metrics = "p50_us p99_us server_cpu"
    else metrics = "deliveries_per_s p50_us p99_us server_cpu loadgen_cpu"
    nm = split(metrics, m, " ")
    for (i = 1; i <= nm; i++) { values[key, m[i]] = values[key, m[i]] " " kv[m[i]]; metricsOf[kv["mode"]] = metrics }
}
END {
    ns = split(servers, s, " ")
    printf "%-8s %-17s", "mode", "median of"
    for (i = 1; i <= ns; i++) printf " %12s", s[i]
    hasQt = 0; for (i = 1; i <= ns; i++) if (s[i] == "qtpush") hasQt = 1
    if (hasQt) for (i = 1; i <= ns; i++) if (s[i] != "qtpush") printf " %18s", "qtpush/" s[i]
    printf "\n"
    for (k = 1; k <= nmodes; k++) {
        mode = order[k]
        nm = split(metricsOf[mode], m, " ")
        for (j = 1; j <= nm; j++) {
            printf "%-8s %-17s", mode, m[j]
            delete med
            for (i = 1; i <= ns; i++) { med[s[i]] = median(values[mode, s[i], m[j]]); printf " %12s", fmt(med[s[i]]) }
            if (hasQt) for (i = 1; i <= ns; i++) if (s[i] != "qtpush")
                printf " %18s", (med["qtpush"] != "" && med[s[i]] + 0 > 0) ? sprintf("%.2f", med["qtpush"] / med[s[i]]) : "-"
            printf "\n"
        }
        printf "%-8s %-17s", mode, "runs ok/failed"
        for (i = 1; i <= ns; i++) printf " %12s", (ok[mode, s[i]] + 0) "/" (failed[mode, s[i]] + 0)
        printf "\n"
    }
}' "$log"

if [ $failures -gt 0 ]; then
    echo "run.sh: $failures measurement(s) failed; see the result lines above and $log" >&2
    exit 1
fi
exit 0
