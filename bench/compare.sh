#!/usr/bin/env bash
# bench/compare.sh: netlab against the "limit" references (bench/limit/),
# Redis and the tutorial's Python designs (bench/py/), one run, side by side
# (issue 5). Each server runs pinned to CPU 1, the generator
# (`netlab bench`) to CPU 0; servers are interleaved (A B C A B C ...) over
# REPS repetitions and every ratio is taken against the limit measured in
# the same repetition. Prints the table and writes bench/RESULTS.md.
#
# Knobs (environment):  REPS=3 DURATION=2 WARMUP=0.5 (seconds per measurement)
#   IDLE_CONNS=10000 IDLE_HOLD=2  BUDGET=540 (seconds; later runs are skipped)
#   WORKLOADS="rr1 rr50 ..." (subset, see `workloads` below)  BUILD=build
#   SKIP_BUILD=1  OUT=bench/RESULTS.md   Quick check: REPS=1 DURATION=1
# Every process it starts is stopped (SIGTERM, then SIGKILL after a deadline)
# by PID, also on Ctrl-C: nothing else is ever signalled.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
REPS=${REPS:-3} DURATION=${DURATION:-2} WARMUP=${WARMUP:-0.5}
IDLE_CONNS=${IDLE_CONNS:-10000} IDLE_HOLD=${IDLE_HOLD:-2} BUDGET=${BUDGET:-540}
BUILD=${BUILD:-build} OUT=${OUT:-bench/RESULTS.md}
netlab=$BUILD/netlab
work=$(mktemp -d /tmp/netlab-compare.XXXXXX)
records=$work/records.jsonl
declare -A started  # PID -> identity of every server still running

say() { printf 'compare: %s\n' "$*" >&2; }

