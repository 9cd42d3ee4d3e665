#!/bin/sh
# Broadcast to MEMBERS chat members: starts a chat-server (pinned to CPU 1 when
# taskset exists) and runs `netlab bench fanout` (CPU 0) against it. A thin
# wrapper for a quick look; bench/compare.sh runs the full comparison.
# Usage: bench/chat_fanout.sh [BUILD_DIR=build] [MEMBERS=1000] [WINDOW=16] [SECONDS=5]
set -eu
build=${1:-build}
members=${2:-1000}
window=${3:-16}
seconds=${4:-5}
log=$(mktemp)

pin() { # CPU COMMAND...: runs COMMAND on CPU when taskset exists
    cpu=$1
    shift
    if command -v taskset >/dev/null 2>&1; then taskset -c "$cpu" "$@"; else "$@"; fi
}

cmake --build "$build" --target netlab >/dev/null
# Not "pin ... &": $! would be a subshell, and killing it would leave the server.
if command -v taskset >/dev/null 2>&1; then
    taskset -c 1 "$build/netlab" chat-server --port 0 -q 2>"$log" &
else
    "$build/netlab" chat-server --port 0 -q 2>"$log" &
fi
server=$!
trap 'kill $server 2>/dev/null; rm -f "$log"' EXIT
i=0
until grep -q 'listening on tcp 127.0.0.1' "$log"; do
    i=$((i + 1))
    [ $i -gt 100 ] && { echo "chat-server did not start" >&2; exit 1; }
    sleep 0.05
done
port=$(sed -n 's/.*listening on tcp 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -n 1)
pin 0 "$build/netlab" bench fanout 127.0.0.1 "$port" -c "$members" --window "$window" -d "$seconds"
