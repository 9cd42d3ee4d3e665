#pragma once
// chat-server --mode duplex (exercise 16-8) and --mode half-duplex (16-7):
// a one-to-one chat in which the server's operator, at this terminal, is the
// other person. One client at a time; a second one gets "error: busy".
//
// Half-duplex turns are implied by the lines themselves, no extra protocol:
// the client speaks first, and every line hands the turn to the other side.
// Each side holds what its user types out of turn and sends it when the turn
// comes back. A client that sends out of turn anyway (nc) gets
// "error: not your turn" and its line is dropped.
#include "net/cidr.hpp"
#include "net/endpoint.hpp"
#include "net/line_codec.hpp"

namespace netlab::modes::chat {

struct PairServerOptions {
  net::Endpoint endpoint;
  bool half_duplex = false;
  size_t max_line = net::kDefaultMaxLine;
  net::AccessList access;
};

int run_pair_server(const PairServerOptions& options);

}  // namespace netlab::modes::chat
