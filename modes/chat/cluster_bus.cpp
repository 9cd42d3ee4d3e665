#include "modes/chat/cluster_bus.hpp"

#include <fmt/format.h>
#include <hiredis/hiredis.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <random>
#include <stdexcept>

#include "modes/chat/protocol.hpp"
#include "net/log.hpp"

namespace netlab::modes::chat {

namespace {
// ARGV: prefix, node, deadline ms, key ttl ms. Moves this node's deadline on,
// keeps its keys alive, and reaps every node past its deadline. Returns 1 when
// this node itself had been reaped (it was cut off for too long), until the
// rejoin script has run: a rejoin whose answer is lost does not lose that.
constexpr std::string_view kHeartbeatScript = R"lua(
local p, node, deadline, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local mine_before = redis.call('ZSCORE', p .. ':nodes', node)
redis.call('ZADD', p .. ':nodes', now + deadline, node)
local mine = p .. ':node:' .. node .. ':members'
redis.call('PEXPIRE', mine, ttl)
for _, m in ipairs(redis.call('ZRANGE', mine, 0, -1)) do
  redis.call('PEXPIRE', p .. ':name:' .. m, ttl)
end
-- This node's own deadline had passed too: Redis (or this node) stalled, so
-- the others' silence proves nothing yet. Reap only when this node was on time.
local reaping = mine_before == false or tonumber(mine_before) >= now
for _, dead in ipairs(reaping and redis.call('ZRANGEBYSCORE', p .. ':nodes', '-inf', '(' .. now) or {}) do
  redis.call('ZREM', p .. ':nodes', dead)
  local theirs = p .. ':node:' .. dead .. ':members'
  for _, m in ipairs(redis.call('ZRANGE', theirs, 0, -1)) do
    local key = p .. ':name:' .. m
    if redis.call('GET', key) == dead then
      redis.call('DEL', key)
      local sp = string.find(m, ' ', 1, true)
      redis.call('PUBLISH', p .. ':room:' .. string.sub(m, 1, sp - 1), dead .. ' D ' .. string.sub(m, sp + 1))
    end
  end
  redis.call('DEL', theirs)
  redis.call('SET', p .. ':reaped:' .. dead, '1', 'EX', 3600)
end
return redis.call('EXISTS', p .. ':reaped:' .. node)
)lua";

// ARGV: prefix, node, key ttl ms, "ROOM NAME". 1: the name is this node's.
constexpr std::string_view kClaimScript = R"lua(
local p, node, ttl, m = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local key = p .. ':name:' .. m
local owner = redis.call('GET', key)
if owner and owner ~= node then return 0 end
redis.call('SET', key, node, 'PX', ttl)
local t = redis.call('TIME')
local mine = p .. ':node:' .. node .. ':members'
redis.call('ZADD', mine, 'NX', tonumber(t[1]) * 1000000 + tonumber(t[2]), m)
redis.call('PEXPIRE', mine, ttl)
return 1
)lua";

// ARGV: prefix, node, "ROOM NAME".
constexpr std::string_view kReleaseScript = R"lua(
local key = ARGV[1] .. ':name:' .. ARGV[3]
if redis.call('GET', key) == ARGV[2] then redis.call('DEL', key) end
redis.call('ZREM', ARGV[1] .. ':node:' .. ARGV[2] .. ':members', ARGV[3])
return 1
)lua";

// ARGV: prefix, node, key ttl ms, N, then the N members ("ROOM NAME") this
// node has now, in join order, then the members who left while the link was
// down and whose leaving is not announced yet. After an outage: what the node
// holds in Redis becomes exactly its members (a name given back while the
// link was down, or whose release's answer was lost, is freed; the others are
// held again, Redis may have lost them in a restart), except that a name
// whose leaving is still to be announced stays held until it is (kLeftScript):
// nobody can join as it and be announced first. Returns the members whose
// names another node holds now: they were let in here while this node could
// not claim them, and Redis gave them to someone else meanwhile.
constexpr std::string_view kRejoinScript = R"lua(
local p, node, ttl, n = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local mine = p .. ':node:' .. node .. ':members'
redis.call('DEL', p .. ':reaped:' .. node)
local keep = {}
for i = 5, #ARGV do keep[ARGV[i]] = true end
for _, m in ipairs(redis.call('ZRANGE', mine, 0, -1)) do
  if not keep[m] then
    local key = p .. ':name:' .. m
    if redis.call('GET', key) == node then redis.call('DEL', key) end
    redis.call('ZREM', mine, m)
  end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local lost = {}
