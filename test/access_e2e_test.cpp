// End-to-end tests of --allow/--deny on every server and model: the real
// binary on loopback, its clients told apart by their source address.
// Linux routes all of 127.0.0.0/8 to lo, so a client bound to 127.0.0.2 is
// another host as far as the access list can tell; ::1 is the IPv6 one.
// Refused means what ncat does: a TCP peer is closed at once, before it sent
// a byte; a UDP sender gets no reply.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <ostream>
#include <regex>
#include <string>
#include <tuple>
#include <vector>

#include "support/chat_client_helpers.hpp"
#include "support/process.hpp"
#include "support/stamp.hpp"

namespace netlab::testing {
namespace {

using namespace std::chrono_literals;

// A UDP sender that got no reply by then is taken as refused. The allowed
// probe is answered first, so this is only a margin for the other family's
// socket, never the wait for a slow server.
constexpr Millis kNoReplyWait{300};

bool ipv6_loopback_available() {
  const int fd = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  ::close(fd);
  return ok;
}

bool is_ipv6(const std::string& source) {
  return source.find(':') != std::string::npos;
}

// The server's address for a client from `source`: same family, loopback.
std::string target_for(const std::string& source) {
  return is_ipv6(source) ? "::1" : "127.0.0.1";
}

// How a server shows that it served a client.
enum class Probe {
  kRequest,   // tserv, cmdserv: a line in, "[<ctime>] <line>" back
  kLogin,     // chat-server room mode: a login line, "success" back
  kOperator,  // chat-server duplex/half-duplex: the line reaches the operator's stdout
  kDatagram,  // userv: a datagram in, a stamped datagram back
};

struct ServerKind {
  std::string name;  // test-name part
  std::vector<std::string> args;
  Probe probe;
};

struct Case {
  std::string name;  // test-name part
  std::vector<std::string> acl;
  std::vector<std::string> refused;  // client sources the server must refuse
  std::string served;                // and one it must serve
};

// gtest names the parameters of a failed test with these.
void PrintTo(const ServerKind& kind, std::ostream* os) {
  *os << kind.name;
}
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

// The server under test on an ephemeral port, bound to localhost (127.0.0.1
// and, where it exists, ::1). Its stdin stays open: the chat operator's.
class Server {
  const Probe probe_;  // first: initialised before proc

 public:
  Server(const ServerKind& kind, const std::vector<std::string>& acl)
      : probe_(kind.probe), proc(args(kind, acl)) {
    const bool udp = kind.probe == Probe::kDatagram;
    const std::regex re(std::string("listening on ") + (udp ? "udp" : "tcp") +
                        R"( 127\.0\.0\.1:(\d+)$)");
    std::smatch m;
    if (auto line = proc.wait_for_stderr(re); line && std::regex_search(*line, m, re)) {
      port = static_cast<uint16_t>(std::stoi(m[1]));
    }
    if (ipv6_loopback_available()) {
      // Both sockets are bound before the first line, but say so explicitly.
      EXPECT_TRUE(proc.wait_for_stderr(std::regex(R"(listening on \w+ \[::1\]:)"))) << proc.err();
    }
  }

  void expect_refused_tcp(const std::string& source) {
    Client c = Client::tcp_from(source, target_for(source), port);
    ASSERT_TRUE(c.valid()) << source << ": " << std::strerror(c.error());
    // Nothing sent: a server that waited to read anything before refusing
    // would leave this connection open.
    EXPECT_EQ(c.read_until_eof(2s), "") << source;
    EXPECT_TRUE(c.closed()) << source << " was not refused at once\n" << proc.err();
  }

  void expect_served_tcp(const std::string& source) {
    Client c = Client::tcp_from(source, target_for(source), port);
    ASSERT_TRUE(c.valid()) << source << ": " << std::strerror(c.error());
    switch (probe_) {
      case Probe::kRequest: {
        const StampWindow window;
        ASSERT_TRUE(c.send("hello from " + source + "\n"));
        EXPECT_TRUE(window.stamped_lines(c.read_lines(1), {"hello from " + source})) << source;
        break;
      }
      case Probe::kLogin:
        ASSERT_TRUE(c.send("alice\n"));
        EXPECT_EQ(c.read_lines(1), "success\n") << source;
        break;
      case Probe::kOperator:
        // Half-duplex: the client speaks first, so this works in both modes.
        ASSERT_TRUE(c.send("hello from " + source + "\n"));
        EXPECT_TRUE(proc.wait_for_out("hello from " + source + "\n")) << proc.out();
        EXPECT_FALSE(c.readable_within(100ms)) << "the operator's client was closed";
        break;
      case Probe::kDatagram:
        FAIL() << "not a TCP server";
    }
    served_ = std::move(c);  // connected until the server stops
  }

  InteractiveProcess proc;
  uint16_t port = 0;

