// The progress deadline behind --idle-timeout (issue 19, item 3), end to
// end: the real tserv and cmdserv on --port 0. A connection makes progress
// when it reads bytes from its client or when the client takes bytes the
// server sent; once it has made none for --idle-timeout it is closed,
// whatever it was doing: waiting for a request, stopped by backpressure,
// draining its last replies before a close, or (thread, fork, iterative)
// blocked in a send. A client that reads slowly but steadily is making
// progress and is never cut off.
//
// Every server here runs with -v, so each connection it lets go shows up as
// "<peer> disconnected": that line (the fork model's children have no fds
// the test can count) and the server's fd count tell when it let go.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "support/hostile.hpp"
#include "support/proc_stats.hpp"
#include "support/process.hpp"
#include "support/stamp.hpp"

namespace netlab::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kIdleTimeout = "1";
// A client that stops making progress is let go within this: the 1 s
// timeout, plus the server's checks (every 250 ms) noticing it.
constexpr Millis kLetGoWithin = 4000ms;
// Non-readers shrink their receive buffer so that replies back up at once.
constexpr int kTinyRcvbuf = 4096;

// A tserv or cmdserv with -v and --idle-timeout 1 on an ephemeral port;
// port stays 0 if it never listened.
struct Server {
  explicit Server(const std::string& model, const std::string& mode = "tserv")
      : root(), proc(args(model, mode, root)) {
    if (auto p = proc.wait_for_port()) port = *p;
  }
  static std::vector<std::string> args(const std::string& model, const std::string& mode,
                                       const TempDir& root) {
    std::vector<std::string> a = {mode,  "--port",         "0",         "-v", "--model",
                                  model, "--idle-timeout", kIdleTimeout};
    if (mode == "cmdserv") {
      a.push_back("--root");
      a.push_back(root.path(""));
    }
    return a;
  }
  Client connect(int rcvbuf = 0) const { return Client::tcp("127.0.0.1", port, rcvbuf); }
  pid_t pid() const { return proc.pid(); }

  // Waits for the server's "<client> disconnected" line; true if it came.
  bool let_go(const Client& c, Millis timeout) {
    return proc.wait_for_stderr(std::regex(regex_escape(peer_of(c)) + " disconnected"), timeout)
        .has_value();
  }

  // The server lets go of `c` within kLetGoWithin from now; prints how
  // long it took, as the figure this file measures.
  ::testing::AssertionResult lets_go_of(const Client& c, const std::string& who) {
    const auto start = Clock::now();
    if (!let_go(c, kLetGoWithin))
      return ::testing::AssertionFailure() << who << " still held after " << elapsed_ms(start);
    std::printf("[ figures  ] %s let go %s after it stopped\n", who.c_str(),
                elapsed_ms(start).c_str());
    return ::testing::AssertionSuccess();
  }

  // How the server names the client: its local address, "127.0.0.1:PORT".
  static std::string peer_of(const Client& c) {
    sockaddr_in a{};
    socklen_t len = sizeof(a);
    if (::getsockname(c.fd(), reinterpret_cast<sockaddr*>(&a), &len) != 0) return "?";
    return "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  }
  static std::string regex_escape(const std::string& s) {
    return std::regex_replace(s, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)");
  }

  TempDir root;  // cmdserv's --root (empty); before proc: it must exist first
  Process proc;
  uint16_t port = 0;
};

// `n` one-byte lines: each reply ("[<ctime>] x\n", 29 bytes) is 14 times
// the request, so a small input backs up megabytes of output.
std::string short_lines(size_t n) {
  std::string s;
  s.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) s += "x\n";
  return s;
}

// The server answers a new client: it is not stuck on the old one.
void expect_serves_a_new_client(Server& server) {
  const StampWindow window;
  Client next = server.connect();
  ASSERT_TRUE(next.valid());
  ASSERT_TRUE(next.send("still here\n"));
  EXPECT_TRUE(window.stamped_lines(next.read_lines(1), {"still here"}));
}

// ----------------------------------------------- reactor: draining state

