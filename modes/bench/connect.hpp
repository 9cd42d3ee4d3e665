#pragma once
// Opening the generator's connections: one probe that turns "the server is
// not there" into a clear error, then many non-blocking connects with a
// bounded number outstanding, so that thousands of them never overflow a
// small listen backlog.
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "net/address.hpp"
#include "net/endpoint.hpp"
#include "net/socket.hpp"

namespace netlab::modes::bench {

// The address that accepted the probe; every later connection goes there.
// Throws std::system_error("cannot connect to HOST:PORT") when none does.
net::Address probe_stream(const net::Endpoint& endpoint);

// True for connect errors worth another try: a full backlog (EAGAIN on Unix
// sockets, ECONNREFUSED or a timeout on TCP) is transient.
bool retryable_connect_error(int err);

struct Connected {
  std::vector<net::Socket> sockets;  // connected, non-blocking, TCP_NODELAY
  size_t failures = 0;
};

// Opens `count` stream connections to `to`, at most `max_pending` connects in
// progress at once, retrying transient failures until `timeout_s` has passed
// (what is still missing then counts as failures) or `stop()` says so.
Connected connect_many(const net::Address& to, size_t count, size_t max_pending, double timeout_s,
                       const std::function<bool()>& stop);

}  // namespace netlab::modes::bench
