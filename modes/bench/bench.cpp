// netlab bench: the built-in load generator (like redis-benchmark) for
// netlab's servers and anything speaking their protocols. One nested
// subcommand per workload (rr, udp, fanout, idle); this file only declares
// the CLI and dispatches, the generators live in modes/bench/*.cpp.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "modes/bench/modes.hpp"
#include "modes/bench/options.hpp"
#include "modes/cli_options.hpp"
#include "modes/modes.hpp"
#include "net/log.hpp"
#include "net/resource_limits.hpp"

namespace netlab::modes {

namespace bench {
// Sockets of our own besides the connections: stdio, epoll instances, the
// probe; generous so that the check never passes and then fails midway.
constexpr size_t kSpareFds = 64;

void ensure_fd_limit(size_t sockets) {
  const long limit = net::raise_fd_limit();
  if (limit >= 0 && static_cast<size_t>(limit) < sockets + kSpareFds) {
    throw std::runtime_error(fmt::format(
        "cannot open {} connections: the open-file limit is {} (raise the hard limit: ulimit -Hn)",
        sockets, limit));
  }
}
}  // namespace bench

namespace {
using bench::Options;

int run(const Options& o) {
  o.log.apply();
  bench::Result r;
  if (o.mode == "rr") r = bench::run_rr(o);
  if (o.mode == "udp") r = bench::run_udp(o);
  if (o.mode == "fanout") r = bench::run_fanout(o);
  if (o.mode == "idle") r = bench::run_idle(o);
  const std::string out = o.json ? bench::render_json(o, r) : bench::render_text(o, r);
  std::fputs(out.c_str(), stdout);
  std::fflush(stdout);
  if (r.requests == 0) {
    net::Log::error("nothing completed against {} ({} errors)", r.target, r.errors);
    return 1;
  }
  // A stream connection or member counts one error when it fails, so this
  // many means none survived: what was measured says little about the server.
  // (UDP errors are per datagram, and a few are no reason to discard a run.)
  if (o.mode != "udp" && r.errors >= o.connections) {
    net::Log::error("every connection to {} failed ({} errors)", r.target, r.errors);
    return 1;
  }
  return 0;
}

CLI::App* add_mode(CLI::App* bench, const char* name, const char* about, size_t connections,
                   const char* connections_help, std::shared_ptr<Options> opts, Runner& runner,
                   net::Transport transport = net::Transport::kTcp) {
  auto* sub = bench->add_subcommand(name, about);
  opts->mode = name;
  opts->connections = connections;
  add_address_options(sub, opts->endpoint, transport, Side::kClient);
  sub->add_option("-c,--connections", opts->connections, connections_help)
      ->check(CLI::Range(size_t{1}, size_t{1} << 20))
      ->type_name("N")
      ->capture_default_str()
      ->group("Load");
  const bool idle = std::string_view(name) == "idle";
  sub->add_option("-d,--duration", opts->duration_s,
                  idle ? "Not used by idle (see --hold)" : "Seconds to measure (fractions allowed)")
      ->check(CLI::PositiveNumber)
      ->type_name("SECS")
      ->capture_default_str()
      ->group("Load");
  sub->add_option("--warmup", opts->warmup_s,
                  idle ? "Not used by idle" : "Seconds of load before measuring (0 = none)")
      ->check(CLI::NonNegativeNumber)
      ->type_name("SECS")
      ->capture_default_str()
      ->group("Load");
  sub->add_option("-t,--threads", opts->threads,
                  "Threads, each with its own epoll loop and share of the connections")
      ->check(CLI::Range(size_t{1}, size_t{256}))
      ->type_name("N")
      ->capture_default_str()
      ->group("Load");
  const bool fanout = std::string_view(name) == "fanout";
  sub->add_option("--payload", opts->payload,
                  fanout ? "Not used by fanout (its messages are sequence numbers)"
                  : idle ? "Request line, sent with a \\n appended; {n} becomes a number unique "
                           "to each connection"
                         : "Request line, sent with a \\n appended")
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            return v.find('\n') == std::string::npos ? "" : "the payload is one line: no \\n";
          },
          "LINE"))
      ->type_name("TEXT")
      ->capture_default_str()
      ->group("Load");
  sub->add_flag("--json", opts->json, "Print one JSON object on stdout instead of the summary")
      ->group("Output");
  add_log_options(sub, opts->log);
  sub->callback([opts, &runner] { runner = [opts] { return run(*opts); }; });
  return sub;
}
}  // namespace