for i = 5, 4 + n do
  local m = ARGV[i]
  local key = p .. ':name:' .. m
  local owner = redis.call('GET', key)
  if owner and owner ~= node then
    table.insert(lost, m)
  else
    redis.call('SET', key, node, 'PX', ttl)
    redis.call('ZADD', mine, 'NX', string.format('%d', now + i), m)
  end
end
redis.call('PEXPIRE', mine, ttl)
return lost
)lua";

// ARGV: prefix, node, "ROOM NAME", channel, payload. A join owed since an
// outage, published only while the name is still this node's (Redis may
// have given it to another node's member, who was announced instead).
constexpr std::string_view kJoinedScript = R"lua(
if redis.call('GET', ARGV[1] .. ':name:' .. ARGV[3]) ~= ARGV[2] then return 0 end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
)lua";

// ARGV: prefix, node, "ROOM NAME", channel, payload, "1" unless the member
// is back. A leave owed since an outage: announced, then the name given back
// (in that order, atomically), unless the member is back and claimed it again.
constexpr std::string_view kLeftScript = R"lua(
redis.call('PUBLISH', ARGV[4], ARGV[5])
if ARGV[6] ~= '1' then return 1 end
local key = ARGV[1] .. ':name:' .. ARGV[3]
if redis.call('GET', key) == ARGV[2] then redis.call('DEL', key) end
redis.call('ZREM', ARGV[1] .. ':node:' .. ARGV[2] .. ':members', ARGV[3])
return 1
)lua";

// ARGV: prefix, node. The node stops cleanly: nothing of it is left.
constexpr std::string_view kGoodbyeScript = R"lua(
local p, node = ARGV[1], ARGV[2]
local mine = p .. ':node:' .. node .. ':members'
for _, m in ipairs(redis.call('ZRANGE', mine, 0, -1)) do
  local key = p .. ':name:' .. m
  if redis.call('GET', key) == node then redis.call('DEL', key) end
end
redis.call('DEL', mine)
redis.call('ZREM', p .. ':nodes', node)
return 1
)lua";

// ARGV: prefix, "ROOM USER", payload. Publishes to the node holding the name.
constexpr std::string_view kPrivateScript = R"lua(
local owner = redis.call('GET', ARGV[1] .. ':name:' .. ARGV[2])
if not owner then return 0 end
redis.call('PUBLISH', ARGV[1] .. ':node:' .. owner, ARGV[3])
return 1
)lua";

// ARGV: prefix, room (empty: every room). The live nodes' members as a flat
// list of "ROOM NAME", join time.
constexpr std::string_view kMembersScript = R"lua(
local p, room = ARGV[1], ARGV[2]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for _, node in ipairs(redis.call('ZRANGEBYSCORE', p .. ':nodes', now, '+inf')) do
  local list = redis.call('ZRANGE', p .. ':node:' .. node .. ':members', 0, -1, 'WITHSCORES')
  for i = 1, #list, 2 do
    if room == '' or string.sub(list[i], 1, #room + 1) == room .. ' ' then
      table.insert(out, list[i])
      table.insert(out, list[i + 1])
    end
  end
end
return out
)lua";

std::string make_node_id() {
  char host[256] = "node";
  gethostname(host, sizeof host - 1);
  std::string h(host);
  // Node ids are the first word of every bus message.
  std::replace_if(
      h.begin(), h.end(), [](char c) { return c <= ' ' || c == 0x7f; }, '_');
  std::random_device rd;
  return fmt::format("{}-{}-{:08x}", h, getpid(), rd());
}

// "ROOM NAME" -> {ROOM, NAME}
std::pair<std::string_view, std::string_view> split_member(std::string_view m) {
  const size_t sp = m.find(' ');
  if (sp == std::string_view::npos) return {m, {}};
  return {m.substr(0, sp), m.substr(sp + 1)};
}

