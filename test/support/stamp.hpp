#pragma once
// Checks for the timestamp servers' replies: "[<ctime>] <data>", ctime as
// Python's time.ctime() in local time ("Wed Nov 25 11:31:22 2026").
#include <gtest/gtest.h>

#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace netlab::testing {

// Python's time.ctime(t), formatted independently of the product's code.
std::string python_ctime(std::time_t t);

// Remembers when it was created; a reply is accepted only if its stamp is
// the ctime of a second between then and the check.
class StampWindow {
 public:
  StampWindow() : before_(std::time(nullptr)) {}

  // reply == "[<ctime>] " + data, byte for byte.
  ::testing::AssertionResult stamped(std::string_view reply, std::string_view data) const;
  // replies is one "[<ctime>] <data>\n" per element of datas, nothing else.
  ::testing::AssertionResult stamped_lines(std::string_view replies,
                                           const std::vector<std::string>& datas) const;

 private:
  std::time_t before_;
};

}  // namespace netlab::testing