void register_bench(CLI::App& app, Runner& runner) {
  auto* bench = app.add_subcommand(
      "bench",
      "Load generator: request/response, UDP, chat fan-out and idle-connection benchmarks");
  bench->require_subcommand(1);
  bench->footer(examples({
      "netlab bench rr                          # 50 connections to localhost:21567, 5 s",
      "netlab bench rr -c 500 -t 2 --pipeline 4 -d 10",
      "netlab bench rr --rate 20000 -d 10       # open loop at 20,000 requests/s",
      "netlab bench rr --payload PING -p 6379   # redis-server, inline PING",
      "netlab bench udp -c 50                   # against netlab userv",
      "netlab bench fanout -c 1000 --window 16  # against netlab chat-server",
      "netlab bench fanout --protocol redis -p 6379",
      "netlab bench idle -c 10000 --server-pid $(pidof -s netlab)",
      "netlab bench rr -d 2 --json | jq .rate",
  }));

  {
    auto opts = std::make_shared<Options>();
    auto* sub =
        add_mode(bench, "rr", "Request/response: each connection sends a line, awaits a reply line",
                 50, "Connections", opts, runner);
    auto* pipeline =
        sub->add_option("--pipeline", opts->pipeline, "Requests in flight per connection")
            ->check(CLI::Range(size_t{1}, size_t{4096}))
            ->type_name("D")
            ->capture_default_str()
            ->group("Load");
    sub->add_option("--rate", opts->rate,
                    "Open loop: R requests per second in all on a fixed schedule, each timed "
                    "from when it was due (a connection that falls behind pipelines its backlog)")
        ->check(CLI::Validator(
            [](std::string& v) -> std::string {
              const double r = std::strtod(v.c_str(), nullptr);
              return r > 0 && r <= 1e9 ? ""
                                       : "the rate is a number of requests per second, "
                                         "above 0 and at most 1e9";
            },
            "R"))
        ->excludes(pipeline)
        ->type_name("R")
        ->group("Load");
    sub->footer(examples({
        "netlab bench rr -c 50 -d 5",
        "netlab bench rr --rate 20000 -d 10      # open loop: tail latency without coordinated "
        "omission",
        "netlab bench rr --unix /tmp/ts.sock --pipeline 16",
        "netlab bench rr -p 6379 --payload PING --json",
    }));
  }
  {
    auto opts = std::make_shared<Options>();
    auto* sub = add_mode(bench, "udp",
                         "Datagrams: each socket sends one, awaits the reply, resends when lost",
                         50, "Sockets", opts, runner, net::Transport::kUdp);
    sub->add_option("--resend-ms", opts->resend_ms,
                    "Resend a request unanswered after MS milliseconds (counted as lost)")
        ->check(CLI::Range(1, 60000))
        ->type_name("MS")
        ->capture_default_str()
        ->group("Load");
    sub->footer(examples({
        "netlab bench udp -c 50",
        "netlab bench udp --unix /tmp/ts.dgram --resend-ms 50",
    }));
  }
  {
    auto opts = std::make_shared<Options>();
    auto* sub =
        add_mode(bench, "fanout",
                 "Chat broadcast: members join a room, a publisher sends, deliveries are timed",
                 100, "Members in the room (plus one publisher)", opts, runner);
    sub->add_option("--room", opts->room, "Room (netlab) or channel (redis) to use")
        ->type_name("NAME")
        ->capture_default_str()
        ->group("Fan-out");
    sub->add_option("--window", opts->window,
                    "Messages in flight (not yet received by every member)")
        ->check(CLI::Range(size_t{1}, size_t{1} << 16))
        ->type_name("W")
        ->capture_default_str()
        ->group("Fan-out");
    sub->add_option("--member-port", opts->member_ports,
                    "Spread the members over these ports of HOST (chat-server --cluster nodes); "
                    "the publisher uses PORT")
        ->type_name("PORT")
        ->group("Fan-out");
    add_choice_option(sub, "--protocol", opts->protocol,
                      {{"netlab", bench::Protocol::kNetlab}, {"redis", bench::Protocol::kRedis}},
                      "netlab (chat-server login and broadcasts) or redis (SUBSCRIBE/PUBLISH)")
        ->group("Fan-out");
    sub->footer(examples({
        "netlab bench fanout -c 1000 --window 16",
        "netlab bench fanout --protocol redis -p 6379 -c 1000",
        "netlab bench fanout -p 7001 --member-port 7001 --member-port 7002 -c 1000  # 2 nodes",
    }));
  }
  {
    auto opts = std::make_shared<Options>();
    auto* sub =
        add_mode(bench, "idle",
                 "Idle connections: open many, one request each, hold them, measure server RSS",
                 1000, "Connections to open and hold", opts, runner);
    sub->add_option("--hold", opts->hold_s, "Seconds to hold the connections open and idle")
        ->check(CLI::NonNegativeNumber)
        ->type_name("SECS")
        ->capture_default_str()
        ->group("Idle");
    sub->add_option("--server-pid", opts->server_pid,
                    "Report this server process's RSS per connection (from /proc)")
        ->check(CLI::PositiveNumber)
        ->type_name("PID")
        ->group("Idle");
    sub->footer(examples({
        "netlab bench idle -c 10000 --hold 5",
        "netlab bench idle -c 10000 --server-pid 1234 --json",
    }));
  }
}

}  // namespace netlab::modes
