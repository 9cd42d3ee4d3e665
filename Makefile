# The two commands a new user needs: `make run` and `make test`.
# Both first install missing Debian packages (make deps), then build.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
TSAN_BUILD ?= build-tsan
JOBS       ?= $(shell nproc)
DEBS       := cmake g++ make libcli11-dev libfmt-dev libgtest-dev libgmock-dev libreadline-dev libhiredis-dev \
              python3 netcat-openbsd bash-completion zsh fish help2man redis-server pkg-config \
              clang libclang-rt-14-dev libssl-dev openssl

.PHONY: all deps build build-asan build-tsan run test test-release check-sanitize check-tsan \
        fuzz fuzz-short install bench clean

all: build

# Installs what is missing with apt-get when root; otherwise prints the exact
# command and stops. Nothing is ever downloaded at build time.
deps:
	@missing=""; for p in $(DEBS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "make deps: installing$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  else \
	    echo "make deps: missing packages; run: sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j $(JOBS)

build-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DNETLAB_SANITIZE=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)

run: build
	@NETLAB=$(BUILD)/netlab sh test/demo.sh

test-release: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 120

# The whole suite again with AddressSanitizer + UndefinedBehaviorSanitizer.
check-sanitize: build-asan
	cd $(ASAN_BUILD) && ASAN_OPTIONS=halt_on_error=1:detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS) --timeout 180

# libFuzzer targets (test/fuzz, built with clang): FUZZ_SECONDS each, or 5 s
# each inside make test; prints each one's exec count and coverage.
fuzz: deps
	JOBS=$(JOBS) sh test/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

fuzz-short: deps
	JOBS=$(JOBS) sh test/fuzz/run.sh $(FUZZ_BUILD) 5


# ThreadSanitizer for the threaded paths: --model thread, bench -t N and the
# tracer they call (fork and the reactor run one thread). Only the binary is
# built with TSan; the Release test binary runs the end-to-end tests that
# drive those paths against it through NETLAB_BINARY. A report fails the run
# twice over: halt_on_error makes that netlab exit 66, which its test sees,
# and the report files are checked after the run, so one from a process
# whose exit status no test looks at fails it too.
TSAN_TESTS ?= /thread( |$$)|thread_|ThreadModel|^Bench(Rr|Udp|Fanout|Idle)\.
# The hostile-client tests bound the server's RSS for the build under test,
# which TSan's shadow memory makes meaningless: they run in the other passes.
TSAN_EXCLUDE ?= ^Hostile
TSAN_REPORTS = $(abspath $(TSAN_BUILD))/reports

build-tsan: deps
	cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DNETLAB_TSAN=ON -DNETLAB_TESTS=OFF
	cmake --build $(TSAN_BUILD) -j $(JOBS) --target netlab

check-tsan: build build-tsan
	rm -rf $(TSAN_REPORTS) && mkdir -p $(TSAN_REPORTS)
	cd $(BUILD) && NETLAB_BINARY=$(abspath $(TSAN_BUILD))/netlab \
	  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 exitcode=66 log_path=$(TSAN_REPORTS)/tsan" \
	  ctest --output-on-failure --no-tests=error -j $(JOBS) --timeout 180 -R '$(TSAN_TESTS)' -E '$(TSAN_EXCLUDE)'; \
	rc=$$?; \
	if ls $(TSAN_REPORTS)/tsan.* >/dev/null 2>&1; then \
	  cat $(TSAN_REPORTS)/tsan.*; echo "check-tsan: ThreadSanitizer reported the above"; exit 1; \
	fi; \
	exit $$rc

test: test-release check-sanitize check-tsan fuzz-short

PREFIX ?= /usr/local
install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

# Side-by-side performance run against Redis, the limit references and the
# Python designs (bench/compare.sh, about 10 minutes; writes bench/RESULTS.md).
# Not part of make test. Quick check: make bench REPS=1 DURATION=1 (make
# exports command-line variables to the script).
bench: deps
	bench/compare.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD)
