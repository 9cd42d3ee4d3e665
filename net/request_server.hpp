#pragma once
// A request/response stream server: each message in, at most one reply out.
// tserv and cmdserv are this server with different handlers. The concurrency
// model is a choice, so learners can compare the tutorial's designs:
//   reactor   - one thread, one epoll loop (the default, the fast one)
//   thread    - a thread per connection (SocketServer.ThreadingMixIn)
//   fork      - a process per connection (SocketServer.ForkingMixIn)
//   iterative - one client at a time (tsTserv.py)
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "net/cidr.hpp"
#include "net/line_codec.hpp"
#include "net/listener.hpp"

namespace netlab::net {

enum class Model { kReactor, kThread, kFork, kIterative };

struct RequestServerOptions {
  Endpoint endpoint;
  Model model = Model::kReactor;
  Framing framing = Framing::kLine;
  size_t max_line = kDefaultMaxLine;
  bool one_shot = false;   // one request per connection, then close
  size_t max_clients = 0;  // 0: as many as file descriptors allow
  // The progress deadline (ProgressDeadline): a client that neither sends a
  // byte nor takes one of ours for this long is closed. 0: none.
  double idle_timeout_s = 0;
  AccessList access;
};

// Appends the reply to one message to `reply` (which the server hands over
// empty) without the line terminator: in line framing the server appends
// '\n'. Returns false for no reply. Must be safe to call from several
// threads at once (--model thread). The reply string is reused from request
// to request, so the hot path allocates nothing.
using RequestHandler = std::function<bool(std::string_view message, std::string& reply)>;

// Listens, announces, serves until SIGINT/SIGTERM, then closes every client
// cleanly. Returns the exit status (0). Setup failures throw.
int run_request_server(const RequestServerOptions& options, const RequestHandler& handler);

// Shared by every model: the bytes to send for one message, into `out`
// (cleared first); false when there is nothing to send.
bool reply_bytes(const RequestHandler& handler, std::string_view message, Framing framing,
                 std::string& out);
// idle_timeout_s as a duration: zero for none, at most a century.
std::chrono::steady_clock::duration progress_timeout(const RequestServerOptions& options);
inline constexpr std::string_view kServerFullReply = "error: server full\n";

// Runs the thread, fork or iterative model (blocking_server.cpp).
int run_blocking_server(const RequestServerOptions& options, const RequestHandler& handler,
                        Listener& listener);

}  // namespace netlab::net
