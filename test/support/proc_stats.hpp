#pragma once
// What /proc says about a server the test started: memory, CPU time, open
// fds and leftover processes. The hostile-client tests use these to prove a
// server stayed bounded (RSS), did not spin (CPU time), leaked nothing (fds)
// and left no worker behind (process group) — things no reply can show.
#include <gtest/gtest.h>
#include <sys/types.h>

#include <optional>
#include <string_view>
#include <vector>

#include "support/process.hpp"

namespace netlab::testing {

struct MemoryUse {
  long rss_kib = 0;   // VmRSS: resident now
  long peak_kib = 0;  // VmHWM: the most it was ever resident
};
// From /proc/PID/status; nullopt if the process is gone.
std::optional<MemoryUse> memory_use(pid_t pid);

// User plus system CPU time so far, in seconds, from /proc/PID/stat
// (clock-tick resolution, 10 ms here).
std::optional<double> cpu_seconds(pid_t pid);

// How many fds the process holds (entries of /proc/PID/fd); -1 if gone.
int open_fd_count(pid_t pid);
// Waits until the process holds at most `want` fds (closing is asynchronous
// to the client's close); returns the last count seen.
int wait_for_fd_count_at_most(pid_t pid, int want, Millis timeout = kTimeout);

// Every live process (not zombies) in process group `pgid`, `except` left out.
std::vector<pid_t> live_processes_in_group(pid_t pgid, pid_t except);

// Waits until `pid` (a child of the test) has exited, without reaping it, so
// what it left behind can still be found by its process group id (which
// cannot be reused while the zombie exists). False at the deadline.
bool wait_exited_unreaped(pid_t pid, Millis timeout = kTimeout);

// Reads the server's memory use, prints one line for the log and records it
// as test properties ("<key>_rss_kib", "<key>_peak_rss_kib" in the XML
// report), and checks the current RSS against bound_kib.
::testing::AssertionResult rss_within(pid_t pid, std::string_view key, long bound_kib);

}  // namespace netlab::testing
