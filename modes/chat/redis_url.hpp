#pragma once
// --cluster redis://HOST:PORT[/DB]: where the chat nodes meet.
#include <optional>
#include <string>
#include <string_view>

namespace netlab::modes::chat {

struct RedisUrl {
  std::string host;  // name or address; an IPv6 address is written [::1] in the URL
  int port = 6379;
  int db = 0;
  std::string to_string() const;  // "redis://127.0.0.1:6379" (plus "/DB" when not 0)
};

// The URL, or nullopt with `why` set ("expected redis://HOST:PORT[/DB]", ...).
std::optional<RedisUrl> parse_redis_url(std::string_view url, std::string& why);

}  // namespace netlab::modes::chat
