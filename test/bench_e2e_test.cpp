// End-to-end tests of `netlab bench`: every mode runs briefly against the
// real server it is meant for (tserv, userv, chat-server; redis-server when
// installed) and its --json report is checked for what must hold whatever
// the machine's speed: work was done, nothing failed, percentiles ordered.
// Functional only: no test here depends on how fast anything is.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "support/process.hpp"

extern char** environ;

namespace netlab::testing {
namespace {

using namespace std::chrono_literals;
constexpr Millis kBenchTimeout{20000};  // a 0.5 s run plus setup, with room for ASan

// A server of netlab's on an ephemeral loopback port.
struct Server {
  Server(std::vector<std::string> args, std::string_view proto = "tcp") : proc(std::move(args)) {
    if (auto p = proc.wait_for_port(proto)) port = *p;
  }
  Process proc;
  uint16_t port = 0;
};

// The flat fields of the one JSON object bench prints (latency_us's
// percentiles included: their names are unique).
class Report {
 public:
  explicit Report(std::string json) : json_(std::move(json)) {}
  std::optional<double> number(const std::string& key) const {
    std::smatch m;
    if (!std::regex_search(json_, m, std::regex("\"" + key + "\":(-?[0-9.eE+]+)"))) return {};
    return std::stod(m[1]);
  }
  std::optional<std::string> text(const std::string& key) const {
    std::smatch m;
    if (!std::regex_search(json_, m, std::regex("\"" + key + "\":\"([^\"]*)\""))) return {};
    return m[1];
  }
  double at(const std::string& key) const {
    auto v = number(key);
    EXPECT_TRUE(v) << "no \"" << key << "\" in " << json_;
    return v.value_or(-1);
  }
  const std::string& json() const { return json_; }

