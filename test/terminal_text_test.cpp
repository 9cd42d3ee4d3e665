// The terminal escaping (chat screens, notices, log lines) and the tracer's
// payload quoting must agree on which code points steer a terminal: a code
// point one of them lets through raw is a way to drive the user's terminal.
#include "net/terminal_text.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "net/trace_format.hpp"

namespace netlab::net {
namespace {

std::string utf8(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (cp >> 18));
    s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

// Every Unicode scalar value past ASCII (ASCII controls are escaped
// differently by design: ^[ on a screen, \x1b in a trace): the screen
// escapes exactly what steers_terminal() names, and so does the trace.
TEST(TerminalText, EscapingAndTraceQuotingAgreeOnEveryCodePoint) {
  std::vector<uint32_t> disagree;
  for (uint32_t cp = 0x80; cp <= 0x10FFFF; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;  // surrogates are not UTF-8
    const std::string s = utf8(cp);
    const bool escaped = escape_for_terminal(s) != s;
    const bool quoted = quote_payload(s, 16) != "\"" + s + "\"";
    if (escaped != quoted || escaped != steers_terminal(cp)) disagree.push_back(cp);
  }
  EXPECT_TRUE(disagree.empty()) << disagree.size() << " code points disagree, the first U+"
                                << std::hex << (disagree.empty() ? 0 : disagree.front());
}

TEST(TerminalText, BidiMarksAndControlsAreEscaped) {
  EXPECT_EQ(escape_for_terminal("a\u200eb\u200fc"), "a\\u200eb\\u200fc");  // LRM, RLM
  EXPECT_EQ(escape_for_terminal("\x1b]0;PWNED\x07"), "^[]0;PWNED^G");
  EXPECT_EQ(escape_for_terminal("caf\u00e9 \u4f60\u597d\t!"), "caf\u00e9 \u4f60\u597d\t!");
}

// A trace line shows an address (an abstract Unix socket name is any bytes
// the peer chose) escaped too.
TEST(TerminalText, TraceLineEscapesWhatIsNotQuoted) {
  const CallText call{CallKind::kSetup, false, "accept(fd 3) = fd 4 from @\x1b]0;x\x07"};
  EXPECT_EQ(format_trace_line({}, call, false),
            "    0.000 ms accept(fd 3) = fd 4 from @^[]0;x^G\n");
}

}  // namespace
}  // namespace netlab::net
