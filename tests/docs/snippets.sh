#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The code blocks of README.md and docs/*.md, checked by their language, as they are in the
# source tree when the test runs (tests/README.md, "docs_snippets"):
#
#   cpp    compiled and linked against the installed package (find_package(QtPush)). A block
#          with a main() is a program as it stands; any other is a fragment: its #includes, and
#          those of the earlier cpp blocks of the same page, go on top of <QtCore/QtCore> and
#          <QtNetwork/QtNetwork>, and its statements become the body of a member function of
#          a QObject (so `this` is a QObject, as in an application's class).
#   cmake  configured and built against the installed package; a block without project() gets
#          cmake_minimum_required(), project() and an executable for each target it links.
#   qml    created by qtpush-qmlsnippet, offscreen. A block that starts with its imports must
#          load without an error or a warning; any other is a fragment, wrapped in
#          `import QtQuick; import QtPush; Item { ... }`, and must load without an error.
#   sh     checked by bash -n; a block that runs curl is run against a qtpush-server this script
#          starts on a free port, each curl answered with a 2xx status (a stream or a waiting
#          long-poll passes once its 2xx head came).
# Port 8080 in a snippet stands for that server (sh) or a free port (qml): a test never binds a
# fixed port. Other languages (console transcripts, json, text, js, ini) are shown, not run.
# A block is left out only with a reason, in a comment on the line before it:
#   <!-- snippet: skip (needs a display) -->
#
#   snippets.sh SOURCE_DIR BUILD_DIR WORK_DIR QML_RUNNER SERVER GENERATOR CXX [LAUNCHER]
set -uo pipefail

SOURCE=$1 BUILD=$2 WORK=$3 QML_RUNNER=$4 SERVER=$5 GENERATOR=$6 CXX=$7 LAUNCHER=${8:-}
HERE=$(cd "$(dirname "$0")" && pwd)

rm -rf "$WORK"
mkdir -p "$WORK/blocks"
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
        printf '%s\n' "$line" | sed 's/^/    /'
    done
}

