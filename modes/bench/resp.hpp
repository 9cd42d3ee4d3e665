#pragma once
// Just enough of RESP (the Redis protocol) for `netlab bench fanout
// --protocol redis`: pulls one reply off the front of a byte stream, so
// pipelined and split replies both parse. Pure functions, tested without a
// server (test/bench_resp_test.cpp).
#include <cstddef>
#include <string_view>

namespace netlab::modes::bench {

// One top-level reply. Arrays keep their first three elements (pub/sub
// messages are ["message", channel, payload], confirmations ["subscribe",
// channel, count]); other replies (+OK, :3, -ERR ...) have no elements and
// `scalar` holds their text.
struct RespReply {
  char type = 0;     // '*', '+', '-', ':' or '$'
  size_t count = 0;  // array elements
  std::string_view items[3];
  std::string_view scalar;
};

enum class RespParse { kReply, kNeedMore, kMalformed };

// Parses the reply at the front of `in`; on kReply, `consumed` is its length
// and the views in `out` point into `in`.
RespParse parse_resp(std::string_view in, RespReply& out, size_t& consumed);

}  // namespace netlab::modes::bench
