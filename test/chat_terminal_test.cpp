#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "modes/chat/terminal.hpp"
#include "net/event_loop.hpp"
#include "net/terminal_text.hpp"

namespace netlab::modes::chat {
namespace {

using namespace std::string_literals;
using net::escape_for_terminal;

// True when `s` could reach a terminal without any byte that drives it: no
// C0 control but tab, no DEL, no C1 control (as a UTF-8 code point or a bare
// 8-bit byte), and only valid UTF-8.
bool harmless_for_terminal(std::string_view s, std::string* why) {
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if ((c < 0x20 && c != '\t') || c == 0x7f) {
        *why = "control byte at " + std::to_string(i);
        return false;
      }
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      *why = "invalid UTF-8 lead byte at " + std::to_string(i);
      return false;
    }
    if (i + len > s.size()) {
      *why = "truncated UTF-8 at " + std::to_string(i);
      return false;
    }
    for (size_t k = 1; k < len; ++k) {
      const unsigned char b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) {
        *why = "bad continuation at " + std::to_string(i + k);
        return false;
      }
      cp = (cp << 6) | (b & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      *why = "overlong or out-of-range UTF-8 at " + std::to_string(i);
      return false;
    }
    if (cp >= 0x80 && cp <= 0x9F) {
      *why = "C1 control at " + std::to_string(i);
      return false;
    }
    i += len;
  }
  return true;
}

#define EXPECT_HARMLESS(s)                                                                         \
  do {                                                                                             \
    std::string why_;                                                                              \
    EXPECT_TRUE(harmless_for_terminal((s), &why_)) << why_ << " in " << testing::PrintToString(s); \
  } while (0)

// ---- escape_for_terminal: C0 and DEL -----------------------------------------

TEST(EscapeForTerminal, EscapeBecomesCaretBracket) {
  EXPECT_EQ(escape_for_terminal("\x1b"), "^[");
}
TEST(EscapeForTerminal, BellBecomesCaretG) {
  EXPECT_EQ(escape_for_terminal("\a"), "^G");
}
TEST(EscapeForTerminal, CarriageReturnBecomesCaretM) {
  EXPECT_EQ(escape_for_terminal("\r"), "^M");
}
TEST(EscapeForTerminal, BackspaceBecomesCaretH) {
  EXPECT_EQ(escape_for_terminal("\b"), "^H");
}
TEST(EscapeForTerminal, DelBecomesCaretQuestionMark) {
  EXPECT_EQ(escape_for_terminal("\x7f"), "^?");
}
TEST(EscapeForTerminal, NulBecomesCaretAt) {
  EXPECT_EQ(escape_for_terminal("\0"s), "^@");
}

TEST(EscapeForTerminal, TabIsKept) {
  EXPECT_EQ(escape_for_terminal("\t"), "\t");
  EXPECT_EQ(escape_for_terminal("a\tb"), "a\tb");
}

TEST(EscapeForTerminal, EveryC0ControlUsesCaretNotation) {
  for (int c = 0; c < 0x20; ++c) {
    if (c == '\t') continue;
    const std::string expected = "^"s + static_cast<char>(c + 0x40);
    EXPECT_EQ(escape_for_terminal(std::string(1, static_cast<char>(c))), expected)
        << "byte 0x" << std::hex << c;
  }
  EXPECT_EQ(escape_for_terminal("\n"), "^J");
  EXPECT_EQ(escape_for_terminal("\x0c"), "^L");  // form feed
  EXPECT_EQ(escape_for_terminal("\x0e"), "^N");  // shift out: switches character sets
}

TEST(EscapeForTerminal, ControlsAreEscapedInsideText) {
  EXPECT_EQ(escape_for_terminal("ab\bc\rd\x1b"
                                "e\af"),
            "ab^Hc^Md^[e^Gf");
  EXPECT_EQ(escape_for_terminal("nul\0inside"s), "nul^@inside");
}

// ---- escape_for_terminal: C1 and invalid UTF-8 ---------------------------------

