#pragma once
// ClusterBus: several chat-server nodes serving one set of rooms through
// Redis pub/sub (--cluster redis://HOST:PORT[/DB]). Key and channel layout
// (P = --cluster-prefix, default "netlab"; a member entry is "ROOM NAME",
// unambiguous because neither may contain a space):
//
//   P:room:ROOM            channel; "NODE M LINE" (message), "NODE N LINE"
//                          (notice), "NODE D NAME" (NAME's node died)
//   P:node:NODE            channel; "NODE P ROOM USER LINE" (a /msg)
//   P:nodes                zset NODE -> deadline (Redis ms); the heartbeat
//                          moves it on, a node past it is reaped by any other
//   P:node:NODE:members    zset "ROOM NAME" -> join time (us), expires with NODE
//   P:name:ROOM NAME       string NODE: the name is taken (SET NX PX), expires
//                          with NODE
//   P:reaped:NODE          set when NODE is declared dead, until it rejoins (1 h at most)
//
// Every operation that touches several keys is one Lua script, so it is
// atomic: a dead node is reaped (its names freed, its members announced as
// left) exactly once, by whichever node's heartbeat sees it first.
//
// Outages. While the link is down, members come and go on this node alone;
// the bus keeps the net change the other nodes have not been told of
// (unannounced_joined_ / unannounced_left_; a member let in when its claim's
// answer was lost counts as let in while down). A reconnect first sends a
// heartbeat, whose answer says whether the others declared this node dead
// meanwhile (and so announced every member it had registered as left). Only
// then is the node up: one rejoin script registers exactly the members it
// has now (and frees what it holds for anyone gone, once announced), and
// the notices owed are worked out from that one answer: after a reap, every
// member is owed a join and no leave is; otherwise, the net change. Owed
// notices go out a heartbeat later (nodes cut off by the same outage listen
// again by then), or before anything else said in their room, whichever is
// first: so each join and leave is announced once, and in order. A name
// Redis gave to a member of another node meanwhile stays theirs (see
// name_taken_elsewhere).
//
// Borrows the loop, the server's directory and its delivery; owns the two
// Redis connections (commands, and subscriptions, which hiredis cannot mix).
#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "modes/chat/bus.hpp"
#include "modes/chat/redis_url.hpp"
#include "net/event_loop.hpp"
#include "net/redis_connection.hpp"

namespace netlab::modes::chat {

struct ClusterOptions {
  RedisUrl url;
  std::string prefix = "netlab";
};

// The cluster's clock. Every period and deadline is a multiple of the
// heartbeat, so they keep their proportions when a test shortens it.
struct ClusterTimings {
  // How often a node says it lives, how long until others reap it, and how
  // long its keys outlive a silent node (so the reaper still finds them).
  std::chrono::milliseconds heartbeat{1000};
  std::chrono::milliseconds node_deadline{5000};
  std::chrono::milliseconds key_ttl{8000};
  std::chrono::milliseconds max_backoff{2000};
  // A connect, or the heartbeat's answer, that takes longer: the link is lost.
  std::chrono::milliseconds link_timeout{3000};

  static ClusterTimings with_heartbeat(std::chrono::milliseconds heartbeat);
  // The defaults above, or with_heartbeat(NETLAB_CLUSTER_HEARTBEAT_MS): a
  // hidden knob for the tests only, so that an outage longer than the reap
  // deadline takes a second or two instead of ten. Not documented for users:
  // every node of a cluster must use the same value.
  static ClusterTimings from_environment();
};

class ClusterBus final : public ChatBus {
 public:
  // Commands queued toward a Redis that does not take them: past this the
  // link counts as lost (members are told) rather than growing without bound.
  static constexpr size_t kMaxBacklog = 32 * 1024 * 1024;

  // Checks that Redis answers (a blocking PING, before the server starts);
  // throws std::runtime_error "cannot connect to cluster URL: reason".
  static void check_reachable(const ClusterOptions& o);

