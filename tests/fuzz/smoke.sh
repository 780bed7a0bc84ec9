#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# smoke.sh <fuzzer> <corpus> <workdir> <seconds> [<dictionary>]: runs a libFuzzer target for
# <seconds> over a copy of <corpus> in <workdir>, so that what it finds never lands in the source
# tree. Fails, as libFuzzer exits, on a crash, a leak, a failed property check or an input slower
# than 25 s; the input that failed is left in <workdir>/ to reproduce with `<fuzzer> <file>`.
set -euo pipefail
fuzzer=$1 corpus=$2 work=$3 seconds=$4

rm -rf "$work"
mkdir -p "$work/corpus"
if [ -d "$corpus" ]; then
    cp -R "$corpus"/. "$work/corpus"/
fi
options=()
if [ $# -ge 5 ]; then
    options+=(-dict="$5")
fi
exec "$fuzzer" -max_total_time="$seconds" -timeout=25 -print_final_stats=1 \
    -artifact_prefix="$work/" "${options[@]}" "$work/corpus"