cd "$SOURCE" || exit 2
docs=(README.md)
for page in docs/*.md; do
    [ -f "$page" ] && docs+=("$page")
done
awk -v out="$WORK/blocks" -f "$HERE/extract.awk" "${docs[@]}"
touch "$WORK/blocks/index"

# Blocks by language; skipped ones are reported and left out here.
declare -A WHERE LANG
CPP=() CMAKE=() QML=() SH=()
while IFS=$'\t' read -r n lang where skip; do
    WHERE[$n]=$where
    LANG[$n]=$lang
    if [ "$skip" = "?" ]; then
        fail "$where ($lang): a snippet: skip comment names no reason" \
            "write <!-- snippet: skip (why it cannot run) -->"
        continue
    elif [ -n "$skip" ]; then
        echo "ok - $where ($lang) # SKIP $skip"
        continue
    fi
    case "$lang" in
        cpp) CPP+=("$n") ;;
        cmake) CMAKE+=("$n") ;;
        qml) QML+=("$n") ;;
        sh) SH+=("$n") ;;
    esac
done <"$WORK/blocks/index"
block() { printf '%s/blocks/%s.%s' "$WORK" "$1" "${LANG[$1]}"; }

# ------------------------------------------------------------------ the installed package
STAGE=$WORK/stage
if [ ${#CPP[@]} -gt 0 ] || [ ${#CMAKE[@]} -gt 0 ]; then
    if ! cmake --install "$BUILD" --prefix "$STAGE" >"$WORK/install.log" 2>&1; then
        fail "cmake --install $BUILD" "$(tail -n 20 "$WORK/install.log")"
        echo "$PASSED passed, $FAILED failed"
        exit 1
    fi
fi
configure_args=(-G "$GENERATOR" -DCMAKE_PREFIX_PATH="$STAGE" -DCMAKE_CXX_COMPILER="$CXX"
                -DCMAKE_BUILD_TYPE=Debug)
[ -n "$LAUNCHER" ] && configure_args+=(-DCMAKE_CXX_COMPILER_LAUNCHER="$LAUNCHER")

# ------------------------------------------------------------------ cpp
if [ ${#CPP[@]} -gt 0 ]; then
    project=$WORK/cpp
    mkdir -p "$project"
    cat >"$project/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.25)
project(QtPushDocSnippets LANGUAGES CXX)
set(CMAKE_CXX_STANDARD 17)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
find_package(Qt6 6.4 REQUIRED COMPONENTS Core Network)
find_package(QtPush 0.1 REQUIRED)
EOF
    declare -A EARLIER # the includes of the earlier cpp blocks of each page
    for n in "${CPP[@]}"; do
        page=${WHERE[$n]%:*}
        src=$project/snippet_$n.cpp
        if grep -qE '\bint[[:space:]]+main[[:space:]]*\(' "$(block "$n")"; then
            cp "$(block "$n")" "$src"
        else
            includes=$(grep -E '^[[:space:]]*#[[:space:]]*include' "$(block "$n")")
            {
                echo "// ${WHERE[$n]}, a fragment: its statements in a QObject's member function."
                echo '#include <QtCore/QtCore>'
                echo '#include <QtNetwork/QtNetwork>'
                printf '%s\n' "${EARLIER[$page]:-}" "$includes"
                echo 'struct Snippet : public QObject'
                echo '{'
                echo '    void run();'
                echo '};'
                echo 'void Snippet::run()'
                echo '{'
                echo "#line $(( ${WHERE[$n]##*:} + 1 )) \"$SOURCE/$page\""
                sed -E 's/^[[:space:]]*#[[:space:]]*include.*$//' "$(block "$n")"
                echo '}'
                echo 'int main()'
                echo '{'
                echo '    Snippet snippet;'
                echo '    snippet.run();'
                echo '}'
            } >"$src"
            EARLIER[$page]=$(printf '%s\n%s' "${EARLIER[$page]:-}" "$includes")
        fi
        cat >>"$project/CMakeLists.txt" <<EOF
add_executable(snippet_$n snippet_$n.cpp)
target_link_libraries(snippet_$n PRIVATE QtPush::Core QtPush::Server QtPush::Client
                                         \$<TARGET_NAME_IF_EXISTS:QtPush::SqliteBroker>
                                         Qt6::Core Qt6::Network)
EOF
    done
    if cmake -S "$project" -B "$project/build" "${configure_args[@]}" >"$project/configure.log" 2>&1
    then
        for n in "${CPP[@]}"; do
            if cmake --build "$project/build" --target "snippet_$n" >"$project/$n.log" 2>&1; then
                pass "${WHERE[$n]} (cpp) compiles and links"
            else
                fail "${WHERE[$n]} (cpp) compiles and links" \
                    "$(grep -E 'error|undefined' "$project/$n.log" | head -n 15)"
            fi
        done
    else
        fail "the cpp snippets' project configures" "$(tail -n 20 "$project/configure.log")"
    fi
fi

# ------------------------------------------------------------------ cmake
for n in "${CMAKE[@]}"; do
    project=$WORK/cmake-$n
    mkdir -p "$project"
    echo 'int main() { return 0; }' >"$project/main.cpp"
    {
        if ! grep -qE '^[[:space:]]*project[[:space:]]*\(' "$(block "$n")"; then
            echo 'cmake_minimum_required(VERSION 3.25)'
            echo 'project(QtPushDocSnippet LANGUAGES CXX)'
            echo 'set(CMAKE_CXX_STANDARD 17)'
            defined=$(grep -oE '(add_executable|add_library|qt_add_executable)[[:space:]]*\([[:space:]]*[A-Za-z0-9_.+-]+' \
                          "$(block "$n")" | sed -E 's/.*\([[:space:]]*//')
            for target in $(grep -oE 'target_link_libraries[[:space:]]*\([[:space:]]*[A-Za-z0-9_.+-]+' \
                                "$(block "$n")" | sed -E 's/.*\([[:space:]]*//' | sort -u); do
                grep -qxF "$target" <<<"$defined" || echo "add_executable($target main.cpp)"
            done
        fi
        cat "$(block "$n")"
    } >"$project/CMakeLists.txt"
    if cmake -S "$project" -B "$project/build" "${configure_args[@]}" >"$project/log" 2>&1 \
        && cmake --build "$project/build" >>"$project/log" 2>&1; then
        pass "${WHERE[$n]} (cmake) configures and builds against the installed package"
    else
        fail "${WHERE[$n]} (cmake) configures and builds against the installed package" \
            "$(grep -E -A3 'Error|error' "$project/log" | head -n 20)"
    fi
done

