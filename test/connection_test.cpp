#include "net/connection.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace netlab::net {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;

// A Connection over one end of socketpair(AF_UNIX, SOCK_STREAM); the test
// plays the client on the other end (`peer`), inside the same EventLoop.
class ConnectionTest : public ::testing::Test {
 protected:
  void TearDown() override {
    conn_.reset();
    if (peer_ >= 0) {
      loop_.unwatch(peer_);
      ::close(peer_);
    }
  }

  // Echo-style default: records each message and answers "<message>\n".
  void open(ConnectionOptions options = {}) {
    int fds[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    conn_fd_ = fds[0];
    peer_ = fds[1];
    conn_ = std::make_unique<Connection>(loop_, Socket(fds[0]), Address::unix_path("/peer"), 42,
                                         options);
    conn_->set_on_message([this](Connection& c, std::string_view m) {
      messages_.emplace_back(m);
      if (reply_) reply_(c, m);
    });
    conn_->set_on_close([this](Connection& c) {
      ++closes_;
      EXPECT_EQ(&c, conn_.get());
      EXPECT_EQ(c.state(), Connection::State::kClosed);
    });
    reply_ = [](Connection& c, std::string_view m) { c.send("<" + std::string(m) + ">\n"); };
    conn_->start();
  }

  // Collects whatever the Connection sends, and notices its close.
  void read_replies() {
    loop_.watch(peer_, EPOLLIN, [this](uint32_t) { drain_peer(); });
  }
  void drain_peer() {
    char buf[65536];
    for (;;) {
      const ssize_t n = ::recv(peer_, buf, sizeof(buf), 0);
      if (n > 0) {
        received_.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        peer_eof_ = true;
        loop_.unwatch(peer_);
      }
      return;
    }
  }

  void put(const std::string& bytes) {
    ASSERT_EQ(::send(peer_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }

  // Runs the loop until `done()` holds (checked every millisecond), at most `limit`.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 3000ms) {
    if (done()) return true;
    const auto poll_id = loop_.run_every(1ms, [&] {
      if (done()) loop_.stop();
    });
    const auto guard = loop_.run_after(limit, [&] { loop_.stop(); });
    loop_.run();
    loop_.cancel(poll_id);
    loop_.cancel(guard);
    return done();
  }

  // Runs the loop for a fixed observation window (to check that nothing happens).
  void run_for(std::chrono::milliseconds window) {
    loop_.run_after(window, [&] { loop_.stop(); });
    loop_.run();
  }

  // Bytes the kernel holds for the Connection that it has not read yet.
  size_t unread_by_connection() const {
    int n = 0;
    if (ioctl(conn_fd_, FIONREAD, &n) < 0) return 0;
    return static_cast<size_t>(n);
  }

  void shrink_send_buffer(int fd, int bytes) {
    ASSERT_EQ(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes)), 0);
  }

  EventLoop loop_;
  std::unique_ptr<Connection> conn_;
  int conn_fd_ = -1;
  int peer_ = -1;
  std::function<void(Connection&, std::string_view)> reply_;
  std::vector<std::string> messages_;
  int closes_ = 0;
  std::string received_;
  bool peer_eof_ = false;
};

using Strings = std::vector<std::string>;

TEST_F(ConnectionTest, KnowsItsIdPeerAndLimits) {
  ConnectionOptions options;
  EXPECT_EQ(options.framing, Framing::kLine);
  EXPECT_EQ(options.max_line, kDefaultMaxLine);
  EXPECT_EQ(options.max_output, 1024u * 1024);
  options.max_line = 123;
  open(options);
  EXPECT_EQ(conn_->id(), 42u);
  EXPECT_EQ(conn_->peer().to_string(), "/peer");
  EXPECT_EQ(conn_->max_line(), 123u);
  EXPECT_TRUE(conn_->is_open());
  EXPECT_EQ(conn_->state(), Connection::State::kOpen);
  EXPECT_EQ(conn_->output_size(), 0u);
  EXPECT_TRUE(loop_.watching(conn_fd_));
}

