// Fuzzes net::next_frame, line and raw framing, on a byte stream that
// arrives in fuzzed chunks, the way Connection and serve_session feed it.
//
// Invariants:
//   - every message is a view into the input, starts at the input's first
//     byte and is followed by exactly its terminator ("\n", "\r\n", or at EOF
//     nothing or a lone "\r"): the messages and their terminators, then what
//     is left, give back the input byte for byte;
//   - a line message is at most max_line bytes and holds no '\n';
//   - TooLong exactly when the first line (without its terminator) is over
//     max_line, whether its '\n' has arrived or not; NeedMore only when no
//     '\n' is there and at most max_line (+ a '\r') bytes are waiting;
//   - raw framing hands out whatever is there as one message;
//   - how the stream is chunked never changes the messages (line framing).
#include <fuzzer/FuzzedDataProvider.h>

#include <string>
#include <string_view>
#include <vector>

#include "net/line_codec.hpp"
#include "test/fuzz/fuzz_support.hpp"

namespace {

using netlab::fuzz::is_view_into;
using netlab::net::Frame;
using netlab::net::Framing;

// The length of the first line's content, as the contract defines it: up to
// the first '\n', without the '\r' before it. Without a '\n' a trailing '\r'
// may be the first half of "\r\n", so it does not count either.
size_t first_line_length(std::string_view input) {
  const size_t nl = input.find('\n');
  std::string_view line = nl == std::string_view::npos ? input : input.substr(0, nl);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line.size();
}

// Checks one frame against the contract; returns the terminator it consumed.
std::string_view check_frame(std::string_view input, const Frame& f, Framing framing,
                             size_t max_line, bool at_eof) {
  FUZZ_CHECK(f.consumed <= input.size());
  FUZZ_CHECK(is_view_into(f.message, input));
  if (framing == Framing::kRaw) {
    if (input.empty()) {
      FUZZ_CHECK(f.kind == Frame::Kind::kNeedMore && f.consumed == 0);
    } else {
      FUZZ_CHECK(f.kind == Frame::Kind::kMessage);
      FUZZ_CHECK(f.message.data() == input.data() && f.message.size() == input.size());
      FUZZ_CHECK(f.consumed == input.size());
    }
    return {};
  }
  const bool has_nl = input.find('\n') != std::string_view::npos;
  const bool too_long = !input.empty() && first_line_length(input) > max_line;
  FUZZ_CHECK((f.kind == Frame::Kind::kTooLong) == too_long);
  switch (f.kind) {
    case Frame::Kind::kTooLong:
      return {};
    case Frame::Kind::kNeedMore:
      FUZZ_CHECK(f.consumed == 0 && f.message.empty());
      FUZZ_CHECK(input.empty() || (!has_nl && !at_eof));
      // The bound a server relies on for its input buffer.
      FUZZ_CHECK(input.size() <= max_line + 1);
      return {};
    case Frame::Kind::kMessage:
      break;
  }
  FUZZ_CHECK(has_nl || at_eof);
  FUZZ_CHECK(f.consumed > 0);
  FUZZ_CHECK(f.message.empty() || f.message.data() == input.data());
  FUZZ_CHECK(f.message.size() <= max_line);
  FUZZ_CHECK(f.message.find('\n') == std::string_view::npos);
  FUZZ_CHECK(f.message.size() <= f.consumed);
  const std::string_view terminator = input.substr(f.message.size(), f.consumed - f.message.size());
  if (has_nl) {
    FUZZ_CHECK(terminator == "\n" || terminator == "\r\n");
  } else {
    FUZZ_CHECK(f.consumed == input.size());
    FUZZ_CHECK(terminator.empty() || terminator == "\r");
  }
  return terminator;
}

struct Outcome {
  std::vector<std::string> messages;
  bool too_long = false;
};

// Frames a complete stream in one go, rebuilding it from what was framed.
Outcome frame_whole(std::string_view stream, Framing framing, size_t max_line, bool at_eof) {
  Outcome out;
  std::string rebuilt;
  std::string_view rest = stream;
  for (;;) {
    const Frame f = netlab::net::next_frame(rest, framing, max_line, at_eof);
    const std::string_view terminator = check_frame(rest, f, framing, max_line, at_eof);
    if (f.kind == Frame::Kind::kTooLong) {
      out.too_long = true;
      break;
    }
    if (f.kind == Frame::Kind::kNeedMore) break;
    out.messages.emplace_back(f.message);
    rebuilt.append(f.message).append(terminator);
    rest.remove_prefix(f.consumed);
  }
  if (!out.too_long) FUZZ_CHECK(rebuilt + std::string(rest) == stream);
  return out;
}

// Frames the stream as it would arrive, in chunks, with EOF after the last.
Outcome frame_chunked(std::string_view stream, const std::vector<size_t>& chunks, Framing framing,
                      size_t max_line) {
  Outcome out;
  std::string buffer;
  size_t fed = 0;
  size_t next_chunk = 0;
  for (;;) {
    const bool at_eof = fed == stream.size();
    for (;;) {
      const Frame f = netlab::net::next_frame(buffer, framing, max_line, at_eof);
      check_frame(buffer, f, framing, max_line, at_eof);
      if (f.kind == Frame::Kind::kTooLong) {
        out.too_long = true;
        return out;
      }
      if (f.kind == Frame::Kind::kNeedMore) break;
      out.messages.emplace_back(f.message);
      buffer.erase(0, f.consumed);
    }
    if (at_eof) break;
    const size_t n = std::min(stream.size() - fed,
                              next_chunk < chunks.size() ? chunks[next_chunk++] : stream.size());
    if (framing == Framing::kRaw) FUZZ_CHECK(buffer.empty());
    buffer.append(stream.substr(fed, n));
    fed += n;
  }
  FUZZ_CHECK(buffer.empty());
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  const Framing framing = fdp.ConsumeBool() ? Framing::kRaw : Framing::kLine;
  // Mostly tiny limits, so TooLong and the '\r'-at-the-limit cases are hit.
  const size_t max_line =
      fdp.ConsumeBool() ? netlab::net::kDefaultMaxLine : fdp.ConsumeIntegralInRange<size_t>(0, 80);
  std::vector<size_t> chunks(fdp.ConsumeIntegralInRange<size_t>(0, 16));
  for (size_t& c : chunks) c = fdp.ConsumeIntegralInRange<size_t>(1, 64);
  const std::string stream = fdp.ConsumeRemainingBytesAsString();

  frame_whole(stream, framing, max_line, /*at_eof=*/false);
  const Outcome whole = frame_whole(stream, framing, max_line, /*at_eof=*/true);
  const Outcome chunked = frame_chunked(stream, chunks, framing, max_line);
  if (framing == Framing::kLine) {
    FUZZ_CHECK(whole.messages == chunked.messages);
    FUZZ_CHECK(whole.too_long == chunked.too_long);
  } else {
    std::string joined;
    for (const auto& m : chunked.messages) joined += m;
    FUZZ_CHECK(joined == stream);
  }

  const std::string reply = netlab::net::too_long_reply(max_line);
  FUZZ_CHECK(reply.find(std::to_string(max_line)) != std::string::npos);
  FUZZ_CHECK(reply.back() == '\n');
  return 0;
}