// Splits off the first space-separated word of a bus message.
std::string_view next_word(std::string_view& s) {
  const size_t sp = s.find(' ');
  const std::string_view word = s.substr(0, sp);
  s = sp == std::string_view::npos ? std::string_view() : s.substr(sp + 1);
  return word;
}

}  // namespace

ClusterTimings ClusterTimings::with_heartbeat(std::chrono::milliseconds heartbeat) {
  ClusterTimings t;
  t.heartbeat = heartbeat;
  t.node_deadline = 5 * heartbeat;
  t.key_ttl = 8 * heartbeat;
  t.max_backoff = 2 * heartbeat;
  t.link_timeout = 3 * heartbeat;
  return t;
}

ClusterTimings ClusterTimings::from_environment() {
  const char* ms = std::getenv("NETLAB_CLUSTER_HEARTBEAT_MS");
  if (ms == nullptr) return {};
  char* end = nullptr;
  const long v = std::strtol(ms, &end, 10);
  if (end == ms || *end != '\0' || v < 10 || v > 60000) return {};
  return with_heartbeat(std::chrono::milliseconds(v));
}

void ClusterBus::check_reachable(const ClusterOptions& o) {
  const timeval timeout{2, 0};
  redisContext* c = redisConnectWithTimeout(o.url.host.c_str(), o.url.port, timeout);
  auto fail = [&](const std::string& why) {
    if (c != nullptr) redisFree(c);
    throw std::runtime_error(
        fmt::format("cannot connect to cluster {}: {}", o.url.to_string(), why));
  };
  if (c == nullptr) fail("out of memory");
  if (c->err != 0) fail(c->errstr);
  auto* reply = static_cast<redisReply*>(o.url.db != 0 ? redisCommand(c, "SELECT %d", o.url.db)
                                                       : redisCommand(c, "PING"));
  if (reply == nullptr) fail(c->errstr);
  const bool ok = reply->type != REDIS_REPLY_ERROR;
  const std::string error = ok ? "" : std::string(reply->str, reply->len);
  freeReplyObject(reply);
  if (!ok) fail(error);
  redisFree(c);
}

ClusterBus::ClusterBus(net::EventLoop& loop, const RoomDirectory& rooms, BusDelivery& delivery,
                       ClusterOptions options)
    : loop_(loop),
      rooms_(rooms),
      delivery_(delivery),
      o_(std::move(options)),
      t_(ClusterTimings::from_environment()),
      node_(make_node_id()),
      node_channel_(fmt::format("{}:node:{}", o_.prefix, node_)),
      room_prefix_(o_.prefix + ":room:"),
      cmd_(loop),
      sub_(loop) {
  sub_.set_on_push([this](net::RedisReply r) { on_push(r); });
  loop_.run_every(t_.heartbeat, [this] { tick(); });
  net::Log::info("cluster {} as node {}", o_.url.to_string(), node_);
  connect();
}

// ---- the link ------------------------------------------------------------------

void ClusterBus::connect() {
  if (stopping_) return;
  state_ = State::kConnecting;
  connect_started_ = net::EventLoop::Clock::now();
  connected_ = 0;
  // A connection counts once Redis has answered on it: a stopped Redis
  // still accepts connections (the kernel does), and the link would look up
  // while every command waited. (The watchdog ends a PING that hangs.)
  auto answered = [this](net::RedisConnection& c) {
    return [this, &c] {
      c.command({"PING"}, [this](net::RedisReply r) {
        if (r.ok() && state_ == State::kConnecting && ++connected_ == 2) handshake();
      });
    };
  };
  auto on_down = [this](const std::string& reason) { link_lost(reason); };
  std::string error;
  if (!cmd_.connect(o_.url.host, o_.url.port, answered(cmd_), on_down, error) ||
      !sub_.connect(o_.url.host, o_.url.port, answered(sub_), on_down, error)) {
    loop_.defer([this, error] { link_lost(error); });
  }
}

void ClusterBus::when_ready(std::function<void()> fn) {
  if (first_attempt_done_) {
    fn();
  } else {
    ready_ = std::move(fn);
  }
}

void ClusterBus::first_attempt_over() {
  if (first_attempt_done_) return;
  first_attempt_done_ = true;
  if (auto fn = std::move(ready_)) fn();
}

