#pragma once
// The room chat's wire protocol, shared by chat-server and chat-client:
// parsing the login line and commands, and the exact text of every line the
// server sends. Pure functions; the server adds the line terminator.
#include <string>
#include <string_view>
#include <variant>

namespace netlab::modes::chat {

inline constexpr std::string_view kSuccess = "success";
inline constexpr std::string_view kReuse = "reuse";
inline constexpr std::string_view kQuit = "quit";
inline constexpr std::string_view kShutdownNotice = "* server shutting down";
inline constexpr std::string_view kClusterLinkLost = "* cluster link lost";
inline constexpr std::string_view kClusterLinkRestored = "* cluster link restored";
inline constexpr std::string_view kHelpText =
    "* commands: /who, /rooms, /join ROOM, /msg USER TEXT (to your room), /help, quit";

struct Login {
  std::string name;
  std::string room;
};
// "NAME" or "NAME ROOM" (exactly one space; a trailing \r\n is ignored) ->
// Login, room "lobby" when omitted; or the complete error line ("error: ...").
std::variant<Login, std::string> parse_login(std::string_view line);

struct Command {
  enum class Kind { kSay, kQuit, kWho, kRooms, kJoin, kMsg, kHelp, kUnknown };
  Kind kind = Kind::kSay;
  std::string_view target;  // /join ROOM, /msg USER; the command itself for kUnknown
  std::string_view text;    // kSay: the line; kMsg: the private text
};
Command parse_command(std::string_view line);

std::string format_message(std::string_view ctime, std::string_view user, std::string_view text);
std::string format_private(std::string_view ctime, std::string_view user, std::string_view text);
std::string joined_notice(std::string_view user, std::string_view room);
std::string left_notice(std::string_view user, std::string_view room, std::string_view reason = {});

std::string_view trim(std::string_view s);

}  // namespace netlab::modes::chat