TEST_F(ConnectionTest, AnswersEachLine) {
  open();
  read_replies();
  put("hello\nworld\n");
  ASSERT_TRUE(run_until([&] { return received_.size() == 16; }));
  EXPECT_EQ(messages_, (Strings{"hello", "world"}));
  EXPECT_EQ(received_, "<hello>\n<world>\n");
  EXPECT_TRUE(conn_->is_open());
  EXPECT_EQ(closes_, 0);
}

TEST_F(ConnectionTest, JoinsLinesSplitAcrossWrites) {
  open();
  read_replies();
  put("hel");
  // Wait until the Connection has read the fragment: nothing may come of it yet.
  ASSERT_TRUE(run_until([&] { return unread_by_connection() == 0; }));
  run_for(10ms);
  EXPECT_TRUE(messages_.empty());
  put("lo\r");
  ASSERT_TRUE(run_until([&] { return unread_by_connection() == 0; }));
  run_for(10ms);
  EXPECT_TRUE(messages_.empty());
  put("\nwor");
  ASSERT_TRUE(run_until([&] { return messages_.size() == 1; }));
  EXPECT_EQ(messages_[0], "hello");
  put("ld\n");
  ASSERT_TRUE(run_until([&] { return messages_.size() == 2; }));
  EXPECT_EQ(messages_[1], "world");
  ASSERT_TRUE(run_until([&] { return received_ == "<hello>\n<world>\n"; }));
}

TEST_F(ConnectionTest, DropsCrBeforeLfAndKeepsEmptyLines) {
  open();
  put("a\r\n\r\n\nb\n");
  ASSERT_TRUE(run_until([&] { return messages_.size() == 4; }));
  EXPECT_EQ(messages_, (Strings{"a", "", "", "b"}));
}

TEST_F(ConnectionTest, PassesNulAndUtf8BytesUnchanged) {
  open();
  read_replies();
  const std::string binary = "a\0b\xff\x01"s;
  const std::string chinese = "你好，世界";
  put(binary + "\n" + chinese + "\r\n");
  ASSERT_TRUE(run_until([&] { return messages_.size() == 2; }));
  EXPECT_EQ(messages_[0], binary);
  EXPECT_EQ(messages_[1], chinese);
  const std::string expected = "<" + binary + ">\n<" + chinese + ">\n";
  ASSERT_TRUE(run_until([&] { return received_.size() >= expected.size(); }));
  EXPECT_EQ(received_, expected);
}

TEST_F(ConnectionTest, OverlongLineGetsErrorReplyThenClose) {
  ConnectionOptions options;
  options.max_line = 8;
  open(options);
  read_replies();
  put("ok\n" + std::string(20, 'x') + "\nafter\n");
  ASSERT_TRUE(run_until([&] { return peer_eof_; }));
  EXPECT_EQ(messages_, Strings{"ok"});  // lines after the bad one are dropped
  EXPECT_EQ(received_, "<ok>\nerror: line too long (max 8 bytes)\n");
  EXPECT_EQ(closes_, 1);
  EXPECT_EQ(conn_->state(), Connection::State::kClosed);
  EXPECT_FALSE(loop_.watching(conn_fd_));
}

TEST_F(ConnectionTest, OverlongLineIsRejectedBeforeItsNewlineArrives) {
  ConnectionOptions options;
  options.max_line = 8;
  open(options);
  read_replies();
  put(std::string(30, 'x'));  // and nothing more: the peer keeps the socket open
  ASSERT_TRUE(run_until([&] { return peer_eof_; }));
  EXPECT_TRUE(messages_.empty());
  EXPECT_EQ(received_, "error: line too long (max 8 bytes)\n");
  EXPECT_EQ(closes_, 1);
}

