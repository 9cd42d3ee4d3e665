#include "net/listener.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <system_error>
#include <utility>

#include "net/log.hpp"

namespace netlab::net {
namespace {

bool exists(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0;
}

bool is_socket_file(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

int sock_int_option(int fd, int level, int name) {
  int v = -1;
  socklen_t len = sizeof(v);
  EXPECT_EQ(getsockopt(fd, level, name, &v, &len), 0);
  return v;
}

bool ipv6_loopback_available() {
  Socket s;
  try {
    s = Socket::open(AF_INET6, SOCK_STREAM);
    s.bind(resolve("::1", 0, Transport::kTcp, true).front());
  } catch (const std::system_error&) {
    return false;
  }
  return true;
}

// Connects a blocking-style client to `addr` (loopback or unix only) and
// returns whether the listener accepted it.
bool can_connect_and_accept(const Address& addr, Socket& listening) {
  Socket client = Socket::open(addr.family(), SOCK_STREAM);
  if (client.connect(addr) < 0 && errno != EINPROGRESS) return false;
  pollfd p{client.fd(), POLLOUT, 0};
  if (poll(&p, 1, 2000) != 1 || client.pending_error() != 0) return false;
  pollfd l{listening.fd(), POLLIN, 0};
  if (poll(&l, 1, 2000) != 1) return false;
  Address peer;
  Socket accepted = listening.accept(peer);
  return accepted.valid();
}

// A private directory for unix socket files, removed with the test.
class ListenerOnUnixPath : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/netlab-listener-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/s.sock";
  }
  void TearDown() override {
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  Endpoint endpoint() const {
    Endpoint e;
    e.unix_path = path_;
    return e;
  }
  std::string dir_;
  std::string path_;
};

TEST(Listener, OpensIpv4LoopbackOnAnEphemeralPort) {
  Endpoint e;
  e.host = "127.0.0.1";
  e.port = 0;
  Listener l = Listener::open(e, Transport::kTcp);
  ASSERT_EQ(l.sockets().size(), 1u);
  Socket& s = l.sockets()[0];
  const Address local = s.local_address();
  EXPECT_EQ(local.host(), "127.0.0.1");
  EXPECT_NE(local.port(), 0);
  EXPECT_EQ(sock_int_option(s.fd(), SOL_SOCKET, SO_ACCEPTCONN), 1);
  EXPECT_NE(sock_int_option(s.fd(), SOL_SOCKET, SO_REUSEADDR), 0);
  EXPECT_TRUE(can_connect_and_accept(local, s));
}

TEST(Listener, LocalhostBindsBothLoopbacksOnOnePort) {
  if (!ipv6_loopback_available()) GTEST_SKIP() << "no IPv6 loopback here";
  Endpoint e;
  e.host = "localhost";
  e.port = 0;
  Listener l = Listener::open(e, Transport::kTcp);
  ASSERT_EQ(l.sockets().size(), 2u);
  const Address v4 = l.sockets()[0].local_address();
  const Address v6 = l.sockets()[1].local_address();
  EXPECT_EQ(v4.host(), "127.0.0.1");
  EXPECT_EQ(v6.host(), "::1");
  EXPECT_NE(v4.port(), 0);
  EXPECT_EQ(v4.port(), v6.port());
  // Next to an IPv4 socket, the IPv6 one keeps to its own family.
  EXPECT_EQ(sock_int_option(l.sockets()[1].fd(), IPPROTO_IPV6, IPV6_V6ONLY), 1);
  EXPECT_TRUE(can_connect_and_accept(v4, l.sockets()[0]));
  EXPECT_TRUE(can_connect_and_accept(v6, l.sockets()[1]));
}

TEST(Listener, LocalhostSharesOnePortAcrossRepeatedOpens) {
  if (!ipv6_loopback_available()) GTEST_SKIP() << "no IPv6 loopback here";
  // Many listeners at once: each must find a port free on both families.
  std::vector<Listener> all;
  std::set<uint16_t> ports;
  for (int i = 0; i < 20; ++i) {
    Endpoint e;
    e.port = 0;
    all.push_back(Listener::open(e, Transport::kTcp));
    ASSERT_EQ(all.back().sockets().size(), 2u);
    const uint16_t p4 = all.back().sockets()[0].local_address().port();
    EXPECT_EQ(p4, all.back().sockets()[1].local_address().port());
    ports.insert(p4);
  }
  EXPECT_EQ(ports.size(), 20u);
}

TEST(Listener, UdpLocalhostBindsBothLoopbacksOnOnePort) {
  if (!ipv6_loopback_available()) GTEST_SKIP() << "no IPv6 loopback here";
  Endpoint e;
  e.port = 0;
  Listener l = Listener::open(e, Transport::kUdp);
  ASSERT_EQ(l.sockets().size(), 2u);
  EXPECT_EQ(sock_int_option(l.sockets()[0].fd(), SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
  EXPECT_EQ(l.sockets()[0].local_address().port(), l.sockets()[1].local_address().port());
  EXPECT_NE(l.sockets()[0].local_address().port(), 0);
}

TEST(Listener, Ipv6LoopbackAloneListens) {
  if (!ipv6_loopback_available()) GTEST_SKIP() << "no IPv6 loopback here";
  Endpoint e;
  e.host = "::1";
  e.port = 0;
  Listener l = Listener::open(e, Transport::kTcp);
  ASSERT_EQ(l.sockets().size(), 1u);
  const Address local = l.sockets()[0].local_address();
  EXPECT_EQ(local.host(), "::1");
  EXPECT_TRUE(can_connect_and_accept(local, l.sockets()[0]));
}

TEST(Listener, PortInUseThrowsAddressInUse) {
  Endpoint e;
  e.host = "127.0.0.1";
  e.port = 0;
  Listener first = Listener::open(e, Transport::kTcp);
  e.port = first.sockets()[0].local_address().port();
  try {
    Listener second = Listener::open(e, Transport::kTcp);
    FAIL() << "second listener on port " << e.port;
  } catch (const std::system_error& err) {
    EXPECT_EQ(err.code().value(), EADDRINUSE);
  }
}

TEST(Listener, AnnouncesOneLinePerSocket) {
  Endpoint e;
  e.host = "127.0.0.1";
  e.port = 0;
  Listener l = Listener::open(e, Transport::kTcp);
  const uint16_t port = l.sockets()[0].local_address().port();
  const std::string saved = Log::program();
  Log::set_program("netlab tserv");
  testing::internal::CaptureStderr();
  l.announce();
  const std::string out = testing::internal::GetCapturedStderr();
  Log::set_program(saved);
  EXPECT_EQ(out, "netlab tserv: listening on tcp 127.0.0.1:" + std::to_string(port) + "\n");
}

TEST(Listener, AnnouncesEvenWhenQuietAndAfterClose) {
  Endpoint e;
  e.host = "127.0.0.1";
  e.port = 0;
  Listener l = Listener::open(e, Transport::kUdp);
  const uint16_t port = l.sockets()[0].local_address().port();
  l.close();
  EXPECT_TRUE(l.sockets().empty());
  const std::string saved = Log::program();
  Log::set_program("netlab userv");
  Log::set_verbosity(Verbosity::kQuiet);
  testing::internal::CaptureStderr();
  l.announce();
  const std::string out = testing::internal::GetCapturedStderr();
  Log::set_verbosity(Verbosity::kNormal);
  Log::set_program(saved);
  EXPECT_EQ(out, "netlab userv: listening on udp 127.0.0.1:" + std::to_string(port) + "\n");
}

TEST_F(ListenerOnUnixPath, CreatesAListeningSocketFile) {
  Listener l = Listener::open(endpoint(), Transport::kTcp);
  ASSERT_EQ(l.sockets().size(), 1u);
  EXPECT_TRUE(is_socket_file(path_));
  EXPECT_EQ(sock_int_option(l.sockets()[0].fd(), SOL_SOCKET, SO_ACCEPTCONN), 1);
  EXPECT_TRUE(can_connect_and_accept(Address::unix_path(path_), l.sockets()[0]));
}

TEST_F(ListenerOnUnixPath, AnnouncesThePath) {
  Listener l = Listener::open(endpoint(), Transport::kTcp);
  const std::string saved = Log::program();
  Log::set_program("netlab tserv");
  testing::internal::CaptureStderr();
  l.announce();
  const std::string out = testing::internal::GetCapturedStderr();
  Log::set_program(saved);
  EXPECT_EQ(out, "netlab tserv: listening on unix " + path_ + "\n");
}

TEST_F(ListenerOnUnixPath, RemovesItsFileOnDestruction) {
  {
    Listener l = Listener::open(endpoint(), Transport::kTcp);
    ASSERT_TRUE(exists(path_));
  }
  EXPECT_FALSE(exists(path_));
}

TEST_F(ListenerOnUnixPath, DatagramListenerRemovesItsFileToo) {
  {
    Listener l = Listener::open(endpoint(), Transport::kUdp);
    ASSERT_TRUE(is_socket_file(path_));
    EXPECT_EQ(sock_int_option(l.sockets()[0].fd(), SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
  }
  EXPECT_FALSE(exists(path_));
}

TEST_F(ListenerOnUnixPath, CloseKeepsTheFileUntilDestruction) {
  {
    Listener l = Listener::open(endpoint(), Transport::kTcp);
    l.close();
    EXPECT_TRUE(l.sockets().empty());
    EXPECT_TRUE(exists(path_));
  }
  EXPECT_FALSE(exists(path_));
}

TEST_F(ListenerOnUnixPath, MovedFromListenerLeavesTheFileToTheNewOwner) {
  {
    Listener outer = [&] {
      Listener inner = Listener::open(endpoint(), Transport::kTcp);
      return Listener(std::move(inner));
    }();  // `inner` is destroyed here
    EXPECT_TRUE(exists(path_));
    EXPECT_EQ(outer.sockets().size(), 1u);
  }
  EXPECT_FALSE(exists(path_));
}

TEST_F(ListenerOnUnixPath, ReplacesAStaleSocketFile) {
  {
    // A server that died without cleaning up: its socket file stays behind.
    Socket dead = Socket::open(AF_UNIX, SOCK_STREAM);
    dead.bind(Address::unix_path(path_));
  }
  ASSERT_TRUE(is_socket_file(path_));
  Listener l = Listener::open(endpoint(), Transport::kTcp);
  ASSERT_EQ(l.sockets().size(), 1u);
  EXPECT_TRUE(can_connect_and_accept(Address::unix_path(path_), l.sockets()[0]));
}

TEST_F(ListenerOnUnixPath, ReplacesAStaleDatagramSocketFile) {
  {
    Socket dead = Socket::open(AF_UNIX, SOCK_DGRAM);
    dead.bind(Address::unix_path(path_));
  }
  ASSERT_TRUE(is_socket_file(path_));
  Listener l = Listener::open(endpoint(), Transport::kUdp);
  EXPECT_EQ(l.sockets().size(), 1u);
}

TEST_F(ListenerOnUnixPath, RefusesAPathALiveServerListensOn) {
  Listener live = Listener::open(endpoint(), Transport::kTcp);
  try {
    Listener second = Listener::open(endpoint(), Transport::kTcp);
    FAIL() << "took over a live server's socket";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EADDRINUSE);
  }
  // The live server is untouched.
  EXPECT_TRUE(is_socket_file(path_));
  EXPECT_TRUE(can_connect_and_accept(Address::unix_path(path_), live.sockets()[0]));
}

TEST_F(ListenerOnUnixPath, NeverRemovesARegularFile) {
  { std::ofstream(path_) << "precious"; }
  EXPECT_THROW(Listener::open(endpoint(), Transport::kTcp), std::system_error);
  std::ifstream in(path_);
  std::string content;
  in >> content;
  EXPECT_EQ(content, "precious");
}

TEST_F(ListenerOnUnixPath, ForkedChildDoesNotRemoveTheParentsFile) {
  Listener l = Listener::open(endpoint(), Transport::kTcp);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    { Listener child_copy(std::move(l)); }  // destroyed in the child
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_TRUE(is_socket_file(path_));
}

}  // namespace
}  // namespace netlab::net