// 125,000 requests and a half-close, and never a reply read: the reactor
// reads them all and answers into its socket's send buffer (about 2.8 MB
// here) and the rest into the connection's (well under the 1 MiB
// backpressure cap, so it never stops reading). The half-close then puts
// the connection into its close-after-flush state with replies unsent —
// which the idle check used to skip, holding it for ever.
TEST(ProgressDeadlineE2e, ReactorLetsGoOfHalfClosedClientThatNeverReads) {
  Server server("reactor");
  ASSERT_NE(server.port, 0);
  const int idle_fds = open_fd_count(server.pid());
  Client c = server.connect(kTinyRcvbuf);
  ASSERT_TRUE(c.valid());
  ASSERT_TRUE(c.send(short_lines(125'000)));
  c.shutdown_write();
  EXPECT_TRUE(server.lets_go_of(c, "half-closed non-reader"));
  EXPECT_LE(wait_for_fd_count_at_most(server.pid(), idle_fds, 500ms), idle_fds);
  expect_serves_a_new_client(server);
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

// The same with an over-long line at the end instead of the half-close:
// the error reply queues behind the others, and the connection drains.
TEST(ProgressDeadlineE2e, ReactorLetsGoOfNonReaderAfterItsOverlongLine) {
  Server server("reactor");
  ASSERT_NE(server.port, 0);
  const int idle_fds = open_fd_count(server.pid());
  Client c = server.connect(kTinyRcvbuf);
  ASSERT_TRUE(c.valid());
  ASSERT_TRUE(c.send(short_lines(110'000) + std::string(70 * 1024, 'y')));
  EXPECT_TRUE(server.lets_go_of(c, "non-reader with an over-long line"));
  EXPECT_LE(wait_for_fd_count_at_most(server.pid(), idle_fds, 500ms), idle_fds);
  expect_serves_a_new_client(server);
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

// cmdserv shares the request server, and so the deadline.
TEST(ProgressDeadlineE2e, CmdservLetsGoOfHalfClosedClientThatNeverReads) {
  Server server("reactor", "cmdserv");
  ASSERT_NE(server.port, 0);
  const int idle_fds = open_fd_count(server.pid());
  Client c = server.connect(kTinyRcvbuf);
  ASSERT_TRUE(c.valid());
  // "date" is 5 bytes in, 25 out.
  std::string dates;
  for (int i = 0; i < 150'000; ++i) dates += "date\n";
  ASSERT_TRUE(c.send(dates));
  c.shutdown_write();
  EXPECT_TRUE(server.lets_go_of(c, "cmdserv's half-closed non-reader"));
  EXPECT_LE(wait_for_fd_count_at_most(server.pid(), idle_fds, 500ms), idle_fds);
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

// ---------------------------------------------------------- every model

class ProgressDeadlineModel : public ::testing::TestWithParam<std::string> {
 protected:
  bool forks() const { return GetParam() == "fork"; }
};

// Requests until the server stops taking them, never reading a reply: the
// reactor stops reading it (backpressure), the other models block in a
// send. Either way it is let go after the timeout — a thread, a process or
// the iterative server's only slot is not pinned for ever — and the server
// serves the next client.
TEST_P(ProgressDeadlineModel, LetsGoOfClientThatSendsButNeverReads) {
  Server server(GetParam());
  ASSERT_NE(server.port, 0);
  const int idle_fds = open_fd_count(server.pid());
  std::vector<Client> hog;
  hog.push_back(server.connect(kTinyRcvbuf));
  ASSERT_TRUE(hog[0].valid());
  const size_t sent = flood_without_reading(hog, throttle_give_up())[0];
  // The flood ends 200 ms after the server last took a byte.
  EXPECT_TRUE(server.lets_go_of(
      hog[0], GetParam() + ": non-reader of " + std::to_string(sent / 1024) + " KiB"));
  if (!forks()) {
    EXPECT_LE(wait_for_fd_count_at_most(server.pid(), idle_fds, 500ms), idle_fds);
  }
  expect_serves_a_new_client(server);
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

// A client downloading its replies slowly but steadily (4 KiB every 200 ms,
// 20 KiB/s) for three times the timeout, from a backlog of megabytes: the
// server's send buffer takes tens of seconds to drain far enough to wake
// it, so the server has to notice the progress in the kernel's queue. It is
// never cut off: every read gets its bytes, and the server never lets go.
TEST_P(ProgressDeadlineModel, SparesClientThatReadsSlowlyButSteadily) {
  Server server(GetParam());
  ASSERT_NE(server.port, 0);
  std::vector<Client> reader;
  reader.push_back(server.connect(kTinyRcvbuf));
  ASSERT_TRUE(reader[0].valid());
  Client& c = reader[0];
  flood_without_reading(reader, throttle_give_up());
  const auto start = Clock::now();
  size_t got = 0;
  while (Clock::now() - start < 3000ms) {
    const std::string chunk = c.read_bytes(4096, 1000ms);
    got += chunk.size();
    ASSERT_EQ(chunk.size(), 4096u)
        << "cut off after " << elapsed_ms(start) << " and " << got << " bytes";
    // Pacing, not synchronisation: this is how slowly the client reads.
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_FALSE(server.let_go(c, 100ms)) << "the server let go of a client that was reading";
  EXPECT_EQ(c.read_bytes(4096, 1000ms).size(), 4096u);
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

INSTANTIATE_TEST_SUITE_P(Models, ProgressDeadlineModel,
                         ::testing::Values("reactor", "thread", "fork", "iterative"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace netlab::testing
