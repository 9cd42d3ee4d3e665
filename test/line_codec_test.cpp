#include "net/line_codec.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace netlab::net {
namespace {

using namespace std::string_literals;
using Kind = Frame::Kind;

// Cuts all complete messages out of `input` the way Connection does.
std::vector<std::string> split_all(std::string input, Framing framing = Framing::kLine,
                                   size_t max_line = kDefaultMaxLine, bool at_eof = false) {
  std::vector<std::string> out;
  for (;;) {
    const Frame f = next_frame(input, framing, max_line, at_eof);
    if (f.kind != Kind::kMessage) break;
    out.emplace_back(f.message);
    input.erase(0, f.consumed);
  }
  return out;
}

TEST(LineCodec, DefaultMaxLineIs64KiB) {
  EXPECT_EQ(kDefaultMaxLine, 65536u);
}

TEST(LineCodec, EmptyInputNeedsMore) {
  const Frame f = next_frame("", Framing::kLine, 100);
  EXPECT_EQ(f.kind, Kind::kNeedMore);
  EXPECT_EQ(f.consumed, 0u);
  EXPECT_EQ(next_frame("", Framing::kLine, 100, /*at_eof=*/true).kind, Kind::kNeedMore);
  EXPECT_EQ(next_frame("", Framing::kRaw, 100).kind, Kind::kNeedMore);
}

TEST(LineCodec, SplitsOnLfAndCrLf) {
  EXPECT_EQ(split_all("one\ntwo\r\nthree\n"), (std::vector<std::string>{"one", "two", "three"}));
}

TEST(LineCodec, MessageExcludesTerminatorButConsumedIncludesIt) {
  Frame f = next_frame("abc\nrest", Framing::kLine, 100);
  EXPECT_EQ(f.kind, Kind::kMessage);
  EXPECT_EQ(f.message, "abc");
  EXPECT_EQ(f.consumed, 4u);

  f = next_frame("abc\r\nrest", Framing::kLine, 100);
  EXPECT_EQ(f.kind, Kind::kMessage);
  EXPECT_EQ(f.message, "abc");
  EXPECT_EQ(f.consumed, 5u);
}

TEST(LineCodec, PartialLineNeedsMore) {
  const Frame f = next_frame("no newline yet", Framing::kLine, 100);
  EXPECT_EQ(f.kind, Kind::kNeedMore);
  EXPECT_EQ(f.consumed, 0u);
  // A trailing '\r' may be the first half of "\r\n".
  EXPECT_EQ(next_frame("abc\r", Framing::kLine, 100).kind, Kind::kNeedMore);
}

TEST(LineCodec, LineSplitAcrossReadsIsJoined) {
  std::string input = "hel";
  EXPECT_EQ(next_frame(input, Framing::kLine, 100).kind, Kind::kNeedMore);
  input += "lo\r";
  EXPECT_EQ(next_frame(input, Framing::kLine, 100).kind, Kind::kNeedMore);
  input += "\nwor";
  const Frame f = next_frame(input, Framing::kLine, 100);
  ASSERT_EQ(f.kind, Kind::kMessage);
  EXPECT_EQ(f.message, "hello");
  input.erase(0, f.consumed);
  EXPECT_EQ(input, "wor");
}

TEST(LineCodec, EmptyLinesAreMessages) {
  EXPECT_EQ(split_all("\n\r\n\na\n"), (std::vector<std::string>{"", "", "", "a"}));
  const Frame f = next_frame("\r\n", Framing::kLine, 100);
  EXPECT_EQ(f.kind, Kind::kMessage);
  EXPECT_EQ(f.message, "");
  EXPECT_EQ(f.consumed, 2u);
}

TEST(LineCodec, DropsOnlyTheCrRightBeforeLf) {
  EXPECT_EQ(split_all("a\rb\n"), std::vector<std::string>{"a\rb"});
  EXPECT_EQ(split_all("a\r\r\n"), std::vector<std::string>{"a\r"});
  EXPECT_EQ(split_all("\ra\n"), std::vector<std::string>{"\ra"});
}

TEST(LineCodec, PassesNulAndBinaryBytesUnchanged) {
  const std::string line = "a\0b\0\xff\xfe\x01"s;
  const auto msgs = split_all(line + "\n" + "\0"s + "\n");
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0], line);
  EXPECT_EQ(msgs[1], "\0"s);
}

TEST(LineCodec, PassesUtf8Unchanged) {
  const std::string chinese = "你好，世界 — ünïcödé 😀";
  EXPECT_EQ(split_all(chinese + "\r\n" + chinese + "\n"),
            (std::vector<std::string>{chinese, chinese}));
}

TEST(LineCodec, LineOfExactlyMaxLineIsAccepted) {
  const std::string line(8, 'x');
  const std::string lf = line + "\n";
  const std::string crlf = line + "\r\n";
  Frame f = next_frame(lf, Framing::kLine, 8);
  EXPECT_EQ(f.kind, Kind::kMessage);
  EXPECT_EQ(f.message, line);
  // The '\r' of "\r\n" does not count against the limit.
  f = next_frame(crlf, Framing::kLine, 8);
  EXPECT_EQ(f.kind, Kind::kMessage);
  EXPECT_EQ(f.message, line);
  // Nor while its '\n' is still in flight.
  EXPECT_EQ(next_frame(line, Framing::kLine, 8).kind, Kind::kNeedMore);
  EXPECT_EQ(next_frame(line + "\r", Framing::kLine, 8).kind, Kind::kNeedMore);
}

