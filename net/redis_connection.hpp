#pragma once
// RedisConnection: one hiredis asynchronous connection driven by our own
// EventLoop (hiredis' adapter hooks: addRead/delRead/addWrite/delWrite/
// cleanup map onto watch/modify/unwatch), so a chat node talks to Redis
// without a second loop or thread.
//
// Owns the redisAsyncContext. hiredis frees the context itself when the
// connection drops; on_down then fires once, and the object can connect()
// again. Replies arrive as Reply views, valid only during the callback.
#include <hiredis/async.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "net/event_loop.hpp"

namespace netlab::net {

// A read-only view of a hiredis reply (nullptr: the connection went away
// before the reply came).
class RedisReply {
 public:
  explicit RedisReply(const redisReply* r) : r_(r) {}
  bool ok() const { return r_ != nullptr && r_->type != REDIS_REPLY_ERROR; }
  bool missing() const { return r_ == nullptr; }  // the connection went away first
  bool is_array() const { return r_ != nullptr && r_->type == REDIS_REPLY_ARRAY; }
  long long integer() const {
    return r_ != nullptr && r_->type == REDIS_REPLY_INTEGER ? r_->integer : 0;
  }
  std::string_view str() const {
    return r_ != nullptr && r_->str != nullptr ? std::string_view(r_->str, r_->len)
                                               : std::string_view();
  }
  size_t size() const { return is_array() ? r_->elements : 0; }
  RedisReply operator[](size_t i) const {
    return RedisReply(i < size() ? r_->element[i] : nullptr);
  }

 private:
  const redisReply* r_;
};

class RedisConnection {
 public:
  using ReplyHandler = std::function<void(RedisReply)>;

  explicit RedisConnection(EventLoop& loop) : loop_(loop) {}
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Starts connecting; on_up runs once connected, on_down once the
  // connection fails or drops (with hiredis' reason). False (and `error`
  // set) when hiredis refuses at once.
  bool connect(const std::string& host, int port, std::function<void()> on_up,
               std::function<void(std::string reason)> on_down, std::string& error);
  bool connected() const { return ctx_ != nullptr && up_; }
  // Bytes of commands not yet written to Redis: the caller's bound on them.
  size_t backlog() const;
  void disconnect();  // drops the connection now; on_down is not called

  // Sends a command (binary-safe arguments). `done` runs exactly once: with
  // the reply, or with a null reply if the connection goes away first.
  void command(const std::vector<std::string_view>& args, ReplyHandler done = {});

  // Subscriber connections: every message and (un)subscribe confirmation
  // goes to this one handler. Replies to SUBSCRIBE/UNSUBSCRIBE sent with
  // subscribe()/unsubscribe() arrive here too.
  void set_on_push(ReplyHandler h) { on_push_ = std::move(h); }
  void subscribe(std::string_view channel);
  void unsubscribe(std::string_view channel);

 private:
  static void on_connect(const redisAsyncContext* c, int status);
  static void on_disconnect(const redisAsyncContext* c, int status);
  static void on_reply(redisAsyncContext* c, void* reply, void* privdata);
  static void on_push_reply(redisAsyncContext* c, void* reply, void* privdata);
  static void add_read(void* self);
  static void del_read(void* self);
  static void add_write(void* self);
  static void del_write(void* self);
  static void cleanup(void* self);
  void push_command(std::string_view verb, std::string_view channel);
  void update_interest();
  void handle_events(uint32_t events);
  void went_down(std::string reason);

  EventLoop& loop_;
  redisAsyncContext* ctx_ = nullptr;
  int fd_ = -1;
  bool reading_ = false;
  bool writing_ = false;
  bool up_ = false;
  bool destroying_ = false;  // pending handlers are dropped, not run
  std::function<void()> on_up_;
  std::function<void(std::string)> on_down_;
  ReplyHandler on_push_;
};

}  // namespace netlab::net
