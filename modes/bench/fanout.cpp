// netlab bench fanout: chat broadcast. --connections members join one room,
// one more member (the publisher) sends numbered messages with --window of
// them in flight. A delivery is one member receiving one message; a message
// is complete when every member has it, and only then does its window slot
// take the next one. Speaks netlab's chat protocol or Redis pub/sub.
#include <fmt/format.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "modes/bench/connect.hpp"
#include "modes/bench/driver.hpp"
#include "modes/bench/epoll.hpp"
#include "modes/bench/modes.hpp"
#include "modes/bench/resp.hpp"

namespace netlab::modes::bench {

namespace {
constexpr size_t kReadChunk = 64 * 1024;
constexpr int kMaxEvents = 256;
constexpr size_t kMaxPendingConnects = 128;
constexpr int kIdleWaitMs = 50;
constexpr uint32_t kPublisherIndex = 0xfffffffe;
constexpr uint32_t kWakeIndex = 0xffffffff;
constexpr const char* kPublisherName = "bench-pub";

std::optional<uint64_t> parse_seq(std::string_view text) {
  uint64_t seq = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), seq);
  if (ec != std::errc() || p != text.data() + text.size() || seq == 0) return std::nullopt;
  return seq;
}

// What all workers share: the window of messages in flight. Message `seq`
// lives in slot seq % window until every member has it; since a slot is
// reused only after that, a member that reads it has not yet counted itself
// out, so the slot still belongs to its message. Members count down
// `remaining`; the publisher (worker 0) alone publishes and retires slots.
class Window {
 public:
  explicit Window(size_t size)
      : size_(size), slots_(new Slot[size]), wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (wake_fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  }
  ~Window() { ::close(wake_fd_); }
  Window(const Window&) = delete;
  Window& operator=(const Window&) = delete;

  struct Slot {
    std::atomic<uint64_t> sent_ns{0};
    std::atomic<int64_t> remaining{0};
  };
  Slot& slot(uint64_t seq) { return slots_[seq % size_]; }
  size_t size() const { return size_; }

  int wake_fd() const { return wake_fd_; }
  // From another worker's thread: the publisher has something to look at.
  void wake() {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof one);
  }
  void drain_wake() {
    uint64_t count = 0;
    [[maybe_unused]] const ssize_t n = ::read(wake_fd_, &count, sizeof count);
  }

  // A member the server dropped, by the last seq it received: the publisher
  // stops waiting for it (see Publisher::retire_dropped).
  void report_dropped(uint64_t last_seq) {
    std::lock_guard lock(mutex_);
    dropped_.push_back(last_seq);
  }
  std::vector<uint64_t> take_dropped() {
    std::lock_guard lock(mutex_);
    return std::exchange(dropped_, {});
  }

 private:
  const size_t size_;
  std::unique_ptr<Slot[]> slots_;
  const int wake_fd_;
  std::mutex mutex_;
  std::vector<uint64_t> dropped_;
};

// Bytes already received but not yet a complete line or reply. Most reads
// end on a boundary, so the data is usually parsed in place, and the carry
// (reserved once) only holds a split message between two reads.
class Carry {
 public:
  Carry() { bytes_.reserve(512); }
  std::string_view join(std::string_view chunk) {
    if (bytes_.empty()) return chunk;
    bytes_.append(chunk);
    return bytes_;
  }
  // `data` came from join(); its first `used` bytes were parsed.
  void keep_rest(std::string_view data, size_t used) {
    if (data.data() == bytes_.data()) {
      bytes_.erase(0, used);
    } else {
      bytes_.assign(data.substr(used));
    }
  }

 private:
  std::string bytes_;
};

class FanoutWorker {
 public:
  FanoutWorker(const Options& o, Driver& driver, WorkerStats& stats, Window& window,
               size_t first_member, size_t member_count, bool publisher, size_t all_members)
      : o_(o),
        driver_(driver),
        stats_(stats),
        window_(window),
        first_member_(first_member),
        redis_(o.protocol == Protocol::kRedis),
        has_publisher_(publisher),
        live_(all_members),
        marker_(fmt::format("] {}: ", kPublisherName)) {
    members_.resize(member_count);
  }

