#pragma once

namespace netlab::net {

// Raises the RLIMIT_NOFILE soft limit to the hard limit, so a server takes
// 10,000 clients without the user touching ulimit. Returns the new soft limit.
long raise_fd_limit();

}  // namespace netlab::net
