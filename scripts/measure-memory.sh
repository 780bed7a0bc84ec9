#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Resident memory of qtpush-server after pushes of 64 KiB bodies of many small JSON values
# ([{},{},...]), as docs/server.md (Memory budget) records it.
# Usage: scripts/measure-memory.sh SERVER SESSIONS PUSHES_PER_SESSION [server options...]
# CLIENTS=1: first give every session a long-poll client that goes away (its buffer stays).
# SMALL=1: push the body 1 instead. Needs curl and python3; talks to loopback only.
set -euo pipefail
server=$1
sessions=$2
per=$3
shift 3
work=$(mktemp -d)
if [ -n "${SMALL:-}" ]; then
    printf 1 > "$work/body.json"
else
    python3 -c 'import sys; n = (65536 - 2) // 3; sys.stdout.write("[" + ",".join(["{}"] * n) + "]")' \
        > "$work/body.json"
fi
"$server" --port 0 "$@" > "$work/port.txt" 2> "$work/server.log" &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do
    grep -q listening "$work/port.txt" 2>/dev/null && break
    sleep 0.1
done
base=$(sed 's/listening on //' "$work/port.txt")
metric() { curl -s "$base/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
if [ -n "${CLIENTS:-}" ]; then
    for s in $(seq "$sessions"); do
        echo "-o /dev/null $base/v1/sessions/amp$s/clients/away/pull?wait=0"
    done | xargs -n 60 curl -s
fi
before=$(metric qtpush_resident_memory_bytes)
for s in $(seq "$sessions"); do
    for _ in $(seq "$per"); do echo "-o /dev/null $base/v1/sessions/amp$s/push"; done
done | xargs -P 4 -n 60 curl -s -w '%{http_code}\n' -H 'Content-Type: application/json' \
    --data-binary "@$work/body.json" > "$work/codes.txt"
echo "body of $(stat -c %s "$work/body.json") bytes; answers: $(sort "$work/codes.txt" | uniq -c | tr -s ' \n' ' ')"
echo "resident memory before $(( before / 1048576 )) MiB, after $(( $(metric qtpush_resident_memory_bytes) / 1048576 )) MiB;" \
     "retained $(( $(metric qtpush_retained_bytes) / 1048576 )) MiB; sessions $(metric qtpush_sessions)"
