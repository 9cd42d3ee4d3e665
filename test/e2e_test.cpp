// End-to-end tests of tserv and tclnt: the real binary, started with
// --port 0, talked to over 127.0.0.1, ::1 and Unix sockets only.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cstring>
#include <regex>
#include <string>
#include <vector>

#include "support/process.hpp"
#include "support/stamp.hpp"

namespace netlab::testing {
namespace {

using namespace std::chrono_literals;

// A tserv on an ephemeral loopback port; port stays 0 if it never listened.
struct Tserv {
  explicit Tserv(std::vector<std::string> options = {}) : proc(args(std::move(options))) {
    if (auto p = proc.wait_for_port()) port = *p;
  }
  static std::vector<std::string> args(std::vector<std::string> options) {
    std::vector<std::string> a = {"tserv", "--port", "0"};
    a.insert(a.end(), options.begin(), options.end());
    return a;
  }
  Client connect(int rcvbuf = 0) const { return Client::tcp("127.0.0.1", port, rcvbuf); }

  Process proc;
  uint16_t port = 0;
};

// ------------------------------------------------------------- tserv basics

TEST(Tserv, RepliesWithCtimeStampPerLine) {
  Tserv server;
  ASSERT_NE(server.port, 0);
  const StampWindow window;
  Client c = server.connect();
  ASSERT_TRUE(c.valid()) << std::strerror(c.error());

  ASSERT_TRUE(c.send("hello\n"));
  const std::string reply = c.read_lines(1);
  static const std::regex shape(
      R"(^\[(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 123]\d )"
      R"(\d\d:\d\d:\d\d \d{4}\] hello\n$)");
  EXPECT_TRUE(std::regex_match(reply, shape)) << ::testing::PrintToString(reply);
  EXPECT_TRUE(window.stamped(reply, "hello\n"));

  // Two lines in one write, then one line in two writes.
  ASSERT_TRUE(c.send("a\nb\n"));
  EXPECT_TRUE(window.stamped_lines(c.read_lines(2), {"a", "b"}));
  ASSERT_TRUE(c.send("spl"));
  ASSERT_TRUE(c.send("it\n"));
  EXPECT_TRUE(window.stamped_lines(c.read_lines(1), {"split"}));

  // The client is done: the server closes its side too, adding nothing.
  c.shutdown_write();
  EXPECT_EQ(c.read_until_eof(), "");
  EXPECT_TRUE(c.closed());
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

TEST(Tserv, DropsCarriageReturnBeforeNewlineOnly) {
  Tserv server;
  ASSERT_NE(server.port, 0);
  const StampWindow window;
  Client c = server.connect();
  ASSERT_TRUE(c.valid());
  ASSERT_TRUE(c.send("hello\r\nin\rside\n"));
  EXPECT_TRUE(window.stamped_lines(c.read_lines(2), {"hello", "in\rside"}));
  EXPECT_EQ(server.proc.terminate(), 0);
}

TEST(Tserv, PassesUtf8AndNulBytesThroughUnchanged) {
  Tserv server;
  ASSERT_NE(server.port, 0);
  const StampWindow window;
  Client c = server.connect();
  ASSERT_TRUE(c.valid());
  const std::string chinese = "你好，世界！时间戳服务器";
  const std::string binary("nul\0in\xff\x01\x7f middle", 17);
  ASSERT_TRUE(c.send(chinese + "\n" + binary + "\n"));
  EXPECT_TRUE(window.stamped_lines(c.read_lines(2), {chinese, binary}));
  EXPECT_EQ(server.proc.terminate(), 0);
}

TEST(Tserv, ListensOnIpv4AndIpv6LoopbackWithOnePort) {
  Tserv server;
  ASSERT_NE(server.port, 0);
  const auto v6_port = server.proc.wait_for_port("tcp", /*ipv6=*/true);
  ASSERT_TRUE(v6_port);
  EXPECT_EQ(*v6_port, server.port);

  const StampWindow window;
  Client c = Client::tcp("::1", server.port);
  ASSERT_TRUE(c.valid()) << std::strerror(c.error());
  ASSERT_TRUE(c.send("over ipv6\n"));
  EXPECT_TRUE(window.stamped_lines(c.read_lines(1), {"over ipv6"}));
  EXPECT_EQ(server.proc.terminate(), 0);
}

TEST(Tserv, ServesUnixStreamSocketAndRemovesItOnExit) {
  TempDir dir;
  const std::string path = dir.path("ts.sock");
  Process server({"tserv", "--unix", path});
  ASSERT_TRUE(server.wait_for_stderr(std::regex("^netlab tserv: listening on unix " + path + "$")))
      << server.err();

  const StampWindow window;
  Client c = Client::unix_stream(path);
  ASSERT_TRUE(c.valid()) << std::strerror(c.error());
  ASSERT_TRUE(c.send("over unix\n"));
  EXPECT_TRUE(window.stamped_lines(c.read_lines(1), {"over unix"}));
  c.close();

  EXPECT_EQ(server.terminate(), 0) << server.err();
  struct stat st {};
  EXPECT_NE(::lstat(path.c_str(), &st), 0) << path << " still exists after a clean stop";
}

TEST(Tserv, SigintStopsServerWithExitZero) {
  Tserv server;
  ASSERT_NE(server.port, 0);
  ASSERT_TRUE(server.proc.signal(SIGINT));
  EXPECT_EQ(server.proc.wait_exit(), 0) << server.proc.err();
}

TEST(Tserv, ExitsOneWithOneLineWhenPortIsTaken) {
  Tserv first;
  ASSERT_NE(first.port, 0);
  Process second({"tserv", "--host", "127.0.0.1", "--port", std::to_string(first.port)});
  EXPECT_EQ(second.wait_exit(), 1);
  EXPECT_TRUE(
      std::regex_match(second.err(), std::regex("^netlab tserv: [^\n]*Address already in use\n$")))
      << second.err();
  EXPECT_EQ(first.proc.terminate(), 0);
}

TEST(Tserv, ForkOneShotRawServesByteForByteClientsLikeTsTservss) {
  Tserv server({"--model", "fork", "--one-shot", "--framing", "raw"});
  ASSERT_NE(server.port, 0);
  const StampWindow window;
  Client c = server.connect();
  ASSERT_TRUE(c.valid());
  ASSERT_TRUE(c.send("hi there"));
  EXPECT_TRUE(window.stamped(c.read_until_eof(2s), "hi there"));
  EXPECT_TRUE(c.closed());
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

// ------------------------------------------------------- every --model

class TservModel : public ::testing::TestWithParam<std::string> {
 protected:
  bool iterative() const { return GetParam() == "iterative"; }
};

TEST_P(TservModel, ServesFiftyClientsConnectedAtOnce) {
  Tserv server({"--model", GetParam()});
  ASSERT_NE(server.port, 0);
  constexpr int kClients = 50;
  const StampWindow window;
  std::vector<Client> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(server.connect());
    ASSERT_TRUE(clients.back().valid())
        << "client " << i << ": " << std::strerror(clients.back().error());
  }
  auto line = [](int client, int n) {
    return "client " + std::to_string(client) + " line " + std::to_string(n);
  };
  for (int n = 0; n < 2; ++n) {
    for (int i = 0; i < kClients; ++i)
      ASSERT_TRUE(clients[i].send(line(i, n) + "\n")) << "client " << i;
  }
  if (iterative()) {
    // One client after another: each is answered once those before it left.
    for (int i = 0; i < kClients; ++i) {
      EXPECT_TRUE(window.stamped_lines(clients[i].read_lines(2), {line(i, 0), line(i, 1)}))
          << "client " << i;
      clients[i].close();
    }
  } else {
    // Newest first: the last client is answered while all the others still
    // hold their connections open, which only a concurrent server does.
    for (int i = kClients - 1; i >= 0; --i) {
      EXPECT_TRUE(window.stamped_lines(clients[i].read_lines(2), {line(i, 0), line(i, 1)}))
          << "client " << i;
    }
  }
  clients.clear();
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

TEST_P(TservModel, SigtermWithClientConnectedClosesItAndExitsZero) {
  Tserv server({"--model", GetParam()});
  ASSERT_NE(server.port, 0);
  const StampWindow window;
  Client c = server.connect();
  ASSERT_TRUE(c.valid());
  ASSERT_TRUE(c.send("before\n"));
  ASSERT_TRUE(window.stamped_lines(c.read_lines(1), {"before"}));  // being served now

  const auto start = Clock::now();
  EXPECT_EQ(server.proc.terminate(4s), 0) << server.proc.err();
  EXPECT_EQ(c.read_until_eof(2s), "");
  EXPECT_TRUE(c.closed()) << "client not disconnected by the shutdown";
  EXPECT_LT(Clock::now() - start, 4s) << elapsed_ms(start);
  // Nobody listens any more.
  EXPECT_FALSE(server.connect().valid());
}

TEST_P(TservModel, OneShotAnswersOneRequestThenCloses) {
  Tserv server({"--model", GetParam(), "--one-shot"});
  ASSERT_NE(server.port, 0);
  const StampWindow window;
  for (const std::string who : {"first", "second"}) {  // the server goes on after a one-shot client
    Client c = server.connect();
    ASSERT_TRUE(c.valid());
    ASSERT_TRUE(c.send(who + " request\n"));
    EXPECT_TRUE(window.stamped_lines(c.read_until_eof(2s), {who + " request"}));
    ASSERT_TRUE(c.closed()) << who << " connection left open";
  }
  // Two requests in one write still get one answer.
  Client c = server.connect();
  ASSERT_TRUE(c.valid());
  ASSERT_TRUE(c.send("one\ntwo\n"));
  EXPECT_TRUE(window.stamped_lines(c.read_until_eof(2s), {"one"}));
  EXPECT_TRUE(c.closed());
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

TEST_P(TservModel, RawFramingRepliesToEachChunkWithoutNewline) {
  Tserv server({"--model", GetParam(), "--framing", "raw"});
  ASSERT_NE(server.port, 0);
  const StampWindow window;
  Client c = server.connect();
  ASSERT_TRUE(c.valid());
  constexpr size_t kReplySize = 27 + 5;  // "[<ctime>] " + "hello"
  ASSERT_TRUE(c.send("hello"));
  EXPECT_TRUE(window.stamped(c.read_bytes(kReplySize), "hello"));
  // Had a '\n' followed the first reply, this one would start with it.
  ASSERT_TRUE(c.send("a\nb\r"));  // raw: newlines are data
  EXPECT_TRUE(window.stamped(c.read_bytes(27 + 4), "a\nb\r"));
  c.shutdown_write();
  EXPECT_EQ(c.read_until_eof(), "");
  EXPECT_TRUE(c.closed());
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

TEST_P(TservModel, IdleTimeoutClosesSilentClient) {
  Tserv server({"--model", GetParam(), "--idle-timeout", "0.3"});
  ASSERT_NE(server.port, 0);
  Client c = server.connect();
  ASSERT_TRUE(c.valid());
  const auto start = Clock::now();
  EXPECT_EQ(c.read_until_eof(3s), "");
  EXPECT_TRUE(c.closed()) << "silent client still connected after " << elapsed_ms(start);
  EXPECT_GE(Clock::now() - start, 250ms) << "closed before the idle timeout";
  // The server itself goes on.
  const StampWindow window;
  Client next = server.connect();
  ASSERT_TRUE(next.valid());
  ASSERT_TRUE(next.send("still here\n"));
  EXPECT_TRUE(window.stamped_lines(next.read_lines(1), {"still here"}));
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

TEST_P(TservModel, IdleTimeoutSparesClientThatKeepsTalking) {
  Tserv server({"--model", GetParam(), "--idle-timeout", "0.3"});
  ASSERT_NE(server.port, 0);
  const StampWindow window;
  Client c = server.connect();
  ASSERT_TRUE(c.valid());
  // Back-to-back requests for well over the idle timeout.
  const auto start = Clock::now();
  for (int n = 0; Clock::now() - start < 800ms; ++n) {
    const std::string line = "request " + std::to_string(n);
    ASSERT_TRUE(c.send(line + "\n"));
    ASSERT_TRUE(window.stamped_lines(c.read_lines(1), {line})) << "after " << elapsed_ms(start);
  }
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

TEST_P(TservModel, SurvivesClientThatResetsWhileRepliesAreInFlight) {
  Tserv server({"--model", GetParam()});
  ASSERT_NE(server.port, 0);
  {
    // Floods requests without reading any reply, into a tiny receive buffer,
    // until the server has to stop reading; then vanishes with a reset.
    Client hog = server.connect(/*rcvbuf=*/4096);
    ASSERT_TRUE(hog.valid());
    std::string chunk;
    while (chunk.size() < 64 * 1024) chunk += std::string(100, 'x') + "\n";
    const auto deadline = Clock::now() + 3s;
    for (size_t sent = 0; sent < 4 * 1024 * 1024 && Clock::now() < deadline; sent += chunk.size()) {
      if (!hog.send(chunk, 200ms)) break;  // the server stopped reading: its replies are stuck
    }
    ASSERT_TRUE(hog.readable_within(2s)) << "server never started replying";
    hog.reset();
  }
  const StampWindow window;
  Client c = server.connect();
  ASSERT_TRUE(c.valid());
  ASSERT_TRUE(c.send("after the reset\n"));
  EXPECT_TRUE(window.stamped_lines(c.read_lines(1), {"after the reset"}));
  c.close();
  EXPECT_EQ(server.proc.terminate(), 0) << "server hurt by the vanished client:\n"
                                        << server.proc.err();
}

INSTANTIATE_TEST_SUITE_P(Tserv, TservModel,
                         ::testing::Values("reactor", "thread", "fork", "iterative"),
                         [](const auto& info) { return info.param; });

// ------------------------------------- models that serve clients at once

class TservConcurrentModel : public ::testing::TestWithParam<std::string> {};

TEST_P(TservConcurrentModel, OverlongLineGetsErrorAndCloseWhileOthersGoOn) {
  Tserv server({"--model", GetParam(), "--max-line", "100"});
  ASSERT_NE(server.port, 0);
  const StampWindow window;
  Client other = server.connect();
  ASSERT_TRUE(other.valid());
  ASSERT_TRUE(other.send("before\n"));
  ASSERT_TRUE(window.stamped_lines(other.read_lines(1), {"before"}));

  const std::string error = "error: line too long (max 100 bytes)\n";
  Client terminated = server.connect();
  ASSERT_TRUE(terminated.valid());
  ASSERT_TRUE(terminated.send(std::string(101, 'x') + "\n"));
  EXPECT_EQ(terminated.read_until_eof(2s), error);
  ASSERT_TRUE(terminated.closed());

  // No newline at all: the server must not wait (and buffer) forever.
  Client unterminated = server.connect();
  ASSERT_TRUE(unterminated.valid());
  ASSERT_TRUE(unterminated.send(std::string(300, 'y')));
  EXPECT_EQ(unterminated.read_until_eof(2s), error);
  EXPECT_TRUE(unterminated.closed());

  // Exactly the limit is fine, and the first client never noticed a thing.
  const std::string longest(100, 'z');
  ASSERT_TRUE(other.send(longest + "\nafter\n"));
  EXPECT_TRUE(window.stamped_lines(other.read_lines(2), {longest, "after"}));
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

TEST_P(TservConcurrentModel, MaxClientsRefusesClientsBeyondLimit) {
  Tserv server({"--model", GetParam(), "--max-clients", "1"});
  ASSERT_NE(server.port, 0);
  const StampWindow window;
  Client first = server.connect();
  ASSERT_TRUE(first.valid());
  ASSERT_TRUE(first.send("first\n"));
  ASSERT_TRUE(window.stamped_lines(first.read_lines(1), {"first"}));

  Client second = server.connect();
  ASSERT_TRUE(second.valid());
  EXPECT_EQ(second.read_until_eof(2s), "error: server full\n");
  EXPECT_TRUE(second.closed());

  ASSERT_TRUE(first.send("first again\n"));
  EXPECT_TRUE(window.stamped_lines(first.read_lines(1), {"first again"}));
  first.close();

  // Once the first client has left (the server may take a moment to notice),
  // there is room again.
  const auto deadline = Clock::now() + 4s;
  std::string reply;
  while (Clock::now() < deadline) {
    Client third = server.connect();
    ASSERT_TRUE(third.valid());
    ASSERT_TRUE(third.send("third\n"));
    reply = third.read_lines(1, Millis(ms_left(deadline)));
    if (reply != "error: server full\n") break;
  }
  EXPECT_TRUE(window.stamped_lines(reply, {"third"}));
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

// SIGTERM while every client is between a request and the next: each worker
// (thread, process or the loop) must see the stop, close its client and let
// the server exit 0, not hang on one still blocked in a read.
TEST_P(TservConcurrentModel, SigtermWithTwentyClientsMidRequestClosesEveryOneAndExitsZero) {
  Tserv server({"--model", GetParam()});
  ASSERT_NE(server.port, 0);
  constexpr int kClients = 20;
  const StampWindow window;
  std::vector<Client> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(server.connect());
    ASSERT_TRUE(clients.back().valid()) << "client " << i;
    const std::string id = "client " + std::to_string(i);
    // A whole request, then half of the next one that never gets its '\n'.
    ASSERT_TRUE(clients.back().send(id + "\nhalf of " + id)) << id;
  }
  for (int i = 0; i < kClients; ++i) {
    ASSERT_TRUE(window.stamped_lines(clients[i].read_lines(1), {"client " + std::to_string(i)}))
        << "client " << i;
  }
  const auto start = Clock::now();
  EXPECT_EQ(server.proc.terminate(4s), 0) << server.proc.err();
  EXPECT_LT(Clock::now() - start, 4s) << elapsed_ms(start);
  for (int i = 0; i < kClients; ++i) {
    EXPECT_EQ(clients[i].read_until_eof(2s), "") << "client " << i;
    EXPECT_TRUE(clients[i].closed()) << "client " << i << " not disconnected by the shutdown";
  }
}

INSTANTIATE_TEST_SUITE_P(Tserv, TservConcurrentModel,
                         ::testing::Values("reactor", "thread", "fork"),
                         [](const auto& info) { return info.param; });

// ------------------------- models that pay a thread or a process per client

// --max-clients 0 means "no limit" to the user; for thread and fork it stands
// for a default cap of 1024, which must not get in the way of ordinary loads.
class TservBlockingModel : public ::testing::TestWithParam<std::string> {};

TEST_P(TservBlockingModel, MaxClientsZeroServesTwentyClientsAtOnce) {
  Tserv server({"--model", GetParam(), "--max-clients", "0"});
  ASSERT_NE(server.port, 0);
  constexpr int kClients = 20;
  const StampWindow window;
  std::vector<Client> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(server.connect());
    ASSERT_TRUE(clients.back().valid())
        << "client " << i << ": " << std::strerror(clients.back().error());
    const std::string hello = "client " + std::to_string(i) + " hello";
    ASSERT_TRUE(clients.back().send(hello + "\n"));
    // Answered while every earlier client still holds its connection.
    ASSERT_TRUE(window.stamped_lines(clients.back().read_lines(1), {hello})) << "client " << i;
  }
  for (int i = kClients - 1; i >= 0; --i) {
    const std::string again = "client " + std::to_string(i) + " again";
    ASSERT_TRUE(clients[i].send(again + "\n"));
    EXPECT_TRUE(window.stamped_lines(clients[i].read_lines(1), {again})) << "client " << i;
  }
  clients.clear();
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

TEST_P(TservBlockingModel, MaxClientsTwoRefusesTheThirdConcurrentClient) {
  Tserv server({"--model", GetParam(), "--max-clients", "2"});
  ASSERT_NE(server.port, 0);
  const StampWindow window;
  Client first = server.connect(), second = server.connect();
  ASSERT_TRUE(first.valid());
  ASSERT_TRUE(second.valid());
  ASSERT_TRUE(first.send("first\n"));
  ASSERT_TRUE(window.stamped_lines(first.read_lines(1), {"first"}));
  ASSERT_TRUE(second.send("second\n"));
  ASSERT_TRUE(window.stamped_lines(second.read_lines(1), {"second"}));

  Client third = server.connect();
  ASSERT_TRUE(third.valid());
  EXPECT_EQ(third.read_until_eof(2s), "error: server full\n");
  EXPECT_TRUE(third.closed());
  ASSERT_TRUE(first.send("first again\n"));
  EXPECT_TRUE(window.stamped_lines(first.read_lines(1), {"first again"}));
  ASSERT_TRUE(second.send("second again\n"));
  EXPECT_TRUE(window.stamped_lines(second.read_lines(1), {"second again"}));
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

INSTANTIATE_TEST_SUITE_P(Tserv, TservBlockingModel, ::testing::Values("thread", "fork"),
                         [](const auto& info) { return info.param; });

// Without --max-clients the thread model still stops at 1024 clients: one
// remote peer must not get a thread per connection without end. (fork shares
// the check, admit(); a thousand forks of a sanitized binary take ~15 s.)
TEST(Tserv, ThreadModelRefusesClient1025WithoutMaxClients) {
  Tserv server({"--model", "thread"});
  ASSERT_NE(server.port, 0);
  constexpr int kCap = 1024;
  const StampWindow window;
  const auto deadline = Clock::now() + 30s;  // a thousand threads under the sanitizers
  std::vector<Client> clients;
  clients.reserve(kCap);
  for (int i = 0; i < kCap; ++i) {
    clients.push_back(server.connect());
    ASSERT_TRUE(clients.back().valid())
        << "client " << i << ": " << std::strerror(clients.back().error());
    // Answered: its thread is running (and counted) before the next connects.
    ASSERT_TRUE(clients.back().send("hi\n"));
    ASSERT_TRUE(window.stamped_lines(clients.back().read_lines(1), {"hi"})) << "client " << i;
    ASSERT_LT(Clock::now(), deadline)
        << "only " << i + 1 << " clients in " << elapsed_ms(deadline - 30s);
  }
  Client over = server.connect();
  ASSERT_TRUE(over.valid());
  EXPECT_EQ(over.read_until_eof(2s), "error: server full\n");
  EXPECT_TRUE(over.closed());
  ASSERT_TRUE(clients.front().send("still served\n"));
  EXPECT_TRUE(window.stamped_lines(clients.front().read_lines(1), {"still served"}));
  clients.clear();
  EXPECT_EQ(server.proc.terminate(10s), 0) << server.proc.err();
}

TEST(Tserv, IterativeModelServesOneClientAtATime) {
  Tserv server({"--model", "iterative"});
  ASSERT_NE(server.port, 0);
  const StampWindow window;
  Client first = server.connect();
  ASSERT_TRUE(first.valid());
  ASSERT_TRUE(first.send("first\n"));
  ASSERT_TRUE(window.stamped_lines(first.read_lines(1), {"first"}));

  Client second = server.connect();  // waits in the backlog
  ASSERT_TRUE(second.valid());
  ASSERT_TRUE(second.send("second\n"));
  EXPECT_FALSE(second.readable_within(300ms))
      << "answered while the first client is still being served";

  first.close();
  EXPECT_TRUE(window.stamped_lines(second.read_lines(1), {"second"}));
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

// -------------------------------------------------------------------- tclnt

TEST(Tclnt, PrintsOneReplyPerStdinLine) {
  Tserv server;
  ASSERT_NE(server.port, 0);
  const StampWindow window;
  Process client({"tclnt", "127.0.0.1", std::to_string(server.port)}, "a\nb\n");
  EXPECT_EQ(client.wait_exit(), 0) << client.err();
  EXPECT_TRUE(window.stamped_lines(client.out(), {"a", "b"}));
  EXPECT_EQ(client.err(), "");
  EXPECT_EQ(server.proc.terminate(), 0);
}

TEST(Tclnt, DropsCarriageReturnFromStdinLines) {
  Tserv server;
  ASSERT_NE(server.port, 0);
  const StampWindow window;
  Process client({"tclnt", "127.0.0.1", std::to_string(server.port)}, "dos\r\nline\r\n");
  EXPECT_EQ(client.wait_exit(), 0) << client.err();
  EXPECT_TRUE(window.stamped_lines(client.out(), {"dos", "line"}));
  EXPECT_EQ(server.proc.terminate(), 0);
}

TEST(Tclnt, PrintsReplyToLongestLineServerAccepts) {
  // Both sides default to --max-line 64 KiB; the reply to a line the server
  // accepts is 27 bytes longer than the line.
  Tserv server;
  ASSERT_NE(server.port, 0);
  const StampWindow window;
  const std::string longest(64 * 1024, 'x');
  Process client({"tclnt", "127.0.0.1", std::to_string(server.port)}, longest + "\n");
  EXPECT_EQ(client.wait_exit(), 0) << client.err();
  EXPECT_TRUE(window.stamped_lines(client.out(), {longest}));
  EXPECT_EQ(server.proc.terminate(), 0);
}

TEST(Tclnt, StopsAtFirstEmptyLine) {
  Tserv server;
  ASSERT_NE(server.port, 0);
  const StampWindow window;
  Process client({"tclnt", "127.0.0.1", std::to_string(server.port)}, "a\n\nnever sent\n");
  EXPECT_EQ(client.wait_exit(), 0) << client.err();
  EXPECT_TRUE(window.stamped_lines(client.out(), {"a"}));
  EXPECT_EQ(server.proc.terminate(), 0);
}

TEST(Tclnt, SendsEveryRepeatedMessageOption) {
  Tserv server;
  ASSERT_NE(server.port, 0);
  const StampWindow window;
  Process client({"tclnt", "-H", "127.0.0.1", "-p", std::to_string(server.port), "-m", "one", "-m",
                  "two words", "-m", "三"});
  EXPECT_EQ(client.wait_exit(), 0) << client.err();
  EXPECT_TRUE(window.stamped_lines(client.out(), {"one", "two words", "三"}));
  EXPECT_EQ(server.proc.terminate(), 0);
}

TEST(Tclnt, DefaultsToLocalhostWhenOnlyPortGiven) {
  Tserv server;
  ASSERT_NE(server.port, 0);
  const StampWindow window;
  Process client({"tclnt", "--port", std::to_string(server.port), "-m", "local"});
  EXPECT_EQ(client.wait_exit(), 0) << client.err();
  EXPECT_TRUE(window.stamped_lines(client.out(), {"local"}));
  EXPECT_EQ(server.proc.terminate(), 0);
}

TEST(Tclnt, ConnectsToIpv6Loopback) {
  Tserv server;
  ASSERT_NE(server.port, 0);
  const StampWindow window;
  Process client({"tclnt", "::1", std::to_string(server.port), "-m", "v6"});
  EXPECT_EQ(client.wait_exit(), 0) << client.err();
  EXPECT_TRUE(window.stamped_lines(client.out(), {"v6"}));
  EXPECT_EQ(server.proc.terminate(), 0);
}

TEST(Tclnt, ConnectsOverUnixStreamSocket) {
  TempDir dir;
  const std::string path = dir.path("ts.sock");
  Process server({"tserv", "--unix", path});
  ASSERT_TRUE(server.wait_for_stderr(std::regex("listening on unix ")));
  const StampWindow window;
  Process client({"tclnt", "--unix", path}, "via unix\n");
  EXPECT_EQ(client.wait_exit(), 0) << client.err();
  EXPECT_TRUE(window.stamped_lines(client.out(), {"via unix"}));
  EXPECT_EQ(server.terminate(), 0);
}

TEST(Tclnt, OneShotReconnectsForEveryMessage) {
  // This server hangs up after each answer, so only a client that
  // reconnects gets the second one.
  Tserv server({"--one-shot"});
  ASSERT_NE(server.port, 0);
  const StampWindow window;
  Process client(
      {"tclnt", "--one-shot", "127.0.0.1", std::to_string(server.port), "-m", "a", "-m", "b"});
  EXPECT_EQ(client.wait_exit(), 0) << client.err();
  EXPECT_TRUE(window.stamped_lines(client.out(), {"a", "b"}));
  EXPECT_EQ(server.proc.terminate(), 0);
}

TEST(Tclnt, ReportsConnectionRefusedAndExitsOne) {
  const std::string port = std::to_string(unused_port(SOCK_STREAM));
  Process client({"tclnt", "127.0.0.1", port, "-m", "x"});
  EXPECT_EQ(client.wait_exit(), 1);
  EXPECT_EQ(client.err(),
            "netlab tclnt: cannot connect to 127.0.0.1:" + port + ": Connection refused\n");
  EXPECT_EQ(client.out(), "");
}

TEST(Tclnt, GivesUpWithinTimeoutWhenServerNeverAnswers) {
  Listening silent;  // accepts, reads, never replies
  const std::string port = std::to_string(silent.port());
  const auto start = Clock::now();
  Process client({"tclnt", "--timeout", "0.5", "127.0.0.1", port, "-m", "anyone?"});
  Client accepted = silent.accept();
  ASSERT_TRUE(accepted.valid());
  EXPECT_EQ(accepted.read_lines(1), "anyone?\n");

  EXPECT_EQ(client.wait_exit(4s), 1) << client.err();
  const auto took = Clock::now() - start;
  EXPECT_GE(took, 450ms) << "gave up before --timeout";
  EXPECT_LT(took, 3s) << "did not honour --timeout: " << elapsed_ms(start);
  EXPECT_TRUE(std::regex_match(
      client.err(),
      std::regex(R"(^netlab tclnt: no reply from 127\.0\.0\.1:)" + port + "[^\n]*\n$")))
      << client.err();
  EXPECT_EQ(client.out(), "");
}

TEST(Tclnt, FailsWhenServerClosesWithoutReplying) {
  Listening rude;
  const std::string port = std::to_string(rude.port());
  Process client({"tclnt", "127.0.0.1", port, "-m", "hello?"});
  Client accepted = rude.accept();
  ASSERT_TRUE(accepted.valid());
  EXPECT_EQ(accepted.read_lines(1), "hello?\n");
  accepted.close();
  EXPECT_EQ(client.wait_exit(), 1);
  EXPECT_TRUE(std::regex_match(
      client.err(), std::regex("^netlab tclnt: [^\n]*127\\.0\\.0\\.1:" + port + "[^\n]*\n$")))
      << client.err();
  EXPECT_EQ(client.out(), "");
}

}  // namespace
}  // namespace netlab::testing
