#include "net/progress_deadline.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <limits>
#include <string>

#include "net/request_server.hpp"

namespace netlab::net {
namespace {

using namespace std::chrono_literals;
using Clock = ProgressDeadline::Clock;

// The deadline's clock is whatever time the caller passes, so these tests
// step it by hand; the kernel side is a real socketpair(AF_UNIX) whose
// `peer_` end the test reads from, or not.
class ProgressDeadlineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    socket_ = Socket(fds[0]);
    peer_ = fds[1];
  }
  void TearDown() override { ::close(peer_); }

  // Writes until the kernel takes no more (nobody reads the peer end yet);
  // returns how much it took.
  size_t fill_send_buffer() {
    const std::string chunk(16 * 1024, 'q');
    size_t total = 0;
    for (;;) {
      const ssize_t n = socket_.send(chunk.data(), chunk.size());
      if (n <= 0) break;
      total += static_cast<size_t>(n);
    }
    EXPECT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK);
    return total;
  }
  // The peer reads `bytes` (the kernel frees what a sender queued one whole
  // buffer at a time, so read plenty).
  void peer_reads(size_t bytes) {
    std::string buf(bytes, '\0');
    ASSERT_GT(::recv(peer_, buf.data(), buf.size(), 0), 0);
  }

  Socket socket_;
  int peer_ = -1;
  const Clock::time_point t0_ = Clock::now();
};

TEST_F(ProgressDeadlineTest, ExpiresOnceNothingMovedForTheTimeout) {
  ProgressDeadline d(1s, t0_);
  EXPECT_FALSE(d.expired(t0_ + 500ms, socket_));
  EXPECT_FALSE(d.expired(t0_ + 999ms, socket_));
  EXPECT_TRUE(d.expired(t0_ + 1s, socket_));
}

TEST_F(ProgressDeadlineTest, ZeroTimeoutNeverExpires) {
  ProgressDeadline d(Clock::duration::zero(), t0_);
  EXPECT_FALSE(d.expired(t0_ + 24h, socket_));
  EXPECT_EQ(d.next_check(t0_), std::nullopt);
}

TEST_F(ProgressDeadlineTest, BytesReceivedPushTheDeadlineBackFromWhenTheyAreSeen) {
  ProgressDeadline d(1s, t0_);
  d.received(1);
  EXPECT_FALSE(d.expired(t0_ + 900ms, socket_));  // seen here: a new deadline
  EXPECT_FALSE(d.expired(t0_ + 1800ms, socket_));
  EXPECT_TRUE(d.expired(t0_ + 1900ms, socket_));
}

TEST_F(ProgressDeadlineTest, BytesSentPushTheDeadlineBack) {
  ProgressDeadline d(1s, t0_);
  d.sent(fill_send_buffer());
  EXPECT_FALSE(d.expired(t0_ + 900ms, socket_));
  EXPECT_FALSE(d.expired(t0_ + 1800ms, socket_));
}

// The peer takes none of the bytes queued for it: looking at the kernel's
// queue finds the same count each time, which is no progress.
TEST_F(ProgressDeadlineTest, PeerThatTakesNothingExpiresWithBytesQueued) {
  ProgressDeadline d(1s, t0_);
  d.sent(fill_send_buffer());
  ASSERT_GT(socket_.unsent_bytes(), 0);
  EXPECT_FALSE(d.expired(t0_ + 250ms, socket_));  // the send, seen
  EXPECT_FALSE(d.expired(t0_ + 500ms, socket_));
  EXPECT_FALSE(d.expired(t0_ + 750ms, socket_));
  EXPECT_FALSE(d.expired(t0_ + 1249ms, socket_));
  EXPECT_TRUE(d.expired(t0_ + 1250ms, socket_));
}

// The peer reads part of what the kernel queued, with no send() of ours in
// between (the kernel would not wake a writer for so little): progress.
TEST_F(ProgressDeadlineTest, PeerTakingQueuedBytesIsProgress) {
  ProgressDeadline d(1s, t0_);
  d.sent(fill_send_buffer());
  EXPECT_FALSE(d.expired(t0_ + 250ms, socket_));  // the send, seen
  EXPECT_FALSE(d.expired(t0_ + 500ms, socket_));  // the queue, counted
  peer_reads(32 * 1024);
  EXPECT_FALSE(d.expired(t0_ + 1000ms, socket_));  // fewer queued: progress
  peer_reads(32 * 1024);
  EXPECT_FALSE(d.expired(t0_ + 1900ms, socket_));  // and again
  EXPECT_FALSE(d.expired(t0_ + 2899ms, socket_));
  EXPECT_TRUE(d.expired(t0_ + 2900ms, socket_));  // then nothing for 1 s
}

// Once the peer has taken everything there is nothing left to look at: a
// quiet connection costs no system call per check (unsent_bytes() stays
// unasked; seen here as the deadline no longer coming early).
TEST_F(ProgressDeadlineTest, StopsLookingOnceThePeerTookEverything) {
  ProgressDeadline d(1s, t0_);
  d.sent(3);
  ASSERT_EQ(socket_.send("abc", 3), 3);
  EXPECT_FALSE(d.expired(t0_ + 250ms, socket_));
  EXPECT_EQ(d.next_check(t0_ + 250ms), t0_ + 500ms);  // bytes may be queued: look soon
  peer_reads(3);
  EXPECT_FALSE(d.expired(t0_ + 500ms, socket_));
  EXPECT_EQ(d.next_check(t0_ + 500ms), t0_ + 1250ms);  // nothing queued: the deadline itself
}

TEST_F(ProgressDeadlineTest, NextCheckIsTheDeadlineWhenNothingIsQueued) {
  ProgressDeadline d(2s, t0_);
  EXPECT_EQ(d.next_check(t0_), t0_ + 2s);
  EXPECT_FALSE(d.expired(t0_ + 1s, socket_));
  EXPECT_EQ(d.next_check(t0_ + 1s), t0_ + 2s);
}

TEST(ProgressDeadline, ChecksAQuarterOfTheTimeoutBetween10And250Ms) {
  EXPECT_EQ(ProgressDeadline::check_period(1s), 250ms);
  EXPECT_EQ(ProgressDeadline::check_period(60s), 250ms);
  EXPECT_EQ(ProgressDeadline::check_period(400ms), 100ms);
  EXPECT_EQ(ProgressDeadline::check_period(1ms), 10ms);
}

// --idle-timeout is any non-negative number: a huge one is a long timeout,
// not an overflow into a negative one that would close every client at once.
TEST(ProgressDeadline, IdleTimeoutBecomesATimeoutThatNeverOverflows) {
  RequestServerOptions o;
  EXPECT_EQ(progress_timeout(o), Clock::duration::zero());
  o.idle_timeout_s = 0.25;
  EXPECT_EQ(progress_timeout(o), 250ms);
  for (double huge : {1e30, std::numeric_limits<double>::infinity()}) {
    o.idle_timeout_s = huge;
    EXPECT_GE(progress_timeout(o), std::chrono::hours(24 * 365 * 100));
    ProgressDeadline d(progress_timeout(o), Clock::now());
    Socket none;
    EXPECT_FALSE(d.expired(Clock::now() + 24h, none));
  }
  o.idle_timeout_s = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(progress_timeout(o), Clock::duration::zero());
  // Positive but under a nanosecond: still a timeout, never "none".
  o.idle_timeout_s = 1e-10;
  EXPECT_GT(progress_timeout(o), Clock::duration::zero());
}

}  // namespace
}  // namespace netlab::net
