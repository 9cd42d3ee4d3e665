#pragma once
// The command server's protocol (exercise 16-5) as pure functions, so it is
// tested without sockets. No command ever reaches a shell: the only argument
// that is used at all (ls DIR) goes through open_confined_dir().
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modes/cmdserv/confined_dir.hpp"
#include "modes/cmdserv/listing_cache.hpp"

namespace netlab::modes {

inline constexpr size_t kDefaultMaxReply = 1024 * 1024;  // cmdserv --max-reply
// The last element of a cut listing. No entry can be this: names never hold
// a '/', and the one a directory gets comes after a non-empty name, so no
// entry starts with one.
inline constexpr std::string_view kTruncatedMarker = "/truncated";
// The smallest cap: room for ["/truncated"] and then some.
inline constexpr size_t kMinMaxReply = 64;

// A JSON string literal for arbitrary bytes: quotes, backslashes and control
// characters escaped; valid UTF-8 kept as is; each byte of an invalid UTF-8
// sequence becomes \ufffd.
std::string json_quote(std::string_view bytes);
std::string json_string_array(const std::vector<std::string>& items);

// The reply line (without '\n') to `ls DIR`: a JSON array of sorted entry
// names, directories with a trailing '/', hidden files included; DIR is
// opened with open_confined_dir(). At most max_reply bytes (never less than
// kMinMaxReply): the directory is read only until the names read so far fill
// that, so a huge directory costs no more than a cut listing. A cut listing
// holds the entries read first (in the file system's own order, so not
// necessarily the alphabetically first ones), sorted, and then one more
// element, kTruncatedMarker.
std::string list_directory(const std::string& root, std::string_view dir,
                           size_t max_reply = kDefaultMaxReply);
// The same, appended to `out`; a cut listing is taken from and kept in
// `cache` when there is one.
void list_directory_into(const std::string& root, std::string_view dir, size_t max_reply,
                         ListingCache* cache, std::string& out);

struct CommandContext {
  std::string root;                        // canonical --root
  std::function<std::string()> ctime_now;  // injectable for tests
  std::string os_line;                     // "posix <sysname> <release> <machine>"
  size_t max_reply = kDefaultMaxReply;     // for list_directory
  std::shared_ptr<ListingCache> listings;  // cut listings shared by clients; may be null
};

// One request line in, one reply line out (without '\n'); nullopt for an
// empty line, which gets no reply.
std::optional<std::string> handle_command(std::string_view line, const CommandContext& ctx);
// The same, appended to `out` (the server's reused reply buffer, so a big
// listing is not built in fresh memory each time); false for no reply.
bool handle_command_into(std::string_view line, const CommandContext& ctx, std::string& out);

std::string os_description();  // from uname(2)
inline constexpr std::string_view kCommandHelp =
    "commands: date | os | ls [DIR] | help; anything else is echoed back with a timestamp";

}  // namespace netlab::modes