 private:
  static std::vector<std::string> args(const ServerKind& kind,
                                       const std::vector<std::string>& acl) {
    std::vector<std::string> a = kind.args;
    for (const char* s : {"--port", "0", "--host", "localhost"}) a.emplace_back(s);
    a.insert(a.end(), acl.begin(), acl.end());
    return a;
  }

  Client served_;
};

class Access : public ::testing::TestWithParam<std::tuple<ServerKind, Case>> {};

TEST_P(Access, RefusesOthersAndServesTheAllowedPeer) {
  const auto& [kind, c] = GetParam();
  const bool v6 = ipv6_loopback_available();
  if (is_ipv6(c.served) && !v6) GTEST_SKIP() << "::1 is not configured on this host";
  std::vector<std::string> refused;
  for (const auto& source : c.refused) {
    if (v6 || !is_ipv6(source)) refused.push_back(source);
  }
  if (refused.empty()) GTEST_SKIP() << "::1 is not configured on this host";

  Server server(kind, c.acl);
  ASSERT_NE(server.port, 0) << server.proc.err();
  if (kind.probe == Probe::kDatagram) {
    std::vector<Datagram> senders;
    for (const auto& source : refused) {
      senders.push_back(Datagram::udp(source));
      ASSERT_TRUE(senders.back().send_to("refused " + source, target_for(source), server.port));
    }
    const StampWindow window;
    Datagram allowed = Datagram::udp(c.served);
    ASSERT_TRUE(allowed.send_to("hello", target_for(c.served), server.port));
    const auto reply = allowed.receive();
    ASSERT_TRUE(reply) << c.served << " got no reply\n" << server.proc.err();
    EXPECT_TRUE(window.stamped(*reply, "hello"));
    for (size_t i = 0; i < senders.size(); ++i) {
      EXPECT_EQ(senders[i].receive(kNoReplyWait), std::nullopt) << refused[i] << " got a reply";
    }
  } else {
    // Refused first: the iterative and the 1:1 chat servers are busy once
    // they serve someone.
    for (const auto& source : refused) server.expect_refused_tcp(source);
    server.expect_served_tcp(c.served);
  }
  ASSERT_TRUE(server.proc.signal(SIGTERM));
  EXPECT_EQ(server.proc.wait_exit(), 0) << server.proc.err();
}

const ServerKind kServers[] = {
    {"tserv_reactor", {"tserv", "--model", "reactor"}, Probe::kRequest},
    {"tserv_thread", {"tserv", "--model", "thread"}, Probe::kRequest},
    {"tserv_fork", {"tserv", "--model", "fork"}, Probe::kRequest},
    {"tserv_iterative", {"tserv", "--model", "iterative"}, Probe::kRequest},
    // cmdserv answers any line that is not a command with the timestamp.
    {"cmdserv_reactor", {"cmdserv"}, Probe::kRequest},
    {"cmdserv_thread", {"cmdserv", "--model", "thread"}, Probe::kRequest},
    {"userv", {"userv"}, Probe::kDatagram},
    {"chat_room", {"chat-server"}, Probe::kLogin},
    {"chat_duplex", {"chat-server", "--mode", "duplex"}, Probe::kOperator},
    {"chat_half_duplex", {"chat-server", "--mode", "half-duplex"}, Probe::kOperator},
};

const Case kCases[] = {
    // With any --allow, everyone else is refused, IPv6 included.
    {"AllowOneHost", {"--allow", "127.0.0.2/32"}, {"127.0.0.1", "::1"}, "127.0.0.2"},
    // Deny is checked first, whatever the order on the command line.
    {"DenyWinsOverAllow",
     {"--deny", "127.0.0.2", "--allow", "127.0.0.0/8"},
     {"127.0.0.2", "::1"},
     "127.0.0.1"},
    // Deny alone refuses only its network.
    {"DenyIpv6Loopback", {"--deny", "::1/128"}, {"::1"}, "127.0.0.1"},
    // --allow repeats, and an IPv6 network admits an IPv6 peer.
    {"AllowRepeatedWithIpv6",
     {"--allow", "127.0.0.3", "--allow", "::1/128"},
     {"127.0.0.1", "127.0.0.2"},
     "::1"},
};

INSTANTIATE_TEST_SUITE_P(EveryServer, Access,
                         ::testing::Combine(::testing::ValuesIn(kServers),
                                            ::testing::ValuesIn(kCases)),
                         [](const auto& info) {
                           return std::get<0>(info.param).name + "_" + std::get<1>(info.param).name;
                         });

// A bad network is a usage error naming it, on every server.
TEST(AccessOptions, MalformedCidrIsAUsageError) {
  for (const char* sub : {"tserv", "cmdserv", "userv", "chat-server"}) {
    Process p({sub, "--port", "0", "--allow", "10.0.0.0/33"});
    EXPECT_EQ(p.wait_exit(), 2) << sub;
    EXPECT_NE(p.err().find("10.0.0.0/33"), std::string::npos) << sub << ": " << p.err();
  }
}

}  // namespace
}  // namespace netlab::testing
