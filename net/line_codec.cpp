#include "net/line_codec.hpp"

#include <fmt/format.h>

namespace netlab::net {

namespace {
std::string_view strip_cr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}
}  // namespace

Frame next_frame(std::string_view input, Framing framing, size_t max_line, bool at_eof) {
  Frame f;
  if (input.empty()) return f;
  if (framing == Framing::kRaw) {
    f.kind = Frame::Kind::kMessage;
    f.message = input;
    f.consumed = input.size();
    return f;
  }
  const size_t nl = input.find('\n');
  if (nl != std::string_view::npos) {
    f.message = strip_cr(input.substr(0, nl));
    f.kind = f.message.size() > max_line ? Frame::Kind::kTooLong : Frame::Kind::kMessage;
    f.consumed = nl + 1;
    return f;
  }
  // No terminator yet: already too long unless all that is over the limit
  // is a '\r' whose '\n' is still in flight.
  if (strip_cr(input).size() > max_line) {
    f.kind = Frame::Kind::kTooLong;
    return f;
  }
  if (at_eof) {
    f.kind = Frame::Kind::kMessage;
    f.message = strip_cr(input);
    f.consumed = input.size();
  }
  return f;
}

std::string too_long_reply(size_t max_line) {
  return fmt::format("error: line too long (max {} bytes)\n", max_line);
}

}  // namespace netlab::net
