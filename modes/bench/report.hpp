#pragma once
// Result: what one `netlab bench` run measured, and its two renderings: a
// short summary for people (like redis-benchmark's) and one JSON object for
// scripts (bench/compare.sh reads these keys; keep them stable).
#include <cstdint>
#include <optional>
#include <string>

#include "modes/bench/histogram.hpp"
#include "modes/bench/options.hpp"

namespace netlab::modes::bench {

struct Result {
  std::string target;     // the address connected to: "127.0.0.1:21567"
  double duration_s = 0;  // measured time (after warmup; idle: the setup phase)
  uint64_t requests = 0;  // completed requests (fanout: deliveries)
  uint64_t errors = 0;
  uint64_t lost = 0;  // udp: requests resent after --resend-ms
  Histogram latency;
  // fanout
  uint64_t messages = 0;
  // idle
  uint64_t opened = 0;
  std::optional<uint64_t> rss_before_kib;
  std::optional<uint64_t> rss_after_kib;

  double rate() const { return duration_s > 0 ? static_cast<double>(requests) / duration_s : 0; }
};

// An open-loop run (--rate) that completed well under the rate asked for.
bool behind_schedule(const Options& o, const Result& r);

std::string render_json(const Options& o, const Result& r);
std::string render_text(const Options& o, const Result& r);

}  // namespace netlab::modes::bench