  // The publisher connects to `target`; the members too, or, with
  // --member-port, spread evenly over `member_targets` (the cluster's nodes).
  void setup(const net::Address& target, const std::vector<net::Address>& member_targets) {
    Connected c;
    auto connect_to = [&](const net::Address& to, size_t sockets) {
      Connected part =
          connect_many(to, sockets, kMaxPendingConnects, 10 + static_cast<double>(sockets) / 1000,
                       [this] { return driver_.stopping(); });
      if (part.failures > 0) {
        throw std::runtime_error(fmt::format("cannot connect {} of {} members to {}", part.failures,
                                             sockets, to.to_string()));
      }
      for (auto& s : part.sockets) c.sockets.push_back(std::move(s));
    };
    if (member_targets.empty()) {
      connect_to(target, members_.size() + (has_publisher_ ? 1 : 0));
    } else {
      for (size_t i = 0; i < member_targets.size(); ++i) {
        connect_to(member_targets[i], share_of(members_.size(), member_targets.size(), i));
      }
      if (has_publisher_) connect_to(target, 1);
    }
    if (driver_.stopping()) return;
    if (has_publisher_) {
      pub_.socket = std::move(c.sockets.back());
      c.sockets.pop_back();
      epoll_.add(pub_.socket.fd(), EPOLLIN, kPublisherIndex);
      epoll_.add(window_.wake_fd(), EPOLLIN, kWakeIndex);
      pub_.out.reserve(64 * window_.size());
      // The publisher logs in first, so the members' join notices that it
      // would otherwise have to read are as few as possible.
      if (redis_) {
        pub_.joined = true;
      } else {
        pub_.out = fmt::format("{} {}\n", kPublisherName, o_.room);
        flush_publisher();
      }
    }
    for (size_t i = 0; i < members_.size(); ++i) {
      members_[i].socket = std::move(c.sockets[i]);
      epoll_.add(members_[i].socket.fd(), EPOLLIN, static_cast<uint32_t>(i));
      const std::string login = redis_ ? fmt::format("SUBSCRIBE {}\r\n", o_.room)
                                       : fmt::format("bench{} {}\n", first_member_ + i, o_.room);
      members_[i].socket.send(login.data(), login.size());
    }
    // Joining is quadratic for a chat server (each join is announced to
    // everyone already in the room), so allow for it.
    const uint64_t deadline =
        now_ns() + static_cast<uint64_t>((30 + static_cast<double>(members_.size()) / 50) * 1e9);
    while ((joined_ < members_.size() || (has_publisher_ && !pub_.joined)) && !driver_.stopping()) {
      if (now_ns() > deadline) {
        throw std::runtime_error(fmt::format("only {} of {} members joined {} in time", joined_,
                                             members_.size(), o_.room));
      }
      poll(10);
    }
  }

  void run() {
    stats_.ready = true;
    for (;;) {
      poll(kIdleWaitMs);
      const Phase phase = driver_.phase();
      if (phase == Phase::kStop) break;
      if (has_publisher_ && phase != Phase::kSetup) pump(phase == Phase::kMeasure);
    }
  }

 private:
  struct Member {
    net::Socket socket;
    Carry carry;
    uint64_t last = 0;  // the latest seq received
    bool joined = false;
  };
  struct Publisher {
    net::Socket socket;
    Carry carry;
    std::string out;  // published but not yet sent
    bool want_out = false;
    bool joined = false;
    uint64_t next_seq = 1;        // the next message to publish
    uint64_t oldest_pending = 1;  // the oldest message not yet complete
  };

  void poll(int timeout_ms) {
    const int n = epoll_.wait(events_, kMaxEvents, timeout_ms);
    measuring_ = driver_.phase() == Phase::kMeasure;
    uint64_t delivered = 0;
    for (int e = 0; e < n; ++e) {
      const uint32_t i = events_[e].data.u32;
      if (i == kWakeIndex) {
        window_.drain_wake();
      } else if (i == kPublisherIndex) {
        if (events_[e].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) read_publisher();
        if (events_[e].events & EPOLLOUT) flush_publisher();
      } else if (members_[i].socket.valid()) {
        delivered += read_member(i);
      }
    }
    stats_.done.fetch_add(delivered, std::memory_order_relaxed);
  }