TEST_F(ConnectionTest, DefaultLimitIs64KiB) {
  open();
  read_replies();
  const std::string fits(kDefaultMaxLine, 'a');
  put(fits + "\n");
  ASSERT_TRUE(run_until([&] { return messages_.size() == 1; }));
  EXPECT_EQ(messages_[0].size(), kDefaultMaxLine);
  // One byte more, sent in pieces so it spans several reads.
  const std::string too_long(kDefaultMaxLine + 1, 'b');
  for (size_t off = 0; off < too_long.size(); off += 10000) put(too_long.substr(off, 10000));
  put("\n");
  ASSERT_TRUE(run_until([&] { return peer_eof_; }));
  EXPECT_EQ(messages_.size(), 1u);
  EXPECT_EQ(received_, "<" + fits + ">\nerror: line too long (max 65536 bytes)\n");
}

TEST_F(ConnectionTest, CustomTooLongHandlerReplacesTheDefaultReply) {
  ConnectionOptions options;
  options.max_line = 4;
  open(options);
  int calls = 0;
  conn_->set_on_too_long([&](Connection& c) {
    ++calls;
    c.send("custom\n");
  });
  read_replies();
  put("12345\n");
  ASSERT_TRUE(run_until([&] { return peer_eof_; }));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(received_, "custom\n");
  EXPECT_EQ(closes_, 1);
}

TEST_F(ConnectionTest, RawFramingDeliversEachChunkUnchanged) {
  ConnectionOptions options;
  options.framing = Framing::kRaw;
  options.max_line = 2;  // does not apply to raw chunks
  open(options);
  reply_ = [](Connection& c, std::string_view m) { c.send("[" + std::string(m) + "]"); };
  read_replies();
  put("abc");
  ASSERT_TRUE(run_until([&] { return messages_.size() == 1; }));
  EXPECT_EQ(messages_[0], "abc");
  put("x\r\ny\n\0z"s);
  ASSERT_TRUE(run_until([&] { return messages_.size() == 2; }));
  EXPECT_EQ(messages_[1], "x\r\ny\n\0z"s);
  ASSERT_TRUE(run_until([&] { return received_.size() == 5 + 9; }));
  EXPECT_EQ(received_, "[abc][x\r\ny\n\0z]"s);
  EXPECT_TRUE(conn_->is_open());
}

TEST_F(ConnectionTest, FinalUnterminatedLineIsDeliveredAtEof) {
  open();
  read_replies();
  put("a\nlast");
  ASSERT_EQ(::shutdown(peer_, SHUT_WR), 0);
  ASSERT_TRUE(run_until([&] { return peer_eof_; }));
  EXPECT_EQ(messages_, (Strings{"a", "last"}));
  EXPECT_EQ(received_, "<a>\n<last>\n");  // answered before the close
  EXPECT_EQ(closes_, 1);
}

TEST_F(ConnectionTest, FinalLineEndingInCrIsDeliveredWithoutItAtEof) {
  open();
  put("last\r");
  ASSERT_EQ(::shutdown(peer_, SHUT_WR), 0);
  ASSERT_TRUE(run_until([&] { return closes_ == 1; }));
  EXPECT_EQ(messages_, Strings{"last"});
}

TEST_F(ConnectionTest, ClosesWhenThePeerFinishesSending) {
  open();
  read_replies();
  ASSERT_EQ(::shutdown(peer_, SHUT_WR), 0);
  ASSERT_TRUE(run_until([&] { return peer_eof_ && closes_ == 1; }));
  EXPECT_TRUE(messages_.empty());
  EXPECT_EQ(received_, "");
  EXPECT_FALSE(loop_.watching(conn_fd_));
}

TEST_F(ConnectionTest, ClosesWhenThePeerVanishes) {
  open();
  ::close(peer_);
  peer_ = -1;
  ASSERT_TRUE(run_until([&] { return closes_ == 1; }));
  EXPECT_EQ(conn_->state(), Connection::State::kClosed);
}

