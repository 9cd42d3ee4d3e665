#pragma once
// Support for the hostile-client end-to-end tests (test/hostile_*_test.cpp):
// garbage to send, slowloris pacing, and well-behaved clients that keep
// talking on a thread of their own while the test thread plays the hostile
// ones, so "the good clients were never hurt" is checked during the attack,
// not only after it.
#include <gtest/gtest.h>
#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "support/process.hpp"

namespace netlab::testing {

// The sanitizer build (ASan + UBSan): slower, and several times the memory.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
#else
inline constexpr bool kSanitized = false;
#endif

// An RSS bound for the build being tested. Release bounds are what the tests
// state. ASan costs an idle server about 75 MiB (its runtime and shadow
// memory), adds redzones around every allocation and keeps freed memory in
// a quarantine of up to 256 MiB (quarantine_size_mb) to catch use after
// free: there RSS measures how much a scenario allocated, not what the
// server holds. So in that build the bound is four times the release one
// plus 64 MiB for the runtime and 256 MiB for the quarantine; the release
// run is the one that pins memory down.
constexpr long rss_bound_kib(long release_kib) {
  return kSanitized ? 4 * release_kib + (64 + 256) * 1024 : release_kib;
}

// The time left until `deadline`, for the waits of one batch of clients
// that share it (so a failing batch fails within one timeout, not one each).
inline Millis left(Clock::time_point deadline) {
  return Millis(ms_left(deadline));
}

// RSS bounds shared by every server (Release build; rss_bound_kib() scales
// them for ASan). An idle server is about 5 MiB resident (measured: the
// binary and libstdc++, the 64 KiB read scratch, stdio buffers); kIdleRssKib
// leaves 3 MiB on top for the allocator's arenas after a burst.
inline constexpr long kIdleRssKib = 8 * 1024;
// Garbage, overlong lines, slowloris, storms of vanishing clients: a few
// dozen connections hold at most a line (64 KiB) each in flight, and buffers
// over 16 KiB are given back once idle; so the idle bound plus 8 MiB of slack
// for the allocator.
inline constexpr long kBusyRssKib = kIdleRssKib + 8 * 1024;

// About `bytes` bytes of random data cut into lines (every byte value but
// '\n', NULs and invalid UTF-8 included), ending in '\n'; deterministic for a
// seed. Lines are normalized so that every one of them is plain data to
// every server: none is empty, none starts with a blank, '/' or an ASCII
// letter (so none is a cmdserv command, a chat command or "quit") and none
// ends in '\r' (which the line codec strips). Each line's expected reply
// then follows from its bytes alone.
std::string random_lines(size_t bytes, uint32_t seed);
// The lines of `text` without their '\n' (a last unterminated piece included).
std::vector<std::string> split_lines(std::string_view text);

// Lines that are not UTF-8 (stray continuation bytes, overlong forms, UTF-16
// surrogates, truncated sequences, bytes 0xfe/0xff) but still plain data by
// the rule above; and Chinese text.
const std::vector<std::string>& invalid_utf8_lines();
const std::vector<std::string>& chinese_lines();

// Sends `data` in chunks from `sender` and, after each chunk, reads from
// `reader` one line per '\n' the chunk held, so neither side's buffers fill
// (a server that answers slower than we send must never look like a hang).
// Returns everything read; short if a read ran into EOF or the deadline.
std::string send_reading_replies(Client& sender, Client& reader, std::string_view data,
                                 size_t chunk = 64 * 1024);

// Slowloris: writes lines[i] to clients[i] one byte per `per_byte`, all
// clients in step. Between bytes it watches them: a client that becomes
// readable (a reply, a close) before its line is complete is an error.
// Returns "" or what went wrong.
std::string dribble(std::vector<Client>& clients, const std::vector<std::string>& lines,
                    Millis per_byte = Millis(100));

// The CPU time (user + system) `pid` uses over one second in which nothing
// should happen. The second is spent in a poll() on `watch`: a client that
// hears from the server meanwhile is a gtest failure.
double idle_cpu_seconds(pid_t pid, const std::vector<Client*>& watch);

// The largest of the numbers in a /proc/sys file ("4096 131072 6291456").
size_t max_of_sysctl(const char* path, size_t fallback);

// Requests with no reader behind them: `clients` (tiny receive buffers) send
// 64 KiB of 1000-byte lines at a time until the server stops taking them
// (a send makes no progress for 200 ms), or `give_up` bytes each. Returns
// how much each one got rid of.
std::vector<size_t> flood_without_reading(std::vector<Client>& clients, size_t give_up);

// How much a non-reader sends before concluding the server never throttles
// it. Past the 1 MiB cap, what a throttled client can still hand over sits in
// kernel buffers: the server's receive buffer (up to tcp_rmem's maximum) and
// the client's own send buffer. A server without backpressure would take
// all of it and hold the replies.
size_t throttle_give_up();

// Well-behaved clients on a thread: calls `round` again and again (pausing
// between calls) until stopped or until a round reports a failure. A round
// does its own talking and checks every reply byte for byte.
class KeepTalking {
 public:
  // Returns "" when every reply in the round was right, else what was wrong.
  using Round = std::function<std::string(uint64_t round)>;
  explicit KeepTalking(Round round, Millis pause = Millis(20));
  ~KeepTalking();  // stops
  KeepTalking(const KeepTalking&) = delete;
  KeepTalking& operator=(const KeepTalking&) = delete;

  // Waits until `more` rounds have completed after this call; false at the
  // deadline or once a round failed.
  bool wait_for_rounds(uint64_t more, Millis timeout = kTimeout);
  uint64_t rounds();  // completed so far

  struct Result {
    uint64_t rounds = 0;
    Millis slowest{0};  // the longest round: how long a good client waited
    std::string failure;
  };
  // Stops the thread (after the round in progress), prints one line with the
  // figures and returns them.
  Result stop();

 private:
  void loop();

  Round round_;
  Millis pause_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool stopped_ = false;
  Result result_;
  std::thread thread_;  // last: starts once everything above exists
};

// Fails (as a gtest expectation) unless the good clients kept talking without
// a single wrong or missing reply; `min_rounds` proves they talked at all.
::testing::AssertionResult talked_fine(const KeepTalking::Result& r, uint64_t min_rounds);

}  // namespace netlab::testing