  ClusterBus(net::EventLoop& loop, const RoomDirectory& rooms, BusDelivery& delivery,
             ClusterOptions options);

  const std::string& node_id() const { return node_; }

  void claim(const std::string& room, const std::string& name,
             std::function<void(bool)> done) override;
  void release(const std::string& room, const std::string& name,
               std::function<void()> done) override;
  void publish(const std::string& room, std::string_view line, MemberId except, Kind kind,
               std::function<void()> done) override;
  void send_private(const std::string& room, const std::string& user, std::string line,
                    std::function<void(bool)> done) override;
  void who(const std::string& room, std::function<void(std::vector<std::string>)> done) override;
  void rooms(std::function<void(RoomCounts)> done) override;
  void shut_down(std::function<void()> done) override;
  // What the members were told: false from "link lost" to "restored".
  bool linked() const override { return state_ == State::kUp; }
  void when_ready(std::function<void()> fn) override;

 private:
  // A room channel: subscribed while the room has local members (or a
  // login waiting for it). hiredis forgets a channel's callback when an
  // UNSUBSCRIBE is confirmed, so a room is never re-subscribed before that.
  struct RoomChannel {
    enum class State { kSubscribing, kActive, kUnsubscribing } state;
    int claiming = 0;                          // logins waiting on this room
    std::vector<std::function<void()>> ready;  // run once subscribed
  };

  void connect();
  void handshake();
  void connection_up(bool reaped);
  void link_lost(const std::string& reason);
  void register_node();
  void rejoin();
  void tick();
  void first_attempt_over();
  void restored_one();
  void joined_unannounced(const std::string& m);
  void left_unannounced(const std::string& m);
  void announce_owed(std::string_view room_or_all);
  void on_push(net::RedisReply r);
  void on_channel_message(std::string_view channel, std::string_view payload);
  void when_subscribed(const std::string& room, std::function<void()> fn);
  void maybe_unsubscribe(const std::string& room);
  // Commands can go to Redis now. (The command connection may have dropped
  // an instant before the link is declared lost: what happens meanwhile is
  // this node's alone, as while the link is down.)
  bool up() const { return state_ == State::kUp && cmd_.connected(); }
  std::string room_channel(std::string_view room) const;
  std::string member(std::string_view room, std::string_view name) const;

  net::EventLoop& loop_;
  const RoomDirectory& rooms_;
  BusDelivery& delivery_;
  ClusterOptions o_;
  ClusterTimings t_;
  std::string node_;
  std::string node_channel_;
  std::string room_prefix_;
  std::function<void()> ready_;      // when_ready()'s, until the first attempt ends
  bool first_attempt_done_ = false;  // "P:room:", a room's channel without the room
  net::RedisConnection cmd_;
  net::RedisConnection sub_;
  enum class State { kDown, kConnecting, kUp } state_ = State::kDown;
  bool was_lost_ = false;  // the members were told "cluster link lost"
  bool stopping_ = false;
  int restoring_ = 0;  // of the two confirmations a restore waits for
  int connected_ = 0;  // of the two connections, while connecting
  net::EventLoop::Clock::time_point connect_started_;
  net::EventLoop::Clock::time_point last_answer_;  // the last heartbeat reply
  std::chrono::milliseconds backoff_{100};
  std::map<std::string, RoomChannel, std::less<>> channels_;
  // Members ("ROOM NAME") whose joining or leaving the other nodes have not
  // been told of: the net change of an outage, so a member is in one set at
  // most, and a set is bounded by the names in use rather than by the churn.
  std::set<std::string> unannounced_joined_;
  std::set<std::string> unannounced_left_;
  bool reaped_ = false;    // declared dead, noticed while up: the next rejoin knows
  uint64_t restores_ = 0;  // which restore a delayed announcement belongs to
};

}  // namespace netlab::modes::chat
