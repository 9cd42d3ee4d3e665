#pragma once
// The text of --trace lines, as pure functions: each *_call() turns one
// socket call's arguments and outcome into the words the tutorial uses
// ("recv(fd 5, 65536) = 6 bytes \"hello\\n\""), and format_trace_line() adds
// the timestamp, the thread or process id and the colour. Nothing here reads
// the clock, errno or the terminal, so tests can pin every line down; Trace
// (trace.hpp) gathers those and writes the lines.
//
// Conventions shared by every call:
//   - a call that only succeeds or fails shows nothing on success
//     ("bind(fd 3, 127.0.0.1:21567)") and "= ENAME (reason)" on failure;
//   - a call that returns something shows it ("= fd 5", "= 6 bytes ...");
//   - rc < 0 means the call failed with errno `err`.
#include <poll.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "net/address.hpp"

namespace netlab::net {

// Each kind has its own colour on a terminal.
enum class CallKind {
  kSetup,     // socket, setsockopt, bind, listen, accept, connect, get*name
  kData,      // recv, send, recvfrom, sendto
  kTeardown,  // shutdown, close
  kLoop,      // epoll_*, poll (only with --trace=all)
};

struct CallText {
  CallKind kind = CallKind::kSetup;
  bool error = false;  // shown in red whatever the kind
  std::string text;
};

// "AF_INET", "SOCK_STREAM", "SOL_SOCKET", "SO_REUSEADDR"...; numbers for the rest.
std::string family_name(int family);
std::string socket_type_name(int type);
std::string sockopt_level_name(int level);
std::string sockopt_name(int level, int name);

// "ECONNREFUSED (Connection refused)".
std::string errno_text(int err);

// EAGAIN from a non-blocking call means "nothing to do now": the event loop
// asks again when epoll says so. Those lines would drown the real ones, so
// only --trace=all shows them.
bool is_would_block(int err);

// bytes as a double-quoted literal of at most `limit` bytes of payload, then
// "..." if it was cut. Printable ASCII and valid UTF-8 text show as they are
// (the tutorial's examples are Chinese); \n \r \t \0 \" \\ get C escapes;
// every other byte, invalid UTF-8 and the code points that would steer a
// terminal (C1 controls, bidi overrides, line separators) show as \xNN or
// \uNNNN. A multi-byte character that does not fit whole is cut before it.
std::string quote_payload(std::string_view bytes, size_t limit);

CallText socket_call(int family, int type, int fd, int err);
CallText setsockopt_call(int fd, int level, int name, int value, int rc, int err);
// getsockopt(SO_ERROR): how a non-blocking connect ended (`value` 0 = connected).
CallText so_error_call(int fd, int rc, int value, int err);
CallText bind_call(int fd, const Address& addr, int rc, int err);
CallText listen_call(int fd, int backlog, int rc, int err);
CallText accept_call(int fd, int new_fd, const Address& peer, int err);
CallText connect_call(int fd, const Address& addr, int rc, int err);
// `data` is what the buffer holds after the call (the first n bytes matter).
// `stream`: 0 bytes means the peer closed (for a datagram, an empty one).
CallText recv_call(int fd, size_t len, const char* data, ssize_t n, int err, bool stream,
                   size_t limit);
CallText send_call(int fd, const char* data, size_t len, ssize_t n, int err, size_t limit);
CallText recvfrom_call(int fd, size_t len, const char* data, ssize_t n, const Address& from,
                       int err, size_t limit);
CallText sendto_call(int fd, const char* data, size_t len, const Address& to, ssize_t n, int err,
                     size_t limit);
CallText shutdown_call(int fd, int how, int rc, int err);
CallText close_call(int fd, int rc, int err);
CallText getsockname_call(int fd, const Address& addr, int rc, int err);
CallText getpeername_call(int fd, const Address& addr, int rc, int err);

CallText epoll_create_call(int epfd, int err);
CallText epoll_ctl_call(int epfd, int op, int fd, uint32_t events, int rc, int err);
CallText epoll_wait_call(int epfd, int timeout_ms, int n, int err);
CallText poll_call(const pollfd* fds, size_t nfds, int timeout_ms, int n, int err);

// What precedes the call text: milliseconds since start, and with
// --model thread|fork the thread or process id.
struct LinePrefix {
  double ms = 0;
  enum class Id { kNone, kThread, kProcess } id_kind = Id::kNone;
  long id = 0;
};

// One whole line, '\n' included: "   12.345 ms [tid 4242] close(fd 5)\n".
// `colour`: ANSI colour by kind (red for errors) around the call text.
std::string format_trace_line(const LinePrefix& prefix, const CallText& call, bool colour);

}  // namespace netlab::net