# --- cleanup: only what we started -------------------------------------------
children_of() { cat /proc/"$1"/task/*/children 2>/dev/null; }
# "PID:STARTTIME": a PID is only signalled while it still names the same
# process, never one that reused the number.
identity() { local s; s=$(cat /proc/"$1"/stat 2>/dev/null) && read -r -a f <<<"${s##*) }" && echo "$1:${f[19]}"; }
alive() { [[ -n $1 && $(identity "${1%%:*}") == "$1" ]]; }
is_zombie() { [[ $(awk '{print $3}' /proc/"$1"/stat 2>/dev/null) == Z ]]; }

# SIGTERM, wait up to 5 s, then SIGKILL; its own children too (fork model,
# strace's tracee), which are ours as well.
stop_pid() {  # PID [NAME]
  local pid=$1 id=${started[$1]:-} kids=() k i
  unset "started[$pid]"
  if alive "$id"; then
    for k in $(children_of "$pid"); do kids+=("$(identity "$k")"); done
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 100; i++)); do
      # Exited but not yet waited for (it is our child): a zombie, done.
      if ! alive "$id" || is_zombie "$pid"; then break; fi
      sleep 0.05
    done
    if alive "$id" && ! is_zombie "$pid"; then
      say "${2:-PID $pid} ignored SIGTERM for 5 s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null
    fi
  fi
  wait "$pid" 2>/dev/null
  for k in "${kids[@]}"; do alive "$k" && kill -KILL "${k%%:*}" 2>/dev/null; done
  return 0
}

cleanup() {
  local pid
  for pid in "${!started[@]}"; do stop_pid "$pid"; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- build and tools -----------------------------------------------------------
if [[ -z ${SKIP_BUILD:-} ]]; then
  say "building netlab (Release) and the limit servers in $BUILD/"
  { cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null &&
    cmake --build "$BUILD" -j2 --target netlab limit_tserv limit_userv limit_chat >/dev/null; } ||
    { say "build failed"; exit 1; }
fi
if ! command -v redis-server >/dev/null; then
  if [[ $(id -u) == 0 ]]; then
    say "installing redis-server"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  fi
  command -v redis-server >/dev/null || { say "redis-server missing: sudo apt-get install redis-server"; exit 1; }
fi
for tool in taskset prlimit python3 redis-cli timeout; do
  command -v "$tool" >/dev/null || { say "$tool missing"; exit 1; }
done
"$netlab" bench rr --help >/dev/null 2>&1 || { say "$netlab has no bench subcommand"; exit 1; }

# BUDGET counts from here: a build on a busy machine takes what it takes.
started_at=$SECONDS

# Pinning needs two CPUs; on one, both share it and the ratios still hold.
if (($(nproc) >= 2)); then server_cpu=1 gen_cpu=0; else server_cpu=0 gen_cpu=0; fi
# 10,000 idle connections need more descriptors than the usual 1024: 65536
# where we may raise the hard limit, else the hard limit we have.
nofile=65536
prlimit --nofile=$nofile:$nofile true 2>/dev/null || nofile=$(ulimit -Hn)
clk_tck=$(getconf CLK_TCK)

# --- servers ---------------------------------------------------------------------
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Sets cmd=(...) for server NAME.
server_cmd() {
  case $1 in
    tserv-reactor | tserv-thread | tserv-fork)
      cmd=("$netlab" tserv --model "${1#tserv-}" -H 127.0.0.1 -p 0 -q) ;;
    userv) cmd=("$netlab" userv -H 127.0.0.1 -p 0 -q) ;;
    chat-server) cmd=("$netlab" chat-server -H 127.0.0.1 -p 0 -q) ;;
    limit-tserv | limit-userv | limit-chat) cmd=("$BUILD/${1/-/_}" 0) ;;
    redis)
      redis_port=$(free_port)
      cmd=(redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no
        --maxclients $((nofile - 64)) --loglevel warning) ;;
    py-threading) cmd=(python3 bench/py/ts_threading.py 0) ;;
    py-asyncio) cmd=(python3 bench/py/ts_asyncio.py 0) ;;
    py-udp) cmd=(python3 bench/py/us_asyncio.py 0) ;;
    py-chat) cmd=(python3 bench/py/chat_asyncio.py 0) ;;
    *) say "unknown server $1"; return 1 ;;
  esac
}

# Generator options that depend on the server: Redis speaks its own protocol.
# One argument per line.
server_args() {  # SERVER MODE
  case $1:$2 in
    redis:rr | redis:idle) printf '%s\n' --payload PING ;;
    redis:fanout) printf '%s\n' --protocol redis ;;
    # Real members: each logs in with its own name to its own room, so no
    # join notice piles up in anyone's queue.
    *chat*:idle) printf '%s\n' --payload 'm{n} r{n}' ;;
  esac
}

# start_server NAME [WRAPPER...]: starts it pinned with a raised fd limit
# (taskset and prlimit exec, so $! is the server itself unless WRAPPER is
# given) and sets spid and sport once it listens, within 15 s.
start_server() {
  local name=$1 log=$work/$1.log i
  shift
  server_cmd "$name" || return 1
  taskset -c "$server_cpu" prlimit --nofile="$nofile:$nofile" -- "$@" "${cmd[@]}" >"$log" 2>&1 &
  spid=$!
  started[$spid]=$(identity "$spid")
  sport=
  for ((i = 0; i < 300; i++)); do
    if [[ $name == redis ]]; then
      [[ $(redis-cli -p "$redis_port" ping 2>/dev/null) == PONG ]] && sport=$redis_port
    else
      sport=$(sed -n 's/.*listening on .*127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$log" 2>/dev/null | head -n 1)
    fi
    [[ -n $sport ]] && return 0
    kill -0 "$spid" 2>/dev/null || break
    sleep 0.05
  done
  say "$name did not start: $(tail -n 3 "$log" | tr '\n' ' ')"
  stop_pid "$spid"
  return 1
}

# Server CPU: "PID TICKS" (utime+stime) for the server (plus the children
# it reaped) and for each live child. Sampled while the generator runs: a
# fork-model child that exits after the run is gone before anyone can read it.
cpu_sample() {
  local files=(/proc/"$1"/stat) k
  for k in $(children_of "$1"); do files+=(/proc/"$k"/stat); done
  # Strip "PID (comm) " first: comm may hold spaces. Then $12/$13 are utime/stime.
  cat "${files[@]}" 2>/dev/null | awk -v server="$1" '{
    pid = $1; sub(/^.*\) /, "")
    print pid, $12 + $13 + (pid == server ? $14 + $15 : 0) }'
}
declare -A cpu_seen
take_sample() {
  local p t
  while read -r p t; do cpu_seen[$p]=$t; done < <(cpu_sample "$1")
}
cpu_total() {
  local t sum=0
  for t in "${cpu_seen[@]}"; do sum=$((sum + t)); done
  echo "$sum"
}

now() { date +%s.%N; }

# Appends one JSON record to $records (bench JSON plus what we measured).
record() {  # WORKLOAD SERVER REP STATUS [BENCH_JSON_FILE CPU_TICKS WALL_S]
  python3 - "$records" "$@" "$clk_tck" <<'EOF'
import json, sys
out, wl, server, rep, status = sys.argv[1:6]
rec = {"workload": wl, "server": server, "rep": int(rep), "status": status}
if status == "ok":
    path, ticks, wall, clk = sys.argv[6:10]
    try:
        rec["bench"] = json.load(open(path))
        rec["cpu_s"] = int(ticks) / int(clk)
        rec["wall_s"] = float(wall)
    except ValueError:
        rec["status"] = "bench printed no JSON"
with open(out, "a") as f:
    f.write(json.dumps(rec) + "\n")
EOF
}

over_budget() { ((SECONDS - started_at > BUDGET)); }

# measure WORKLOAD SERVER REP MODE [BENCH OPTIONS...]
measure() {
  local wl=$1 server=$2 rep=$3 mode=$4 json=$work/out.json c0 c1 t0 t1 rc extra bpid
  shift 4
  if over_budget; then record "$wl" "$server" "$rep" "skipped: over the ${BUDGET} s budget"; return; fi
  if ! start_server "$server"; then record "$wl" "$server" "$rep" "server did not start"; return; fi
  mapfile -t extra < <(server_args "$server" "$mode")
  [[ $mode == idle ]] && extra+=(--server-pid "$spid")
  local bench=("$netlab" bench "$mode" -H 127.0.0.1 -p "$sport" -d "$DURATION" --warmup "$WARMUP"
    --json "$@" "${extra[@]}")
  { echo "taskset -c $server_cpu prlimit --nofile=$nofile:$nofile -- $(printf '%q ' "${cmd[@]}")"
    echo "taskset -c $gen_cpu $(printf '%q ' "${bench[@]}")"; } |
    sed "s/ -p $sport / -p PORT /; s/--port $sport /--port PORT /; s/--server-pid $spid/--server-pid PID/" >>"$work/commands.txt"
  cpu_seen=()
  take_sample "$spid"
  c0=$(cpu_total) t0=$(now)
  timeout -k 5 $((${DURATION%.*} + ${WARMUP%.*} + IDLE_HOLD + 60)) \
    taskset -c "$gen_cpu" "${bench[@]}" >"$json" 2>"$work/bench.err" &
  bpid=$!
  started[$bpid]=$(identity "$bpid")  # so an interrupted run stops it too
  while kill -0 "$bpid" 2>/dev/null; do
    sleep 0.25
    take_sample "$spid"
  done
  wait "$bpid"
  rc=$?
  unset "started[$bpid]"
  take_sample "$spid"
  c1=$(cpu_total) t1=$(now)
  stop_pid "$spid" "$server"
  if ((rc != 0)); then
    say "$wl $server: bench failed ($rc): $(tail -n 2 "$work/bench.err" | tr '\n' ' ')"
    record "$wl" "$server" "$rep" "bench failed (exit $rc)"
    return
  fi
  record "$wl" "$server" "$rep" ok "$json" $((c1 - c0)) "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
}

# System calls per request: the server runs under `strace -c -f`, rr -c 50.
count_syscalls() {  # SERVER
  local server=$1 trace=$work/strace.$1 json=$work/strace.json tracee calls rc i
  if over_budget; then record syscalls "$server" 1 "skipped: over the ${BUDGET} s budget"; return; fi
  start_server "$server" strace -c -f -o "$trace" || { record syscalls "$server" 1 "server did not start"; return; }
  local bench=("$netlab" bench rr -H 127.0.0.1 -p "$sport" -c 50 -d "$DURATION" --warmup 0 --json)
  { echo "taskset -c $server_cpu prlimit --nofile=$nofile:$nofile -- strace -c -f -o FILE $(printf '%q ' "${cmd[@]}")"
    echo "taskset -c $gen_cpu $(printf '%q ' "${bench[@]}")"; } | sed "s/ -p $sport / -p PORT /" >>"$work/commands.txt"
  timeout -k 5 $((${DURATION%.*} + 60)) taskset -c "$gen_cpu" "${bench[@]}" >"$json" 2>/dev/null
  rc=$?
  # Stop the traced server itself so strace writes its summary and exits.
  tracee=$(children_of "$spid" | head -n 1)
  [[ -n $tracee ]] && kill -TERM "$tracee" 2>/dev/null
  for ((i = 0; i < 100; i++)); do
    if ! alive "${started[$spid]}" || is_zombie "$spid"; then break; fi
    sleep 0.05
  done
  stop_pid "$spid" "strace of $server"
  calls=$(awk '$NF == "total" {print $4}' "$trace" 2>/dev/null)
  if ((rc != 0)) || [[ -z $calls ]]; then record syscalls "$server" 1 "failed"; return; fi
  python3 - "$records" "$server" "$calls" "$json" "$trace" <<'EOF'
import json, sys
out, server, calls, path, trace = sys.argv[1:6]
b = json.load(open(path))
top = [l.split()[-1] + "=" + l.split()[3] for l in open(trace) if l[:1] == " " and len(l.split()) >= 5][:6]
rec = {"workload": "syscalls", "server": server, "rep": 1, "status": "ok", "bench": b,
       "syscalls": int(calls), "top": " ".join(top)}
open(out, "a").write(json.dumps(rec) + "\n")
EOF
}

# --- workloads ---------------------------------------------------------------------
tservs="tserv-reactor tserv-thread tserv-fork limit-tserv redis py-threading py-asyncio"
chats="chat-server limit-chat redis py-chat"
declare -A wl_mode wl_args wl_servers
# The workloads with an issue-5 target first, so a run cut short by BUDGET
# still checks them.
workloads="rr50 rr500 rr1 udp50 fanout1000w16 idle syscalls fanout100w16 fanout100w1 fanout1000w1"
wl_mode[rr1]=rr wl_args[rr1]="-c 1" wl_servers[rr1]=$tservs
wl_mode[rr50]=rr wl_args[rr50]="-c 50" wl_servers[rr50]=$tservs
wl_mode[rr500]=rr wl_args[rr500]="-c 500" wl_servers[rr500]=$tservs
wl_mode[udp50]=udp wl_args[udp50]="-c 50" wl_servers[udp50]="userv limit-userv py-udp"
for m in 100 1000; do
  for w in 1 16; do
    wl_mode[fanout${m}w$w]=fanout wl_args[fanout${m}w$w]="-c $m --window $w" wl_servers[fanout${m}w$w]=$chats
  done
done
# idle: one request line per connection; for the chat servers a login
# (bench idle numbers each connection's payload, see server_args).
wl_mode[idle]=idle wl_args[idle]="-c $IDLE_CONNS --hold $IDLE_HOLD"
wl_servers[idle]=${IDLE_SERVERS:-"tserv-reactor limit-tserv redis py-asyncio chat-server"}
workloads=${WORKLOADS:-$workloads}

{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), Linux $(uname -r)"
  echo "netlab: $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD -- net modes main.cpp 2>/dev/null || echo ' + uncommitted changes')"
  echo "redis: $(redis-server --version | sed -n 's/.* v=\([^ ]*\).*/\1/p'), $(python3 --version)"
  echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg) (anything else running shares the two CPUs)"
  echo "settings: REPS=$REPS DURATION=$DURATION WARMUP=$WARMUP IDLE_CONNS=$IDLE_CONNS IDLE_HOLD=$IDLE_HOLD, servers on CPU $server_cpu, generator on CPU $gen_cpu"
} >"$work/meta.txt"
: >"$records"
: >"$work/commands.txt"

