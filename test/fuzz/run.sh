#!/bin/sh
# make fuzz / make fuzz-short: builds the libFuzzer targets with clang in
# BUILD_DIR and runs each for SECONDS on a copy of its seed corpus, so new
# inputs libFuzzer finds never land in the source tree. Every run starts by
# replaying the whole corpus, which makes the saved crash inputs a regression
# test. Prints each target's final "#N DONE cov: X ft: Y" line; exits 1 if
# any target crashed, leaked or broke an invariant.
#   usage: test/fuzz/run.sh BUILD_DIR SECONDS [TARGET...]
set -u
build=${1:?usage: run.sh BUILD_DIR SECONDS [TARGET...]}
seconds=${2:?usage: run.sh BUILD_DIR SECONDS [TARGET...]}
shift 2
src=$(cd "$(dirname "$0")/../.." && pwd)
fuzz_src="$src/test/fuzz"
targets=${*:-"line_codec_fuzz address_fuzz chat_protocol_fuzz chat_rooms_fuzz cmdserv_fuzz"}

# Without clang's libFuzzer there is nothing to build: say so, do not fail
# (make deps installs clang and libclang-rt-14-dev when run as root).
mkdir -p "$build"
probe="$build/libfuzzer-probe"
printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' \
  > "$probe.cpp"
if ! command -v clang++ >/dev/null 2>&1 ||
   ! clang++ -fsanitize=fuzzer "$probe.cpp" -o "$probe" >/dev/null 2>&1; then
  echo "fuzz: SKIPPED: clang++ with libFuzzer not found (install clang and libclang-rt-14-dev)"
  exit 0
fi

cmake -S "$src" -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug \
  -DNETLAB_FUZZ=ON -DNETLAB_TESTS=OFF >"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log"; exit 1; }
echo "fuzz: building the targets in $build"
# shellcheck disable=SC2086 # one word per target
cmake --build "$build" -j "${JOBS:-$(nproc)}" --target $targets >"$build/build.log" 2>&1 ||
  { tail -n 40 "$build/build.log"; exit 1; }

status=0
for t in $targets; do
  corpus="$build/corpus/$t"
  rm -rf "$corpus"
  mkdir -p "$corpus" "$build/artifacts"
  cp "$fuzz_src/corpus/$t/"* "$corpus/"
  dict=""
  [ -f "$fuzz_src/$t.dict" ] && dict="-dict=$fuzz_src/$t.dict"
  log="$build/$t.log"
  # -timeout: an input that takes 10 s is a hang, not a slow input.
  # shellcheck disable=SC2086 # $dict is one word or none
  "$build/test/fuzz/$t" -max_total_time="$seconds" -timeout=10 $dict \
    -artifact_prefix="$build/artifacts/$t-" "$corpus" >"$log" 2>&1
  rc=$?
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 | tr -s ' \t' ' ')
  if [ "$rc" -eq 0 ] && [ -n "$done_line" ]; then
    echo "fuzz: $t: ${seconds}s: $done_line"
  else
    status=1
    echo "fuzz: $t: FAILED (exit $rc); the input is in $build/artifacts/, the log in $log:"
    grep -E 'ERROR|invariant broken|runtime error|SUMMARY|Test unit written' "$log" | head -n 20
  fi
done
exit $status
