// End-to-end tests of chat-server --cluster: a redis-server of the test's
// own on a free loopback port, two or three real netlab nodes against it,
// raw sockets playing the members. Everything started here is stopped here.
#include <gtest/gtest.h>
#include <signal.h>

#include <string>
#include <string_view>
#include <vector>

#include "support/cluster_node.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"
#include "support/stamp.hpp"

namespace netlab::testing {
namespace {

using namespace std::chrono_literals;

// The promise in docs/cluster.md for a node that dies: its members are announced as
// left within this time (deadline 5 s + one 1 s heartbeat, with room to spare).
constexpr Millis kNodeLossBound{10000};
// Long enough for a reconnect with backoff after Redis comes back.
constexpr Millis kRecoveryBound{8000};

TEST(ChatCluster, MembersOnThreeNodesSeeEachOthersMessagesAndJoinsByteForByte) {
  RedisServer redis;
  REQUIRE_REDIS(redis);
  Node n1(redis), n2(redis), n3(redis);
  ASSERT_TRUE(n1.port && n2.port && n3.port);
  StampWindow window;
  Client alice, bob, carol;
  ASSERT_TRUE(alice_and_bob(alice, n1, bob, n2));
  ASSERT_EQ(log_in(carol, n3, "carol lobby"), "success\n");
  EXPECT_EQ(alice.read_lines(1), "* carol joined lobby\n");
  EXPECT_EQ(bob.read_lines(1), "* carol joined lobby\n");

  // Chinese UTF-8 passes through unchanged; each sender's order is kept.
  ASSERT_TRUE(alice.send("hello from node 1\n你好，世界\n"));
  EXPECT_TRUE(
      window.stamped_lines(bob.read_lines(2), {"alice: hello from node 1", "alice: 你好，世界"}));
  EXPECT_TRUE(
      window.stamped_lines(carol.read_lines(2), {"alice: hello from node 1", "alice: 你好，世界"}));
  // (Lines of different senders may interleave; only each sender's order is kept.)
  ASSERT_TRUE(carol.send("third\n"));
  EXPECT_TRUE(window.stamped_lines(bob.read_lines(1), {"carol: third"}));
  EXPECT_TRUE(window.stamped_lines(alice.read_lines(1), {"carol: third"}));
  // Never echoed to the sender, not even through another node.
  EXPECT_TRUE(quiet(alice));
  EXPECT_TRUE(quiet(carol));

  std::vector<std::string> burst;
  std::string bytes;
  for (int i = 0; i < 200; ++i) {
    burst.push_back("bob: line " + std::to_string(i));
    bytes += "line " + std::to_string(i) + "\n";
  }
  ASSERT_TRUE(bob.send(bytes));
  EXPECT_TRUE(window.stamped_lines(alice.read_lines(200), burst));
  EXPECT_TRUE(window.stamped_lines(carol.read_lines(200), burst));

  ASSERT_TRUE(bob.send("quit\n"));
  EXPECT_EQ(bob.read_until_eof(), "quit\n");
  EXPECT_EQ(alice.read_lines(1), "* bob left lobby\n");
  EXPECT_EQ(carol.read_lines(1), "* bob left lobby\n");
  // A node stopped with SIGTERM says goodbye: its members are announced at once.
  EXPECT_EQ(n3.proc.terminate(), 0);
  EXPECT_EQ(alice.read_lines(1), "* carol left lobby\n");
}

TEST(ChatCluster, NameTakenOnAnotherNodeIsReuseAndFreeAgainAfterItLeaves) {
  RedisServer redis;
  REQUIRE_REDIS(redis);
  Node n1(redis), n2(redis);
  ASSERT_TRUE(n1.port && n2.port);
  Client alice, copy, other_room;
  ASSERT_EQ(log_in(alice, n1, "alice lobby"), "success\n");
  EXPECT_EQ(log_in(copy, n2, "alice lobby"), "reuse\n");
  // Names are per room, cluster-wide as on one node.
  EXPECT_EQ(log_in(other_room, n2, "alice kitchen"), "success\n");
  // The same connection may try again once the name is free.
  ASSERT_TRUE(alice.send("quit\n"));
  EXPECT_EQ(alice.read_until_eof(), "quit\n");
  ASSERT_TRUE(copy.send("alice lobby\n"));
  EXPECT_EQ(copy.read_lines(1), "success\n");
}

TEST(ChatCluster, WhoRoomsAndJoinSpanEveryNode) {
  RedisServer redis;
  REQUIRE_REDIS(redis);
  Node n1(redis), n2(redis);
  ASSERT_TRUE(n1.port && n2.port);
  Client alice, bob, carol;
  ASSERT_TRUE(alice_and_bob(alice, n1, bob, n2));
  ASSERT_EQ(log_in(carol, n2, "carol kitchen"), "success\n");

  ASSERT_TRUE(alice.send("/who\n/rooms\n"));
  EXPECT_EQ(alice.read_lines(2), "* members of lobby: alice bob\n* rooms: kitchen (1) lobby (2)\n");
  ASSERT_TRUE(carol.send("/who\n"));
  EXPECT_EQ(carol.read_lines(1), "* members of kitchen: carol\n");

  // /join moves alice to a room that lives on the other node only.
  ASSERT_TRUE(alice.send("/join kitchen\n"));
  EXPECT_EQ(alice.read_lines(1), "success\n");
  EXPECT_EQ(bob.read_lines(1), "* alice left lobby\n");
  EXPECT_EQ(carol.read_lines(1), "* alice joined kitchen\n");
  ASSERT_TRUE(carol.send("/who\n"));
  EXPECT_EQ(carol.read_lines(1), "* members of kitchen: carol alice\n");
  // A name taken in the target room on another node stops the move.
  Client carol2;
  ASSERT_EQ(log_in(carol2, n1, "carol lobby"), "success\n");
  EXPECT_EQ(bob.read_lines(1), "* carol joined lobby\n");
  ASSERT_TRUE(carol2.send("/join kitchen\n/who\n"));
  EXPECT_EQ(carol2.read_lines(2), "reuse\n* members of lobby: bob carol\n");
}

TEST(ChatCluster, PrivateMessageReachesAUserOnAnotherNode) {
  RedisServer redis;
  REQUIRE_REDIS(redis);
  Node n1(redis), n2(redis);
  ASSERT_TRUE(n1.port && n2.port);
  StampWindow window;
  Client alice, bob;
  ASSERT_TRUE(alice_and_bob(alice, n1, bob, n2));
  ASSERT_TRUE(alice.send("/msg bob psst, 悄悄话\n"));
  EXPECT_TRUE(window.stamped_lines(bob.read_lines(1), {"alice (private): psst, 悄悄话"}));
  ASSERT_TRUE(alice.send("/msg nobody hello\n"));
  EXPECT_EQ(alice.read_lines(1), "error: no user nobody in lobby\n");
  // Replies keep the order of the requests, even when one waits on Redis.
  ASSERT_TRUE(alice.send("/msg nobody x\n/help\n"));
  EXPECT_EQ(alice.read_lines(2),
            std::string("error: no user nobody in lobby\n") + std::string(kChatHelp));
  EXPECT_TRUE(quiet(bob));
}

TEST(ChatCluster, MembersOfAKilledNodeAreAnnouncedAsLeftAndTheirNamesFreed) {
  RedisServer redis;
  REQUIRE_REDIS(redis);
  Node n1(redis), n2(redis);
  ASSERT_TRUE(n1.port && n2.port);
  Client alice, bob, carol;
  ASSERT_EQ(log_in(alice, n1, "alice lobby"), "success\n");
  ASSERT_EQ(log_in(bob, n2, "bob lobby"), "success\n");
  ASSERT_EQ(log_in(carol, n2, "carol lobby"), "success\n");
  EXPECT_EQ(alice.read_lines(2), "* bob joined lobby\n* carol joined lobby\n");

  const auto killed = Clock::now();
  ASSERT_TRUE(n2.proc.signal(SIGKILL));
  const std::string left = alice.read_lines(2, kNodeLossBound);
  EXPECT_EQ(left, "* bob left lobby\n* carol left lobby\n") << "after " << elapsed_ms(killed);
  EXPECT_LT(Clock::now() - killed, kNodeLossBound);
  // The names are free again, on any node.
  Client bob_again;
  EXPECT_EQ(log_in(bob_again, n1, "bob lobby"), "success\n");
  ASSERT_TRUE(alice.send("/who\n"));
  EXPECT_EQ(alice.read_lines(2), "* bob joined lobby\n* members of lobby: alice bob\n");
}

TEST(ChatCluster, RedisRestartIsAnnouncedAndTheClusterRecovers) {
  RedisServer redis;
  REQUIRE_REDIS(redis);
  Node n1(redis), n2(redis);
  ASSERT_TRUE(n1.port && n2.port);
  StampWindow window;
  Client alice, bob;
  ASSERT_TRUE(alice_and_bob(alice, n1, bob, n2));

  ASSERT_TRUE(redis.stop());
  EXPECT_EQ(alice.read_lines(1), "* cluster link lost\n");
  EXPECT_EQ(bob.read_lines(1), "* cluster link lost\n");
  // Local rooms keep working meanwhile.
  Client carol;
  ASSERT_EQ(log_in(carol, n1, "carol lobby"), "success\n");
  EXPECT_EQ(carol.read_lines(1), "* cluster link lost\n");  // a newcomer is told too
  EXPECT_EQ(alice.read_lines(1), "* carol joined lobby\n");
  ASSERT_TRUE(carol.send("while down\n"));
  EXPECT_TRUE(window.stamped_lines(alice.read_lines(1), {"carol: while down"}));

  ASSERT_TRUE(redis.start_again()) << redis.error();
  EXPECT_EQ(alice.read_lines(1, kRecoveryBound), "* cluster link restored\n");
  EXPECT_EQ(bob.read_lines(1, kRecoveryBound), "* cluster link restored\n");
  EXPECT_EQ(carol.read_lines(1, kRecoveryBound), "* cluster link restored\n");
  // The names were registered again: Redis had lost them in the restart.
  Client copy;
  EXPECT_EQ(log_in(copy, n2, "carol lobby"), "reuse\n");
  ASSERT_TRUE(alice.send("after recovery\n"));
  // bob may first hear of carol, who joined node 1 during the outage (when
  // node 2 had subscribed again by the time node 1 announced her).
  std::string got = bob.read_lines(1);
  if (got == "* carol joined lobby\n") got = bob.read_lines(1);
  EXPECT_TRUE(window.stamped_lines(got, {"alice: after recovery"}));
  ASSERT_TRUE(bob.send("/who\n"));
  const std::string who = bob.read_lines(1);
  for (const char* name : {"alice", "bob", "carol"})
    EXPECT_NE(who.find(name), std::string::npos) << who;
}

TEST(ChatCluster, AClientThatHalfClosesGetsEveryAnswer) {
  RedisServer redis;
  REQUIRE_REDIS(redis);
  Node n1(redis), n2(redis);
  ASSERT_TRUE(n1.port && n2.port);
  StampWindow window;
  Client alice;
  ASSERT_EQ(log_in(alice, n1, "alice lobby"), "success\n");
  // printf 'alice lobby\n' | nc -N: the answer waits on Redis, the EOF does not.
  Client copy = Client::tcp("127.0.0.1", n2.port);
  ASSERT_TRUE(copy.send("alice lobby\n"));
  copy.shutdown_write();
  EXPECT_EQ(copy.read_until_eof(), "reuse\n");
  Client bob = Client::tcp("127.0.0.1", n2.port);
  ASSERT_TRUE(bob.send("bob lobby\nhello\n/who\n"));
  bob.shutdown_write();
  EXPECT_EQ(bob.read_until_eof(), "success\n* members of lobby: alice bob\n");
  EXPECT_EQ(alice.read_lines(1), "* bob joined lobby\n");
  EXPECT_TRUE(window.stamped_lines(alice.read_lines(1), {"bob: hello"}));
  EXPECT_EQ(alice.read_lines(1), "* bob left lobby\n");
}

TEST(ChatCluster, ARedisThatStopsAnsweringIsALostLinkAndWhatChangedMeanwhileIsSettled) {
  RedisServer redis;
  REQUIRE_REDIS(redis);
  Node n1(redis), n2(redis);
  ASSERT_TRUE(n1.port && n2.port);
  Client alice, bob;
  ASSERT_TRUE(alice_and_bob(alice, n1, bob, n2));
  // Stopped, not gone: no socket error will ever say so; the watchdog does.
  ASSERT_EQ(::kill(redis.pid(), SIGSTOP), 0);
  const std::string lost = alice.read_lines(1, kRecoveryBound);
  const std::string bob_lost = bob.read_lines(1, kRecoveryBound);
  // Meanwhile bob leaves and carol arrives, on node 2 alone.
  ASSERT_TRUE(bob.send("quit\n"));
  const std::string bob_quit = bob.read_until_eof();
  Client carol;
  const std::string carol_login = log_in(carol, n2, "carol lobby");
  ASSERT_EQ(::kill(redis.pid(), SIGCONT), 0);
  EXPECT_EQ(lost, "* cluster link lost\n");
  EXPECT_EQ(bob_lost, "* cluster link lost\n");
  EXPECT_EQ(bob_quit, "quit\n");
  EXPECT_EQ(carol_login, "success\n");
  // Redis kept its data: once the links are back, node 1 hears of both
  // changes and bob's name is free again.
  std::string heard = alice.read_lines(3, kRecoveryBound);
  EXPECT_NE(heard.find("* cluster link restored\n"), std::string::npos) << heard;
  EXPECT_NE(heard.find("* bob left lobby\n"), std::string::npos) << heard;
  EXPECT_NE(heard.find("* carol joined lobby\n"), std::string::npos) << heard;
  Client bob_again;
  EXPECT_EQ(log_in(bob_again, n1, "bob lobby"), "success\n");
  Client carol_copy;
  EXPECT_EQ(log_in(carol_copy, n1, "carol lobby"), "reuse\n");
}

TEST(ChatCluster, RedisUnavailableAtStartIsAClearErrorAndExitOne) {
  RedisServer redis;
  REQUIRE_REDIS(redis);
  const std::string url = redis.url();
  ASSERT_TRUE(redis.stop());
  Process node({"chat-server", "--port", "0", "--cluster", url});
  EXPECT_EQ(node.wait_exit(), 1);
  EXPECT_EQ(node.err(),
            "netlab chat-server: cannot connect to cluster " + url + ": Connection refused\n");
}

TEST(ChatCluster, ASlowMemberOnOneNodeIsDroppedWithoutSlowingTheOthers) {
  RedisServer redis;
  REQUIRE_REDIS(redis);
  Node n1(redis), n2(redis, {"--max-queue", "65536"});
  ASSERT_TRUE(n1.port && n2.port);
  Client alice, bob, slow;
  ASSERT_EQ(log_in(alice, n1, "alice lobby"), "success\n");
  ASSERT_EQ(log_in(slow, n2, "slow lobby", 4096), "success\n");  // never reads again
  ASSERT_EQ(log_in(bob, n2, "bob lobby"), "success\n");
  EXPECT_EQ(alice.read_lines(2), "* slow joined lobby\n* bob joined lobby\n");

  // Far more than the slow member's socket buffers and --max-queue hold.
  const std::string text(1000, 'x');
  constexpr int kLines = 4000;
  std::string bytes;
  for (int i = 0; i < kLines; ++i) bytes += text + "\n";
  ASSERT_TRUE(alice.send(bytes, 10s));
  std::string got = bob.read_lines(kLines + 1, 10s);
  // Every line reached bob, and somewhere among them the notice.
  const std::string notice = "* slow left lobby (too slow)\n";
  const size_t at = got.find(notice);
  ASSERT_NE(at, std::string::npos) << got.substr(0, 200);
  got.erase(at, notice.size());
  size_t count = 0;
  for (size_t pos = 0; (pos = got.find(": " + text + "\n", pos)) != std::string::npos; ++pos)
    ++count;
  EXPECT_EQ(count, static_cast<size_t>(kLines));
  EXPECT_EQ(alice.read_lines(1), notice);
}

}  // namespace
}  // namespace netlab::testing
