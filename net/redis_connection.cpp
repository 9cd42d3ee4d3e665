#include "net/redis_connection.hpp"

#include <hiredis/sds.h>

#include <memory>

namespace netlab::net {

namespace {
using Handler = RedisConnection::ReplyHandler;

RedisConnection* owner(const redisAsyncContext* c) {
  return static_cast<RedisConnection*>(c->data);
}
}  // namespace

RedisConnection::~RedisConnection() {
  destroying_ = true;
  on_up_ = nullptr;
  on_down_ = nullptr;
  on_push_ = nullptr;
  disconnect();
}

bool RedisConnection::connect(const std::string& host, int port, std::function<void()> on_up,
                              std::function<void(std::string)> on_down, std::string& error) {
  disconnect();
  redisAsyncContext* c = redisAsyncConnect(host.c_str(), port);
  if (c == nullptr) {
    error = "out of memory";
    return false;
  }
  if (c->err != 0) {
    error = c->errstr;
    redisAsyncFree(c);
    return false;
  }
  ctx_ = c;
  fd_ = c->c.fd;
  up_ = false;
  on_up_ = std::move(on_up);
  on_down_ = std::move(on_down);
  c->data = this;
  c->ev.data = this;
  c->ev.addRead = add_read;
  c->ev.delRead = del_read;
  c->ev.addWrite = add_write;
  c->ev.delWrite = del_write;
  c->ev.cleanup = cleanup;
  redisAsyncSetConnectCallback(c, on_connect);
  redisAsyncSetDisconnectCallback(c, on_disconnect);
  // hiredis asked for nothing yet: a non-blocking connect completes as
  // writability, so wait for that.
  add_write(this);
  return true;
}

void RedisConnection::disconnect() {
  if (ctx_ == nullptr) return;
  redisAsyncContext* c = ctx_;
  // Our own decision: nobody is told the connection went down.
  on_down_ = nullptr;
  up_ = false;
  redisAsyncFree(c);  // runs cleanup(), which forgets ctx_
}

size_t RedisConnection::backlog() const {
  return ctx_ != nullptr && ctx_->c.obuf != nullptr ? sdslen(ctx_->c.obuf) : 0;
}

void RedisConnection::command(const std::vector<std::string_view>& args, ReplyHandler done) {
  if (!connected()) {
    if (done) loop_.defer([done = std::move(done)] { done(RedisReply(nullptr)); });
    return;
  }
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (auto a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* h = done ? new Handler(std::move(done)) : nullptr;
  if (redisAsyncCommandArgv(ctx_, h != nullptr ? on_reply : nullptr, h,
                            static_cast<int>(args.size()), argv.data(), lens.data()) != REDIS_OK &&
      h != nullptr) {
    std::shared_ptr<Handler> owned(h);
    loop_.defer([owned] { (*owned)(RedisReply(nullptr)); });
  }
}

void RedisConnection::subscribe(std::string_view channel) {
  push_command("SUBSCRIBE", channel);
}

void RedisConnection::unsubscribe(std::string_view channel) {
  push_command("UNSUBSCRIBE", channel);
}

// Its replies, and every message on the channel, go to on_push_.
void RedisConnection::push_command(std::string_view verb, std::string_view channel) {
  if (!connected()) return;
  const char* argv[] = {verb.data(), channel.data()};
  const size_t lens[] = {verb.size(), channel.size()};
  redisAsyncCommandArgv(ctx_, on_push_reply, nullptr, 2, argv, lens);
}

// ---- hiredis callbacks -------------------------------------------------------

void RedisConnection::on_connect(const redisAsyncContext* c, int status) {
  RedisConnection* self = owner(c);
  if (status != REDIS_OK) {
    // hiredis frees the context right after this returns.
    self->went_down(c->errstr);
    return;
  }
  self->up_ = true;
  if (self->on_up_) self->on_up_();
}

void RedisConnection::on_disconnect(const redisAsyncContext* c, int /*status*/) {
  RedisConnection* self = owner(c);
  self->went_down(c->err != 0 ? c->errstr : "connection closed by Redis");
}

// A null reply means the context is being freed: callbacks then must not
// touch this connection, so the handler runs after the current dispatch.
void RedisConnection::on_reply(redisAsyncContext* c, void* reply, void* privdata) {
  std::shared_ptr<Handler> h(static_cast<Handler*>(privdata));
  if (reply == nullptr) {
    RedisConnection* self = owner(c);
    self->up_ = false;
    if (!self->destroying_) self->loop_.defer([h] { (*h)(RedisReply(nullptr)); });
    return;
  }
  (*h)(RedisReply(static_cast<redisReply*>(reply)));
}

void RedisConnection::on_push_reply(redisAsyncContext* c, void* reply, void* /*privdata*/) {
  RedisConnection* self = owner(c);
  if (reply == nullptr || !self->on_push_) return;
  self->on_push_(RedisReply(static_cast<redisReply*>(reply)));
}

void RedisConnection::went_down(std::string reason) {
  up_ = false;
  if (!on_down_) return;
  // Runs once hiredis has finished freeing the context, so the handler may
  // connect again at once.
  loop_.defer([this, reason = std::move(reason), h = std::move(on_down_)] { h(reason); });
  on_down_ = nullptr;
}

// ---- event-loop adapter ------------------------------------------------------

void RedisConnection::add_read(void* self) {
  static_cast<RedisConnection*>(self)->reading_ = true;
  static_cast<RedisConnection*>(self)->update_interest();
}
void RedisConnection::del_read(void* self) {
  static_cast<RedisConnection*>(self)->reading_ = false;
  static_cast<RedisConnection*>(self)->update_interest();
}
void RedisConnection::add_write(void* self) {
  static_cast<RedisConnection*>(self)->writing_ = true;
  static_cast<RedisConnection*>(self)->update_interest();
}
void RedisConnection::del_write(void* self) {
  static_cast<RedisConnection*>(self)->writing_ = false;
  static_cast<RedisConnection*>(self)->update_interest();
}

// hiredis closes the fd right after this: stop watching it first.
void RedisConnection::cleanup(void* self) {
  auto* s = static_cast<RedisConnection*>(self);
  s->reading_ = s->writing_ = false;
  s->update_interest();
  s->ctx_ = nullptr;
  s->fd_ = -1;
  s->up_ = false;
}

void RedisConnection::update_interest() {
  if (fd_ < 0) return;
  const uint32_t events = (reading_ ? EPOLLIN : 0u) | (writing_ ? EPOLLOUT : 0u);
  if (events == 0) {
    loop_.unwatch(fd_);
  } else if (loop_.watching(fd_)) {
    loop_.modify(fd_, events);
  } else {
    loop_.watch(fd_, events, [this](uint32_t ev) { handle_events(ev); });
  }
}

void RedisConnection::handle_events(uint32_t events) {
  const bool failed = (events & (EPOLLERR | EPOLLHUP)) != 0;
  if (ctx_ != nullptr && ((events & EPOLLIN) != 0 || (failed && reading_))) {
    redisAsyncHandleRead(ctx_);
  }
  // The read may have ended the connection (cleanup() cleared ctx_).
  if (ctx_ != nullptr && ((events & EPOLLOUT) != 0 || (failed && writing_))) {
    redisAsyncHandleWrite(ctx_);
  }
}

}  // namespace netlab::net
