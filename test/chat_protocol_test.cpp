#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <variant>

#include "modes/chat/protocol.hpp"

namespace netlab::modes::chat {
namespace {

using namespace std::string_literals;
using Kind = Command::Kind;

constexpr std::string_view kCtime = "Wed Nov 25 11:31:22 2026";

// The Login of a line that must parse; fails the test otherwise.
Login login_of(std::string_view line) {
  auto parsed = parse_login(line);
  if (auto* error = std::get_if<std::string>(&parsed)) {
    ADD_FAILURE() << "parse_login(\"" << line << "\") failed: " << *error;
    return {};
  }
  return std::get<Login>(parsed);
}

// The error line of a login line that must be refused ("" if it parsed).
std::string error_of(std::string_view line) {
  auto parsed = parse_login(line);
  if (auto* error = std::get_if<std::string>(&parsed)) return *error;
  ADD_FAILURE() << "parse_login(\"" << line << "\") accepted " << std::get<Login>(parsed).name
                << " in " << std::get<Login>(parsed).room;
  return {};
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// ---- parse_login -------------------------------------------------------------

TEST(ParseLogin, NameAloneJoinsTheLobby) {
  const Login l = login_of("alice");
  EXPECT_EQ(l.name, "alice");
  EXPECT_EQ(l.room, "lobby");
}

TEST(ParseLogin, NameAndRoom) {
  const Login l = login_of("alice games");
  EXPECT_EQ(l.name, "alice");
  EXPECT_EQ(l.room, "games");
}

TEST(ParseLogin, ExplicitLobby) {
  const Login l = login_of("bob lobby");
  EXPECT_EQ(l.name, "bob");
  EXPECT_EQ(l.room, "lobby");
}

TEST(ParseLogin, LineTerminatorsAreIgnored) {
  // Raw framing hands over the chunk with whatever terminator the client sent.
  for (std::string_view line : {"alice games\r\n", "alice games\n", "alice games\r"}) {
    const Login l = login_of(line);
    EXPECT_EQ(l.name, "alice") << line;
    EXPECT_EQ(l.room, "games") << line;
  }
  const Login l = login_of("alice\r\n");
  EXPECT_EQ(l.name, "alice");
  EXPECT_EQ(l.room, "lobby");
}

// The login is exactly NAME or NAME, one space, ROOM: no other blank is a
// separator, and nothing is trimmed but the line terminator.
TEST(ParseLogin, LeadingSpaceIsRefused) {
  EXPECT_EQ(error_of(" lobby"), "error: invalid login: leading space (expected NAME or NAME ROOM)");
  EXPECT_EQ(error_of(" alice games"),
            "error: invalid login: leading space (expected NAME or NAME ROOM)");
  EXPECT_EQ(error_of("   "), "error: invalid login: leading space (expected NAME or NAME ROOM)");
  EXPECT_EQ(error_of("  alice   games  "),
            "error: invalid login: leading space (expected NAME or NAME ROOM)");
}

TEST(ParseLogin, TwoSpacesInARowAreRefused) {
  EXPECT_EQ(error_of("alice  games"),
            "error: invalid login: two spaces in a row (expected NAME or NAME ROOM)");
}

TEST(ParseLogin, TrailingSpaceIsRefused) {
  EXPECT_EQ(error_of("alice "),
            "error: invalid login: trailing space (expected NAME or NAME ROOM)");
  EXPECT_EQ(error_of("alice games \r\n"),
            "error: invalid login: trailing space (expected NAME or NAME ROOM)");
}

TEST(ParseLogin, TabIsNotASeparator) {
  EXPECT_EQ(error_of("alice\tgames"),
            "error: invalid name: spaces and control characters are not allowed");
  EXPECT_EQ(error_of("\talice games"),
            "error: invalid name: spaces and control characters are not allowed");
}

TEST(ParseLogin, ChineseNameAndRoom) {
  const Login l = login_of("张三 聊天室");
  EXPECT_EQ(l.name, "张三");
  EXPECT_EQ(l.room, "聊天室");
}

TEST(ParseLogin, ThirtyTwoCharacterNameAndRoomAreAccepted) {
  const std::string name(32, 'n');
  const std::string room(32, 'r');
  const Login l = login_of(name + " " + room);
  EXPECT_EQ(l.name, name);
  EXPECT_EQ(l.room, room);
}

TEST(ParseLogin, ExtraWordsAreRefused) {
  const std::string want = "error: invalid login: more than two words (expected NAME or NAME ROOM)";
  EXPECT_EQ(error_of("alice games extra"), want);
  EXPECT_EQ(error_of("alice games extra more"), want);
  EXPECT_EQ(error_of("hello everyone, I am alice"), want);
}

TEST(ParseLogin, EmptyNameIsRefused) {
  const std::string want = "error: invalid login: empty name (expected NAME or NAME ROOM)";
  EXPECT_EQ(error_of(""), want);
  EXPECT_EQ(error_of("\r\n"), want);
  EXPECT_EQ(error_of("\n"), want);
}

TEST(ParseLogin, InvalidNameIsRefusedWithTheReason) {
  EXPECT_EQ(error_of(std::string(33, 'a')), "error: invalid name: longer than 32 characters");
  EXPECT_EQ(error_of(std::string(33, 'a') + " games"),
            "error: invalid name: longer than 32 characters");
  EXPECT_EQ(error_of("\xff"), "error: invalid name: not valid UTF-8");
  EXPECT_EQ(error_of("al\x1bice games"),
            "error: invalid name: spaces and control characters are not allowed");
  EXPECT_EQ(error_of("al\x7fice"),
            "error: invalid name: spaces and control characters are not allowed");
  const std::string wide_space = "张\xe3\x80\x80三";  // U+3000 is not a separator: one bad word
  EXPECT_EQ(error_of(wide_space),
            "error: invalid name: spaces and control characters are not allowed");
}

TEST(ParseLogin, InvalidRoomIsRefusedWithTheReason) {
  EXPECT_EQ(error_of("alice " + std::string(33, 'r')),
            "error: invalid room: longer than 32 characters");
  EXPECT_EQ(error_of("alice \xff"), "error: invalid room: not valid UTF-8");
  EXPECT_EQ(error_of("alice ga\x07mes"),
            "error: invalid room: spaces and control characters are not allowed");
  EXPECT_EQ(error_of("alice \xc2\x9b"),
            "error: invalid room: spaces and control characters are not allowed");
}

TEST(ParseLogin, NameIsCheckedBeforeRoom) {
  EXPECT_TRUE(starts_with(error_of("\xff \xff"), "error: invalid name: "));
}

TEST(ParseLogin, EveryErrorIsOneLine) {
  for (std::string_view line :
       {"", "a b c", " a", "a ", "a  b", "\xff", "alice \xff", "al\x01ice"}) {
    const std::string e = error_of(line);
    EXPECT_TRUE(starts_with(e, "error: ")) << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
    EXPECT_EQ(e.find('\r'), std::string::npos) << e;
  }
}

// ---- parse_command -------------------------------------------------------------

TEST(ParseCommand, PlainTextIsSaidAsIs) {
  const std::string line = "hello, world";
  const Command c = parse_command(line);
  EXPECT_EQ(c.kind, Kind::kSay);
  EXPECT_EQ(c.text, "hello, world");
}

TEST(ParseCommand, TextStartingWithSpaceKeepsItsSpaces) {
  const std::string line = "   indented  text ";
  const Command c = parse_command(line);
  EXPECT_EQ(c.kind, Kind::kSay);
  EXPECT_EQ(c.text, "   indented  text ");
}

TEST(ParseCommand, ChineseTextIsSaid) {
  const std::string line = "你好，世界";
  const Command c = parse_command(line);
  EXPECT_EQ(c.kind, Kind::kSay);
  EXPECT_EQ(c.text, line);
}

TEST(ParseCommand, EmptyLineIsEmptyText) {
  const Command c = parse_command("");
  EXPECT_EQ(c.kind, Kind::kSay);
  EXPECT_TRUE(c.text.empty());
}

TEST(ParseCommand, TextThatMerelyMentionsACommandIsSaid) {
  for (std::string_view line :
       {"quit now", "I quit", "Quit", "QUIT", "quitter", "see /who", "a/b"}) {
    const Command c = parse_command(line);
    EXPECT_EQ(c.kind, Kind::kSay) << line;
    EXPECT_EQ(c.text, line) << line;
  }
}

TEST(ParseCommand, Quit) {
  EXPECT_EQ(parse_command("quit").kind, Kind::kQuit);
}

TEST(ParseCommand, QuitWithSurroundingBlanks) {
  for (std::string_view line :
       {"  quit  ", " quit", "quit ", "\tquit\t", "quit\r", "quit\r\n", "quit\n"}) {
    EXPECT_EQ(parse_command(line).kind, Kind::kQuit) << '"' << line << '"';
  }
}

TEST(ParseCommand, Who) {
  EXPECT_EQ(parse_command("/who").kind, Kind::kWho);
  EXPECT_EQ(parse_command("  /who  ").kind, Kind::kWho);
  EXPECT_EQ(parse_command("/who\r").kind, Kind::kWho);
}

TEST(ParseCommand, Rooms) {
  EXPECT_EQ(parse_command("/rooms").kind, Kind::kRooms);
  EXPECT_EQ(parse_command("/rooms ").kind, Kind::kRooms);
}

TEST(ParseCommand, Help) {
  EXPECT_EQ(parse_command("/help").kind, Kind::kHelp);
  EXPECT_EQ(parse_command(" /help\r\n").kind, Kind::kHelp);
}

TEST(ParseCommand, JoinTakesTheRoom) {
  const Command c = parse_command("/join games");
  EXPECT_EQ(c.kind, Kind::kJoin);
  EXPECT_EQ(c.target, "games");
}

TEST(ParseCommand, JoinRoomIsTrimmed) {
  const Command c = parse_command("/join   聊天室  \r\n");
  EXPECT_EQ(c.kind, Kind::kJoin);
  EXPECT_EQ(c.target, "聊天室");
  const Command tab = parse_command("/join\tgames");
  EXPECT_EQ(tab.kind, Kind::kJoin);
  EXPECT_EQ(tab.target, "games");
}

TEST(ParseCommand, JoinWithoutARoomHasAnEmptyTarget) {
  // The server then refuses it as an invalid (empty) room.
  const Command c = parse_command("/join");
  EXPECT_EQ(c.kind, Kind::kJoin);
  EXPECT_TRUE(c.target.empty());
  EXPECT_TRUE(parse_command("/join   ").target.empty());
}

TEST(ParseCommand, MsgSplitsUserFromTextWithSpaces) {
  const Command c = parse_command("/msg bob hello there, how  are you?");
  EXPECT_EQ(c.kind, Kind::kMsg);
  EXPECT_EQ(c.target, "bob");
  EXPECT_EQ(c.text, "hello there, how  are you?");  // inner spaces kept
}

TEST(ParseCommand, MsgTextIsTrimmed) {
  const Command c = parse_command("/msg   bob    hi  \r\n");
  EXPECT_EQ(c.kind, Kind::kMsg);
  EXPECT_EQ(c.target, "bob");
  EXPECT_EQ(c.text, "hi");
}

TEST(ParseCommand, MsgToAChineseName) {
  const Command c = parse_command("/msg 张三 你好 世界");
  EXPECT_EQ(c.kind, Kind::kMsg);
  EXPECT_EQ(c.target, "张三");
  EXPECT_EQ(c.text, "你好 世界");
}

TEST(ParseCommand, MsgWithoutTextOrUser) {
  const Command no_text = parse_command("/msg bob");
  EXPECT_EQ(no_text.kind, Kind::kMsg);
  EXPECT_EQ(no_text.target, "bob");
  EXPECT_TRUE(no_text.text.empty());
  const Command nothing = parse_command("/msg");
  EXPECT_EQ(nothing.kind, Kind::kMsg);
  EXPECT_TRUE(nothing.target.empty());
  EXPECT_TRUE(nothing.text.empty());
}

TEST(ParseCommand, UnknownCommandIsNamed) {
  const Command c = parse_command("/x");
  EXPECT_EQ(c.kind, Kind::kUnknown);
  EXPECT_EQ(c.target, "/x");
  const Command with_args = parse_command("/dance wildly now");
  EXPECT_EQ(with_args.kind, Kind::kUnknown);
  EXPECT_EQ(with_args.target, "/dance");
}

TEST(ParseCommand, CommandsMustMatchExactly) {
  for (std::string_view line :
       {"/whoami", "/WHO", "/room", "/joined games", "/msgs bob hi", "/helpme", "/quit"}) {
    const Command c = parse_command(line);
    EXPECT_EQ(c.kind, Kind::kUnknown) << line;
    EXPECT_EQ(c.target, line.substr(0, line.find(' '))) << line;
  }
}

TEST(ParseCommand, ResultPointsIntoTheLine) {
  // Command holds views: they must refer to the caller's buffer, not a temporary.
  const std::string line = "/msg bob hi";
  const Command c = parse_command(line);
  EXPECT_GE(c.target.data(), line.data());
  EXPECT_LE(c.target.data() + c.target.size(), line.data() + line.size());
  EXPECT_GE(c.text.data(), line.data());
  EXPECT_LE(c.text.data() + c.text.size(), line.data() + line.size());
}

// ---- formatting ---------------------------------------------------------------

TEST(ChatWireFormat, MessageIsCtimeInBracketsThenUserAndText) {
  EXPECT_EQ(format_message(kCtime, "alice", "hello"), "[Wed Nov 25 11:31:22 2026] alice: hello");
}

TEST(ChatWireFormat, MessageTextIsPassedThroughUnchanged) {
  EXPECT_EQ(format_message(kCtime, "张三", "你好 世界"),
            "[Wed Nov 25 11:31:22 2026] 张三: 你好 世界");
  EXPECT_EQ(format_message(kCtime, "bob", "  a:b {} {0} %s "),
            "[Wed Nov 25 11:31:22 2026] bob:   a:b {} {0} %s ");
  EXPECT_EQ(format_message(kCtime, "bob", "nul\0byte"s),
            "[Wed Nov 25 11:31:22 2026] bob: nul\0byte"s);
}

TEST(ChatWireFormat, PrivateMessageIsMarked) {
  EXPECT_EQ(format_private(kCtime, "alice", "psst, bob"),
            "[Wed Nov 25 11:31:22 2026] alice (private): psst, bob");
}

TEST(ChatWireFormat, JoinedNotice) {
  EXPECT_EQ(joined_notice("u", "r"), "* u joined r");
  EXPECT_EQ(joined_notice("张三", "聊天室"), "* 张三 joined 聊天室");
}

TEST(ChatWireFormat, LeftNotice) {
  EXPECT_EQ(left_notice("u", "r"), "* u left r");
  EXPECT_EQ(left_notice("u", "r", ""), "* u left r");
}

TEST(ChatWireFormat, LeftNoticeWithReason) {
  EXPECT_EQ(left_notice("alice", "lobby", "too slow"), "* alice left lobby (too slow)");
}

TEST(ChatWireFormat, FixedReplies) {
  EXPECT_EQ(kSuccess, "success");
  EXPECT_EQ(kReuse, "reuse");
  EXPECT_EQ(kQuit, "quit");
  EXPECT_EQ(kShutdownNotice, "* server shutting down");
}

TEST(ChatWireFormat, HelpNamesEveryCommandOnOneLine) {
  EXPECT_TRUE(starts_with(kHelpText, "* commands: ")) << kHelpText;
  for (std::string_view cmd : {"/who", "/rooms", "/join ROOM", "/msg USER TEXT", "/help", "quit"}) {
    EXPECT_NE(kHelpText.find(cmd), std::string_view::npos) << cmd;
  }
  EXPECT_EQ(kHelpText.find('\n'), std::string_view::npos);
}

TEST(ChatWireFormat, TrimRemovesBlanksAndLineTerminators) {
  EXPECT_EQ(trim("  a b \t\r\n"), "a b");
  EXPECT_EQ(trim("abc"), "abc");
  EXPECT_EQ(trim(" \t\r\n"), "");
  EXPECT_EQ(trim(""), "");
}

}  // namespace
}  // namespace netlab::modes::chat
