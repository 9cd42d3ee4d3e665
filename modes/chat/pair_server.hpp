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
//
// --framing raw (the tutorial's clients, which send no newline): each chunk
// the client sends is a message, shown at once; what the operator types goes
// out as it is, without a newline added.
//
// The operator's screen never blocks the server: while stdout is not taking
// output, the client's messages are left unread (TCP pushes back on the
// client) and the operator's lines still go out; see TerminalOutput.
//
// A client that is leaving (quit, or shutdown) keeps its connection until
// its last bytes are written, even when the next client connects meanwhile.
#include "net/cidr.hpp"
#include "net/endpoint.hpp"
#include "net/line_codec.hpp"

namespace netlab::modes::chat {

struct PairServerOptions {
  net::Endpoint endpoint;
  bool half_duplex = false;
  net::Framing framing = net::Framing::kLine;
  size_t max_line = net::kDefaultMaxLine;
  net::AccessList access;
};

int run_pair_server(const PairServerOptions& options);

}  // namespace netlab::modes::chat
