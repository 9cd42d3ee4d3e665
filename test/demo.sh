#!/bin/sh
# The live demo behind `make run`: TCP and UDP timestamp servers, cmdserv and
# chat, each talked to by netlab's own clients from a script with the
# transcript shown, then a one-second netlab bench against the TCP server.
set -eu
NETLAB=${NETLAB:-build/netlab}
tmp=$(mktemp -d)
pids=""
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# Starts a server on port 0 in the background (stdout detached, so no
# command substitution waits on it).
start_server() {
  name=$1; shift
  "$NETLAB" "$name" --port 0 -v "$@" >/dev/null 2>"$tmp/$name.log" &
  pids="$pids $!"
}

# Prints the port a server got, read from its "listening on" line (bounded wait).
port_of() {
  name=$1
  i=0
  while ! grep -q 'listening on' "$tmp/$name.log" 2>/dev/null; do
    i=$((i + 1)); [ $i -gt 100 ] && { echo "demo: $name did not start" >&2; cat "$tmp/$name.log" >&2; exit 1; }
    sleep 0.05
  done
  sed -n 's/.*listening on [a-z]* 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/$name.log" | head -n 1
}

# Waits (at most 5 s) until server NAME's log has a line matching PATTERN.
wait_for_log() {
  n=0
  until grep -q "$2" "$tmp/$1.log" 2>/dev/null; do
    n=$((n + 1)); [ $n -gt 100 ] && return 1
    sleep 0.05
  done
}

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "TCP: netlab tserv (epoll reactor) on an ephemeral port"
start_server tserv
port=$(port_of tserv)
cat "$tmp/tserv.log"
say "printf 'hello\\nnetlab 你好\\n' | netlab tclnt 127.0.0.1 $port"
printf 'hello\nnetlab 你好\n' | "$NETLAB" tclnt 127.0.0.1 "$port"
say "netlab tclnt -H ::1 -p $port -m 'over IPv6' --one-shot -m 'one connection per message'"
"$NETLAB" tclnt -H ::1 -p "$port" -m 'over IPv6' --one-shot -m 'one connection per message'

say "UDP: netlab userv"
start_server userv
uport=$(port_of userv)
say "printf 'ping\\npong\\n' | netlab uclnt 127.0.0.1 $uport"
printf 'ping\npong\n' | "$NETLAB" uclnt 127.0.0.1 "$uport"

say "Commands: netlab cmdserv (exercise 16-5), listing the demo's own folder"
mkdir -p "$tmp/root/docs" && : >"$tmp/root/readme.txt"
start_server cmdserv --root "$tmp/root"
mport=$(port_of cmdserv)
say "printf 'date\\nos\\nls\\nls ..\\nhelp\\n' | netlab tclnt 127.0.0.1 $mport"
printf 'date\nos\nls\nls ..\nhelp\n' | "$NETLAB" tclnt 127.0.0.1 "$mport"

say "Chat: netlab chat-server and two scripted chat-clients"
start_server chat-server --history 5
cport=$(port_of chat-server)
# alice joins first and stays a moment; bob says hello and asks who is here.
# alice's stdin stays open until the server has seen bob leave (bounded).
(
  printf 'hi bob, alice here\n'
  wait_for_log chat-server 'bob left lobby' || true
) | "$NETLAB" chat-client -u alice -r lobby 127.0.0.1 "$cport" >"$tmp/alice.out" &
wait_for_log chat-server 'alice joined lobby' || { echo "demo: alice did not join" >&2; exit 1; }
say "printf 'hello alice\n/who\n' | netlab chat-client -u bob -r lobby 127.0.0.1 $cport"
printf 'hello alice\n/who\n' | "$NETLAB" chat-client -u bob -r lobby 127.0.0.1 "$cport"
wait $!
say "what alice saw"
cat "$tmp/alice.out"

say "Load: netlab bench rr -c 50 -d 1 127.0.0.1 $port (the tserv above, one second)"
tserv_lines=$(wc -l <"$tmp/tserv.log")
"$NETLAB" bench rr -c 50 -d 1 --warmup 0.2 127.0.0.1 "$port"

say "Stopping the servers with SIGTERM (a clean stop, exit 0)"
for p in $pids; do kill -TERM "$p"; done
for p in $pids; do wait "$p"; done
pids=""
say "Server logs (-v)"
head -n "$tserv_lines" "$tmp/tserv.log"
echo "netlab tserv: ... $(($(wc -l <"$tmp/tserv.log") - tserv_lines)) more lines (the bench's 50 connections, then shutting down)"
cat "$tmp/userv.log" "$tmp/cmdserv.log" "$tmp/chat-server.log"