TEST_F(ConnectionTest, HandlerThatClosesStopsFurtherMessages) {
  open();
  reply_ = [](Connection& c, std::string_view) { c.close(); };
  put("a\nb\nc\n");
  ASSERT_TRUE(run_until([&] { return closes_ == 1; }));
  run_for(10ms);
  EXPECT_EQ(messages_, Strings{"a"});
  EXPECT_EQ(closes_, 1);
}

TEST_F(ConnectionTest, CloseAfterFlushSendsTheReplyThenCloses) {
  open();
  reply_ = [](Connection& c, std::string_view m) {
    c.send("bye " + std::string(m) + "\n");
    c.close_after_flush();
    EXPECT_FALSE(c.is_open());
  };
  read_replies();
  put("quit\nignored\n");
  ASSERT_TRUE(run_until([&] { return peer_eof_; }));
  EXPECT_EQ(messages_, Strings{"quit"});
  EXPECT_EQ(received_, "bye quit\n");
  EXPECT_EQ(closes_, 1);
}

TEST_F(ConnectionTest, CloseAfterFlushWaitsForASlowReader) {
  open();
  shrink_send_buffer(conn_fd_, 4096);
  const std::string big(512 * 1024, 'z');
  reply_ = [&](Connection& c, std::string_view) {
    c.send(big);
    c.close_after_flush();
  };
  put("go\n");
  ASSERT_TRUE(run_until([&] { return conn_->output_size() > 0; }));
  // The kernel took only part of it; the rest waits in the output buffer.
  EXPECT_EQ(conn_->state(), Connection::State::kDraining);
  EXPECT_EQ(closes_, 0);
  read_replies();
  ASSERT_TRUE(run_until([&] { return peer_eof_; }));
  EXPECT_EQ(received_.size(), big.size());
  EXPECT_EQ(received_, big);
  EXPECT_EQ(closes_, 1);
}

// The progress deadline covers the draining state: replies queued for a
// peer that never reads make the connection stalled once the timeout passes
// with nothing taken (the clock is stepped by hand).
TEST_F(ConnectionTest, DrainingConnectionWhosePeerNeverReadsStalls) {
  ConnectionOptions options;
  options.progress_timeout = 1s;
  open(options);
  shrink_send_buffer(conn_fd_, 4096);
  reply_ = [](Connection& c, std::string_view) {
    c.send(std::string(512 * 1024, 'z'));
    c.close_after_flush();
  };
  put("go\n");
  ASSERT_TRUE(run_until([&] { return conn_->output_size() > 0; }));
  ASSERT_EQ(conn_->state(), Connection::State::kDraining);
  const auto t = EventLoop::Clock::now();
  EXPECT_FALSE(conn_->stalled(t));  // the request read and the reply sent: progress
  EXPECT_FALSE(conn_->stalled(t + 500ms));
  EXPECT_TRUE(conn_->stalled(t + 1s));
  conn_->close();  // what the owner does
  EXPECT_EQ(closes_, 1);
  EXPECT_FALSE(conn_->stalled(t + 2s));  // closed: nothing left to stall
}

// A peer that takes some of the queued bytes between two checks is making
// progress, even though the Connection itself sent nothing meanwhile.
TEST_F(ConnectionTest, PeerReadingQueuedRepliesKeepsTheConnectionFromStalling) {
  ConnectionOptions options;
  options.progress_timeout = 1s;
  open(options);
  shrink_send_buffer(conn_fd_, 64 * 1024);
  reply_ = [](Connection& c, std::string_view) { c.send(std::string(512 * 1024, 'z')); };
  put("go\n");
  ASSERT_TRUE(run_until([&] { return conn_->output_size() > 0; }));
  const auto t = EventLoop::Clock::now();
  EXPECT_FALSE(conn_->stalled(t));
  EXPECT_FALSE(conn_->stalled(t + 500ms));
  char buf[16 * 1024];
  for (int i = 0; i < 4; ++i) ASSERT_GT(::recv(peer_, buf, sizeof(buf), 0), 0);
  EXPECT_FALSE(conn_->stalled(t + 1200ms));  // without the reads: stalled here
  EXPECT_FALSE(conn_->stalled(t + 2199ms));
  EXPECT_TRUE(conn_->stalled(t + 2200ms));
}

