#include "net/socket.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>
#include <utility>

namespace netlab::net {
namespace {

bool fd_is_open(int fd) {
  return fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

// A connected pair; `a` is wrapped in a Socket by the tests, `b` stays raw.
struct Pair {
  int a = -1;
  int b = -1;
  Pair() {
    int fds[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    a = fds[0];
    b = fds[1];
  }
  ~Pair() {
    if (b >= 0) ::close(b);
  }
};

// Waits (bounded) for the peer to see end-of-file: proof the other end was closed.
bool peer_sees_eof(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, 2000) != 1) return false;
  char c;
  return ::recv(fd, &c, 1, MSG_DONTWAIT) == 0;
}

Address loopback4(uint16_t port) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(port);
  in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return Address(reinterpret_cast<const sockaddr*>(&in), sizeof(in));
}

bool wait_fd(int fd, short events) {
  pollfd p{fd, events, 0};
  return poll(&p, 1, 2000) == 1;
}

TEST(Socket, DefaultSocketIsInvalid) {
  Socket s;
  EXPECT_FALSE(s.valid());
  EXPECT_EQ(s.fd(), -1);
  s.close();  // harmless
  EXPECT_FALSE(s.valid());
}

TEST(Socket, ClosesItsFdOnDestruction) {
  Pair p;
  {
    Socket s(p.a);
    EXPECT_EQ(s.fd(), p.a);
    EXPECT_TRUE(s.valid());
  }
  EXPECT_TRUE(peer_sees_eof(p.b));
  EXPECT_FALSE(fd_is_open(p.a));
}

TEST(Socket, CloseClosesOnceAndInvalidates) {
  Pair p;
  Socket s(p.a);
  s.close();
  EXPECT_FALSE(s.valid());
  EXPECT_TRUE(peer_sees_eof(p.b));
  // A later fd with the same number belongs to someone else: a second close
  // (or the destructor) must not touch it.
  const int reused = ::dup(p.b);
  s.close();
  EXPECT_TRUE(fd_is_open(reused));
  ::close(reused);
}

TEST(Socket, MoveConstructionTransfersOwnership) {
  Pair p;
  Socket a(p.a);
  Socket b(std::move(a));
  EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): the moved-from state is the point
  EXPECT_EQ(b.fd(), p.a);
  { Socket gone(std::move(a)); }  // destroying the moved-from socket closes nothing
  EXPECT_TRUE(fd_is_open(p.a));
  b.close();
  EXPECT_TRUE(peer_sees_eof(p.b));
}

TEST(Socket, MoveAssignmentClosesTheOldFd) {
  Pair first;
  Pair second;
  Socket target(first.a);
  Socket source(second.a);
  target = std::move(source);
  EXPECT_EQ(target.fd(), second.a);
  EXPECT_FALSE(source.valid());  // NOLINT(bugprone-use-after-move)
  EXPECT_TRUE(peer_sees_eof(first.b));
  EXPECT_TRUE(fd_is_open(second.a));
}

TEST(Socket, SelfMoveAssignmentKeepsTheFd) {
  Pair p;
  Socket s(p.a);
  Socket& alias = s;
  s = std::move(alias);
  EXPECT_EQ(s.fd(), p.a);
  EXPECT_TRUE(fd_is_open(p.a));
}

TEST(Socket, ReleaseGivesUpOwnershipWithoutClosing) {
  Pair p;
  int fd = -1;
  {
    Socket s(p.a);
    fd = s.release();
    EXPECT_FALSE(s.valid());
  }
  EXPECT_EQ(fd, p.a);
  EXPECT_TRUE(fd_is_open(fd));
  ::close(fd);
}

TEST(Socket, OpenIsNonBlockingAndCloseOnExec) {
  Socket s = Socket::open(AF_INET, SOCK_STREAM);
  ASSERT_TRUE(s.valid());
  EXPECT_TRUE(fcntl(s.fd(), F_GETFL) & O_NONBLOCK);
  EXPECT_TRUE(fcntl(s.fd(), F_GETFD) & FD_CLOEXEC);
  int type = 0;
  socklen_t len = sizeof(type);
  ASSERT_EQ(getsockopt(s.fd(), SOL_SOCKET, SO_TYPE, &type, &len), 0);
  EXPECT_EQ(type, SOCK_STREAM);
}

