#pragma once
// The four load generators of `netlab bench`, one file each. Each runs a
// whole measurement and returns what it measured; setup failures (cannot
// connect, fd limit too low) throw with a one-line message.
#include "modes/bench/options.hpp"
#include "modes/bench/report.hpp"

namespace netlab::modes::bench {

Result run_rr(const Options& o);      // modes/bench/rr.cpp
Result run_udp(const Options& o);     // modes/bench/udp.cpp
Result run_fanout(const Options& o);  // modes/bench/fanout.cpp
Result run_idle(const Options& o);    // modes/bench/idle.cpp

// Raises RLIMIT_NOFILE and throws when it still cannot hold `sockets`.
void ensure_fd_limit(size_t sockets);

}  // namespace netlab::modes::bench
