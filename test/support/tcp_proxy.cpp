#include "support/tcp_proxy.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <string_view>

namespace netlab::testing {

namespace {

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

bool write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

TcpProxy::TcpProxy(uint16_t upstream_port) : upstream_port_(upstream_port) {
  if (::pipe2(wake_fds_, O_CLOEXEC | O_NONBLOCK) != 0) return;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  sockaddr_in a = loopback(0);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 64) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    return;
  }
  listen_fd_ = fd;
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] { run(); });
}

TcpProxy::~TcpProxy() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake();
  if (thread_.joinable()) thread_.join();
  close_all();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  for (int fd : wake_fds_) {
    if (fd >= 0) ::close(fd);
  }
}

// The proxy thread does the closing (it alone owns the connections); cut()
// returns once it has, so whatever the test does next happens after the cut.
void TcpProxy::cut() {
  std::unique_lock<std::mutex> lock(mu_);
  cut_ = true;
  cut_done_ = false;
  lock.unlock();
  wake();
  lock.lock();
  // Bounded: a proxy thread that died must not hang the test.
  applied_.wait_for(lock, std::chrono::seconds(3), [this] { return cut_done_; });
}

void TcpProxy::restore() {
  std::lock_guard<std::mutex> lock(mu_);
  cut_ = false;
  needle_.clear();
}

void TcpProxy::cut_after(std::string needle) {
  std::lock_guard<std::mutex> lock(mu_);
  needle_ = std::move(needle);
}

bool TcpProxy::is_cut() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cut_;
}

void TcpProxy::wake() {
  const char b = 1;
  [[maybe_unused]] const ssize_t n = ::write(wake_fds_[1], &b, 1);
}

void TcpProxy::run() {
  for (;;) {
    std::vector<pollfd> fds = {{wake_fds_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    for (const Pair& p : pairs_) {
      fds.push_back({p.client, POLLIN, 0});
      fds.push_back({p.server, POLLIN, 0});
    }
    if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) return;

    if (fds[0].revents != 0) {
      char drain[64];
      while (::read(wake_fds_[0], drain, sizeof drain) > 0) {
      }
    }
    bool cut_now = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      cut_now = cut_ && !cut_done_;
    }
    if (!cut_now) {
      // Pairs first: a chunk that triggers cut_after() ends every pair.
      for (size_t i = 0; i < pairs_.size(); ++i) {
        const short client_ev = fds[2 + 2 * i].revents;
        const short server_ev = fds[3 + 2 * i].revents;
        Pair& p = pairs_[i];
        if (p.client < 0) continue;  // closed by a cut earlier in this round
        bool open = true;
        if (client_ev != 0) open = forward(p.client, p.server, true);
        if (open && p.client >= 0 && server_ev != 0) open = forward(p.server, p.client, false);
        if (!open) close_pair(p);
        std::lock_guard<std::mutex> lock(mu_);
        if (cut_) {
          cut_now = true;
          break;
        }
      }
      std::erase_if(pairs_, [](const Pair& p) { return p.client < 0; });
    }
    if (cut_now) {
      close_all();
      std::lock_guard<std::mutex> lock(mu_);
      cut_done_ = true;
      applied_.notify_all();
    }
    if (fds[1].revents != 0) accept_one();
  }
}

void TcpProxy::accept_one() {
  const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (client < 0) return;
  bool refuse;
  {
    std::lock_guard<std::mutex> lock(mu_);
    refuse = cut_;
  }
  if (refuse) {
    ::close(client);
    return;
  }
  const int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const sockaddr_in a = loopback(upstream_port_);
  if (server < 0 || ::connect(server, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
    if (server >= 0) ::close(server);
    ::close(client);
    return;
  }
  pairs_.push_back({client, server});
}

bool TcpProxy::forward(int from, int to, bool from_client) {
  char buf[65536];
  const ssize_t n = ::recv(from, buf, sizeof buf, 0);
  if (n < 0 && errno == EINTR) return true;
  if (n <= 0) return false;
  if (!write_all(to, buf, static_cast<size_t>(n))) return false;
  if (from_client) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!needle_.empty() &&
        std::string_view(buf, static_cast<size_t>(n)).find(needle_) != std::string_view::npos) {
      needle_.clear();
      cut_ = true;
      cut_done_ = false;
    }
  }
  return true;
}

void TcpProxy::close_pair(Pair& p) {
  if (p.client >= 0) ::close(p.client);
  if (p.server >= 0) ::close(p.server);
  p.client = p.server = -1;
}

void TcpProxy::close_all() {
  for (Pair& p : pairs_) close_pair(p);
  pairs_.clear();
}

}  // namespace netlab::testing