// Both connections answer. Still connecting (members come and go on this
// node alone) until the heartbeat says whether the other nodes declared this
// one dead meanwhile: how the outage is settled depends on it.
void ClusterBus::handshake() {
  if (o_.url.db != 0) cmd_.command({"SELECT", std::to_string(o_.url.db)});
  cmd_.command({"EVAL", kHeartbeatScript, "0", o_.prefix, node_,
                std::to_string(t_.node_deadline.count()), std::to_string(t_.key_ttl.count())},
               [this](net::RedisReply r) {
                 if (r.missing() || state_ != State::kConnecting) return;
                 if (!r.ok()) net::Log::error("cluster heartbeat: {}", r.str());
                 connection_up(r.ok() && r.integer() == 1);
               });
}

void ClusterBus::connection_up(bool reaped) {
  state_ = State::kUp;
  backoff_ = std::chrono::milliseconds(100);
  last_answer_ = net::EventLoop::Clock::now();
  if (reaped || reaped_) {
    // The other nodes were told that every member this node had registered
    // left (and those that left meanwhile were among them): every member it
    // has now is owed a join, and no leave is owed.
    net::Log::error("cluster: this node had been declared dead; rejoining its members");
    reaped_ = false;
    unannounced_left_.clear();
    for (const auto& [room, count] : rooms_.rooms()) {
      for (MemberId id : rooms_.members(room)) {
        unannounced_joined_.insert(member(room, rooms_.find(id)->name));
      }
    }
  }
  rejoin();
  for (const auto& [room, count] : rooms_.rooms()) {
    channels_[room] = RoomChannel{RoomChannel::State::kSubscribing, 0, {}};
    sub_.subscribe(room_channel(room));
  }
  // Subscribed last: its confirmation means every room's came before it;
  // the PING's reply, that every name is registered again.
  sub_.subscribe(node_channel_);
  restoring_ = 2;
  cmd_.command({"PING"}, [this](net::RedisReply r) {
    if (r.ok()) restored_one();
  });
  // The notices owed a heartbeat later: nodes cut off by the same outage
  // (a Redis restart) are then most likely subscribed again to hear them.
  const uint64_t restore = ++restores_;
  if (!unannounced_joined_.empty() || !unannounced_left_.empty()) {
    loop_.run_after(t_.heartbeat, [this, restore] {
      if (restore == restores_ && up()) announce_owed({});
    });
  }
  first_attempt_over();
}

// Members hear "restored" once the node is whole again: subscribed and
// registered (each confirmed on its own connection).
void ClusterBus::restored_one() {
  if (restoring_ == 0 || --restoring_ > 0 || !was_lost_) return;
  was_lost_ = false;
  net::Log::error("cluster link to {} restored", o_.url.to_string());
  delivery_.notify_all(kClusterLinkRestored);
  delivery_.end_of_remote_delivery();
}

void ClusterBus::link_lost(const std::string& reason) {
  if (state_ == State::kDown) return;
  const bool was_up = state_ == State::kUp;
  state_ = State::kDown;
  restoring_ = 0;
  cmd_.disconnect();
  sub_.disconnect();
  // Logins waiting for a subscription go ahead on this node alone.
  auto channels = std::move(channels_);
  channels_.clear();
  for (auto& [room, ch] : channels) {
    for (auto& fn : ch.ready) fn();
  }
  if (stopping_) return;
  first_attempt_over();
  if (was_up) {
    net::Log::error("cluster link to {} lost: {}", o_.url.to_string(), reason);
    delivery_.notify_all(kClusterLinkLost);
    was_lost_ = true;
  } else {
    net::Log::debug("cannot reach cluster {}: {}", o_.url.to_string(), reason);
  }
  loop_.run_after(backoff_, [this] { connect(); });
  backoff_ = std::min(backoff_ * 2, t_.max_backoff);
}

