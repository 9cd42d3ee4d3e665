// bench rr --rate: the open-loop schedule (who sends when) and how the report
// says the run was open-loop and whether it kept up. No sockets.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "modes/bench/options.hpp"
#include "modes/bench/report.hpp"
#include "modes/bench/schedule.hpp"

namespace netlab::modes::bench {
namespace {

// (connection, time) of the next `n` ticks a worker takes.
std::vector<std::pair<size_t, uint64_t>> take(OpenLoopSchedule& s, size_t n) {
  std::vector<std::pair<size_t, uint64_t>> out;
  for (size_t k = 0; k < n; ++k, s.advance()) out.emplace_back(s.next_connection(), s.next_ns());
  return out;
}

TEST(BenchOpenLoop, OneWorkerStaggersItsConnectionsEvenly) {
  // 1000/s over 4 connections: one request every 1 ms, each connection every 4 ms.
  OpenLoopSchedule s(1000, 4, 0, 4);
  s.start(5'000'000);
  const std::vector<std::pair<size_t, uint64_t>> expected = {
      {0, 5'000'000}, {1, 6'000'000},  {2, 7'000'000}, {3, 8'000'000},
      {0, 9'000'000}, {1, 10'000'000}, {2, 11'000'000}};
  EXPECT_EQ(take(s, 7), expected);
  EXPECT_EQ(s.intended_ns(2, 0), 7'000'000u);
  EXPECT_EQ(s.intended_ns(2, 3), 19'000'000u);  // its fourth request: 3 rounds of 4 ms later
}

TEST(BenchOpenLoop, WorkersTakeOnlyTheirOwnConnectionsTicks) {
  // 5 connections over 2 threads (3 + 2), 100/s in all: 10 ms apart, 50 ms a round.
  OpenLoopSchedule first(100, 5, 0, 3);
  OpenLoopSchedule second(100, 5, 3, 2);
  first.start(0);
  second.start(0);
  const std::vector<std::pair<size_t, uint64_t>> first_expected = {
      {0, 0}, {1, 10'000'000}, {2, 20'000'000}, {0, 50'000'000}, {1, 60'000'000}};
  const std::vector<std::pair<size_t, uint64_t>> second_expected = {
      {0, 30'000'000}, {1, 40'000'000}, {0, 80'000'000}, {1, 90'000'000}};
  EXPECT_EQ(take(first, 5), first_expected);
  EXPECT_EQ(take(second, 4), second_expected);
  EXPECT_EQ(second.intended_ns(1, 2), 140'000'000u);  // global connection 4, third request
}

TEST(BenchOpenLoop, AWorkerWithoutConnectionsIsNeverDue) {
  OpenLoopSchedule s(1000, 1, 1, 0);
  s.start(0);
  EXPECT_EQ(s.next_ns(), UINT64_MAX);
}

TEST(BenchOpenLoop, ReportSaysOpenLoopAndTheRateAchieved) {
  Options o;
  o.mode = "rr";
  o.connections = 10;
  o.rate = 2000;
  Result r;
  r.target = "127.0.0.1:1";
  r.duration_s = 1;
  r.requests = 1990;
  const std::string text = render_text(o, r);
  EXPECT_NE(text.find(", open loop at 2000 requests/s (200 per connection),"), std::string::npos)
      << text;
  EXPECT_NE(text.find("\n  open loop: 2000 requests/s scheduled, 1990.0 achieved; latency timed "
                      "from when each request was due\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("BEHIND"), std::string::npos) << text;
  const std::string json = render_json(o, r);
  EXPECT_NE(json.find(R"("scheduled_rate":2000,"behind":false,)"), std::string::npos) << json;
}

TEST(BenchOpenLoop, ReportSaysClearlyWhenTheServerCannotKeepUp) {
  Options o;
  o.mode = "rr";
  o.rate = 1000;
  Result r;
  r.duration_s = 2;
  r.requests = 1600;  // 800/s: under 90% of the schedule
  const std::string text = render_text(o, r);
  EXPECT_NE(text.find("\n  BEHIND SCHEDULE: only 800.0 of the 1000 requests/s asked for completed: "
                      "the server (or this generator) cannot keep up at this rate"),
            std::string::npos)
      << text;
  EXPECT_NE(render_json(o, r).find(R"("behind":true)"), std::string::npos);
  r.requests = 1800;  // 900/s: on schedule, within what the run's edges cost
  EXPECT_EQ(render_text(o, r).find("BEHIND"), std::string::npos);
}

TEST(BenchOpenLoop, ClosedLoopReportIsUnchanged) {
  Options o;
  o.mode = "rr";
  Result r;
  r.duration_s = 1;
  r.requests = 10;
  EXPECT_EQ(render_text(o, r).find("open loop"), std::string::npos);
  EXPECT_EQ(render_json(o, r).find("scheduled_rate"), std::string::npos);
}

}  // namespace
}  // namespace netlab::modes::bench
