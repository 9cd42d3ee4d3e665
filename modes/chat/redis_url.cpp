#include "modes/chat/redis_url.hpp"

#include <fmt/format.h>

#include <charconv>

namespace netlab::modes::chat {

namespace {
constexpr std::string_view kScheme = "redis://";
constexpr int kMaxDb =
    1 << 20;  // Redis' own limit is its "databases" setting; this only bounds the number

std::optional<int> number(std::string_view s, int max) {
  int v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v < 0 || v > max) {
    return std::nullopt;
  }
  return v;
}
}  // namespace

std::string RedisUrl::to_string() const {
  const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (db == 0) return fmt::format("redis://{}:{}", h, port);
  return fmt::format("redis://{}:{}/{}", h, port, db);
}

std::optional<RedisUrl> parse_redis_url(std::string_view url, std::string& why) {
  why = "expected redis://HOST:PORT[/DB]";
  if (url.substr(0, kScheme.size()) != kScheme) return std::nullopt;
  std::string_view rest = url.substr(kScheme.size());
  RedisUrl out;
  if (const size_t slash = rest.find('/'); slash != std::string_view::npos) {
    const auto db = number(rest.substr(slash + 1), kMaxDb);
    if (!db) {
      why = fmt::format("invalid database number '{}'", rest.substr(slash + 1));
      return std::nullopt;
    }
    out.db = *db;
    rest = rest.substr(0, slash);
  }
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    out.host = std::string(rest.substr(1, close - 1));
    rest = rest.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
      if (port.empty()) return std::nullopt;
    }
  } else {
    const size_t colon = rest.rfind(':');
    out.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = rest.substr(colon + 1);
      if (port.empty()) return std::nullopt;
    }
  }
  if (out.host.empty() || out.host.find_first_of(" \t/@[]") != std::string::npos)
    return std::nullopt;
  if (!port.empty()) {
    const auto p = number(port, 65535);
    if (!p || *p == 0) {
      why = fmt::format("invalid port '{}'", port);
      return std::nullopt;
    }
    out.port = *p;
  }
  return out;
}

}  // namespace netlab::modes::chat
