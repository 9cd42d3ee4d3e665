#include "modes/timestamp.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <optional>
#include <regex>
#include <string>
#include <thread>

namespace netlab::modes {
namespace {

// Runs each test in a fixed time zone and restores the caller's afterwards.
class Timestamp : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char* tz = std::getenv("TZ")) saved_tz_ = tz;
    set_tz("UTC");
  }
  void TearDown() override {
    if (saved_tz_) {
      setenv("TZ", saved_tz_->c_str(), 1);
    } else {
      unsetenv("TZ");
    }
    tzset();
  }
  static void set_tz(const char* tz) {
    setenv("TZ", tz, 1);
    tzset();
  }

 private:
  std::optional<std::string> saved_tz_;
};

// Expected values come from Python 3: TZ=UTC python3 -c 'import time; print(time.ctime(T))'.
TEST_F(Timestamp, EpochMatchesPythonCtime) {
  EXPECT_EQ(format_ctime(0), "Thu Jan  1 00:00:00 1970");
}

TEST_F(Timestamp, SingleDigitDayIsSpacePadded) {
  EXPECT_EQ(format_ctime(1762342282), "Wed Nov  5 11:31:22 2025");
  EXPECT_EQ(format_ctime(1), "Thu Jan  1 00:00:01 1970");
}

TEST_F(Timestamp, TwoDigitDayIsNotPadded) {
  EXPECT_EQ(format_ctime(1794310282), "Tue Nov 10 11:31:22 2026");
  EXPECT_EQ(format_ctime(1700000000), "Tue Nov 14 22:13:20 2023");
}

TEST_F(Timestamp, TimeFieldsAreZeroPadded) {
  EXPECT_EQ(format_ctime(86399), "Thu Jan  1 23:59:59 1970");
  EXPECT_EQ(format_ctime(951782400), "Tue Feb 29 00:00:00 2000");
}

TEST_F(Timestamp, HandlesTimesAroundThe32BitLimit) {
  EXPECT_EQ(format_ctime(2147483647), "Tue Jan 19 03:14:07 2038");
  EXPECT_EQ(format_ctime(2147483648LL), "Tue Jan 19 03:14:08 2038");
  EXPECT_EQ(format_ctime(253402300799LL), "Fri Dec 31 23:59:59 9999");
}

TEST_F(Timestamp, HandlesTimesBeforeTheEpoch) {
  EXPECT_EQ(format_ctime(-1), "Wed Dec 31 23:59:59 1969");
}

TEST_F(Timestamp, UsesLocalTime) {
  set_tz("Asia/Tokyo");
  EXPECT_EQ(format_ctime(0), "Thu Jan  1 09:00:00 1970");
  set_tz("America/New_York");
  EXPECT_EQ(format_ctime(0), "Wed Dec 31 19:00:00 1969");
}

TEST_F(Timestamp, EveryWeekdayAndMonthHasItsEnglishName) {
  // 1970-01-01 was a Thursday; step one day and one month at a time.
  const char* days[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
  for (int d = 0; d < 7; ++d) {
    EXPECT_EQ(format_ctime(static_cast<std::time_t>(d) * 86400).substr(0, 4),
              std::string(days[d]) + " ");
  }
  const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const int month_start_day[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};  // 1970
  for (int m = 0; m < 12; ++m) {
    EXPECT_EQ(format_ctime(static_cast<std::time_t>(month_start_day[m]) * 86400).substr(4, 6),
              std::string(months[m]) + "  1")
        << m;
  }
}

TEST_F(Timestamp, CtimeNowIsTheCurrentTime) {
  const std::time_t before = std::time(nullptr);
  const std::string now = ctime_now();
  const std::time_t after = std::time(nullptr);
  bool matched = false;
  for (std::time_t t = before; t <= after; ++t) matched = matched || now == format_ctime(t);
  EXPECT_TRUE(matched) << now;
}

TEST_F(Timestamp, CtimeNowIsPerThread) {
  const std::string* main_ref = &ctime_now();
  const std::string* other_ref = nullptr;
  std::string other_value;
  std::thread([&] {
    other_ref = &ctime_now();
    other_value = *other_ref;
  }).join();
  EXPECT_NE(main_ref, other_ref);
  EXPECT_EQ(other_value.size(), 24u);
}

TEST_F(Timestamp, ReplyIsBracketedCtimeSpaceData) {
  const std::time_t before = std::time(nullptr);
  const std::string reply = timestamp_reply("hello world");
  const std::time_t after = std::time(nullptr);
  bool matched = false;
  for (std::time_t t = before; t <= after; ++t) {
    matched = matched || reply == "[" + format_ctime(t) + "] hello world";
  }
  EXPECT_TRUE(matched) << reply;
  EXPECT_TRUE(std::regex_match(
      reply,
      std::regex(
          R"(\[(Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d \d{4}\] hello world)")))
      << reply;
}

TEST_F(Timestamp, ReplyKeepsDataBytesUnchanged) {
  using namespace std::string_literals;
  const std::string data = "a\0b 你好\r\n"s;
  const std::string reply = timestamp_reply(data);
  ASSERT_GE(reply.size(), data.size());
  EXPECT_EQ(reply.substr(reply.size() - data.size()), data);
  EXPECT_EQ(reply.substr(0, 1), "[");
  EXPECT_EQ(reply.substr(25, 2), "] ");  // 24-character ctime
  EXPECT_EQ(reply.size(), 1 + 24 + 2 + data.size());
}

TEST_F(Timestamp, ReplyToEmptyDataIsJustTheStamp) {
  const std::string reply = timestamp_reply("");
  EXPECT_EQ(reply.size(), 27u);
  EXPECT_EQ(reply.back(), ' ');
}

}  // namespace
}  // namespace netlab::modes
