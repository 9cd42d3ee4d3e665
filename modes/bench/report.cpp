#include "modes/bench/report.hpp"

#include <fmt/format.h>

#include <cmath>

namespace netlab::modes::bench {

namespace {
struct Percentiles {
  double p50, p90, p99, p999, max;
};
Percentiles percentiles(const Histogram& h) {
  return {h.percentile_us(50), h.percentile_us(90), h.percentile_us(99), h.percentile_us(99.9),
          h.percentile_us(100)};
}

// An open loop that completed less than this share of its schedule did not
// run at the rate asked for: the server (or the generator) could not keep up.
constexpr double kBehindShare = 0.9;

// A rate as asked for: "2000", "0.5", "666.667" (no exponents).
std::string rate_text(double r) {
  if (r == std::floor(r)) return fmt::format("{:.0f}", r);
  return fmt::format("{:.6g}", r);
}

// JSON string contents: the target may be a Unix socket path.
std::string json_escape(const std::string& s) {
  std::string out;
  for (const unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      out += fmt::format("\\u{:04x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::optional<double> rss_per_conn(const Result& r) {
  if (!r.rss_before_kib || !r.rss_after_kib || r.opened == 0) return std::nullopt;
  return (static_cast<double>(*r.rss_after_kib) - static_cast<double>(*r.rss_before_kib)) /
         static_cast<double>(r.opened);
}
}  // namespace

bool behind_schedule(const Options& o, const Result& r) {
  return o.open_loop() && r.rate() < kBehindShare * o.rate;
}

std::string render_json(const Options& o, const Result& r) {
  std::string out = fmt::format(R"({{"mode":"{}","target":"{}","connections":{},"threads":{},)",
                                o.mode, json_escape(r.target), o.connections, o.threads);
  if (o.mode == "rr") out += fmt::format(R"("pipeline":{},)", o.pipeline);
  if (o.open_loop()) {
    out += fmt::format(R"("scheduled_rate":{},"behind":{},)", o.rate, behind_schedule(o, r));
  }
  if (o.mode == "fanout") {
    out += fmt::format(R"("members":{},"window":{},"messages":{},"deliveries":{},)", o.connections,
                       o.window, r.messages, r.requests);
  }
  if (o.mode == "idle") {
    out += fmt::format(R"("opened":{},"hold_s":{},)", r.opened, o.hold_s);
    if (r.rss_before_kib) out += fmt::format(R"("server_rss_before_kib":{},)", *r.rss_before_kib);
    if (r.rss_after_kib) out += fmt::format(R"("server_rss_after_kib":{},)", *r.rss_after_kib);
    if (auto per = rss_per_conn(r)) out += fmt::format(R"("rss_per_conn_kib":{:.3f},)", *per);
  }
  const Percentiles p = percentiles(r.latency);
  out += fmt::format(
      R"("duration_s":{:.3f},"requests":{},"rate":{:.1f},"errors":{},"lost":{},)"
      R"("latency_us":{{"p50":{:.1f},"p90":{:.1f},"p99":{:.1f},"p999":{:.1f},"max":{:.1f}}}}})",
      r.duration_s, r.requests, r.rate(), r.errors, r.lost, p.p50, p.p90, p.p99, p.p999, p.max);
  return out + "\n";
}

std::string render_text(const Options& o, const Result& r) {
  const bool fanout = o.mode == "fanout";
  std::string out = fmt::format("====== netlab bench {} {} ======\n", o.mode, r.target);
  if (fanout) {
    out += fmt::format("  {} members + 1 publisher in room {} ({}), window {}, {} thread{}\n",
                       o.connections, o.room, o.protocol == Protocol::kRedis ? "redis" : "netlab",
                       o.window, o.threads, o.threads == 1 ? "" : "s");
  } else {
    out += fmt::format("  {} {}, {} thread{}", o.connections,
                       o.mode == "udp" ? "sockets" : "connections", o.threads,
                       o.threads == 1 ? "" : "s");
    if (o.open_loop()) {
      out += fmt::format(", open loop at {} requests/s ({} per connection)", rate_text(o.rate),
                         rate_text(o.rate / static_cast<double>(o.connections)));
    } else if (o.mode == "rr") {
      out += fmt::format(", pipeline {}", o.pipeline);
    }
    out += fmt::format(", payload {} bytes\n", o.payload.size() + 1);
  }
  if (o.mode == "idle") {
    out += fmt::format("  {} connections opened and answered in {:.3f} s ({:.1f} per second)\n",
                       r.opened, r.duration_s, r.rate());
    out += fmt::format("  held idle for {} s\n", o.hold_s);
    if (r.rss_before_kib && r.rss_after_kib) {
      out += fmt::format("  server RSS: {} KiB before, {} KiB after, {:.3f} KiB per connection\n",
                         *r.rss_before_kib, *r.rss_after_kib, *rss_per_conn(r));
    }
  } else {
    out += fmt::format("  {:.3f} s measured after {} s warmup\n", r.duration_s, o.warmup_s);
    if (fanout) out += fmt::format("  {} messages delivered to every member\n", r.messages);
    out += fmt::format("  {} {}: {:.1f} per second\n", r.requests,
                       fanout ? "deliveries" : "requests", r.rate());
    if (o.open_loop()) {
      out += fmt::format(
          "  open loop: {} requests/s scheduled, {:.1f} achieved; latency timed from when each "
          "request was due\n",
          rate_text(o.rate), r.rate());
      if (behind_schedule(o, r)) {
        out += fmt::format(
            "  BEHIND SCHEDULE: only {:.1f} of the {} requests/s asked for completed: the server "
            "(or this generator) cannot keep up at this rate, and the latencies include the "
            "growing backlog\n",
            r.rate(), rate_text(o.rate));
      }
    }
  }
  const Percentiles p = percentiles(r.latency);
  out +=
      fmt::format("  latency (us): p50 {:.1f}  p90 {:.1f}  p99 {:.1f}  p99.9 {:.1f}  max {:.1f}\n",
                  p.p50, p.p90, p.p99, p.p999, p.max);
  out += fmt::format("  errors: {}", r.errors);
  if (o.mode == "udp") out += fmt::format(", lost (resent): {}", r.lost);
  return out + "\n";
}

}  // namespace netlab::modes::bench
