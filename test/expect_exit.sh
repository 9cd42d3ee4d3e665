#!/bin/sh
# expect_exit.sh [--stderr] CODE REGEX [REGEX...] -- CMD [ARGS...]
#
# Runs CMD (stdin from /dev/null) and passes when it exits with exactly CODE
# and its stdout+stderr match every extended regex REGEX (grep -E, line by
# line; an empty REGEX matches anything). With --stderr the regexes must match
# stderr alone. ctest by itself only knows pass/fail, while netlab's exit
# codes (0 ok, 1 runtime failure, 2 usage error) are part of its contract.
# CMD is bounded by `timeout`, so a hang fails instead of stalling ctest.
set -u

usage() {
    echo "usage: expect_exit.sh [--stderr] CODE REGEX [REGEX...] -- CMD [ARGS...]" >&2
    exit 64
}

stream=both
if [ "${1:-}" = --stderr ]; then
    stream=stderr
    shift
fi
[ $# -ge 4 ] || usage
want_code=$1
shift
case $want_code in '' | *[!0-9]*) usage ;; esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/expect_exit.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# The regexes, one per line in a file (they may contain anything but newlines).
: >"$tmp/regexes"
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    printf '%s\n' "$1" >>"$tmp/regexes"
    shift
done
[ $# -ge 2 ] || usage
shift

timeout 20 "$@" </dev/null >"$tmp/stdout" 2>"$tmp/stderr"
code=$?
if [ "$stream" = stderr ]; then
    cp "$tmp/stderr" "$tmp/checked"
else
    cat "$tmp/stdout" "$tmp/stderr" >"$tmp/checked"
fi

fail=0
if [ "$code" -ne "$want_code" ]; then
    note=""
    [ "$code" -eq 124 ] && note=" (timed out after 20 s)"
    echo "FAIL: expected exit code $want_code, got $code$note" >&2
    fail=1
fi
while IFS= read -r regex; do
    if [ -n "$regex" ] && ! grep -Eq -- "$regex" "$tmp/checked"; then
        echo "FAIL: $([ "$stream" = stderr ] && echo stderr || echo output) does not match /$regex/" >&2
        fail=1
    fi
done <"$tmp/regexes"

if [ "$fail" -ne 0 ]; then
    echo "command: $*" >&2
    echo "---- stdout ----" >&2
    cat "$tmp/stdout" >&2
    echo "---- stderr ----" >&2
    cat "$tmp/stderr" >&2
    echo "----------------" >&2
    exit 1
fi
echo "ok: exit $code: $*"