TEST(EscapeForTerminal, C1CsiBecomesUnicodeEscape) {
  EXPECT_EQ(escape_for_terminal("\xc2\x9b"), "\\u009b");
  EXPECT_EQ(escape_for_terminal("a\xc2\x9b"
                                "2Jb"),
            "a\\u009b2Jb");
}

TEST(EscapeForTerminal, EveryC1ControlBecomesAUnicodeEscape) {
  for (unsigned cp = 0x80; cp <= 0x9F; ++cp) {
    const std::string in = {static_cast<char>(0xC0 | (cp >> 6)),
                            static_cast<char>(0x80 | (cp & 0x3F))};
    char expected[8];
    std::snprintf(expected, sizeof expected, "\\u%04x", cp);
    EXPECT_EQ(escape_for_terminal(in), expected) << "U+" << std::hex << cp;
  }
}

TEST(EscapeForTerminal, InvalidByteBecomesHexEscape) {
  EXPECT_EQ(escape_for_terminal("\xff"), "\\xff");
  EXPECT_EQ(escape_for_terminal("a\xff"
                                "b"),
            "a\\xffb");
  EXPECT_EQ(escape_for_terminal("\xfe\xff"), "\\xfe\\xff");
}

TEST(EscapeForTerminal, Bare8BitC1BytesAreEscaped) {
  // 0x9b alone is CSI on terminals that take 8-bit controls.
  EXPECT_EQ(escape_for_terminal("\x9b"
                                "2J"),
            "\\x9b2J");
  EXPECT_EQ(escape_for_terminal("\x90\x9d\x9c"), "\\x90\\x9d\\x9c");  // DCS, OSC, ST
}

