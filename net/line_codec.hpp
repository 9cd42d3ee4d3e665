#pragma once
// Message framing, as a pure function over the bytes received so far.
//   Line: a message ends at '\n'; a '\r' right before it is dropped, so nc,
//         telnet and the tutorial's Python 3 ports all work. A line longer
//         than max_line is TooLong, whether or not its '\n' has arrived yet,
//         so a peer can never make us buffer more than max_line (+ one read).
//   Raw:  whatever arrived is one message, exactly like the tutorial's
//         servers that treat each recv() as a request.
#include <cstddef>
#include <string>
#include <string_view>

namespace netlab::net {

enum class Framing { kLine, kRaw };

inline constexpr size_t kDefaultMaxLine = 64 * 1024;

struct Frame {
  enum class Kind { kMessage, kNeedMore, kTooLong };
  Kind kind = Kind::kNeedMore;
  std::string_view message;  // valid while the input is
  size_t consumed = 0;       // bytes of input this frame used up
};

// `at_eof`: the peer has finished sending, so a final unterminated line is
// still a message (as Python's readline() returns it).
Frame next_frame(std::string_view input, Framing framing, size_t max_line, bool at_eof = false);

}  // namespace netlab::net

namespace netlab::net {
// What a server sends before closing a connection whose line was too long.
std::string too_long_reply(size_t max_line);
}  // namespace netlab::net
