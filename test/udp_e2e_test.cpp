// End-to-end tests of userv and uclnt: the real binary over UDP on
// 127.0.0.1 and ::1 and over Unix datagram sockets; the test's own sockets
// play raw clients and fake servers.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>

#include <regex>
#include <string>
#include <vector>

#include "support/process.hpp"
#include "support/stamp.hpp"

namespace netlab::testing {
namespace {

using namespace std::chrono_literals;

// A userv on an ephemeral loopback port; port stays 0 if it never listened.
struct Userv {
  Userv() : proc({"userv", "--port", "0"}) {
    if (auto p = proc.wait_for_port("udp")) port = *p;
  }
  Process proc;
  uint16_t port = 0;
};

// -------------------------------------------------------------------- userv

TEST(Userv, RepliesToEachDatagramWithCtimeStamp) {
  Userv server;
  ASSERT_NE(server.port, 0);
  const StampWindow window;
  Datagram socket = Datagram::udp("127.0.0.1");
  for (const std::string data : {"hello", "two\nlines\n", ""}) {
    ASSERT_TRUE(socket.send_to(data, "127.0.0.1", server.port));
    const auto reply = socket.receive();
    ASSERT_TRUE(reply) << "no reply to " << ::testing::PrintToString(data);
    EXPECT_TRUE(window.stamped(*reply, data));  // no newline added, nothing stripped
  }
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

TEST(Userv, PassesUtf8NulBytesAndLargeDatagramsThrough) {
  Userv server;
  ASSERT_NE(server.port, 0);
  const StampWindow window;
  Datagram socket = Datagram::udp("127.0.0.1");
  std::string large(60000, '\0');
  for (size_t i = 0; i < large.size(); ++i) large[i] = static_cast<char>(i * 7);
  for (const std::string& data : {std::string("你好，世界"), std::string("a\0b\xff", 4), large}) {
    ASSERT_TRUE(socket.send_to(data, "127.0.0.1", server.port));
    const auto reply = socket.receive();
    ASSERT_TRUE(reply) << "no reply to " << data.size() << " bytes";
    EXPECT_TRUE(window.stamped(*reply, data)) << data.size() << " bytes";
  }
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

TEST(Userv, AnswersOnIpv6LoopbackWithSamePort) {
  Userv server;
  ASSERT_NE(server.port, 0);
  const auto v6_port = server.proc.wait_for_port("udp", /*ipv6=*/true);
  ASSERT_TRUE(v6_port);
  EXPECT_EQ(*v6_port, server.port);
  const StampWindow window;
  Datagram socket = Datagram::udp("::1");
  ASSERT_TRUE(socket.send_to("over ipv6", "::1", server.port));
  const auto reply = socket.receive();
  ASSERT_TRUE(reply);
  EXPECT_TRUE(window.stamped(*reply, "over ipv6"));
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

TEST(Userv, ServesUnixDatagramSocket) {
  TempDir dir;
  const std::string path = dir.path("ts.dgram");
  Process server({"userv", "--unix", path});
  ASSERT_TRUE(server.wait_for_stderr(std::regex("^netlab userv: listening on unix " + path + "$")))
      << server.err();
  const StampWindow window;
  Datagram socket = Datagram::unix_dgram(dir.path("client.dgram"));
  ASSERT_TRUE(socket.send_to_unix("over unix", path));
  const auto reply = socket.receive();
  ASSERT_TRUE(reply);
  EXPECT_TRUE(window.stamped(*reply, "over unix"));
  EXPECT_EQ(server.terminate(), 0) << server.err();
}

// The largest UDP payload over IPv4 is 65,507 bytes and a reply adds the
// 27-byte stamp: 65,480 bytes is the longest datagram that can be answered.
TEST(Userv, AnswersUpTo65480BytesOverIpv4AndDropsLongerOnes) {
  Userv server;
  ASSERT_NE(server.port, 0);
  const StampWindow window;
  Datagram socket = Datagram::udp("127.0.0.1");
  const std::string longest(65480, 'x');
  ASSERT_TRUE(socket.send_to(longest, "127.0.0.1", server.port));
  const auto reply = socket.receive();
  ASSERT_TRUE(reply) << "no reply to " << longest.size() << " bytes";
  EXPECT_TRUE(window.stamped(*reply, longest));
  ASSERT_TRUE(socket.send_to(std::string(65481, 'y'), "127.0.0.1", server.port));
  ASSERT_TRUE(socket.send_to("after", "127.0.0.1", server.port));
  const auto next = socket.receive();
  ASSERT_TRUE(next) << "the server stopped answering";
  EXPECT_TRUE(window.stamped(*next, "after")) << "a reply to the 65,481 bytes arrived";
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

// A Unix datagram may be longer than UDP allows; past 65,535 bytes it is not
// answered with a reply cut short, and the server goes on.
TEST(Userv, UnixDatagramOver65535BytesGetsNoReply) {
  TempDir dir;
  const std::string path = dir.path("ts.dgram");
  Process server({"userv", "--unix", path});
  ASSERT_TRUE(server.wait_for_stderr(std::regex("^netlab userv: listening on unix " + path + "$")))
      << server.err();
  const StampWindow window;
  Datagram socket = Datagram::unix_dgram(dir.path("client.dgram"));
  const std::string whole(65535, 'w');
  ASSERT_TRUE(socket.send_to_unix(whole, path));
  const auto reply = socket.receive(kTimeout, 128 * 1024);  // 65,535 bytes + the stamp
  ASSERT_TRUE(reply);
  EXPECT_TRUE(window.stamped(*reply, whole));
  ASSERT_TRUE(socket.send_to_unix(std::string(65536, 'c'), path));
  ASSERT_TRUE(socket.send_to_unix("after", path));
  const auto next = socket.receive();
  ASSERT_TRUE(next) << "the server stopped answering";
  EXPECT_TRUE(window.stamped(*next, "after"))
      << "the cut datagram was answered: " << next->size() << " bytes";
  EXPECT_EQ(server.terminate(), 0) << server.err();
}

TEST(Userv, AnswersEveryClientSeparately) {
  Userv server;
  ASSERT_NE(server.port, 0);
  const StampWindow window;
  std::vector<Datagram> clients;
  for (int i = 0; i < 20; ++i) clients.push_back(Datagram::udp("127.0.0.1"));
  for (size_t i = 0; i < clients.size(); ++i) {
    ASSERT_TRUE(clients[i].send_to("client " + std::to_string(i), "127.0.0.1", server.port));
  }
  for (size_t i = 0; i < clients.size(); ++i) {
    const auto reply = clients[i].receive();
    ASSERT_TRUE(reply) << "client " << i;
    EXPECT_TRUE(window.stamped(*reply, "client " + std::to_string(i)));
  }
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

TEST(Userv, KeepsServingAfterClientVanishesBeforeReply) {
  Userv server;
  ASSERT_NE(server.port, 0);
  for (int i = 0; i < 5; ++i) {
    Datagram gone = Datagram::udp("127.0.0.1");
    ASSERT_TRUE(gone.send_to("bye", "127.0.0.1", server.port));
  }  // closed: the replies meet closed ports (ICMP port unreachable)
  const StampWindow window;
  Datagram socket = Datagram::udp("127.0.0.1");
  ASSERT_TRUE(socket.send_to("still there?", "127.0.0.1", server.port));
  const auto reply = socket.receive();
  ASSERT_TRUE(reply);
  EXPECT_TRUE(window.stamped(*reply, "still there?"));
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

TEST(Userv, SigtermExitsZero) {
  Userv server;
  ASSERT_NE(server.port, 0);
  const auto start = Clock::now();
  EXPECT_EQ(server.proc.terminate(3s), 0) << server.proc.err();
  EXPECT_LT(Clock::now() - start, 3s);
}

// -------------------------------------------------------------------- uclnt

TEST(Userv, SigintExitsZero) {
  Userv server;
  ASSERT_NE(server.port, 0);
  ASSERT_TRUE(server.proc.signal(SIGINT));
  EXPECT_EQ(server.proc.wait_exit(), 0) << server.proc.err();
}

TEST(Uclnt, PrintsOneReplyPerStdinLine) {
  Userv server;
  ASSERT_NE(server.port, 0);
  const StampWindow window;
  Process client({"uclnt", "127.0.0.1", std::to_string(server.port)}, "a\nb\n");
  EXPECT_EQ(client.wait_exit(), 0) << client.err();
  EXPECT_TRUE(window.stamped_lines(client.out(), {"a", "b"}));
  EXPECT_EQ(client.err(), "");
  EXPECT_EQ(server.proc.terminate(), 0);
}

TEST(Uclnt, SendsEveryRepeatedMessageOption) {
  Userv server;
  ASSERT_NE(server.port, 0);
  const StampWindow window;
  Process client(
      {"uclnt", "-H", "127.0.0.1", "-p", std::to_string(server.port), "-m", "one", "-m", "二"});
  EXPECT_EQ(client.wait_exit(), 0) << client.err();
  EXPECT_TRUE(window.stamped_lines(client.out(), {"one", "二"}));
  EXPECT_EQ(server.proc.terminate(), 0);
}

TEST(Uclnt, TalksToIpv6Loopback) {
  Userv server;
  ASSERT_NE(server.port, 0);
  const StampWindow window;
  Process client({"uclnt", "::1", std::to_string(server.port), "-m", "v6"});
  EXPECT_EQ(client.wait_exit(), 0) << client.err();
  EXPECT_TRUE(window.stamped_lines(client.out(), {"v6"}));
  EXPECT_EQ(server.proc.terminate(), 0);
}

TEST(Uclnt, TalksOverUnixDatagramSocket) {
  TempDir dir;
  const std::string path = dir.path("ts.dgram");
  Process server({"userv", "--unix", path});
  ASSERT_TRUE(server.wait_for_stderr(std::regex("listening on unix ")));
  const StampWindow window;
  Process client({"uclnt", "--unix", path}, "via unix\n");
  EXPECT_EQ(client.wait_exit(), 0) << client.err();
  EXPECT_TRUE(window.stamped_lines(client.out(), {"via unix"}));
  EXPECT_EQ(server.terminate(), 0);
}

TEST(Uclnt, ReportsConnectionRefusedWithoutWaitingForTimeout) {
  const std::string port = std::to_string(unused_port(SOCK_DGRAM));
  const auto start = Clock::now();
  Process client({"uclnt", "--timeout", "5", "127.0.0.1", port, "-m", "anyone?"});
  EXPECT_EQ(client.wait_exit(4s), 1) << client.err();
  EXPECT_LT(Clock::now() - start, 3s) << "ICMP port unreachable not noticed: " << elapsed_ms(start);
  EXPECT_TRUE(
      std::regex_match(client.err(), std::regex("^netlab uclnt: [^\n]*Connection refused\n$")))
      << client.err();
  EXPECT_EQ(client.out(), "");
}

TEST(Uclnt, GivesUpAfterRetriesWhenNobodyAnswers) {
  Datagram silent = Datagram::udp("127.0.0.1");
  const std::string port = std::to_string(silent.port());
  const auto start = Clock::now();
  Process client({"uclnt", "--timeout", "0.2", "--retries", "2", "127.0.0.1", port, "-m", "ping"});
  EXPECT_EQ(client.wait_exit(4s), 1) << client.err();
  EXPECT_GE(Clock::now() - start, 550ms) << "did not wait --timeout for each of the 3 tries";
  EXPECT_EQ(client.err(), "netlab uclnt: no reply from 127.0.0.1:" + port + " after 3 tries\n");
  EXPECT_EQ(client.out(), "");
  // Loopback delivers on send, so everything the client sent is queued by now.
  EXPECT_EQ(silent.drain(), std::vector<std::string>({"ping", "ping", "ping"}));
}

TEST(Uclnt, ResendsUntilAReplyComes) {
  Datagram lossy = Datagram::udp("127.0.0.1");
  Process client({"uclnt", "--timeout", "0.2", "--retries", "2", "127.0.0.1",
                  std::to_string(lossy.port()), "-m", "ping"});
  EXPECT_EQ(lossy.receive(), "ping");  // "lost"
  EXPECT_EQ(lossy.receive(), "ping");  // the resend
  ASSERT_TRUE(lossy.reply("pong"));
  EXPECT_EQ(client.wait_exit(), 0) << client.err();
  EXPECT_EQ(client.out(), "pong\n");
  EXPECT_TRUE(lossy.drain().empty()) << "resent after the reply came";
}

TEST(Uclnt, PrintsWhateverADaytimeServerSends) {
  // An RFC 867 daytime service ignores the request and sends the time.
  Datagram daytime = Datagram::udp("127.0.0.1");
  Process client({"uclnt", "127.0.0.1", std::to_string(daytime.port()), "-m", "x"});
  ASSERT_TRUE(daytime.receive());
  ASSERT_TRUE(daytime.reply("Wed Nov 25 11:31:22 2026\r\n"));
  EXPECT_EQ(client.wait_exit(), 0) << client.err();
  EXPECT_EQ(client.out(), "Wed Nov 25 11:31:22 2026\r\n");
}

}  // namespace
}  // namespace netlab::testing