# ------------------------------------------------------------------ qml
if [ ${#QML[@]} -gt 0 ]; then
    args=()
    for n in "${QML[@]}"; do
        file=$WORK/blocks/$n.qml
        # A fixed port stands for a free one.
        sed -i -E 's/(port:[[:space:]]*)8080\b/\10/' "$file"
        if grep -qE '^[[:space:]]*import[[:space:]]' "$file"; then
            args+=("${WHERE[$n]}=$file")
        else
            {
                echo 'import QtQuick'
                echo 'import QtPush'
                echo 'Item {'
                cat "$WORK/blocks/$n.qml"
                echo '}'
            } >"$WORK/blocks/$n.fragment.qml"
            args+=(--fragment "${WHERE[$n]}=$WORK/blocks/$n.fragment.qml")
        fi
    done
    QT_QPA_PLATFORM=offscreen "$QML_RUNNER" "${args[@]}" >"$WORK/qml.log" 2>&1
    status=$?
    cat "$WORK/qml.log"
    PASSED=$((PASSED + $(grep -c '^ok - ' "$WORK/qml.log")))
    FAILED=$((FAILED + $(grep -c '^not ok - ' "$WORK/qml.log")))
    if [ "$status" -ne 0 ] && ! grep -q '^not ok - ' "$WORK/qml.log"; then
        fail "qtpush-qmlsnippet ran" "exit $status"
    fi
fi

# ------------------------------------------------------------------ sh
for n in "${SH[@]}"; do
    file=$(block "$n")
    if ! errors=$(bash -n "$file" 2>&1); then
        fail "${WHERE[$n]} (sh) is valid shell" "$errors"
        continue
    fi
    if ! grep -qE '(^|[;&|[:space:]])curl[[:space:]]' "$file"; then
        pass "${WHERE[$n]} (sh) is valid shell"
        continue
    fi
    run=$WORK/sh-$n
    mkdir -p "$run"
    "$SERVER" --host 127.0.0.1 --port 0 >"$run/server.out" 2>"$run/server.err" &
    server=$!
    url=""
    for _ in $(seq 300); do # the first line once the port is open (docs/server.md); 30 s at most
        line=$(head -n 1 "$run/server.out" 2>/dev/null)
        [[ $line == "listening on http://"* ]] && url=${line#listening on } && break
        kill -0 "$server" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$url" ]; then
        fail "${WHERE[$n]} (sh): qtpush-server started" "$(cat "$run/server.err")"
        kill "$server" 2>/dev/null
        wait "$server" 2>/dev/null
        continue
    fi
    hostport=${url#http://}
    sed -E "s#(127\.0\.0\.1|localhost):8080#$hostport#g" "$file" >"$run/block.sh"
    : >"$run/calls"
    : >"$run/failures"
    cat >"$run/run.sh" <<'EOF'
# curl as the snippet calls it, but each call checked: it must get a 2xx head. A stream
# (curl -N of events) or a long-poll still running once its head came is stopped there. Calls
# are counted in files: a curl in a pipeline runs in a subshell.
curl()
{
    local calls
    calls=$(($(wc -l <"$RUN/calls") + 1))
    echo "$calls" >>"$RUN/calls"
    local headfile="$RUN/curl.$calls.head" out="$RUN/curl.$calls.out" pid status rc=0
    command curl -sS -D "$headfile" -o "$out" "$@" 2>"$RUN/curl.$calls.err" &
    pid=$!
    for _ in $(seq 1200); do # bounded (120 s), not timed: a waiting long-poll answers in 30 s
        kill -0 "$pid" 2>/dev/null || break
        grep -q $'^\r$' "$headfile" 2>/dev/null && break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null && grep -q $'^\r$' "$headfile"; then
        kill "$pid" 2>/dev/null # a stream: its head is all there is to check
        wait "$pid" 2>/dev/null
    else
        kill "$pid" 2>/dev/null # no head in 120 s: rc says so
        wait "$pid" || rc=$?
    fi
    status=$(head -n 1 "$headfile" 2>/dev/null | awk '{print $2}')
    if [[ $status == 2?? ]] && [ "$rc" -eq 0 ]; then
        echo "curl $*: $status"
    else
        echo "$calls" >>"$RUN/failures"
        echo "FAILED curl $*: status ${status:-none}, exit $rc; $(cat "$RUN/curl.$calls.err")"
        head -c 300 "$out" 2>/dev/null
        echo
    fi
}
EOF
    {
        echo 'source "$RUN/block.sh"'
        echo 'calls=$(wc -l <"$RUN/calls") failures=$(wc -l <"$RUN/failures")'
        echo 'echo "curl calls: $calls, failed: $failures"'
        echo '[ "$calls" -gt 0 ] && [ "$failures" -eq 0 ]'
    } >>"$run/run.sh"
    if RUN=$run PATH="$(dirname "$SERVER"):$PATH" bash "$run/run.sh" >"$run/log" 2>&1; then
        calls=$(sed -n 's/^curl calls: \([0-9]*\),.*/\1/p' "$run/log")
        pass "${WHERE[$n]} (sh) runs against a qtpush-server: $calls curl calls, each 2xx"
    else
        fail "${WHERE[$n]} (sh) runs against a qtpush-server" "$(cat "$run/log")"
    fi
    kill "$server" 2>/dev/null
    wait "$server" 2>/dev/null
done

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
