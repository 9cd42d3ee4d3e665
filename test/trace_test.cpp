// Trace (net/trace.hpp): the recorders behind --trace, with stderr captured.
// What each line says is trace_format_test's business; here: errno survives
// a recorder, EAGAIN hides unless --trace=all, and the switch itself.
#include "net/trace.hpp"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace netlab::net {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

// Points fd 2 at a pipe for the fixture's lifetime and turns tracing off at
// the end, so no other test sees either.
class TraceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(pipe2(pipe_, O_CLOEXEC | O_NONBLOCK), 0);
    saved_stderr_ = dup(STDERR_FILENO);
    ASSERT_GE(saved_stderr_, 0);
    ASSERT_EQ(dup2(pipe_[1], STDERR_FILENO), STDERR_FILENO);
  }
  void TearDown() override {
    Trace::configure(Trace::Level::kOff);
    Trace::set_ids(Trace::Ids::kNone);
    dup2(saved_stderr_, STDERR_FILENO);
    ::close(saved_stderr_);
    ::close(pipe_[0]);
    ::close(pipe_[1]);
  }
  // Everything written to stderr so far.
  std::string captured() {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(pipe_[0], buf, sizeof(buf))) > 0) text_.append(buf, static_cast<size_t>(n));
    return text_;
  }

 private:
  int pipe_[2] = {-1, -1};
  int saved_stderr_ = -1;
  std::string text_;
};

TEST_F(TraceTest, IsOffUntilConfigured) {
  EXPECT_FALSE(Trace::calls());
  EXPECT_FALSE(Trace::all());
  Trace::configure(Trace::Level::kCalls);
  EXPECT_TRUE(Trace::calls());
  EXPECT_FALSE(Trace::all());
  Trace::configure(Trace::Level::kAll);
  EXPECT_TRUE(Trace::calls());
  EXPECT_TRUE(Trace::all());
}

TEST_F(TraceTest, RecordersLeaveErrnoAsTheyFoundIt) {
  Trace::configure(Trace::Level::kCalls);
  errno = ECONNRESET;
  Trace::recv(5, "", 100, -1);
  EXPECT_EQ(errno, ECONNRESET);
  errno = EINPROGRESS;
  Trace::connect(3, Address::unix_path("/tmp/x.sock"), -1);
  EXPECT_EQ(errno, EINPROGRESS);
  EXPECT_THAT(captured(), HasSubstr("recv(fd 5, 100) = ECONNRESET (Connection reset by peer)\n"));
  EXPECT_THAT(captured(), HasSubstr("connect(fd 3, /tmp/x.sock) = EINPROGRESS"));
}

TEST_F(TraceTest, WouldBlockShowsOnlyWithAll) {
  Trace::configure(Trace::Level::kCalls);
  errno = EAGAIN;
  Trace::recv(5, "", 100, -1);
  Trace::accept(3, -1, Address());
  Trace::send(5, "x", 1, -1);
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_EQ(captured(), "");

  Trace::configure(Trace::Level::kAll);
  errno = EAGAIN;
  Trace::recv(5, "", 100, -1);
  EXPECT_THAT(captured(), HasSubstr("recv(fd 5, 100) = EAGAIN (Resource temporarily unavailable)"));
}

TEST_F(TraceTest, LinesCarryTimeAndTheIdAskedFor) {
  Trace::configure(Trace::Level::kCalls, 4);
  Trace::set_ids(Trace::Ids::kProcess);
  errno = 0;
  Trace::recv(5, "hello", 100, 5);
  const std::string pid = std::to_string(getpid());
  // Not a terminal: no colour. --trace-bytes 4: "hell" and the cut marker.
  EXPECT_THAT(captured(), MatchesRegex(" +[0-9]+\\.[0-9]{3} ms \\[pid " + pid +
                                       "\\] recv\\(fd 5, 100\\) = 5 bytes \"hell\"\\.\\.\\.\n"));
}

TEST_F(TraceTest, ZeroBytesEndAStreamButNotADatagram) {
  Trace::configure(Trace::Level::kCalls);
  int stream[2];
  int dgram[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, stream), 0);
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_DGRAM, 0, dgram), 0);
  Trace::recv(stream[0], "", 10, 0);
  Trace::recv(dgram[0], "", 10, 0);
  const std::string out = captured();
  EXPECT_THAT(out, HasSubstr(std::to_string(stream[0]) + ", 10) = 0 bytes (peer closed)\n"));
  EXPECT_THAT(out, HasSubstr(std::to_string(dgram[0]) + ", 10) = 0 bytes \"\"\n"));
  for (int fd : {stream[0], stream[1], dgram[0], dgram[1]}) ::close(fd);
}

}  // namespace
}  // namespace netlab::net