// Registers exactly the members this node has now (see kRejoinScript). A
// member whose name another node holds was let in here alone; it goes.
void ClusterBus::rejoin() {
  std::vector<std::string> members;
  for (const auto& [room, count] : rooms_.rooms()) {
    for (MemberId id : rooms_.members(room)) members.push_back(member(room, rooms_.find(id)->name));
  }
  const std::string ttl = std::to_string(t_.key_ttl.count());
  const std::string n = std::to_string(members.size());
  std::vector<std::string_view> args = {"EVAL", kRejoinScript, "0", o_.prefix, node_, ttl, n};
  args.insert(args.end(), members.begin(), members.end());
  args.insert(args.end(), unannounced_left_.begin(), unannounced_left_.end());
  cmd_.command(args, [this](net::RedisReply r) {
    if (!r.missing() && !r.ok()) net::Log::error("cluster rejoin: {}", r.str());
    for (size_t i = 0; i < r.size(); ++i) {
      const std::string m(r[i].str());
      const auto [room, name] = split_member(m);
      net::Log::error("cluster: {} was taken on another node while the link was down", m);
      // Never announced to the other nodes (or announced as left by the
      // reap): nothing is owed to them.
      unannounced_joined_.erase(m);
      delivery_.name_taken_elsewhere(std::string(room), name);
    }
  });
}

// Runs every heartbeat: the heartbeat itself, and the watchdog of a link
// that stopped answering (a stalled Redis, a vanished host) or a connect
// that hangs, which no socket error would ever report.
void ClusterBus::tick() {
  const auto now = net::EventLoop::Clock::now();
  if (state_ == State::kConnecting && now - connect_started_ > t_.link_timeout) {
    link_lost("timed out connecting");
  } else if (state_ == State::kUp && now - last_answer_ > t_.link_timeout) {
    link_lost(fmt::format("no answer for {} ms", t_.link_timeout.count()));
  } else if (up()) {
    register_node();
  }
}

void ClusterBus::register_node() {
  cmd_.command({"EVAL", kHeartbeatScript, "0", o_.prefix, node_,
                std::to_string(t_.node_deadline.count()), std::to_string(t_.key_ttl.count())},
               [this](net::RedisReply r) {
                 if (!r.missing()) last_answer_ = net::EventLoop::Clock::now();
                 if (!r.ok()) {
                   if (!r.missing()) net::Log::error("cluster heartbeat: {}", r.str());
                   return;
                 }
                 if (r.integer() != 1 || state_ != State::kUp) return;
                 // Declared dead without the link ever failing (this node, or
                 // Redis, stalled past the deadline): the other nodes were
                 // told its members left. Settled like any outage that long,
                 // through a reconnect.
                 reaped_ = true;
                 link_lost("this node had been declared dead");
               });
}

// ---- subscriptions ---------------------------------------------------------------

void ClusterBus::when_subscribed(const std::string& room, std::function<void()> fn) {
  if (!up()) {
    fn();
    return;
  }
  auto it = channels_.find(room);
  if (it == channels_.end()) {
    it = channels_.emplace(room, RoomChannel{RoomChannel::State::kSubscribing, 0, {}}).first;
    sub_.subscribe(room_channel(room));
  }
  if (it->second.state == RoomChannel::State::kActive) {
    fn();
  } else {
    it->second.ready.push_back(std::move(fn));
  }
}

void ClusterBus::maybe_unsubscribe(const std::string& room) {
  auto it = channels_.find(room);
  if (it == channels_.end() || it->second.state != RoomChannel::State::kActive) return;
  if (it->second.claiming > 0 || !rooms_.members(room).empty()) return;
  it->second.state = RoomChannel::State::kUnsubscribing;
  sub_.unsubscribe(room_channel(room));
}

void ClusterBus::on_push(net::RedisReply r) {
  if (!r.is_array() || r.size() < 3) return;
  const std::string_view type = r[0].str();
  const std::string_view channel = r[1].str();
  if (type == "message") {
    on_channel_message(channel, r[2].str());
    delivery_.end_of_remote_delivery();
    return;
  }
  if (channel == node_channel_) {
    if (type == "subscribe") restored_one();
    return;
  }
  if (channel.substr(0, room_prefix_.size()) != room_prefix_) return;
  const std::string room(channel.substr(room_prefix_.size()));
  auto it = channels_.find(room);
  if (it == channels_.end()) return;
  RoomChannel& ch = it->second;
  if (type == "subscribe" && ch.state == RoomChannel::State::kSubscribing) {
    ch.state = RoomChannel::State::kActive;
    auto ready = std::move(ch.ready);
    ch.ready.clear();
    for (auto& fn : ready) fn();
    maybe_unsubscribe(room);
  } else if (type == "unsubscribe" && ch.state == RoomChannel::State::kUnsubscribing) {
    if (ch.ready.empty() && ch.claiming == 0 && rooms_.members(room).empty()) {
      channels_.erase(it);
    } else {
      ch.state = RoomChannel::State::kSubscribing;
      sub_.subscribe(room_channel(room));
    }
  }
}