for wl in $workloads; do
  if [[ $wl == syscalls ]]; then
    say "syscalls per request (strace -c -f, rr -c 50)"
    for server in tserv-reactor limit-tserv; do count_syscalls "$server"; done
    continue
  fi
  [[ -n ${wl_mode[$wl]:-} ]] || { say "unknown workload $wl"; continue; }
  for ((rep = 1; rep <= REPS; rep++)); do
    say "$wl, repetition $rep/$REPS ($((SECONDS - started_at)) s so far)"
    for server in ${wl_servers[$wl]}; do
      # asyncio needs ~15 s per 1000-member run (each join is announced to
      # every member: 500,000 writes in Python) and sits near 0.1x anyway:
      # one repetition is enough to fit the budget (ALL_REPS=1: every one).
      if ((rep > 1)) && [[ -z ${ALL_REPS:-} && $server == py-chat && $wl == fanout1000* ]]; then
        continue
      fi
      # shellcheck disable=SC2086  # wl_args holds several options
      measure "$wl" "$server" "$rep" "${wl_mode[$wl]}" ${wl_args[$wl]}
    done
  done
done

say "done in $((SECONDS - started_at)) s"
python3 bench/compare_report.py "$records" "$work/meta.txt" "$work/commands.txt" "$OUT" \
  "$((SECONDS - started_at))"
