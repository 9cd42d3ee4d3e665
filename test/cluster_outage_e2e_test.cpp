// End-to-end tests of a cluster node cut off from Redis for longer than the
// reap deadline, and of a reply lost in the cut: every join and leave must be
// announced exactly once across the paths that settle an outage (the node
// declared dead and rejoining, the changes made while it was cut off, a
// claim whose reply never came), and a name must stay one member's.
//
// Node 1 reaches Redis through a TcpProxy the test cuts; node 2 directly.
// Both run with a 250 ms heartbeat (NETLAB_CLUSTER_HEARTBEAT_MS; every
// deadline scales with it: reaped 1.25 s late, keys kept 2 s, watchdog
// 0.75 s), so an outage past the reap deadline takes about two seconds.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <string>
#include <thread>

#include "support/cluster_node.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"
#include "support/tcp_proxy.hpp"

namespace netlab::testing {
namespace {

using namespace std::chrono_literals;

constexpr Millis kHeartbeat{250};
// Reaping takes the deadline (5 heartbeats) and at most one more; a
// reconnect, backoff (at most 2 heartbeats) and a connect. Ample bounds.
constexpr Millis kReapBound{5000};
constexpr Millis kRecoveryBound{5000};
// After "* cluster link restored", every path that announces what the
// outage changed has run within two heartbeats (the restored node's
// notices wait one, so that nodes cut off by the same outage listen again).
// Only silence over such a window shows that a notice does not come twice.
constexpr Millis kSettleWindow{4 * kHeartbeat};

// Sets NETLAB_CLUSTER_HEARTBEAT_MS for the nodes this test starts (they
// inherit the environment), and unsets it at the end.
struct FastHeartbeat {
  FastHeartbeat() {
    ::setenv("NETLAB_CLUSTER_HEARTBEAT_MS", std::to_string(kHeartbeat.count()).c_str(), 1);
  }
  ~FastHeartbeat() { ::unsetenv("NETLAB_CLUSTER_HEARTBEAT_MS"); }
};

// Redis, a proxy in front of it, node 1 behind the proxy and node 2 direct.
struct CutCluster {
  FastHeartbeat fast;
  RedisServer redis;
  TcpProxy proxy{redis.port()};
  Node n1{"redis://127.0.0.1:" + std::to_string(proxy.port())};
  Node n2{redis};
  bool ready() const { return redis.running() && proxy.valid() && n1.port && n2.port; }
};

// Lets the outage's notices settle, then has `sender` say `text`: every
// notice its node published before comes before it for anyone, so the lines
// `observer` returns (up to the marker) are all it will ever hear of them.
std::string lines_until_marker(Client& sender, const std::string& sender_name, Client& observer,
                               const std::string& text = "marker") {
  std::this_thread::sleep_for(kSettleWindow);  // a window of silence, not a wait for something
  if (!sender.send(text + "\n")) return "send failed";
  return read_until_line_with(observer, sender_name + ": " + text, kRecoveryBound);
}

TEST(ChatClusterOutage, AMemberWhoJoinsWhileItsNodeIsReapedIsAnnouncedOnce) {
  CutCluster c;
  ASSERT_TRUE(c.ready()) << c.redis.error();
  Client alice, bob, carol;
  ASSERT_TRUE(alice_and_bob(alice, c.n1, bob, c.n2));

  c.proxy.cut();
  EXPECT_EQ(alice.read_lines(1), "* cluster link lost\n");
  ASSERT_EQ(log_in(carol, c.n1, "carol lobby"), "success\n");
  EXPECT_EQ(carol.read_lines(1), "* cluster link lost\n");
  EXPECT_EQ(alice.read_lines(1), "* carol joined lobby\n");
  // Node 2 declares node 1 dead: alice is announced as left.
  EXPECT_EQ(bob.read_lines(1, kReapBound), "* alice left lobby\n");

  c.proxy.restore();
  EXPECT_EQ(alice.read_lines(1, kRecoveryBound), "* cluster link restored\n");
  const std::string heard = lines_until_marker(alice, "alice", bob);
  EXPECT_EQ(count_lines(heard, "* carol joined lobby\n"), 1u) << heard;
  EXPECT_EQ(count_lines(heard, "* alice joined lobby\n"), 1u) << heard;
  EXPECT_EQ(count_lines(heard, "* alice left lobby\n"), 0u) << heard;
  EXPECT_TRUE(quiet(bob));
  ASSERT_TRUE(bob.send("/who\n"));
  EXPECT_EQ(bob.read_lines(1), "* members of lobby: bob alice carol\n");
}

TEST(ChatClusterOutage, AMemberWhoQuitsWhileItsNodeIsReapedIsAnnouncedLeftOnce) {
  CutCluster c;
  ASSERT_TRUE(c.ready()) << c.redis.error();
  Client alice, bob, dave;
  ASSERT_TRUE(alice_and_bob(alice, c.n1, bob, c.n2));
  ASSERT_EQ(log_in(dave, c.n1, "dave lobby"), "success\n");
  EXPECT_EQ(bob.read_lines(1), "* dave joined lobby\n");
  EXPECT_EQ(alice.read_lines(1), "* dave joined lobby\n");

  c.proxy.cut();
  EXPECT_EQ(alice.read_lines(1), "* cluster link lost\n");
  ASSERT_TRUE(alice.send("quit\n"));
  EXPECT_EQ(alice.read_until_eof(), "quit\n");
  // Node 2 declares node 1 dead; dave, still there, is announced as left
  // (and so is alice: she was registered when it happened).
  const std::string reaped = read_until_line_with(bob, "* dave left lobby", kReapBound);
  EXPECT_EQ(count_lines(reaped, "* dave left lobby\n"), 1u) << reaped;

  c.proxy.restore();
  EXPECT_NE(read_until_line_with(dave, "* cluster link restored", kRecoveryBound).find("restored"),
            std::string::npos);
  const std::string heard = reaped + lines_until_marker(dave, "dave", bob);
  EXPECT_EQ(count_lines(heard, "* alice left lobby\n"), 1u) << heard;
  EXPECT_EQ(count_lines(heard, "* dave left lobby\n"), 1u) << heard;
  EXPECT_EQ(count_lines(heard, "* dave joined lobby\n"), 1u) << heard;
  EXPECT_TRUE(quiet(bob));
  // alice's name is free again everywhere.
  Client alice_again;
  EXPECT_EQ(log_in(alice_again, c.n2, "alice lobby"), "success\n");
}

TEST(ChatClusterOutage, AMemberLetInWhenItsClaimsReplyWasLostIsAnnouncedJoinedAndLeftOnce) {
  CutCluster c;
  ASSERT_TRUE(c.ready()) << c.redis.error();
  Client alice, bob, carol;
  ASSERT_TRUE(alice_and_bob(alice, c.n1, bob, c.n2));

  // The claim of carol's name reaches Redis; its answer never comes back.
  c.proxy.cut_after("lobby carol");
  ASSERT_EQ(log_in(carol, c.n1, "carol lobby"), "success\n");
  EXPECT_TRUE(c.proxy.is_cut());
  c.proxy.restore();
  EXPECT_NE(read_until_line_with(alice, "* cluster link restored", kRecoveryBound).find("restored"),
            std::string::npos);
  std::string heard = lines_until_marker(alice, "alice", bob, "before");
  ASSERT_TRUE(carol.send("quit\n"));
  const std::string carol_got = read_until_line_with(carol, "quit");
  EXPECT_TRUE(carol_got.ends_with("\nquit\n")) << carol_got;
  heard += lines_until_marker(alice, "alice", bob, "after");
  EXPECT_EQ(count_lines(heard, "* carol joined lobby\n"), 1u) << heard;
  EXPECT_EQ(count_lines(heard, "* carol left lobby\n"), 1u) << heard;
  EXPECT_LT(heard.find("* carol joined lobby\n"), heard.find("* carol left lobby\n")) << heard;
  EXPECT_TRUE(quiet(bob));
}

// A short outage (no reap): the other nodes are told the net change only.
TEST(ChatClusterOutage, WhoLeftAndCameBackOrCameAndLeftDuringAnOutageIsNotAnnounced) {
  CutCluster c;
  ASSERT_TRUE(c.ready()) << c.redis.error();
  Client alice, bob, carol, dave;
  ASSERT_TRUE(alice_and_bob(alice, c.n1, bob, c.n2));
  ASSERT_EQ(log_in(dave, c.n1, "dave lobby"), "success\n");
  EXPECT_EQ(bob.read_lines(1), "* dave joined lobby\n");

  c.proxy.cut();
  EXPECT_EQ(dave.read_lines(1), "* cluster link lost\n");
  ASSERT_TRUE(alice.send("quit\n"));
  EXPECT_EQ(read_until_line_with(alice, "quit"),
            "* dave joined lobby\n* cluster link lost\nquit\n");
  ASSERT_EQ(log_in(alice, c.n1, "alice lobby"), "success\n");
  ASSERT_EQ(log_in(carol, c.n1, "carol lobby"), "success\n");
  ASSERT_TRUE(carol.send("quit\n"));
  EXPECT_TRUE(read_until_line_with(carol, "quit").ends_with("quit\n"));
  c.proxy.restore();

  EXPECT_NE(read_until_line_with(dave, "* cluster link restored", kRecoveryBound).find("restored"),
            std::string::npos);
  const std::string heard = lines_until_marker(dave, "dave", bob);
  EXPECT_EQ(heard.find("alice"), std::string::npos) << heard;
  EXPECT_EQ(heard.find("carol"), std::string::npos) << heard;
  EXPECT_EQ(heard.find("dave left"), std::string::npos) << heard;
  EXPECT_TRUE(quiet(bob));
  // carol's name is free, alice's is held.
  Client copy;
  EXPECT_EQ(log_in(copy, c.n2, "alice lobby"), "reuse\n");
  EXPECT_EQ(log_in(copy, c.n2, "carol lobby"), "success\n");
}

// The rule for a name taken on two nodes during a partition: Redis decides.
// The member whose claim Redis holds keeps the name; the one let in on the
// node that was cut off is told and disconnected when its node rejoins, and
// only that node's members (who alone saw it join) hear it leave.
TEST(ChatClusterOutage, ANameTakenOnBothSidesOfAPartitionStaysWithTheMemberRedisHolds) {
  CutCluster c;
  ASSERT_TRUE(c.ready()) << c.redis.error();
  Client alice, bob, carol;
  ASSERT_TRUE(alice_and_bob(alice, c.n1, bob, c.n2));
  ASSERT_EQ(log_in(carol, c.n1, "carol lobby"), "success\n");
  EXPECT_EQ(bob.read_lines(1), "* carol joined lobby\n");
  EXPECT_EQ(alice.read_lines(1), "* carol joined lobby\n");

  c.proxy.cut();
  EXPECT_EQ(alice.read_lines(1), "* cluster link lost\n");
  EXPECT_EQ(carol.read_lines(1), "* cluster link lost\n");
  // Long enough for node 2 to reap node 1: alice's name is free there.
  EXPECT_EQ(read_until_line_with(bob, "* carol left lobby", kReapBound),
            "* alice left lobby\n* carol left lobby\n");
  Client alice2;
  ASSERT_EQ(log_in(alice2, c.n2, "alice lobby"), "success\n");
  EXPECT_EQ(bob.read_lines(1), "* alice joined lobby\n");
  // And a name taken on both sides while neither held it in Redis.
  Client dave1, dave2;
  ASSERT_EQ(log_in(dave1, c.n1, "dave lobby"), "success\n");
  EXPECT_EQ(dave1.read_lines(1), "* cluster link lost\n");
  ASSERT_EQ(log_in(dave2, c.n2, "dave lobby"), "success\n");
  EXPECT_EQ(bob.read_lines(1), "* dave joined lobby\n");
  EXPECT_EQ(alice2.read_lines(1), "* dave joined lobby\n");

  c.proxy.restore();
  const std::string told =
      "error: name {} in lobby was taken on another node while the cluster "
      "link was down\n";
  auto told_to = [&](const char* name) {
    std::string line = told;
    line.replace(line.find("{}"), 2, name);
    return line;
  };
  // Told last, then disconnected (after the local notices they got meanwhile).
  const std::string alice_got = alice.read_until_eof(kRecoveryBound);
  EXPECT_TRUE(alice_got.ends_with("\n" + told_to("alice"))) << alice_got;
  EXPECT_TRUE(alice.closed());
  const std::string dave1_got = dave1.read_until_eof(kRecoveryBound);
  EXPECT_TRUE(dave1_got.ends_with(told_to("dave"))) << dave1_got;
  EXPECT_TRUE(dave1.closed());
  // carol, on node 1, saw both arrive there: she hears both go.
  const std::string carol_heard = read_until_line_with(carol, "restored", kRecoveryBound);
  EXPECT_EQ(count_lines(carol_heard, "* alice left lobby\n"), 1u) << carol_heard;
  EXPECT_EQ(count_lines(carol_heard, "* dave left lobby\n"), 1u) << carol_heard;

  // Node 2's members hear of carol's return, of nobody leaving.
  const std::string heard = lines_until_marker(carol, "carol", bob);
  EXPECT_EQ(count_lines(heard, "* carol joined lobby\n"), 1u) << heard;
  EXPECT_EQ(count_lines(heard, "* alice left lobby\n"), 0u) << heard;
  EXPECT_EQ(count_lines(heard, "* dave left lobby\n"), 0u) << heard;
  EXPECT_EQ(count_lines(heard, "* dave joined lobby\n"), 0u) << heard;
  EXPECT_EQ(count_lines(heard, "* alice joined lobby\n"), 0u) << heard;
  // One alice and one dave in the room, whoever asks.
  ASSERT_TRUE(bob.send("/who\n"));
  EXPECT_EQ(bob.read_lines(1), "* members of lobby: bob alice dave carol\n");
  ASSERT_TRUE(carol.send("/who\n"));
  EXPECT_EQ(read_until_line_with(carol, "* members of"),
            "* members of lobby: bob alice dave carol\n");
}

}  // namespace
}  // namespace netlab::testing
