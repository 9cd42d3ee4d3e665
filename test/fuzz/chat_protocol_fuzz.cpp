// Fuzzes the chat protocol's parsers: the login line (parse_login and the
// name rules of name_problem), the command parser, trim, and the UTF-8
// decoder under them, held against fuzz_support's RFC 3629 reference.
//
// Invariants:
//   - utf8_decode agrees with the reference on every byte offset;
//   - a valid name is 1-32 code points of valid UTF-8 with no ASCII blank or
//     control byte in it; 33 or more code points, invalid UTF-8 and ASCII
//     blanks/controls are always refused;
//   - a login is "NAME" or "NAME ROOM" (one space, nothing more; only a
//     trailing \r\n is ignored), both valid names, room "lobby" when
//     omitted; anything else is one "error: ..." line, "error: invalid
//     login: ..." when the spaces are wrong;
//   - commands: "quit" (trimmed) quits; a line not starting with '/' is said
//     as is; every view handed out points into the line and is trimmed;
//   - trim() returns a view into its input with no blank at either end.
#include <algorithm>
#include <string>
#include <string_view>
#include <variant>

#include "modes/chat/protocol.hpp"
#include "modes/chat/rooms.hpp"
#include "net/utf8.hpp"
#include "test/fuzz/fuzz_support.hpp"

namespace {

namespace chat = netlab::modes::chat;
using netlab::fuzz::is_view_into;

constexpr std::string_view kBlanks = " \t\r\n";

bool is_blank(char c) {
  return kBlanks.find(c) != std::string_view::npos;
}

bool is_trimmed(std::string_view s) {
  return s.empty() || (!is_blank(s.front()) && !is_blank(s.back()));
}

bool has_blank(std::string_view s) {
  return s.find_first_of(kBlanks) != std::string_view::npos;
}

void check_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    uint32_t cp = 0, ref_cp = 0;
    const size_t len = netlab::net::utf8_decode(s, i, cp);
    const size_t ref_len = netlab::fuzz::reference_utf8(s, i, ref_cp);
    FUZZ_CHECK(len == ref_len);
    if (len != 0) FUZZ_CHECK(cp == ref_cp);
  }
}

// Code points of valid UTF-8 (an invalid byte counts as one).
size_t code_points(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++n) {
    uint32_t cp = 0;
    i += std::max<size_t>(1, netlab::fuzz::reference_utf8(s, i, cp));
  }
  return n;
}

void check_name(std::string_view name) {
  const auto problem = chat::name_problem(name);
  const bool ascii_bad = std::any_of(name.begin(), name.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7F;
  });
  const bool utf8_ok = netlab::fuzz::is_valid_utf8(name);
  if (!problem) {
    FUZZ_CHECK(!name.empty() && utf8_ok && !ascii_bad);
    FUZZ_CHECK(code_points(name) <= chat::kMaxNameChars);
  }
  if (name.empty() || !utf8_ok || ascii_bad || code_points(name) > chat::kMaxNameChars) {
    FUZZ_CHECK(problem.has_value() && !problem->empty());
  }
}

// The login rule, read independently of parse_login: the line terminator
// off the end, then NAME alone or NAME, exactly one space, ROOM.
void check_login(std::string_view line) {
  const auto parsed = chat::parse_login(line);
  std::string_view s = line;
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  const size_t space = s.find(' ');
  const std::string_view name = s.substr(0, space);
  const bool has_room = space != std::string_view::npos;
  const std::string_view room = has_room ? s.substr(space + 1) : chat::kDefaultRoom;
  const bool shape_ok = !name.empty() && !room.empty() && room.find(' ') == std::string_view::npos;
  const bool valid = shape_ok && !chat::name_problem(name) && !chat::name_problem(room);
  if (const auto* error = std::get_if<std::string>(&parsed)) {
    FUZZ_CHECK(!valid);
    FUZZ_CHECK(error->starts_with("error: "));
    FUZZ_CHECK(error->find('\n') == std::string::npos);
    if (!shape_ok) FUZZ_CHECK(error->starts_with("error: invalid login: "));
    return;
  }
  FUZZ_CHECK(valid);
  const auto& login = std::get<chat::Login>(parsed);
  FUZZ_CHECK(login.name == name && login.room == room);
  FUZZ_CHECK(!has_blank(login.name) && !has_blank(login.room));
}

void check_command(std::string_view line) {
  using Kind = chat::Command::Kind;
  const chat::Command c = chat::parse_command(line);
  FUZZ_CHECK(is_view_into(c.target, line) && is_view_into(c.text, line));
  const std::string_view t = chat::trim(line);
  if (t == "quit") {
    FUZZ_CHECK(c.kind == Kind::kQuit);
    return;
  }
  if (t.empty() || t.front() != '/') {
    FUZZ_CHECK(c.kind == Kind::kSay);
    FUZZ_CHECK(c.text.data() == line.data() && c.text.size() == line.size());
    return;
  }
  FUZZ_CHECK(c.kind != Kind::kSay && c.kind != Kind::kQuit);
  FUZZ_CHECK(is_trimmed(c.target) && is_trimmed(c.text));
  const std::string_view word = t.substr(0, t.find_first_of(kBlanks));
  switch (c.kind) {
    case Kind::kWho:
      FUZZ_CHECK(word == "/who");
      break;
    case Kind::kRooms:
      FUZZ_CHECK(word == "/rooms");
      break;
    case Kind::kHelp:
      FUZZ_CHECK(word == "/help");
      break;
    case Kind::kJoin:
      FUZZ_CHECK(word == "/join");
      FUZZ_CHECK(c.target == chat::trim(t.substr(word.size())));
      break;
    case Kind::kMsg:
      FUZZ_CHECK(word == "/msg");
      FUZZ_CHECK(!has_blank(c.target));
      FUZZ_CHECK(c.text.empty() || !c.target.empty());
      break;
    case Kind::kUnknown:
      FUZZ_CHECK(c.target == word);
      FUZZ_CHECK(word != "/who" && word != "/rooms" && word != "/help" && word != "/join" &&
                 word != "/msg");
      break;
    case Kind::kSay:
    case Kind::kQuit:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  const std::string_view t = chat::trim(line);
  FUZZ_CHECK(is_view_into(t, line) && is_trimmed(t));
  check_utf8(line);
  check_name(line);
  check_login(line);
  check_command(line);

  // The server's notices keep the user's bytes as they are.
  const std::string message = chat::format_message("Wed Nov 25 11:31:22 2026", "bob", line);
  FUZZ_CHECK(message.ends_with(line) && message.starts_with("[Wed Nov 25 11:31:22 2026] bob: "));
  FUZZ_CHECK(chat::left_notice(t, "lobby").starts_with("* "));
  return 0;
}