void ClusterBus::on_channel_message(std::string_view channel, std::string_view payload) {
  const std::string_view origin = next_word(payload);
  if (origin == node_) return;  // delivered locally when it was published
  const std::string_view kind = next_word(payload);
  if (channel == node_channel_) {
    if (kind != "P") return;
    const std::string room(next_word(payload));
    const std::string_view user = next_word(payload);
    delivery_.deliver_private(room, user, payload);
    return;
  }
  const std::string room(channel.substr(room_prefix_.size()));
  if (kind == "M") {
    delivery_.deliver(room, payload, 0, true);
  } else if (kind == "N") {
    delivery_.deliver(room, payload, 0, false);
  } else if (kind == "D") {
    delivery_.deliver(room, left_notice(payload, room), 0, false);
  }
}

// ---- ChatBus -------------------------------------------------------------------

void ClusterBus::claim(const std::string& room, const std::string& name,
                       std::function<void(bool)> done) {
  if (!up()) {
    // This node alone for now; registered, and announced to the other
    // nodes, when the link is back.
    joined_unannounced(member(room, name));
    done(true);
    return;
  }
  when_subscribed(room, [this, room, name, done = std::move(done)] {
    auto it = channels_.find(room);
    if (it != channels_.end()) ++it->second.claiming;
    cmd_.command({"EVAL", kClaimScript, "0", o_.prefix, node_, std::to_string(t_.key_ttl.count()),
                  member(room, name)},
                 [this, room, name, done](net::RedisReply r) {
                   auto it = channels_.find(room);
                   if (it != channels_.end()) --it->second.claiming;
                   if (!r.missing() && !r.ok()) net::Log::error("cluster claim: {}", r.str());
                   // No answer (the link went down): this node alone decides,
                   // as if the claim had come after the link was lost (Redis
                   // may hold the name or not; the rejoin settles it).
                   // An error (Redis out of memory, read-only...) claims nothing.
                   if (r.missing()) joined_unannounced(member(room, name));
                   done(r.missing() || (r.ok() && r.integer() == 1));
                   maybe_unsubscribe(room);
                 });
  });
}

void ClusterBus::release(const std::string& room, const std::string& name,
                         std::function<void()> done) {
  if (up()) {
    net::RedisConnection::ReplyHandler then;
    if (done) then = [done = std::move(done)](net::RedisReply) { done(); };
    cmd_.command({"EVAL", kReleaseScript, "0", o_.prefix, node_, member(room, name)},
                 std::move(then));
  } else {
    // Redis may still hold the name (an outage it survived): given back,
    // and the leaving announced, when the link is back.
    left_unannounced(member(room, name));
    if (done) done();
  }
  maybe_unsubscribe(room);
}

// The net change of an outage: a member who joins and leaves (or leaves and
// comes back) while the other nodes cannot be told is owed nothing.
void ClusterBus::joined_unannounced(const std::string& m) {
  if (unannounced_left_.erase(m) == 0) unannounced_joined_.insert(m);
}

void ClusterBus::left_unannounced(const std::string& m) {
  if (unannounced_joined_.erase(m) == 0) unannounced_left_.insert(m);
}

// Publishes the joins and leaves owed since an outage, in one room (or in
// every room: an empty `room_or_all`). Called only once the rejoin script has
// been sent, so Redis runs these after it. Every member owed a join is here
// (one who left since was owed nothing, or had its join announced before its
// leave, by the publish of the leave); one owed a leave may be back (its
// join's publish comes after this, and the name it claimed again is kept).
void ClusterBus::announce_owed(std::string_view room_or_all) {
  auto announce = [&](std::set<std::string>& owed, std::string_view script, bool joined) {
    auto it = owed.begin();
    auto end = owed.end();
    if (!room_or_all.empty()) {
      const std::string prefix = member(room_or_all, "");
      it = owed.lower_bound(prefix);
      end = it;
      while (end != owed.end() && end->compare(0, prefix.size(), prefix) == 0) ++end;
    }
    while (it != end) {
      const auto [room, name] = split_member(*it);
      const std::string line = joined ? joined_notice(name, room) : left_notice(name, room);
      const bool gone = !rooms_.find_in_room(std::string(room), name).has_value();
      cmd_.command({"EVAL", script, "0", o_.prefix, node_, *it, room_channel(room),
                    fmt::format("{} N {}", node_, line), gone ? "1" : "0"});
      it = owed.erase(it);
    }
  };
  announce(unannounced_left_, kLeftScript, false);
  announce(unannounced_joined_, kJoinedScript, true);
}