TEST(EscapeForTerminal, TruncatedAndMalformedSequencesAreEscapedBytewise) {
  EXPECT_EQ(escape_for_terminal("\xe4\xb8"), "\\xe4\\xb8");           // truncated at the end
  EXPECT_EQ(escape_for_terminal("\xe4\xb8z"), "\\xe4\\xb8z");         // truncated before ASCII
  EXPECT_EQ(escape_for_terminal("\xc0\xaf"), "\\xc0\\xaf");           // overlong '/'
  EXPECT_EQ(escape_for_terminal("\xe0\x80\x9b"), "\\xe0\\x80\\x9b");  // overlong CSI
  EXPECT_EQ(escape_for_terminal("\xc0\x9b"), "\\xc0\\x9b");           // overlong ESC
  EXPECT_EQ(escape_for_terminal("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // surrogate
  EXPECT_EQ(escape_for_terminal("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // past U+10FFFF
}

TEST(EscapeForTerminal, ControlAfterATruncatedSequenceIsStillEscaped) {
  // The ESC must not be swallowed as a "continuation" of the broken sequence.
  EXPECT_EQ(escape_for_terminal("\xe4\x1b[2J"), "\\xe4^[[2J");
  EXPECT_EQ(escape_for_terminal("\xc3\x07"), "\\xc3^G");
}

// ---- escape_for_terminal: printable text ------------------------------------------

TEST(EscapeForTerminal, PrintableAsciiIsUnchanged) {
  std::string all;
  for (char c = 0x20; c < 0x7f; ++c) all += c;
  EXPECT_EQ(escape_for_terminal(all), all);
  EXPECT_EQ(escape_for_terminal(""), "");
}

TEST(EscapeForTerminal, ChineseUtf8IsUnchanged) {
  const std::string text = "你好，世界！张三说：聊天室";
  EXPECT_EQ(escape_for_terminal(text), text);
}

TEST(EscapeForTerminal, OtherPrintableUtf8IsUnchanged) {
  for (std::string_view text :
       {"café", "\xc2\xa0nbsp", "\xc2\xa9 2026", "Ω≈ç√", "emoji 😀🎉", "\xef\xbf\xbd"}) {
    EXPECT_EQ(escape_for_terminal(text), text) << text;
  }
}

TEST(EscapeForTerminal, ClearScreenSequenceIsRenderedHarmless) {
  const std::string attack = "\x1b[2J\x1b[H\x1b]0;pwned\x07\x1b[31mred\x1b[0m";
  const std::string out = escape_for_terminal(attack);
  EXPECT_EQ(out, "^[[2J^[[H^[]0;pwned^G^[[31mred^[[0m");
  EXPECT_EQ(out.find('\x1b'), std::string::npos);
  EXPECT_EQ(out.find('\x07'), std::string::npos);
  EXPECT_HARMLESS(out);
}

TEST(EscapeForTerminal, EightBitClearScreenIsRenderedHarmless) {
  const std::string attack =
      "\xc2\x9b"
      "2J"
      "\xc2\x9b"
      "H"
      "\x9b"
      "2J";
  const std::string out = escape_for_terminal(attack);
  EXPECT_EQ(out, "\\u009b2J\\u009bH\\x9b2J");
  EXPECT_HARMLESS(out);
}

// Random bytes, fixed seed: whatever arrives, nothing that reaches the terminal
// can drive it, and escaping is stable (escaping the output again changes
// nothing, since it is already all printable).
TEST(EscapeForTerminal, RandomBytesNeverReachTheTerminalRaw) {
  std::mt19937 rng(16);
  // Bias towards interesting bytes: controls, UTF-8 lead and continuation bytes.
  const std::string interesting =
      "\x00\x07\x08\x09\x0a\x0d\x1b\x7f\x80\x9b\x9d\xbf\xc2\xc3\xe4\xed\xf0\xf4\xff"s;
  for (int round = 0; round < 3000; ++round) {
    std::string in;
    const size_t len = rng() % 24;
    for (size_t i = 0; i < len; ++i) {
      in +=
          rng() % 2 == 0 ? static_cast<char>(rng() % 256) : interesting[rng() % interesting.size()];
    }
    const std::string out = escape_for_terminal(in);
    std::string why;
    ASSERT_TRUE(harmless_for_terminal(out, &why))
        << why << " for input " << testing::PrintToString(in);
    ASSERT_EQ(escape_for_terminal(out), out) << testing::PrintToString(in);
    ASSERT_GE(out.size(), in.size());  // nothing is dropped
  }
}

// ---- ChatTerminal with a pipe or file on stdin ----------------------------------

// Swaps stdin and stdout for the duration of a test (neither a terminal, so
// the ChatTerminal runs in pipe mode) and puts them back afterwards.
class ChatTerminalPipe : public ::testing::Test {
 protected:
  void SetUp() override {
    std::fflush(stdout);
    saved_stdin_ = ::dup(STDIN_FILENO);
    saved_stdout_ = ::dup(STDOUT_FILENO);
    ASSERT_GE(saved_stdin_, 0);
    ASSERT_GE(saved_stdout_, 0);
    out_file_ = std::tmpfile();
    ASSERT_NE(out_file_, nullptr);
    ASSERT_GE(::dup2(fileno(out_file_), STDOUT_FILENO), 0);
  }

  void TearDown() override {
    std::fflush(stdout);
    if (saved_stdout_ >= 0) {
      ::dup2(saved_stdout_, STDOUT_FILENO);
      ::close(saved_stdout_);
    }
    if (saved_stdin_ >= 0) {
      ::dup2(saved_stdin_, STDIN_FILENO);
      ::close(saved_stdin_);
    }
    if (out_file_ != nullptr) std::fclose(out_file_);
  }

  void stdin_from_pipe(const std::string& data) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    ASSERT_LT(data.size(), 4096u);  // fits in the pipe without a reader
    ASSERT_EQ(::write(fds[1], data.data(), data.size()), static_cast<ssize_t>(data.size()));
    ::close(fds[1]);
    ASSERT_GE(::dup2(fds[0], STDIN_FILENO), 0);
    ::close(fds[0]);
  }

  // A regular file, which epoll refuses to watch.
  void stdin_from_file(const std::string& data) {
    FILE* f = std::tmpfile();
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(std::fwrite(data.data(), 1, data.size(), f), data.size());
    std::fflush(f);
    ASSERT_EQ(::lseek(fileno(f), 0, SEEK_SET), 0);
    ASSERT_GE(::dup2(fileno(f), STDIN_FILENO), 0);
    std::fclose(f);
  }

  std::string captured_stdout() {
    std::fflush(stdout);
    std::string out;
    char buf[4096];
    ssize_t n;
    off_t at = 0;
    while ((n = ::pread(fileno(out_file_), buf, sizeof buf, at)) > 0) {
      out.append(buf, static_cast<size_t>(n));
      at += n;
    }
    return out;
  }

  struct Run {
    std::vector<std::string> lines;
    int eofs = 0;
    bool timed_out = false;
  };

  // Reads stdin through a ChatTerminal until EOF (or 5 s, a failure).
  // stop_after: the line handler stops the terminal after that many lines.
  Run read_all(size_t stop_after = SIZE_MAX) {
    net::EventLoop loop;
    Run run;
    ChatTerminal* term_ptr = nullptr;
    ChatTerminal term(
        loop, "> ",
        [&](std::string line) {
          run.lines.push_back(std::move(line));
          if (run.lines.size() == stop_after) {
            term_ptr->stop();
            loop.run_after(std::chrono::milliseconds(50), [&] { loop.stop(); });
          }
        },
        [&] {
          ++run.eofs;
          loop.stop();
        });
    term_ptr = &term;
    EXPECT_FALSE(term.interactive());
    loop.run_after(std::chrono::seconds(5), [&] {
      run.timed_out = true;
      loop.stop();
    });
    term.start();
    loop.run();
    return run;
  }

  int saved_stdin_ = -1;
  int saved_stdout_ = -1;
  FILE* out_file_ = nullptr;
};

TEST_F(ChatTerminalPipe, DeliversEachLineThenEof) {
  stdin_from_pipe("one\ntwo\r\n\nthree\n");
  const Run run = read_all();
  EXPECT_FALSE(run.timed_out);
  EXPECT_EQ(run.lines, (std::vector<std::string>{"one", "two", "", "three"}));
  EXPECT_EQ(run.eofs, 1);
}

TEST_F(ChatTerminalPipe, DeliversALastLineWithoutNewline) {
  stdin_from_pipe("first\n最后一行");
  const Run run = read_all();
  EXPECT_FALSE(run.timed_out);
  EXPECT_EQ(run.lines, (std::vector<std::string>{"first", "最后一行"}));
  EXPECT_EQ(run.eofs, 1);
}

TEST_F(ChatTerminalPipe, EmptyInputIsJustEof) {
  stdin_from_pipe("");
  const Run run = read_all();
  EXPECT_FALSE(run.timed_out);
  EXPECT_TRUE(run.lines.empty());
  EXPECT_EQ(run.eofs, 1);
}

TEST_F(ChatTerminalPipe, ReadsARegularFileOnStdin) {
  stdin_from_file("from\na file\r\nno newline");
  const Run run = read_all();
  EXPECT_FALSE(run.timed_out);
  EXPECT_EQ(run.lines, (std::vector<std::string>{"from", "a file", "no newline"}));
  EXPECT_EQ(run.eofs, 1);
}

TEST_F(ChatTerminalPipe, StoppingInTheHandlerDeliversNoMoreLines) {
  stdin_from_pipe("hello\nquit\nafter quit\n");
  const Run run = read_all(/*stop_after=*/2);
  EXPECT_FALSE(run.timed_out);
  EXPECT_EQ(run.lines, (std::vector<std::string>{"hello", "quit"}));
  EXPECT_EQ(run.eofs, 0);
}

TEST_F(ChatTerminalPipe, OutputToANonTerminalPassesBytesUnchanged) {
  stdin_from_pipe("");
  net::EventLoop loop;
  ChatTerminal term(
      loop, "> ", [](std::string) {}, [] {});
  term.print("\x1b[2J\x07 raw \xc2\x9b \xff 你好");
  term.notice("* our own notice");
  EXPECT_EQ(captured_stdout(), "\x1b[2J\x07 raw \xc2\x9b \xff 你好\n* our own notice\n");
}

}  // namespace
}  // namespace netlab::modes::chat