 private:
  std::string json_;
};

// Runs `netlab bench ARGS --json` to completion; the report is its stdout.
struct BenchRun {
  explicit BenchRun(std::vector<std::string> args) {
    std::vector<std::string> a = {"bench"};
    a.insert(a.end(), args.begin(), args.end());
    a.push_back("--json");
    Process p(a);
    code = p.wait_exit(kBenchTimeout);
    out = p.out();
    err = p.err();
  }
  int code = -1;
  std::string out;
  std::string err;
};

// What every successful report must say, whatever the mode.
void expect_sound(const BenchRun& run, const std::string& mode) {
  ASSERT_EQ(run.code, 0) << run.err;
  // One JSON object, one line, nothing else on stdout.
  ASSERT_TRUE(std::regex_match(run.out, std::regex(R"(\{[^\n]*\}\n)"))) << run.out;
  const Report r(run.out);
  EXPECT_EQ(r.text("mode"), mode);
  EXPECT_GT(r.at("requests"), 0);
  EXPECT_GT(r.at("rate"), 0);
  EXPECT_EQ(r.at("errors"), 0) << run.out;
  const double p50 = r.at("p50"), p90 = r.at("p90"), p99 = r.at("p99"), p999 = r.at("p999");
  EXPECT_GT(p50, 0);
  EXPECT_LE(p50, p90);
  EXPECT_LE(p90, p99);
  EXPECT_LE(p99, p999);
}

const std::vector<std::string> kShort = {"-d", "0.5", "--warmup", "0"};

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// ----------------------------------------------------------------------- rr

TEST(BenchRr, MeasuresTservWithPipelineAndThreads) {
  Server tserv({"tserv", "--port", "0", "-q"});
  ASSERT_NE(tserv.port, 0);
  const std::string port = std::to_string(tserv.port);
  BenchRun run(with({"rr", "127.0.0.1", port, "-c", "5", "-t", "2", "--pipeline", "3"}, kShort));
  expect_sound(run, "rr");
  const Report r(run.out);
  EXPECT_EQ(r.text("target"), "127.0.0.1:" + port);
  EXPECT_EQ(r.at("connections"), 5);
  EXPECT_EQ(r.at("threads"), 2);
  EXPECT_EQ(r.at("pipeline"), 3);
  EXPECT_GT(r.at("duration_s"), 0.4);
  EXPECT_EQ(tserv.proc.terminate(), 0);
}

// Two load threads against a thread per connection: real concurrency on both
// sides (make check-tsan runs this against a ThreadSanitizer build).
TEST(BenchRr, DrivesThreadModelTservFromTwoThreads) {
  Server tserv({"tserv", "--port", "0", "-q", "--model", "thread"});
  ASSERT_NE(tserv.port, 0);
  BenchRun run(
      with({"rr", "127.0.0.1", std::to_string(tserv.port), "-c", "8", "-t", "2", "--pipeline", "2"},
           kShort));
  expect_sound(run, "rr");
  EXPECT_EQ(tserv.proc.terminate(), 0) << tserv.proc.err();
}

// cmdserv's handler (ls under --root) called from many threads at once.
TEST(BenchRr, DrivesThreadModelCmdservLsFromTwoThreads) {
  TempDir root;
  for (const char* name : {"a", "b"}) {
    const int fd = ::open(root.path(name).c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0) << name;
    ::close(fd);
  }
  Server cmdserv({"cmdserv", "--port", "0", "-q", "--model", "thread", "--root", root.path(".")});
  ASSERT_NE(cmdserv.port, 0);
  BenchRun run(with(
      {"rr", "127.0.0.1", std::to_string(cmdserv.port), "-c", "6", "-t", "2", "--payload", "ls"},
      kShort));
  expect_sound(run, "rr");
  EXPECT_EQ(cmdserv.proc.terminate(), 0) << cmdserv.proc.err();
}

TEST(BenchRr, KeepsPipelineDepthRequestsInFlightAndSendsThePayloadLine) {
  // The test plays the server: it sees exactly what the generator sends and
  // when, and answers only once the whole pipeline has arrived.
  Listening server;
  Process p({"bench", "rr", "127.0.0.1", std::to_string(server.port()), "-c", "1", "--pipeline",
             "3", "--payload", "PING", "-d", "2", "--warmup", "0", "--json"});
  Client probe = server.accept();  // bench first checks that the server is there
  ASSERT_TRUE(probe.valid());
  probe.read_until_eof();
  Client c = server.accept();
  ASSERT_TRUE(c.valid());
  EXPECT_EQ(c.read_lines(3), "PING\nPING\nPING\n");
  EXPECT_FALSE(c.readable_within(200ms));  // no fourth request before a reply
  ASSERT_TRUE(c.send("+PONG\r\n"));
  EXPECT_EQ(c.read_lines(1), "PING\n");  // one reply, one new request
  ASSERT_TRUE(c.send("+PONG\r\n+PONG\r\n"));
  EXPECT_EQ(c.read_lines(2), "PING\nPING\n");
  ASSERT_EQ(p.wait_exit(kBenchTimeout), 0) << p.err();
  const Report r(p.out());
  EXPECT_EQ(r.at("requests"), 3);
  EXPECT_EQ(r.at("errors"), 0);
}

TEST(BenchRr, MeasuresOverUnixStreamSocket) {
  TempDir dir;
  const std::string path = dir.path("ts.sock");
  Process tserv({"tserv", "--unix", path, "-q"});
  ASSERT_TRUE(tserv.wait_for_stderr(std::regex("listening on unix")));
  BenchRun run(with({"rr", "--unix", path, "-c", "3"}, kShort));
  expect_sound(run, "rr");
  EXPECT_EQ(Report(run.out).text("target"), path);
  EXPECT_EQ(tserv.terminate(), 0);
}

TEST(BenchRr, ClosedPortIsOneLineErrorAndExit1) {
  const std::string port = std::to_string(unused_port(SOCK_STREAM));
  Process p({"bench", "rr", "-H", "127.0.0.1", "-p", port, "-d", "0.5"});
  EXPECT_EQ(p.wait_exit(kBenchTimeout), 1);
  EXPECT_EQ(p.err(),
            "netlab bench: cannot connect to 127.0.0.1:" + port + ": Connection refused\n");
  EXPECT_EQ(p.out(), "");
}

TEST(BenchRr, StopsEarlyOnSigintAndReportsWhatItMeasured) {
  Server tserv({"tserv", "--port", "0", "-q"});
  ASSERT_NE(tserv.port, 0);
  // --trace (on stderr) shows when the first reply has arrived: a request
  // has completed, so the report must count it.
  Process p({"bench", "rr", "127.0.0.1", std::to_string(tserv.port), "-c", "2", "-d", "60",
             "--warmup", "0", "--json", "--trace"});
  ASSERT_TRUE(p.wait_for_stderr(std::regex(R"(recv\(fd \d+, \d+\) = \d+ bytes "\[)"))) << p.err();
  ASSERT_TRUE(p.signal(SIGINT));
  ASSERT_EQ(p.wait_exit(kBenchTimeout), 0) << p.err();
  const Report r(p.out());
  EXPECT_GT(r.at("requests"), 0);
  EXPECT_LT(r.at("duration_s"), 30);
}

TEST(BenchRr, TextSummaryNamesRateLatencyAndErrors) {
  Server tserv({"tserv", "--port", "0", "-q"});
  ASSERT_NE(tserv.port, 0);
  Process p(with({"bench", "rr", "127.0.0.1", std::to_string(tserv.port), "-c", "2"}, kShort));
  ASSERT_EQ(p.wait_exit(kBenchTimeout), 0) << p.err();
  EXPECT_TRUE(std::regex_search(p.out(), std::regex(R"(\d+ requests: [0-9.]+ per second)")))
      << p.out();
  EXPECT_TRUE(std::regex_search(
      p.out(), std::regex(R"(p50 [0-9.]+ +p90 [0-9.]+ +p99 [0-9.]+ +p99\.9 [0-9.]+)")))
      << p.out();
  EXPECT_TRUE(std::regex_search(p.out(), std::regex(R"(errors: 0)"))) << p.out();
}

// ------------------------------------------------------------ rr --rate

TEST(BenchRr, OpenLoopSendsAtTheRateAskedForAndSaysSo) {
  Server tserv({"tserv", "--port", "0", "-q"});
  ASSERT_NE(tserv.port, 0);
  const std::vector<std::string> args = {
      "rr",       "127.0.0.1", std::to_string(tserv.port), "-c", "10", "--rate", "2000", "-d", "1",
      "--warmup", "0"};
  BenchRun run(args);
  expect_sound(run, "rr");
  const Report r(run.out);
  EXPECT_EQ(r.at("scheduled_rate"), 2000);
  EXPECT_NE(r.json().find("\"behind\":false"), std::string::npos) << r.json();
  // Open loop: the schedule, not the server's speed, sets the count (a
  // closed loop does tens of thousands per second here).
  EXPECT_GE(r.at("requests"), 2000 * 0.85) << r.json();
  EXPECT_LE(r.at("requests"), 2000 * 1.15) << r.json();

  Process text(with({"bench"}, args));
  ASSERT_EQ(text.wait_exit(kBenchTimeout), 0) << text.err();
  EXPECT_TRUE(std::regex_search(
      text.out(), std::regex(R"(10 connections, 1 thread, open loop at 2000 requests/s \(200 per )"
                             R"(connection\))")))
      << text.out();
  EXPECT_TRUE(std::regex_search(text.out(),
                                std::regex(R"(\n  open loop: 2000 requests/s scheduled, [0-9.]+ )"
                                           R"(achieved; latency timed from when each request )"
                                           R"(was due\n)")))
      << text.out();
  EXPECT_EQ(text.out().find("BEHIND"), std::string::npos) << text.out();
  EXPECT_EQ(tserv.proc.terminate(), 0);
}

// Coordinated omission. The server stops for 300 ms early in a 1.5 s run at
// 3000 requests/s: about 900 requests fall due during the stall, a fifth of
// the run, and each waits from when it was due until the server resumes. A
// closed loop would time one request per connection as slow (only its max
// shows the stall); timed from when each request was actually sent, the
// requests held back by the full socket buffer would look fast. Over a Unix
// socket a 6-byte send costs the sender about 1 KiB of buffer, so the stall
// soon blocks the sends (TCP on loopback would buffer them all, and the two
// clocks would agree).
TEST(BenchRr, OpenLoopChargesAServerStallToEveryRequestItDelayed) {
  TempDir dir;
  const std::string path = dir.path("ts.sock");
  Process tserv({"tserv", "--unix", path, "-q"});
  ASSERT_TRUE(tserv.wait_for_stderr(std::regex("listening on unix")));
  Process bench({"bench", "rr", "--unix", path, "-c", "1", "--rate", "3000", "-d", "1.5",
                 "--warmup", "0", "--json", "-v"});
  ASSERT_TRUE(bench.wait_for_stderr(std::regex("measuring for")));
  ASSERT_TRUE(tserv.signal(SIGSTOP));
  std::this_thread::sleep_for(300ms);  // the stall itself, not a wait for anything
  ASSERT_TRUE(tserv.signal(SIGCONT));
  ASSERT_EQ(bench.wait_exit(kBenchTimeout), 0) << bench.err();
  const Report r(bench.out());
  EXPECT_EQ(r.at("errors"), 0);
  EXPECT_GE(r.at("max"), 250'000) << r.json();
  EXPECT_GE(r.at("p99"), 200'000) << r.json();
  // The requests due in the stall's first half waited at least 150 ms.
  EXPECT_GE(r.at("p90"), 100'000) << r.json();
  EXPECT_EQ(tserv.terminate(), 0);
}

TEST(BenchRr, OpenLoopSaysWhenTheServerCannotKeepUp) {
  // The test plays a server that answers the first 100 requests, then no more.
  Listening server;
  Process p({"bench", "rr", "127.0.0.1", std::to_string(server.port()), "-c", "1", "--rate", "1000",
             "-d", "1", "--warmup", "0"});
  Client probe = server.accept();
  ASSERT_TRUE(probe.valid());
  probe.read_until_eof();
  Client c = server.accept();
  ASSERT_TRUE(c.valid());
  std::string requests, replies;
  for (int i = 0; i < 100; ++i) {
    requests += "hello\n";
    replies += "ok\n";
  }
  ASSERT_EQ(c.read_lines(100), requests);
  ASSERT_TRUE(c.send(replies));
  ASSERT_EQ(p.wait_exit(kBenchTimeout), 0) << p.err();
  EXPECT_TRUE(std::regex_search(p.out(), std::regex(R"(\n  100 requests: )"))) << p.out();
  EXPECT_TRUE(std::regex_search(
      p.out(), std::regex(R"(\n  BEHIND SCHEDULE: only [0-9.]+ of the 1000 requests/s asked for )"
                          R"(completed: the server \(or this generator\) cannot keep up)")))
      << p.out();
}

TEST(BenchRr, RateMustBePositiveAndExcludesPipeline) {
  for (const char* rate : {"0", "-5", "nan", "x"}) {
    Process p({"bench", "rr", "--rate", rate});
    EXPECT_EQ(p.wait_exit(kBenchTimeout), 2) << rate;
    EXPECT_TRUE(std::regex_search(p.err(), std::regex("--rate"))) << rate << ": " << p.err();
    EXPECT_EQ(p.out(), "") << rate;
  }
  Process p({"bench", "rr", "--rate", "100", "--pipeline", "4"});
  EXPECT_EQ(p.wait_exit(kBenchTimeout), 2);
  EXPECT_TRUE(std::regex_search(
      p.err(), std::regex("--pipeline excludes --rate|--rate excludes --pipeline")))
      << p.err();
}

// ---------------------------------------------------------------------- udp

TEST(BenchUdp, MeasuresUserv) {
  Server userv({"userv", "--port", "0", "-q"}, "udp");
  ASSERT_NE(userv.port, 0);
  BenchRun run(
      with({"udp", "127.0.0.1", std::to_string(userv.port), "-c", "4", "-t", "2"}, kShort));
  expect_sound(run, "udp");
  EXPECT_TRUE(Report(run.out).number("lost"));
  EXPECT_EQ(userv.proc.terminate(), 0);
}

TEST(BenchUdp, MeasuresUservOnUnixDatagramSocket) {
  TempDir dir;
  const std::string path = dir.path("ts.dgram");
  Process userv({"userv", "--unix", path, "-q"});
  ASSERT_TRUE(userv.wait_for_stderr(std::regex("listening on unix")));
  BenchRun run(with({"udp", "--unix", path, "-c", "2"}, kShort));
  expect_sound(run, "udp");
  EXPECT_EQ(userv.terminate(), 0);
}

TEST(BenchUdp, NoServerMeansExit1) {
  const std::string port = std::to_string(unused_port(SOCK_DGRAM));
  Process p({"bench", "udp", "127.0.0.1", port, "-c", "1", "-d", "0.3", "--warmup", "0",
             "--resend-ms", "50"});
  EXPECT_EQ(p.wait_exit(kBenchTimeout), 1);
  EXPECT_TRUE(std::regex_search(p.err(), std::regex("^netlab bench: nothing completed")))
      << p.err();
}

// ------------------------------------------------------------------- fanout

void expect_fanout_sound(const BenchRun& run, double members) {
  expect_sound(run, "fanout");
  const Report r(run.out);
  EXPECT_EQ(r.at("members"), members);
  const double messages = r.at("messages");
  const double deliveries = r.at("deliveries");
  EXPECT_GT(messages, 0);
  EXPECT_EQ(deliveries, r.at("requests"));
  // Every complete message reached every member; the window's worth of
  // messages cut by the start and end of measuring reached some.
  const double window = r.at("window");
  EXPECT_GE(deliveries, (messages - window) * members);
  EXPECT_LE(deliveries, (messages + window) * members);
}

TEST(BenchFanout, MeasuresChatServerRoom) {
  Server chat({"chat-server", "--port", "0", "-q"});
  ASSERT_NE(chat.port, 0);
  BenchRun run(with({"fanout", "127.0.0.1", std::to_string(chat.port), "-c", "6", "-t", "2",
                     "--window", "4", "--room", "r1"},
                    kShort));
  expect_fanout_sound(run, 6);
  EXPECT_EQ(Report(run.out).at("window"), 4);
  EXPECT_EQ(chat.proc.terminate(), 0);
}

TEST(BenchFanout, NameTakenInRoomIsAClearError) {
  Server chat({"chat-server", "--port", "0", "-q"});
  ASSERT_NE(chat.port, 0);
  Client squatter = Client::tcp("127.0.0.1", chat.port);
  ASSERT_TRUE(squatter.send("bench0 taken\n"));
  ASSERT_EQ(squatter.read_lines(1), "success\n");
  Process p(with(
      {"bench", "fanout", "127.0.0.1", std::to_string(chat.port), "-c", "2", "--room", "taken"},
      kShort));
  EXPECT_EQ(p.wait_exit(kBenchTimeout), 1);
  EXPECT_TRUE(std::regex_search(p.err(), std::regex("^netlab bench: name bench0 is already taken")))
      << p.err();
}

// redis-server, when installed, on a Unix socket of the test's own (its TCP
// listener off, so no port is ever guessed). Killed by the destructor.
class RedisServer {
 public:
  explicit RedisServer(const std::string& path) : path_(path) {
    std::vector<std::string> args = {kPath, "--port",     "0",      "--unixsocket",
                                     path,  "--save",     "",       "--appendonly",
                                     "no",  "--loglevel", "warning"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, kPath, nullptr, nullptr, argv.data(), environ) != 0) pid_ = -1;
  }
  ~RedisServer() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  static bool installed() { return access(kPath, X_OK) == 0; }
  // True once the socket accepts connections (bounded wait).
  bool ready() const {
    const auto deadline = Clock::now() + kTimeout;
    while (Clock::now() < deadline) {
      if (Client::unix_stream(path_, 200ms).valid()) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

 private:
  static constexpr const char* kPath = "/usr/bin/redis-server";
  std::string path_;
  pid_t pid_ = -1;
};

TEST(BenchFanout, MeasuresRedisPubSub) {
  if (!RedisServer::installed()) GTEST_SKIP() << "redis-server not installed";
  TempDir dir;
  const std::string path = dir.path("redis.sock");
  RedisServer redis(path);
  ASSERT_TRUE(redis.ready());
  BenchRun run(
      with({"fanout", "--unix", path, "--protocol", "redis", "-c", "5", "--window", "8"}, kShort));
  expect_fanout_sound(run, 5);
}

TEST(BenchRr, MeasuresRedisInlinePing) {
  if (!RedisServer::installed()) GTEST_SKIP() << "redis-server not installed";
  TempDir dir;
  const std::string path = dir.path("redis.sock");
  RedisServer redis(path);
  ASSERT_TRUE(redis.ready());
  BenchRun run(with({"rr", "--unix", path, "--payload", "PING", "-c", "3"}, kShort));
  expect_sound(run, "rr");
}

// --------------------------------------------------------------------- idle

TEST(BenchIdle, OpensAnswersHoldsAndReportsServerRss) {
  Server tserv({"tserv", "--port", "0", "-q"});
  ASSERT_NE(tserv.port, 0);
  BenchRun run({"idle", "127.0.0.1", std::to_string(tserv.port), "-c", "300", "-t", "2", "--hold",
                "0.2", "--server-pid", std::to_string(tserv.proc.pid())});
  expect_sound(run, "idle");
  const Report r(run.out);
  EXPECT_EQ(r.at("opened"), 300);
  EXPECT_EQ(r.at("requests"), 300);
  EXPECT_GE(r.at("server_rss_after_kib"), r.at("server_rss_before_kib"));
  EXPECT_TRUE(r.number("rss_per_conn_kib")) << run.out;
  EXPECT_EQ(tserv.proc.terminate(), 0);
}

TEST(BenchIdle, NumbersEachConnectionsPayloadSoChatLoginsAreDistinct) {
  Server chat({"chat-server", "--port", "0", "-q"});
  ASSERT_NE(chat.port, 0);
  Client watcher = Client::tcp("127.0.0.1", chat.port);
  ASSERT_TRUE(watcher.send("watcher lobby\n"));
  ASSERT_EQ(watcher.read_lines(1), "success\n");
  // Every {n} in the line becomes the same number: "u3x3 lobby".
  BenchRun run({"idle", "127.0.0.1", std::to_string(chat.port), "-c", "5", "--hold", "0.2",
                "--payload", "u{n}x{n} lobby"});
  expect_sound(run, "idle");
  // Five distinct members joined: without the numbering, four would get
  // "reuse" and never join.
  const std::string joins = watcher.read_lines(5);
  for (int i = 0; i < 5; ++i) {
    const std::string n = std::to_string(i);
    EXPECT_NE(joins.find("* u" + n + "x" + n + " joined lobby\n"), std::string::npos) << joins;
  }
  EXPECT_EQ(chat.proc.terminate(), 0);
}

TEST(BenchIdle, ConnectionsTheServerDropsAreErrors) {
  // --one-shot answers once and closes: the hold then loses every connection.
  Server tserv({"tserv", "--port", "0", "-q", "--one-shot"});
  ASSERT_NE(tserv.port, 0);
  BenchRun run({"idle", "127.0.0.1", std::to_string(tserv.port), "-c", "5", "--hold", "0.5"});
  EXPECT_EQ(run.code, 1);  // nothing held: the run says nothing about idle connections
  EXPECT_TRUE(
      std::regex_search(run.err, std::regex("^netlab bench: every connection to .* failed")))
      << run.err;
  const Report r(run.out);
  EXPECT_EQ(r.at("errors"), 5) << run.out;
  EXPECT_EQ(r.at("opened"), 0) << run.out;
}

TEST(BenchIdle, MissingServerPidIsAnError) {
  Server tserv({"tserv", "--port", "0", "-q"});
  ASSERT_NE(tserv.port, 0);
  // The test's own pid after it exited would be racy; pid_max + 1 never exists.
  Process p({"bench", "idle", "127.0.0.1", std::to_string(tserv.port), "-c", "1", "--hold", "0",
             "--server-pid", "99999999"});
  EXPECT_EQ(p.wait_exit(kBenchTimeout), 1);
  EXPECT_TRUE(
      std::regex_search(p.err(), std::regex("^netlab bench: cannot read /proc/99999999/status")))
      << p.err();
}

}  // namespace
}  // namespace netlab::testing
