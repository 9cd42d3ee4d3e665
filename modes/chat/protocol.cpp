#include "modes/chat/protocol.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "modes/chat/rooms.hpp"

namespace netlab::modes::chat {

namespace {
constexpr std::string_view kBlanks = " \t\r\n";

// Splits off the first whitespace-separated word.
std::pair<std::string_view, std::string_view> first_word(std::string_view s) {
  s = trim(s);
  const size_t end = s.find_first_of(kBlanks);
  if (end == std::string_view::npos) return {s, {}};
  return {s.substr(0, end), trim(s.substr(end))};
}

// Why a login line (terminator removed) is not NAME or NAME, one space, ROOM.
// Only the spaces are judged here; name_problem() judges the words.
std::optional<std::string_view> login_shape_problem(std::string_view line) {
  if (line.empty()) return "empty name";
  if (line.front() == ' ') return "leading space";
  if (line.back() == ' ') return "trailing space";
  if (line.find("  ") != std::string_view::npos) return "two spaces in a row";
  if (std::count(line.begin(), line.end(), ' ') > 1) return "more than two words";
  return std::nullopt;
}
}  // namespace

std::string_view trim(std::string_view s) {
  const size_t b = s.find_first_not_of(kBlanks);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(kBlanks) - b + 1);
}

std::variant<Login, std::string> parse_login(std::string_view line) {
  // Raw framing hands over the chunk with the client's line terminator.
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (auto why = login_shape_problem(line)) {
    return fmt::format("error: invalid login: {} (expected NAME or NAME ROOM)", *why);
  }
  const size_t space = line.find(' ');
  const std::string_view name = line.substr(0, space);
  const std::string_view room =
      space == std::string_view::npos ? kDefaultRoom : line.substr(space + 1);
  if (auto why = name_problem(name)) return fmt::format("error: invalid name: {}", *why);
  if (auto why = name_problem(room)) return fmt::format("error: invalid room: {}", *why);
  return Login{std::string(name), std::string(room)};
}

Command parse_command(std::string_view line) {
  const std::string_view t = trim(line);
  Command c;
  if (t == kQuit) {
    c.kind = Command::Kind::kQuit;
    return c;
  }
  if (t.empty() || t.front() != '/') {
    c.text = line;
    return c;
  }
  auto [word, rest] = first_word(t);
  if (word == "/who") {
    c.kind = Command::Kind::kWho;
  } else if (word == "/rooms") {
    c.kind = Command::Kind::kRooms;
  } else if (word == "/help") {
    c.kind = Command::Kind::kHelp;
  } else if (word == "/join") {
    c.kind = Command::Kind::kJoin;
    c.target = rest;
  } else if (word == "/msg") {
    c.kind = Command::Kind::kMsg;
    auto [user, text] = first_word(rest);
    c.target = user;
    c.text = text;
  } else {
    c.kind = Command::Kind::kUnknown;
    c.target = word;
  }
  return c;
}

std::string format_message(std::string_view ctime, std::string_view user, std::string_view text) {
  return fmt::format("[{}] {}: {}", ctime, user, text);
}

std::string format_private(std::string_view ctime, std::string_view user, std::string_view text) {
  return fmt::format("[{}] {} (private): {}", ctime, user, text);
}

std::string joined_notice(std::string_view user, std::string_view room) {
  return fmt::format("* {} joined {}", user, room);
}

std::string left_notice(std::string_view user, std::string_view room, std::string_view reason) {
  if (reason.empty()) return fmt::format("* {} left {}", user, room);
  return fmt::format("* {} left {} ({})", user, room, reason);
}

}  // namespace netlab::modes::chat
