#include "support/stamp.hpp"

#include <regex>

namespace netlab::testing {

namespace {
constexpr size_t kPrefixSize = 27;  // "[" + 24-byte ctime + "] "

// Bytes for a failure message: the first 200 of them, escaped, and the size
// when there are more (a failed 64 KiB datagram must not flood the log).
std::string shown_bytes(std::string_view bytes) {
  constexpr size_t kShown = 200;
  if (bytes.size() <= kShown) return ::testing::PrintToString(std::string(bytes));
  return ::testing::PrintToString(std::string(bytes.substr(0, kShown))) + "... (" +
         std::to_string(bytes.size()) + " bytes)";
}

const std::regex& ctime_prefix() {
  static const std::regex re(
      R"(^\[(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 123]\d )"
      R"(\d\d:\d\d:\d\d \d{4}\] $)");
  return re;
}
}  // namespace

std::string python_ctime(std::time_t t) {
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[64];
  // %e: day of month padded with a space, as ctime() does.
  const size_t n = std::strftime(buf, sizeof(buf), "%a %b %e %H:%M:%S %Y", &tm);
  return std::string(buf, n);
}

::testing::AssertionResult StampWindow::stamped(std::string_view reply,
                                                std::string_view data) const {
  const std::time_t after = std::time(nullptr);
  // Only for failures: escaping every byte of a big reply costs more than the check.
  const auto shown = [&] { return shown_bytes(reply); };
  if (reply.size() < kPrefixSize ||
      !std::regex_match(std::string(reply.substr(0, kPrefixSize)), ctime_prefix())) {
    return ::testing::AssertionFailure() << "no \"[<ctime>] \" prefix in " << shown();
  }
  const std::string_view stamp = reply.substr(1, 24);
  bool in_window = false;
  for (std::time_t t = before_; t <= after && !in_window; ++t)
    in_window = (stamp == python_ctime(t));
  if (!in_window) {
    return ::testing::AssertionFailure()
           << "stamp \"" << stamp << "\" is not a second between \"" << python_ctime(before_)
           << "\" and \"" << python_ctime(after) << "\" in " << shown();
  }
  if (const std::string_view got = reply.substr(kPrefixSize); got != data) {
    size_t at = 0;
    while (at < got.size() && at < data.size() && got[at] == data[at]) ++at;
    return ::testing::AssertionFailure()
           << "after the stamp: " << shown_bytes(got) << "\n           want: " << shown_bytes(data)
           << "\n           (the first difference is at byte " << at << ")";
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult StampWindow::stamped_lines(std::string_view replies,
                                                      const std::vector<std::string>& datas) const {
  std::string_view rest = replies;
  for (size_t i = 0; i < datas.size(); ++i) {
    const size_t nl = rest.find('\n');
    if (nl == std::string_view::npos) {
      return ::testing::AssertionFailure()
             << "reply " << i + 1 << " of " << datas.size() << " missing in "
             << ::testing::PrintToString(std::string(replies));
    }
    auto r = stamped(rest.substr(0, nl + 1), datas[i] + "\n");
    if (!r) return r << " (reply " << i + 1 << ")";
    rest.remove_prefix(nl + 1);
  }
  if (!rest.empty()) {
    return ::testing::AssertionFailure()
           << "unexpected bytes after " << datas.size()
           << " replies: " << ::testing::PrintToString(std::string(rest));
  }
  return ::testing::AssertionSuccess();
}

}  // namespace netlab::testing
