#!/bin/sh
# Chat fan-out through the cluster: deliveries per second for MEMBERS members
# (a) on one chat-server without --cluster, (b) on one node with --cluster,
# (c) split over two --cluster nodes (the publisher on the first), all
# against a redis-server of this script's own on a free loopback port.
# Servers are pinned to CPU 1 and the generator to CPU 0 when taskset exists
# (this machine has 2 cores: both nodes and Redis share CPU 1).
# Usage: bench/cluster_fanout.sh [BUILD_DIR=build] [MEMBERS=1000] [WINDOW=16] [SECONDS=5]
set -eu
build=${1:-build}
members=${2:-1000}
window=${3:-16}
seconds=${4:-5}
netlab=$build/netlab
tmp=$(mktemp -d)
pids=""

pin() { # CPU COMMAND...: runs COMMAND on CPU when taskset exists
    cpu=$1
    shift
    if command -v taskset >/dev/null 2>&1; then taskset -c "$cpu" "$@"; else "$@"; fi
}
# bg CPU COMMAND...: COMMAND in the background (pinned), its pid in $pids.
# Not through pin: "pin ... &" would put a subshell between $! and COMMAND.
bg() {
    cpu=$1
    shift
    if command -v taskset >/dev/null 2>&1; then taskset -c "$cpu" "$@" & else "$@" & fi
    pids="$pids $!"
}
stop_all() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    for p in $pids; do wait "$p" 2>/dev/null || true; done
    pids=""
}
trap 'stop_all; rm -rf "$tmp"' EXIT

# start_node LOG ARGS...: a chat-server in the background; sets $port.
# (Not in $(...): a subshell would lose $pids.)
start_node() {
    log=$1
    shift
    bg 1 "$netlab" chat-server --port 0 -q "$@" 2>"$log"
    i=0
    until grep -q 'listening on tcp 127.0.0.1' "$log"; do
        i=$((i + 1))
        [ $i -gt 200 ] && { echo "chat-server did not start: $(cat "$log")" >&2; exit 1; }
        sleep 0.05
    done
    port=$(sed -n 's/.*listening on tcp 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -n 1)
}

# Redis has no --port 0: try ports until one is free; sets $redis.
start_redis() {
    for try in 1 2 3 4 5; do
        redis=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        bg 1 redis-server --port "$redis" --bind 127.0.0.1 --save '' --appendonly no \
            --loglevel warning >"$tmp/redis.log" 2>&1
        i=0
        while [ $i -lt 100 ]; do
            redis-cli -p "$redis" ping >/dev/null 2>&1 && return 0
            kill -0 "${pids##* }" 2>/dev/null || break
            i=$((i + 1))
            sleep 0.05
        done
    done
    echo "redis-server did not start" >&2
    exit 1
}

rate() { # bench fanout ARGS...: prints deliveries/s
    pin 0 "$netlab" bench fanout -c "$members" --window "$window" -d "$seconds" --json "$@" |
        python3 -c 'import json,sys; r=json.load(sys.stdin); print("%.0f %.0f" % (r["rate"], r["latency_us"]["p99"]))'
}

cmake --build "$build" --target netlab >/dev/null
echo "members=$members window=$window seconds=$seconds"

start_node "$tmp/single.log"
set -- $(rate 127.0.0.1 "$port")
single=$1
echo "one chat-server, no cluster:      $1 deliveries/s, p99 $2 us"
stop_all

start_redis
start_node "$tmp/one.log" --cluster "redis://127.0.0.1:$redis"
set -- $(rate 127.0.0.1 "$port")
one=$1
echo "one --cluster node:               $1 deliveries/s, p99 $2 us"
stop_all

start_redis
start_node "$tmp/n1.log" --cluster "redis://127.0.0.1:$redis"
p1=$port
start_node "$tmp/n2.log" --cluster "redis://127.0.0.1:$redis"
p2=$port
set -- $(rate 127.0.0.1 "$p1" --member-port "$p1" --member-port "$p2")
two=$1
echo "two --cluster nodes, split:       $1 deliveries/s, p99 $2 us"
python3 -c "print('ratios: one node with --cluster / without: %.2f; two nodes / one node without: %.2f' % ($one / $single, $two / $single))"