TEST(LineCodec, TerminatedLineOverMaxLineIsTooLong) {
  const Frame f = next_frame(std::string(9, 'x') + "\nnext\n", Framing::kLine, 8);
  EXPECT_EQ(f.kind, Kind::kTooLong);
  EXPECT_EQ(next_frame(std::string(9, 'x') + "\r\n", Framing::kLine, 8).kind, Kind::kTooLong);
}

TEST(LineCodec, UnterminatedLineOverMaxLineIsTooLongBeforeItsNewline) {
  // The peer must not be able to make us buffer past the limit.
  EXPECT_EQ(next_frame(std::string(10, 'x'), Framing::kLine, 8).kind, Kind::kTooLong);
  EXPECT_EQ(next_frame(std::string(1000, 'x'), Framing::kLine, 8).kind, Kind::kTooLong);
  EXPECT_EQ(next_frame(std::string(kDefaultMaxLine + 2, 'x'), Framing::kLine, kDefaultMaxLine).kind,
            Kind::kTooLong);
}

TEST(LineCodec, NineBytesWithoutCrAreAlreadyTooLongForMaxLineEight) {
  // "A line longer than max_line is TooLong, whether or not its '\n' has
  // arrived yet": 9 bytes not ending in '\r' can only be the start of a line
  // of 9+ bytes, so no more input can make it fit.
  EXPECT_EQ(next_frame(std::string(9, 'x'), Framing::kLine, 8).kind, Kind::kTooLong);
}

TEST(LineCodec, EarlierLinesAreDeliveredBeforeATooLongOne) {
  std::string input = "ok\n" + std::string(50, 'x') + "\n";
  Frame f = next_frame(input, Framing::kLine, 8);
  ASSERT_EQ(f.kind, Kind::kMessage);
  EXPECT_EQ(f.message, "ok");
  input.erase(0, f.consumed);
  EXPECT_EQ(next_frame(input, Framing::kLine, 8).kind, Kind::kTooLong);
}

TEST(LineCodec, FinalUnterminatedLineIsAMessageAtEof) {
  Frame f = next_frame("last", Framing::kLine, 100, /*at_eof=*/true);
  EXPECT_EQ(f.kind, Kind::kMessage);
  EXPECT_EQ(f.message, "last");
  EXPECT_EQ(f.consumed, 4u);

  f = next_frame("last\r", Framing::kLine, 100, /*at_eof=*/true);
  EXPECT_EQ(f.kind, Kind::kMessage);
  EXPECT_EQ(f.message, "last");
  EXPECT_EQ(f.consumed, 5u);

  EXPECT_EQ(split_all("a\nb\r\nc", Framing::kLine, 100, /*at_eof=*/true),
            (std::vector<std::string>{"a", "b", "c"}));
}

TEST(LineCodec, FinalUnterminatedLineOverMaxLineIsTooLongAtEof) {
  EXPECT_EQ(next_frame(std::string(9, 'x'), Framing::kLine, 8, /*at_eof=*/true).kind,
            Kind::kTooLong);
  const std::string with_cr = std::string(8, 'x') + "\r";
  const Frame f = next_frame(with_cr, Framing::kLine, 8, /*at_eof=*/true);
  EXPECT_EQ(f.kind, Kind::kMessage);
  EXPECT_EQ(f.message, std::string(8, 'x'));
}

TEST(LineCodec, RawFramingMakesEachChunkOneMessageUnchanged) {
  const std::string chunk = "line one\r\nline two\n\0tail"s;
  const Frame f = next_frame(chunk, Framing::kRaw, 8);  // max_line does not apply
  EXPECT_EQ(f.kind, Kind::kMessage);
  EXPECT_EQ(f.message, chunk);
  EXPECT_EQ(f.consumed, chunk.size());
}

TEST(LineCodec, RawFramingTakesABareNewlineAsIs) {
  const Frame f = next_frame("\n", Framing::kRaw, 100);
  EXPECT_EQ(f.kind, Kind::kMessage);
  EXPECT_EQ(f.message, "\n");
  EXPECT_EQ(f.consumed, 1u);
}

TEST(LineCodec, MessageViewsPointIntoTheInput) {
  const std::string input = "abc\ndef\n";
  const Frame f = next_frame(input, Framing::kLine, 100);
  EXPECT_EQ(f.message.data(), input.data());
}

TEST(LineCodec, TooLongReplyNamesTheLimit) {
  EXPECT_EQ(too_long_reply(8), "error: line too long (max 8 bytes)\n");
  EXPECT_EQ(too_long_reply(kDefaultMaxLine), "error: line too long (max 65536 bytes)\n");
}

}  // namespace
}  // namespace netlab::net
