#pragma once
// The command server's protocol (exercise 16-5) as pure functions, so it is
// tested without sockets. No command ever reaches a shell: the only argument
// that is used at all (ls DIR) goes through confine_path() and opendir().
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace netlab::modes {

// A JSON string literal for arbitrary bytes: quotes, backslashes and control
// characters escaped; valid UTF-8 kept as is; each byte of an invalid UTF-8
// sequence becomes \ufffd.
std::string json_quote(std::string_view bytes);
std::string json_string_array(const std::vector<std::string>& items);

// Opens DIR (relative to root, which must be canonical) as a directory,
// never outside root: absolute paths, ".." that climbs out and symlinks that
// lead out (dangling ones included) give the error "outside root". Uses
// openat2(RESOLVE_BENEATH) so the kernel checks every step; where a symlink
// with an absolute target stops it, realpath() decides whether the target
// is still inside. Errors are strerror texts otherwise.
struct ConfinedDir {
  int fd = -1;        // owned by the caller when >= 0
  std::string error;  // non-empty on failure
};
ConfinedDir open_confined_dir(const std::string& root, std::string_view dir);

// The reply line (without '\n') to `ls DIR`: a JSON array of sorted entry
// names, directories with a trailing '/', hidden files included.
std::string list_directory(const std::string& root, std::string_view dir);

struct CommandContext {
  std::string root;                        // canonical --root
  std::function<std::string()> ctime_now;  // injectable for tests
  std::string os_line;                     // "posix <sysname> <release> <machine>"
};

// One request line in, one reply line out (without '\n'); nullopt for an
// empty line, which gets no reply.
std::optional<std::string> handle_command(std::string_view line, const CommandContext& ctx);

std::string os_description();  // from uname(2)
inline constexpr std::string_view kCommandHelp =
    "commands: date | os | ls [DIR] | help; anything else is echoed back with a timestamp";

}  // namespace netlab::modes