  // Reads until drained; returns the deliveries.
  size_t read_member(uint32_t i) {
    Member& m = members_[i];
    size_t delivered = 0;
    for (;;) {
      const ssize_t n = m.socket.recv(buf_, kReadChunk);
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) break;
        drop_member(i);
        break;
      }
      const uint64_t now = now_ns();
      const std::string_view data = m.carry.join(std::string_view(buf_, static_cast<size_t>(n)));
      const size_t used =
          redis_ ? member_replies(m, data, now, delivered) : member_lines(m, data, now, delivered);
      m.carry.keep_rest(data, used);
      if (static_cast<size_t>(n) < kReadChunk) break;  // drained (see bench_rr.cpp)
    }
    return delivered;
  }

  size_t member_lines(Member& m, std::string_view data, uint64_t now, size_t& delivered) {
    size_t pos = 0;
    for (;;) {
      const size_t nl = data.find('\n', pos);
      if (nl == std::string_view::npos) return pos;
      std::string_view line = data.substr(pos, nl - pos);
      pos = nl + 1;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (!m.joined) {
        check_login(line, fmt::format("bench{}", first_member_ + (&m - members_.data())));
        if (line == "success") {
          m.joined = true;
          ++joined_;
        }
        continue;
      }
      // "[<ctime>] bench-pub: <seq>"; join notices and the like are not ours.
      if (line.empty() || line.front() != '[') continue;
      const size_t at = line.find(marker_);
      if (at == std::string_view::npos) continue;
      if (auto seq = parse_seq(line.substr(at + marker_.size()))) {
        deliver(m, *seq, now);
        ++delivered;
      }
    }
  }

  size_t member_replies(Member& m, std::string_view data, uint64_t now, size_t& delivered) {
    size_t pos = 0;
    for (;;) {
      RespReply reply;
      size_t used = 0;
      const RespParse r = parse_resp(data.substr(pos), reply, used);
      if (r == RespParse::kNeedMore) return pos;
      if (r == RespParse::kMalformed) throw std::runtime_error("malformed RESP reply from server");
      pos += used;
      if (reply.type == '-') throw std::runtime_error(fmt::format("server said: {}", reply.scalar));
      if (reply.type != '*' || reply.count != 3) continue;
      if (reply.items[0] == "subscribe" && !m.joined) {
        m.joined = true;
        ++joined_;
      } else if (reply.items[0] == "message") {
        if (auto seq = parse_seq(reply.items[2])) {
          deliver(m, *seq, now);
          ++delivered;
        }
      }
    }
  }

  // The chat server's answer to a login: anything but success ends the run.
  void check_login(std::string_view line, const std::string& name) {
    if (line == "reuse") {
      throw std::runtime_error(
          fmt::format("name {} is already taken in room {} (another bench running? try --room)",
                      name, o_.room));
    }
    if (line.rfind("error", 0) == 0) {
      throw std::runtime_error(fmt::format("server refused {}: {}", name, line));
    }
  }

  void deliver(Member& m, uint64_t seq, uint64_t now) {
    if (seq <= m.last) return;  // a duplicate: not a delivery
    m.last = seq;
    Window::Slot& slot = window_.slot(seq);
    if (measuring_) {
      stats_.latency.record(now - slot.sent_ns.load(std::memory_order_acquire));
      ++stats_.measured;
    }
    if (slot.remaining.fetch_sub(1, std::memory_order_acq_rel) == 1 && !has_publisher_) {
      window_.wake();
    }
  }

  void drop_member(uint32_t i) {
    Member& m = members_[i];
    if (!m.joined) {
      throw std::runtime_error(
          fmt::format("the server closed member bench{} while it joined", first_member_ + i));
    }
    ++stats_.errors;
    epoll_.remove(m.socket.fd());
    m.socket.close();
    window_.report_dropped(m.last);
    if (!has_publisher_) window_.wake();
  }

  void read_publisher() {
    for (;;) {
      const ssize_t n = pub_.socket.recv(buf_, kReadChunk);
      if (n <= 0) {
        if (n < 0 && (errno == EINTR)) continue;
        if (n < 0 && errno == EAGAIN) return;
        throw std::runtime_error("the server closed the publisher's connection");
      }
      const std::string_view data = pub_.carry.join(std::string_view(buf_, static_cast<size_t>(n)));
      size_t pos = 0;
      if (redis_) {
        RespReply reply;
        size_t used = 0;
        RespParse r;
        while ((r = parse_resp(data.substr(pos), reply, used)) == RespParse::kReply) {
          pos += used;
          if (reply.type == '-')
            throw std::runtime_error(fmt::format("server said: {}", reply.scalar));
        }
        if (r == RespParse::kMalformed)
          throw std::runtime_error("malformed RESP reply from server");
      } else {
        size_t nl;
        while ((nl = data.find('\n', pos)) != std::string_view::npos) {
          std::string_view line = data.substr(pos, nl - pos);
          pos = nl + 1;
          if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
          if (pub_.joined) continue;  // join notices, members' logins: not ours
          check_login(line, kPublisherName);
          if (line == "success") pub_.joined = true;
        }
      }
      pub_.carry.keep_rest(data, pos);
      if (static_cast<size_t>(n) < kReadChunk) return;
    }
  }

  // Retires what is complete and fills the window again: one send for all of it.
  void pump(bool measuring) {
    retire_dropped();
    while (pub_.oldest_pending < pub_.next_seq &&
           window_.slot(pub_.oldest_pending).remaining.load(std::memory_order_acquire) <= 0) {
      ++pub_.oldest_pending;
      if (measuring) ++stats_.messages;
    }
    if (live_ == 0) return;  // every member is gone: nothing left to measure
    const uint64_t now = now_ns();
    while (pub_.next_seq - pub_.oldest_pending < window_.size()) {
      const uint64_t seq = pub_.next_seq++;
      Window::Slot& slot = window_.slot(seq);
      slot.remaining.store(static_cast<int64_t>(live_), std::memory_order_relaxed);
      slot.sent_ns.store(now, std::memory_order_release);
      char digits[24];
      const auto end = std::to_chars(digits, digits + sizeof digits, seq).ptr;
      if (redis_) {
        pub_.out.append("PUBLISH ").append(o_.room).append(" ");
        pub_.out.append(digits, end).append("\r\n");
      } else {
        pub_.out.append(digits, end).append("\n");
      }
    }
    flush_publisher();
  }

  // A dropped member will never receive what it had not yet received; count
  // it out of those messages, and of everything published from now on.
  void retire_dropped() {
    for (const uint64_t last : window_.take_dropped()) {
      --live_;
      for (uint64_t seq = std::max(last + 1, pub_.oldest_pending); seq < pub_.next_seq; ++seq) {
        window_.slot(seq).remaining.fetch_sub(1, std::memory_order_acq_rel);
      }
    }
  }

  void flush_publisher() {
    if (pub_.out.empty()) return;
    const ssize_t n = pub_.socket.send(pub_.out.data(), pub_.out.size());
    if (n > 0) {
      pub_.out.erase(0, static_cast<size_t>(n));
    } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
      throw std::system_error(errno, std::generic_category(), "cannot send as the publisher");
    }
    const bool want_out = !pub_.out.empty();
    if (want_out != pub_.want_out) {
      epoll_.modify(pub_.socket.fd(), want_out ? EPOLLIN | EPOLLOUT : EPOLLIN, kPublisherIndex);
      pub_.want_out = want_out;
    }
  }

  const Options& o_;
  Driver& driver_;
  WorkerStats& stats_;
  Window& window_;
  const size_t first_member_;
  const bool redis_;
  const bool has_publisher_;
  size_t live_;  // members still connected (publisher's view)
  const std::string marker_;
  std::vector<Member> members_;
  Publisher pub_;
  size_t joined_ = 0;
  bool measuring_ = false;
  Epoll epoll_;
  epoll_event events_[kMaxEvents];
  char buf_[kReadChunk];
};
}  // namespace

Result run_fanout(const Options& o) {
  ensure_fd_limit(o.connections + 1);
  Result r;
  const net::Address target = probe_stream(o.endpoint);
  r.target = target.to_string();
  std::vector<net::Address> member_targets;
  for (uint16_t port : o.member_ports) {
    net::Endpoint node = o.endpoint;
    node.port = port;
    member_targets.push_back(probe_stream(node));
  }
  Window window(o.window);
  Driver driver(o);
  driver.run_timed(
      [&](size_t w) {
        size_t first = 0;
        for (size_t k = 0; k < w; ++k) first += share_of(o.connections, o.threads, k);
        auto worker = std::make_unique<FanoutWorker>(o, driver, driver.stats(w), window, first,
                                                     share_of(o.connections, o.threads, w),
                                                     /*publisher=*/w == 0, o.connections);
        worker->setup(target, member_targets);
        worker->run();
      },
      "deliveries", r);
  return r;
}

}  // namespace netlab::modes::bench