TEST(Socket, OpenThrowsSystemErrorWithErrno) {
  try {
    Socket::open(-1, SOCK_STREAM);
    FAIL() << "no exception";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EAFNOSUPPORT);
    EXPECT_NE(std::string(e.what()).find("cannot create socket"), std::string::npos) << e.what();
  }
}

TEST(Socket, SetReuseAddrSetsTheOption) {
  Socket s = Socket::open(AF_INET, SOCK_STREAM);
  s.set_reuse_addr();
  int on = 0;
  socklen_t len = sizeof(on);
  ASSERT_EQ(getsockopt(s.fd(), SOL_SOCKET, SO_REUSEADDR, &on, &len), 0);
  EXPECT_NE(on, 0);
}

TEST(Socket, SetV6OnlySetsTheOption) {
  Socket s = Socket::open(AF_INET6, SOCK_STREAM);
  for (bool want : {true, false}) {
    s.set_v6only(want);
    int on = -1;
    socklen_t len = sizeof(on);
    ASSERT_EQ(getsockopt(s.fd(), IPPROTO_IPV6, IPV6_V6ONLY, &on, &len), 0);
    EXPECT_EQ(on != 0, want);
  }
}

TEST(Socket, BindsLoopbackPortZeroAndReportsTheRealPort) {
  Socket s = Socket::open(AF_INET, SOCK_STREAM);
  s.bind(loopback4(0));
  s.listen(16);
  const Address local = s.local_address();
  EXPECT_EQ(local.host(), "127.0.0.1");
  EXPECT_NE(local.port(), 0);
  int listening = 0;
  socklen_t len = sizeof(listening);
  ASSERT_EQ(getsockopt(s.fd(), SOL_SOCKET, SO_ACCEPTCONN, &listening, &len), 0);
  EXPECT_EQ(listening, 1);
}

TEST(Socket, BindToAPortInUseThrowsWithErrnoAndAddress) {
  Socket first = Socket::open(AF_INET, SOCK_STREAM);
  first.bind(loopback4(0));
  first.listen(1);
  const Address taken = first.local_address();
  Socket second = Socket::open(AF_INET, SOCK_STREAM);
  try {
    second.bind(taken);
    FAIL() << "no exception";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EADDRINUSE);
    EXPECT_NE(std::string(e.what()).find("cannot bind " + taken.to_string()), std::string::npos)
        << e.what();
  }
}

TEST(Socket, ListenOnAConnectedSocketThrows) {
  Pair p;
  Socket s(p.a);
  EXPECT_THROW(s.listen(1), std::system_error);
}

TEST(Socket, AcceptWithNothingPendingReturnsInvalidWithEagain) {
  Socket s = Socket::open(AF_INET, SOCK_STREAM);
  s.bind(loopback4(0));
  s.listen(4);
  Address peer;
  errno = 0;
  Socket none = s.accept(peer);
  EXPECT_FALSE(none.valid());
  EXPECT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK) << errno;
}

TEST(Socket, ConnectsAcceptsAndExchangesBytesOverLoopback) {
  Socket server = Socket::open(AF_INET, SOCK_STREAM);
  server.bind(loopback4(0));
  server.listen(4);
  const Address where = server.local_address();

  Socket client = Socket::open(AF_INET, SOCK_STREAM);
  const int rc = client.connect(where);
  ASSERT_TRUE(rc == 0 || errno == EINPROGRESS) << errno;
  ASSERT_TRUE(wait_fd(client.fd(), POLLOUT));
  EXPECT_EQ(client.pending_error(), 0);

  ASSERT_TRUE(wait_fd(server.fd(), POLLIN));
  Address peer;
  Socket conn = server.accept(peer);
  ASSERT_TRUE(conn.valid());
  EXPECT_EQ(peer.host(), "127.0.0.1");
  EXPECT_EQ(peer.port(), client.local_address().port());
  EXPECT_EQ(conn.peer_address().to_string(), client.local_address().to_string());
  EXPECT_EQ(client.peer_address().to_string(), where.to_string());
  // Accepted sockets are non-blocking and close-on-exec too.
  EXPECT_TRUE(fcntl(conn.fd(), F_GETFL) & O_NONBLOCK);
  EXPECT_TRUE(fcntl(conn.fd(), F_GETFD) & FD_CLOEXEC);

  ASSERT_EQ(client.send("ping", 4), 4);
  ASSERT_TRUE(wait_fd(conn.fd(), POLLIN));
  char buf[16] = {};
  ASSERT_EQ(conn.recv(buf, sizeof(buf)), 4);
  EXPECT_EQ(std::string(buf, 4), "ping");

  // shutdown_write: the peer reads end-of-file, the other direction still works.
  ASSERT_EQ(client.shutdown_write(), 0);
  ASSERT_TRUE(wait_fd(conn.fd(), POLLIN));
  EXPECT_EQ(conn.recv(buf, sizeof(buf)), 0);
  ASSERT_EQ(conn.send("pong", 4), 4);
  ASSERT_TRUE(wait_fd(client.fd(), POLLIN));
  ASSERT_EQ(client.recv(buf, sizeof(buf)), 4);
  EXPECT_EQ(std::string(buf, 4), "pong");
}

