#!/bin/sh
# Smoke test, written the way a user would script netlab:
#   smoke.sh /path/to/netlab
# Starts tserv and userv on ephemeral loopback ports (read from their
# "listening on" lines), pipes lines through tclnt/uclnt (and nc when it is
# installed), checks the timestamped replies with grep, then stops both
# servers with SIGTERM and expects exit 0. Loopback only; bounded in time.
set -eu

if [ $# -ne 1 ]; then
    echo "usage: smoke.sh /path/to/netlab" >&2
    exit 64
fi
NETLAB=$1

# Bound the whole script: if anything hangs, timeout sends SIGTERM and the
# trap below still stops the servers.
if [ -z "${NETLAB_SMOKE_BOUNDED:-}" ]; then
    NETLAB_SMOKE_BOUNDED=1 exec timeout -k 15 60 sh "$0" "$@"
fi

# alive PID: the process exists and is not a zombie (an exited child that
# nobody has reaped yet still answers kill -0).
alive() {
    kill -0 "$1" 2>/dev/null || return 1
    [ -r "/proc/$1/stat" ] || return 0
    state=$(sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f1)
    [ "$state" != Z ]
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/netlab-smoke.XXXXXX")
tserv_pid=""
userv_pid=""
cleanup() {
    for p in $tserv_pid $userv_pid; do
        kill -TERM "$p" 2>/dev/null || continue
        i=0
        while alive "$p" && [ "$i" -lt 40 ]; do
            sleep 0.05
            i=$((i + 1))
        done
        kill -KILL "$p" 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "smoke: interrupted" >&2; exit 1' INT TERM HUP

fail() {
    echo "smoke: FAIL: $*" >&2
    exit 1
}

# ctime as Python's time.ctime(): "Wed Nov  5 11:31:22 2026".
CTIME='[A-Z][a-z]{2} [A-Z][a-z]{2} [ 123][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}'

# wait_port NAME PROTO PID LOG: prints the port from the server's
# "netlab NAME: listening on PROTO 127.0.0.1:PORT" line; gives up after 5 s
# or as soon as the server dies.
wait_port() {
    i=0
    while :; do
        port=$(sed -n "s/^netlab $1: listening on $2 127\\.0\\.0\\.1:\\([0-9][0-9]*\\)\$/\\1/p" "$4" | head -n 1)
        if [ -n "$port" ]; then
            echo "$port"
            return 0
        fi
        if ! alive "$3"; then
            echo "smoke: $1 exited before listening; its stderr:" >&2
            cat "$4" >&2
            return 1
        fi
        i=$((i + 1))
        if [ "$i" -ge 100 ]; then
            echo "smoke: no 'listening on $2 127.0.0.1:PORT' line from $1 within 5 s; its stderr:" >&2
            cat "$4" >&2
            return 1
        fi
        sleep 0.05
    done
}

# expect_reply FILE WORD...: FILE holds exactly one "[<ctime>] WORD" line per
# WORD, in order.
expect_replies() {
    file=$1
    shift
    want=$#
    got=$(wc -l <"$file")
    [ "$got" -eq "$want" ] || { cat "$file" >&2; fail "expected $want reply lines, got $got"; }
    n=1
    for word in "$@"; do
        sed -n "${n}p" "$file" | grep -Eq "^\\[$CTIME\\] $word\$" ||
            { cat "$file" >&2; fail "reply line $n is not '[<ctime>] $word'"; }
        n=$((n + 1))
    done
}

# stop NAME PID LOG: SIGTERM, wait up to 5 s, expect exit 0.
stop() {
    kill -TERM "$2"
    i=0
    while alive "$2"; do
        i=$((i + 1))
        [ "$i" -lt 100 ] || { cat "$3" >&2; fail "$1 still running 5 s after SIGTERM"; }
        sleep 0.05
    done
    rc=0
    wait "$2" || rc=$?
    [ "$rc" -eq 0 ] || { cat "$3" >&2; fail "$1 exited $rc after SIGTERM, want 0"; }
    echo "smoke: $1 stopped by SIGTERM, exit 0"
}

# ---- TCP ---------------------------------------------------------------------
"$NETLAB" tserv --port 0 2>"$tmp/tserv.err" &
tserv_pid=$!
tport=$(wait_port tserv tcp "$tserv_pid" "$tmp/tserv.err")
echo "smoke: tserv listening on 127.0.0.1:$tport"

printf 'hello\nworld\n' | timeout 10 "$NETLAB" tclnt 127.0.0.1 "$tport" >"$tmp/tclnt.out" ||
    fail "tclnt exited $?"
cat "$tmp/tclnt.out"
expect_replies "$tmp/tclnt.out" hello world

# Same server, options instead of positionals, messages from the command line.
timeout 10 "$NETLAB" tclnt -H 127.0.0.1 -p "$tport" -m one -m two >"$tmp/tclnt-m.out" ||
    fail "tclnt -m exited $?"
expect_replies "$tmp/tclnt-m.out" one two

# Interop with a standard tool: OpenBSD nc (-N: half-close after stdin EOF).
if command -v nc >/dev/null 2>&1 && nc -h 2>&1 | grep -q -- '-N'; then
    printf 'hi\n' | timeout 10 nc -N 127.0.0.1 "$tport" >"$tmp/nc.out" || fail "nc exited $?"
    cat "$tmp/nc.out"
    expect_replies "$tmp/nc.out" hi
else
    echo "smoke: SKIP nc interop (no OpenBSD nc with -N)"
fi

stop tserv "$tserv_pid" "$tmp/tserv.err"
tserv_pid=""

# ---- UDP ---------------------------------------------------------------------
"$NETLAB" userv --port 0 2>"$tmp/userv.err" &
userv_pid=$!
uport=$(wait_port userv udp "$userv_pid" "$tmp/userv.err")
echo "smoke: userv listening on 127.0.0.1:$uport"

printf 'hello\nworld\n' | timeout 10 "$NETLAB" uclnt 127.0.0.1 "$uport" >"$tmp/uclnt.out" ||
    fail "uclnt exited $?"
cat "$tmp/uclnt.out"
expect_replies "$tmp/uclnt.out" hello world

stop userv "$userv_pid" "$tmp/userv.err"
userv_pid=""

echo "smoke: PASS"