void ClusterBus::publish(const std::string& room, std::string_view line, MemberId except, Kind kind,
                         std::function<void()> done) {
  delivery_.deliver(room, line, except, kind == Kind::kMessage);
  // What the outage owes this room comes before anything new said in it.
  if (up() && (!unannounced_joined_.empty() || !unannounced_left_.empty())) announce_owed(room);
  if (!up() || cmd_.backlog() > kMaxBacklog) {
    // Not from inside the server's delivery: after this iteration.
    if (up()) {
      loop_.defer([this] {
        link_lost(fmt::format("over {} bytes of commands waiting for Redis", kMaxBacklog));
      });
    }
    if (done) done();
    return;
  }
  net::RedisConnection::ReplyHandler then;
  if (done) then = [done = std::move(done)](net::RedisReply) { done(); };
  cmd_.command({"PUBLISH", room_channel(room),
                fmt::format("{} {} {}", node_, kind == Kind::kMessage ? 'M' : 'N', line)},
               std::move(then));
}

void ClusterBus::send_private(const std::string& room, const std::string& user, std::string line,
                              std::function<void(bool)> done) {
  if (!up()) {
    done(false);
    return;
  }
  cmd_.command({"EVAL", kPrivateScript, "0", o_.prefix, member(room, user),
                fmt::format("{} P {} {} {}", node_, room, user, line)},
               [done = std::move(done)](net::RedisReply r) { done(r.ok() && r.integer() == 1); });
}

void ClusterBus::who(const std::string& room, std::function<void(std::vector<std::string>)> done) {
  if (!up()) {
    done(LocalBus::local_names(rooms_, room));
    return;
  }
  cmd_.command({"EVAL", kMembersScript, "0", o_.prefix, room},
               [this, room, done = std::move(done)](net::RedisReply r) {
                 if (!r.is_array()) {
                   done(LocalBus::local_names(rooms_, room));
                   return;
                 }
                 std::vector<std::pair<double, std::string>> found;
                 for (size_t i = 0; i + 1 < r.size(); i += 2) {
                   found.emplace_back(std::stod(std::string(r[i + 1].str())),
                                      std::string(split_member(r[i].str()).second));
                 }
                 std::stable_sort(found.begin(), found.end(),
                                  [](const auto& a, const auto& b) { return a.first < b.first; });
                 std::vector<std::string> names;
                 for (auto& f : found) names.push_back(std::move(f.second));
                 done(std::move(names));
               });
}

void ClusterBus::rooms(std::function<void(RoomCounts)> done) {
  if (!up()) {
    done(rooms_.rooms());
    return;
  }
  cmd_.command({"EVAL", kMembersScript, "0", o_.prefix, ""},
               [this, done = std::move(done)](net::RedisReply r) {
                 if (!r.is_array()) {
                   done(rooms_.rooms());
                   return;
                 }
                 std::map<std::string, size_t, std::less<>> counts;
                 for (size_t i = 0; i + 1 < r.size(); i += 2) {
                   ++counts[std::string(split_member(r[i].str()).first)];
                 }
                 done(RoomCounts(counts.begin(), counts.end()));
               });
}

void ClusterBus::shut_down(std::function<void()> done) {
  stopping_ = true;
  if (!up()) {
    done();
    return;
  }
  cmd_.command({"EVAL", kGoodbyeScript, "0", o_.prefix, node_},
               [done = std::move(done)](net::RedisReply) { done(); });
}

std::string ClusterBus::room_channel(std::string_view room) const {
  return room_prefix_ + std::string(room);
}

std::string ClusterBus::member(std::string_view room, std::string_view name) const {
  return fmt::format("{} {}", room, name);
}

}  // namespace netlab::modes::chat
