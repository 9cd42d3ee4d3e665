// End-to-end tests of chat-server --mode duplex / half-duplex (the pair
// server) beyond the basic conversation in chat_e2e_test.cpp: raw framing
// with the tutorial's client, an operator whose stdout nobody reads, and a
// client that is still being flushed when the next one connects.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>

#include <cerrno>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "support/chat_client_helpers.hpp"
#include "support/hostile.hpp"
#include "support/proc_stats.hpp"
#include "support/process.hpp"

namespace netlab::testing {
namespace {

using namespace std::chrono_literals;

// A pair server whose operator is the test (stdin and stdout are pipes).
struct Operator {
  explicit Operator(std::vector<std::string> extra) : proc(args(std::move(extra))) {
    if (auto p = proc.wait_for_port()) port = *p;
  }
  static std::vector<std::string> args(std::vector<std::string> extra) {
    std::vector<std::string> a = {"chat-server", "--port", "0", "--host", "127.0.0.1"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  Client connect(int rcvbuf = 0) const { return Client::tcp("127.0.0.1", port, rcvbuf); }

  InteractiveProcess proc;
  uint16_t port = 0;
};

// ============================================================ raw framing

// The tutorial's 16-8 client (tsTclnt.py shape): send(data) with no newline
// and the socket kept open. Each chunk must reach the operator at once, and
// what the operator types reaches the client as it is, without a newline.
TEST(ChatPairRaw, DuplexChunkWithoutNewlineReachesTheOperatorAtOnce) {
  Operator op({"--mode", "duplex", "--framing", "raw"});
  ASSERT_NE(op.port, 0);
  Client c = op.connect();
  ASSERT_TRUE(c.valid());
  ASSERT_TRUE(op.proc.wait_for_out(" connected\n")) << op.proc.out();

  ASSERT_TRUE(c.send("hello"));  // no newline; the socket stays open
  EXPECT_TRUE(op.proc.wait_for_out("\nhello\n")) << op.proc.out();

  // The operator's input (a pipe here): each chunk as it arrives, unchanged.
  ASSERT_TRUE(op.proc.write("hi there"));
  EXPECT_EQ(c.read_bytes(8), "hi there");
  EXPECT_FALSE(c.readable_within(100ms)) << "no newline is added in raw framing";

  ASSERT_TRUE(c.send("second chunk"));
  EXPECT_TRUE(op.proc.wait_for_out("\nsecond chunk\n")) << op.proc.out();

  ASSERT_TRUE(op.proc.signal(SIGTERM));
  c.read_until_eof();
  EXPECT_TRUE(c.closed());
  EXPECT_EQ(op.proc.wait_exit(), 0) << op.proc.err();
}

TEST(ChatPairRaw, HalfDuplexChunksPassTheTurnWithoutNewlines) {
  Operator op({"--mode", "half-duplex", "--framing", "raw"});
  ASSERT_NE(op.port, 0);
  Client c = op.connect();
  ASSERT_TRUE(c.valid());
  ASSERT_TRUE(op.proc.wait_for_out(" connected\n")) << op.proc.out();

  ASSERT_TRUE(c.send("my turn"));
  EXPECT_TRUE(op.proc.wait_for_out("\nmy turn\n")) << op.proc.out();
  ASSERT_TRUE(op.proc.write("yours"));
  EXPECT_EQ(c.read_bytes(5), "yours");
  ASSERT_TRUE(c.send("mine again"));
  EXPECT_TRUE(op.proc.wait_for_out("\nmine again\n")) << op.proc.out();

  op.proc.close_stdin();  // the operator leaves: the client is told, exit 0
  c.read_until_eof();
  EXPECT_TRUE(c.closed());
  EXPECT_EQ(op.proc.wait_exit(), 0) << op.proc.err();
}

// ================================================ operator stdout unread

// Sends `line` again and again without blocking until the server has taken
// nothing for a while (its reading is paused and every buffer on the way is
// full); returns how many whole copies went out.
size_t send_until_blocked(Client& c, std::string_view line, Millis quiet) {
  size_t sent_bytes = 0;
  auto last_progress = Clock::now();
  std::string block;
  while (block.size() < 64 * 1024) block += line;
  size_t offset = 0;  // into the endless repetition of `line`
  while (Clock::now() - last_progress < quiet) {
    const std::string_view rest = std::string_view(block).substr(offset % line.size());
    const ssize_t n = ::send(c.fd(), rest.data(), rest.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      sent_bytes += static_cast<size_t>(n);
      offset += static_cast<size_t>(n);
      last_progress = Clock::now();
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) break;
    c.readable_within(5ms);  // a short wait for buffer space
  }
  return sent_bytes / line.size();
}

// Nobody reads the operator's stdout: the server must stay responsive (the
// operator's lines still reach the client, SIGTERM still ends it at once)
// and bounded in memory, and once stdout is read again nothing is lost.
// (Before: a blocking write to stdout froze the whole server.)
TEST(ChatPairOperatorOutput, UnreadStdoutPausesTheClientButNeverWedgesTheServer) {
  Operator op({"--mode", "duplex"});
  ASSERT_NE(op.port, 0);
  Client c = op.connect();
  ASSERT_TRUE(c.valid());
  ASSERT_TRUE(op.proc.wait_for_out(" connected\n")) << op.proc.out();

  op.proc.pause_stdout(true);
  const std::string line(100, 'x');
  const size_t lines = send_until_blocked(c, line + "\n", 500ms);
  ASSERT_GT(lines * (line.size() + 1), size_t{64 * 1024}) << "more than a pipe's worth";

  // The client side is still served while the operator's screen is stuck.
  ASSERT_TRUE(op.proc.write("still here\n"));
  EXPECT_EQ(c.read_lines(1), "still here\n");
  EXPECT_TRUE(rss_within(op.proc.pid(), "pair_unread_stdout", rss_bound_kib(kBusyRssKib)));

  // Reading again: every line the server took arrives, in order.
  op.proc.pause_stdout(false);
  const std::string x_line = line + "\n";
  EXPECT_TRUE(op.proc.wait_until(
      [&] {
        size_t n = 0;
        for (size_t at = op.proc.out().find(x_line); at != std::string::npos;
             at = op.proc.out().find(x_line, at + x_line.size())) {
          ++n;
        }
        return n == lines;
      },
      5s))
      << "sent " << lines << " lines";

  // And once more stuck, SIGTERM ends the server promptly.
  op.proc.pause_stdout(true);
  send_until_blocked(c, x_line, 300ms);
  const auto asked = Clock::now();
  ASSERT_TRUE(op.proc.signal(SIGTERM));
  EXPECT_TRUE(c.readable_within(kTimeout)) << "the client hears of the shutdown";
  op.proc.pause_stdout(false);
  EXPECT_EQ(op.proc.wait_exit(), 0) << op.proc.err();
  EXPECT_LT(Clock::now() - asked, 2500ms) << "SIGTERM took " << elapsed_ms(asked);
}

// ====================================== a client that does not read

// The operator pipes far more than the client takes: once the client is
// 1 MiB behind, the server leaves stdin unread (the pipe fills and the
// operator's writes block), its memory stays bounded, and nothing the
// operator sent is lost once the client reads again. (Before: the server
// read all of stdin into the client's queue.)
TEST(ChatPairOperatorInput, ClientThatDoesNotReadLeavesTheOperatorsInputUnread) {
  Operator op({"--mode", "duplex"});
  ASSERT_NE(op.port, 0);
  Client c = op.connect(/*rcvbuf=*/4096);
  ASSERT_TRUE(c.valid());
  ASSERT_TRUE(op.proc.wait_for_out(" connected\n")) << op.proc.out();

  const std::string line = std::string(1023, 'y') + "\n";
  std::string chunk;
  while (chunk.size() < 64 * 1024) chunk += line;
  constexpr size_t kMaxBytes = size_t{64} << 20;
  size_t written = 0;
  bool blocked = false;
  while (written < kMaxBytes) {
    if (!op.proc.write(chunk, 1s)) {
      blocked = true;
      break;
    }
    written += chunk.size();
  }
  EXPECT_TRUE(blocked) << "the server read all " << written << " bytes of stdin";
  EXPECT_LT(written, size_t{16} << 20);
  EXPECT_TRUE(rss_within(op.proc.pid(), "pair_unread_client", rss_bound_kib(kBusyRssKib)));

  // The client reads again: every whole chunk written arrives, intact.
  const std::string got = c.read_bytes(written, 20s);
  ASSERT_EQ(got.size(), written);
  for (size_t at = 0; at < got.size(); at += line.size()) {
    ASSERT_EQ(got.compare(at, line.size(), line), 0) << "line at byte " << at << " damaged";
  }
}

// The same for chat-client: a server (here a plain socket of the test's)
// that does not read leaves the user's piped input unread once 1 MiB is
// waiting for it, instead of chat-client reading all of stdin into memory.
TEST(ChatPairOperatorInput, ChatClientLeavesStdinUnreadWhileTheServerDoesNotRead) {
  Listening server;
  InteractiveProcess client(
      {"chat-client", "--mode", "duplex", "-H", "127.0.0.1", "-p", std::to_string(server.port())});
  Client conn = server.accept();
  ASSERT_TRUE(conn.valid());

  const std::string chunk(64 * 1024, 'z');
  constexpr size_t kMaxBytes = size_t{64} << 20;
  size_t written = 0;
  while (written < kMaxBytes && client.write(chunk, 1s)) written += chunk.size();
  EXPECT_LT(written, size_t{16} << 20) << "chat-client read all of stdin";
  EXPECT_TRUE(rss_within(client.pid(), "client_unread_server", rss_bound_kib(kBusyRssKib)));
}

// ========================================= a previous client still draining

// A client that said quit but has not read what the operator sent it yet is
// still draining when the next client connects: it must still get all of
// its output, then "quit" and the close, and the operator its leave notice.
// (Before: the new client's arrival destroyed it with its output queued.)
TEST(ChatPairDraining, DrainingClientIsFlushedWhileTheNextOneIsServed) {
  // Over a Unix socket the kernel holds a fixed amount on the way (no TCP
  // buffer autotuning), so what stays queued in the server is predictable.
  TempDir dir;
  const std::string path = dir.path("pair.sock");
  InteractiveProcess op({"chat-server", "--mode", "duplex", "--unix", path});
  ASSERT_TRUE(op.wait_for_stderr(std::regex("listening on unix "))) << op.err();
  Client first = Client::unix_stream(path);
  ASSERT_TRUE(first.valid());
  ASSERT_TRUE(op.wait_for_out(" connected\n")) << op.out();
  const size_t connected_at = op.out().size();

  // Far more than the kernel holds, so most of it stays queued in the
  // server, but under the 1 MiB the server takes from the operator for a
  // client that does not read (past that it leaves stdin unread) ...
  std::string from_operator;
  for (int i = 0; from_operator.size() < 1000 * 1000; ++i) {
    from_operator += "operator line " + std::to_string(i) + "\n";
  }
  ASSERT_TRUE(op.write(from_operator));
  ASSERT_TRUE(first.send("bye\nquit\n"));
  // ... and the client's quit is taken while that much is still queued
  // (reading until it is, in case the server paused this client).
  std::string got;
  const auto deadline = Clock::now() + kTimeout;
  while (!op.wait_for_out("\nbye\n", 1ms) && Clock::now() < deadline) {
    const std::string chunk = first.read_bytes(16 * 1024, left(deadline));
    if (chunk.empty()) break;
    got += chunk;
  }
  ASSERT_TRUE(op.wait_for_out("\nbye\n")) << "read " << got.size() << " bytes";

  Client next = Client::unix_stream(path);
  ASSERT_TRUE(next.valid());
  ASSERT_TRUE(next.send("the next one\n"));
  EXPECT_TRUE(op.wait_for_out("\nthe next one\n")) << op.out();

  // The first client gets everything queued for it before its quit, then
  // "quit" and the close. (Operator lines still in the stdin pipe when the
  // quit came, at most a pipe's worth, belong to the next client.)
  got += first.read_until_eof();
  EXPECT_TRUE(first.closed());
  ASSERT_TRUE(got.ends_with("quit\n")) << "got " << got.size() << " bytes";
  const std::string to_first = got.substr(0, got.size() - 5);
  EXPECT_GE(to_first.size(), from_operator.size() - 64 * 1024) << "most was queued for it";
  ASSERT_TRUE(from_operator.starts_with(to_first))
      << "got " << to_first.size() << " bytes, not a prefix of the operator's lines";
  EXPECT_TRUE(op.wait_for_out(" left\n", kTimeout, connected_at)) << op.out();

  // The next one is the operator's client now: the rest, then what follows.
  ASSERT_TRUE(op.write("hello next\n"));
  const std::string rest = from_operator.substr(to_first.size()) + "hello next\n";
  EXPECT_EQ(next.read_bytes(rest.size()), rest);
  ASSERT_TRUE(op.signal(SIGTERM));
  EXPECT_EQ(op.wait_exit(), 0) << op.err();
}

}  // namespace
}  // namespace netlab::testing
