#include "modes/timestamp.hpp"

#include <fmt/format.h>

namespace netlab::modes {

std::string format_ctime(std::time_t t) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm{};
  localtime_r(&t, &tm);
  return fmt::format("{} {} {:2} {:02}:{:02}:{:02} {}", kDays[tm.tm_wday], kMonths[tm.tm_mon],
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_year + 1900);
}

const std::string& ctime_now() {
  thread_local std::time_t cached_at = -1;
  thread_local std::string cached;
  const std::time_t now = std::time(nullptr);
  if (now != cached_at) {
    cached = format_ctime(now);
    cached_at = now;
  }
  return cached;
}

const std::string& timestamp_prefix() {
  thread_local std::time_t cached_at = -1;
  thread_local std::string cached;
  const std::time_t now = std::time(nullptr);
  if (now != cached_at) {
    cached = fmt::format("[{}] ", format_ctime(now));
    cached_at = now;
  }
  return cached;
}

std::string timestamp_reply(std::string_view data) {
  std::string out;
  append_timestamp_reply(out, data);
  return out;
}

void append_timestamp_reply(std::string& out, std::string_view data) {
  const std::string& prefix = timestamp_prefix();
  out.reserve(out.size() + prefix.size() + data.size() + 1);  // + the caller's '\n'
  out.append(prefix).append(data);
}

}  // namespace netlab::modes