TEST(Socket, RecvWithNoDataFailsWithEagain) {
  Pair p;
  Socket s(p.a);
  ASSERT_EQ(fcntl(s.fd(), F_SETFL, O_NONBLOCK), 0);
  char c;
  errno = 0;
  EXPECT_EQ(s.recv(&c, 1), -1);
  EXPECT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK);
}

TEST(Socket, ConnectToAClosedLoopbackPortIsRefused) {
  // A bound but not listening socket owns the port, so nobody else listens there.
  Socket holder = Socket::open(AF_INET, SOCK_STREAM);
  holder.bind(loopback4(0));
  const Address closed = holder.local_address();

  Socket client = Socket::open(AF_INET, SOCK_STREAM);
  int err = 0;
  if (client.connect(closed) < 0) err = errno;
  if (err == EINPROGRESS) {
    ASSERT_TRUE(wait_fd(client.fd(), POLLOUT));
    err = client.pending_error();
  }
  EXPECT_EQ(err, ECONNREFUSED);
}

TEST(Socket, SendToAVanishedPeerIsEpipeNotSigpipe) {
  // Block SIGPIPE so a raised one stays pending where we can see it instead
  // of killing the test binary.
  sigset_t pipe_set, old_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set), 0);

  Pair p;
  Socket s(p.a);
  ::close(p.b);
  p.b = -1;
  errno = 0;
  EXPECT_EQ(s.send("x", 1), -1);
  EXPECT_EQ(errno, EPIPE);

  sigset_t pending;
  sigpending(&pending);
  const bool raised = sigismember(&pending, SIGPIPE) == 1;
  if (raised) {
    const timespec zero{0, 0};
    sigtimedwait(&pipe_set, nullptr, &zero);  // consume it before unblocking
  }
  pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
  EXPECT_FALSE(raised) << "send() raised SIGPIPE";
}

TEST(Socket, DatagramsCarryTheSenderAddress) {
  Socket a = Socket::open(AF_INET, SOCK_DGRAM);
  a.bind(loopback4(0));
  Socket b = Socket::open(AF_INET, SOCK_DGRAM);
  b.bind(loopback4(0));
  ASSERT_EQ(b.send_to("hello", 5, a.local_address()), 5);
  ASSERT_TRUE(wait_fd(a.fd(), POLLIN));
  char buf[64];
  Address from;
  ASSERT_EQ(a.recv_from(buf, sizeof(buf), from), 5);
  EXPECT_EQ(std::string(buf, 5), "hello");
  EXPECT_EQ(from.to_string(), b.local_address().to_string());
  // Reply to whoever sent it.
  ASSERT_EQ(a.send_to("back", 4, from), 4);
  ASSERT_TRUE(wait_fd(b.fd(), POLLIN));
  Address from2;
  ASSERT_EQ(b.recv_from(buf, sizeof(buf), from2), 4);
  EXPECT_EQ(from2.to_string(), a.local_address().to_string());
}

TEST(Socket, PeerAddressOfAnUnconnectedSocketIsEmpty) {
  Socket s = Socket::open(AF_INET, SOCK_STREAM);
  EXPECT_EQ(s.peer_address().size(), 0u);
}

}  // namespace
}  // namespace netlab::net