TEST_F(ConnectionTest, WithoutAProgressTimeoutNeverStalls) {
  open();
  EXPECT_FALSE(conn_->stalled(EventLoop::Clock::now() + 24h));
}

TEST_F(ConnectionTest, SendAfterCloseIsIgnoredAndCloseHandlerRunsOnce) {
  open();
  conn_->close();
  conn_->close();
  conn_->send("late\n");
  conn_->close_after_flush();
  EXPECT_EQ(closes_, 1);
  EXPECT_EQ(conn_->output_size(), 0u);
  EXPECT_FALSE(loop_.watching(conn_fd_));
  read_replies();
  ASSERT_TRUE(run_until([&] { return peer_eof_; }));
  EXPECT_EQ(received_, "");
}

TEST_F(ConnectionTest, DestroyingAnOpenConnectionUnwatchesAndClosesItsFd) {
  open();
  ASSERT_TRUE(loop_.watching(conn_fd_));
  conn_.reset();
  EXPECT_FALSE(loop_.watching(conn_fd_));
  EXPECT_EQ(closes_, 0);  // the owner destroyed it; nobody closed it
  read_replies();
  ASSERT_TRUE(run_until([&] { return peer_eof_; }));
}

TEST_F(ConnectionTest, PeerVanishingMidWriteClosesWithoutSigpipe) {
  sigset_t pipe_set, old_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set), 0);

  open();
  shrink_send_buffer(conn_fd_, 4096);
  reply_ = [](Connection& c, std::string_view) { c.send(std::string(256 * 1024, 'y')); };
  put("1\n");
  ASSERT_TRUE(run_until([&] { return conn_->output_size() > 0; }));
  ::close(peer_);  // never reads a byte
  peer_ = -1;
  EXPECT_TRUE(run_until([&] { return closes_ == 1; }));

  sigset_t pending;
  sigpending(&pending);
  const bool raised = sigismember(&pending, SIGPIPE) == 1;
  if (raised) {
    const timespec zero{0, 0};
    sigtimedwait(&pipe_set, nullptr, &zero);
  }
  pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
  EXPECT_FALSE(raised);
}

TEST_F(ConnectionTest, RepliesToASlowReaderAreQueuedInOrder) {
  open();
  shrink_send_buffer(conn_fd_, 4096);
  reply_ = [](Connection& c, std::string_view m) {
    c.send(std::string(m) + ":" + std::string(3000, '.') + "\n");
  };
  std::string expected;
  std::string requests;
  for (int i = 0; i < 50; ++i) {
    requests += fmt::format("{:03}\n", i);
    expected += fmt::format("{:03}:{}\n", i, std::string(3000, '.'));
  }
  put(requests);
  ASSERT_TRUE(run_until([&] { return messages_.size() == 50; }));
  EXPECT_GT(conn_->output_size(), 0u);  // most of it is waiting for the reader
  read_replies();
  ASSERT_TRUE(run_until([&] { return received_.size() == expected.size(); }));
  EXPECT_EQ(received_, expected);
  EXPECT_EQ(conn_->output_size(), 0u);
}

// The libuv test-tcp-write-queue-order idea: shrink the send buffer, never
// read, keep sending requests. The Connection must stop reading instead of
// buffering replies without bound, and pick up where it left off once the
// peer drains.
TEST_F(ConnectionTest, StopsReadingFromAPeerThatDoesNotReadAndResumesWhenItDoes) {
  constexpr size_t kMaxOutput = 64 * 1024;
  constexpr size_t kReplySize = 1000;
  ConnectionOptions options;
  options.max_output = kMaxOutput;
  open(options);
  shrink_send_buffer(conn_fd_, 4096);
  shrink_send_buffer(peer_, 4096);

  size_t max_output_seen = 0;
  reply_ = [&](Connection& c, std::string_view m) {
    std::string reply(m);
    reply += ':';
    reply.resize(kReplySize - 1, 'r');
    reply += '\n';
    c.send(reply);
    max_output_seen = std::max(max_output_seen, c.output_size());
  };

  // The peer writes numbered 7-byte requests until its socket is full.
  std::string out;        // generated but not yet taken by the kernel
  size_t generated = 0;   // requests generated so far
  size_t sent_bytes = 0;  // bytes the kernel took
  size_t last_batch = 0;  // bytes taken by the latest write_batch()
  bool writing = true;
  auto write_batch = [&] {
    last_batch = 0;
    for (;;) {
      if (out.empty()) {
        for (int i = 0; i < 64; ++i) out += fmt::format("{:06}\n", generated++);
      }
      const ssize_t n = ::send(peer_, out.data(), out.size(), MSG_NOSIGNAL);
      if (n < 0) {
        ASSERT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK) << errno;
        return;
      }
      out.erase(0, static_cast<size_t>(n));
      sent_bytes += static_cast<size_t>(n);
      last_batch += static_cast<size_t>(n);
    }
  };
  auto sent = [&] { return sent_bytes / 7; };  // complete request lines
  loop_.watch(peer_, EPOLLOUT, [&](uint32_t events) {
    if (writing && (events & EPOLLOUT)) write_batch();
    if (events & EPOLLIN) drain_peer();
  });

  // 1. The Connection answers until its output reaches max_output, then pauses.
  // (Writes are batched per loop iteration, so by the time we look, the
  // batch that crossed max_output may have been partly written: wait for a
  // queue well past the resume mark instead of max_output itself.)
  ASSERT_TRUE(run_until(
      [&] { return max_output_seen >= kMaxOutput && conn_->output_size() > kMaxOutput / 2; }));
  run_for(100ms);  // the peer keeps trying to send meanwhile
  const size_t handled = messages_.size();
  const size_t output = conn_->output_size();
  const size_t unread = unread_by_connection();
  run_for(100ms);
  EXPECT_EQ(messages_.size(), handled) << "a paused Connection handled more requests";
  EXPECT_EQ(conn_->output_size(), output);
  EXPECT_EQ(unread_by_connection(), unread) << "a paused Connection kept reading";
  EXPECT_GT(unread, 0u) << "requests the Connection has not read stay in the kernel";
  EXPECT_LT(handled, sent());
  write_batch();
  EXPECT_EQ(last_batch, 0u) << "the peer can still send: the Connection is still reading";
  EXPECT_LE(max_output_seen, kMaxOutput + kReplySize);
  EXPECT_GT(output, kMaxOutput / 2);  // paused: not yet drained to the resume mark
  EXPECT_LE(output, kMaxOutput + kReplySize);
  EXPECT_TRUE(conn_->is_open());

  // 2. The peer stops sending and reads: every request gets its reply, in order.
  writing = false;
  loop_.modify(peer_, EPOLLIN);
  const size_t total = sent();
  ASSERT_TRUE(run_until([&] { return received_.size() >= total * kReplySize; }, 5000ms))
      << received_.size() << " of " << total * kReplySize << " bytes";
  EXPECT_EQ(messages_.size(), total);
  EXPECT_EQ(unread_by_connection(), 0u);
  EXPECT_LE(max_output_seen, kMaxOutput + kReplySize);
  ASSERT_EQ(received_.size(), total * kReplySize);
  for (size_t i = 0; i < total; ++i) {
    const std::string want_prefix = fmt::format("{:06}:", i);
    ASSERT_EQ(received_.compare(i * kReplySize, want_prefix.size(), want_prefix), 0)
        << "reply " << i;
    ASSERT_EQ(received_[i * kReplySize + kReplySize - 1], '\n') << "reply " << i;
  }
  EXPECT_EQ(conn_->output_size(), 0u);
  EXPECT_TRUE(conn_->is_open());
}

}  // namespace
}  // namespace netlab::net
