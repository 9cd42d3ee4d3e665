#include "support/process.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <utility>

namespace netlab::testing {

namespace {
using detail::close_fd;
using detail::die;

// host must be a numeric loopback address; anything else is a test bug.
socklen_t make_inet_address(const std::string& host, uint16_t port, sockaddr_storage& ss) {
  std::memset(&ss, 0, sizeof(ss));
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    // All of 127.0.0.0/8 is loopback on Linux: the access tests connect
    // from 127.0.0.2 to tell two local clients apart.
    if ((ntohl(v4->sin_addr.s_addr) >> 24) != IN_LOOPBACKNET)
      throw std::invalid_argument("not loopback: " + host);
    return sizeof(sockaddr_in);
  }
  if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    if (!IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr)) throw std::invalid_argument("not loopback: " + host);
    return sizeof(sockaddr_in6);
  }
  throw std::invalid_argument("not a numeric address: " + host);
}

socklen_t make_unix_address(const std::string& path, sockaddr_storage& ss) {
  std::memset(&ss, 0, sizeof(ss));
  auto* un = reinterpret_cast<sockaddr_un*>(&ss);
  if (path.size() >= sizeof(un->sun_path))
    throw std::invalid_argument("unix path too long: " + path);
  un->sun_family = AF_UNIX;
  std::memcpy(un->sun_path, path.c_str(), path.size() + 1);
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
}

uint16_t local_port(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) die("getsockname");
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return 0;
}

// poll() one fd; true when `events` (or an error/hangup) came before the deadline.
bool wait_fd(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, ms_left(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}
}  // namespace

int ms_left(Clock::time_point deadline) {
  const auto left = std::chrono::ceil<Millis>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

std::string elapsed_ms(Clock::time_point since) {
  return std::to_string(std::chrono::duration_cast<Millis>(Clock::now() - since).count()) + " ms";
}

// ---------------------------------------------------------------- Process

Process::Process(std::vector<std::string> args, std::optional<std::string> stdin_bytes)
    : child_(std::move(args),
             stdin_bytes ? detail::ChildProcess::Stdio::kFedStdin
                         : detail::ChildProcess::Stdio::kNullStdin,
             stdin_bytes ? std::move(*stdin_bytes) : std::string()) {}

Process::Process(std::vector<std::string> args, FdLimit limit)
    : child_(std::move(args), detail::ChildProcess::Stdio::kNullStdin, std::string(),
             limit.max_fds) {}

Process::~Process() = default;  // ChildProcess kills and reaps

// Process gives up waiting once stderr ends (InteractiveProcess only once
// everything has).
std::optional<std::string> Process::wait_for_stderr(const std::regex& re, Millis timeout) {
  return child_.wait_for_stderr(re, timeout, detail::ChildProcess::Until::kStderrEof);
}

std::optional<uint16_t> Process::wait_for_port(std::string_view proto, bool ipv6, Millis timeout) {
  const std::string host = ipv6 ? R"(\[::1\])" : R"(127\.0\.0\.1)";
  const std::regex re("^netlab [a-z-]+: listening on " + std::string(proto) + " " + host +
                      ":([0-9]+)$");
  return child_.wait_for_port(re, proto, timeout, detail::ChildProcess::Until::kStderrEof);
}

bool Process::signal(int sig) {
  return child_.signal(sig);
}

int Process::wait_exit(Millis timeout) {
  return child_.wait_exit(timeout);
}

int Process::terminate(Millis timeout) {
  signal(SIGTERM);
  return wait_exit(timeout);
}

// ---------------------------------------------------------------- Client

Client Client::connect_to(const sockaddr_storage& ss, socklen_t len, int rcvbuf, Millis timeout,
                          const sockaddr_storage* source, socklen_t source_len) {
  const int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) die("socket");
  Client c(fd);
  if (rcvbuf > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  if (source != nullptr && ::bind(fd, reinterpret_cast<const sockaddr*>(source), source_len) < 0) {
    die("bind");
  }
  int err = 0;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&ss), len) < 0) {
    err = errno;
    if (err == EINPROGRESS || err == EAGAIN) {
      err = ETIMEDOUT;
      if (wait_fd(fd, POLLOUT, Clock::now() + timeout)) {
        socklen_t l = sizeof(err);
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l);
      }
    }
  }
  if (err != 0) {
    c.close();
    c.error_ = err;
  }
  return c;
}

Client Client::tcp(const std::string& host, uint16_t port, int rcvbuf, Millis timeout) {
  sockaddr_storage ss;
  const socklen_t len = make_inet_address(host, port, ss);
  return connect_to(ss, len, rcvbuf, timeout);
}

Client Client::tcp_from(const std::string& source, const std::string& host, uint16_t port,
                        Millis timeout) {
  sockaddr_storage from;
  const socklen_t from_len = make_inet_address(source, 0, from);
  sockaddr_storage ss;
  const socklen_t len = make_inet_address(host, port, ss);
  return connect_to(ss, len, 0, timeout, &from, from_len);
}

Client Client::unix_stream(const std::string& path, Millis timeout) {
  sockaddr_storage ss;
  const socklen_t len = make_unix_address(path, ss);
  return connect_to(ss, len, 0, timeout);
}

Client::~Client() {
  close();
}

Client::Client(Client&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      error_(other.error_),
      eof_(other.eof_),
      buffered_(std::move(other.buffered_)) {}

Client& Client::operator=(Client&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    error_ = other.error_;
    eof_ = other.eof_;
    buffered_ = std::move(other.buffered_);
  }
  return *this;
}

bool Client::send(std::string_view bytes, Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      error_ = errno;
      return false;
    }
    if (!wait_fd(fd_, POLLOUT, deadline)) return false;
  }
  return true;
}

bool Client::fill(Clock::time_point deadline) {
  if (fd_ < 0 || eof_) return false;
  for (;;) {
    if (!wait_fd(fd_, POLLIN, deadline)) return false;
    char buf[65536];
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) {
      buffered_.append(buf, static_cast<size_t>(n));
      return true;
    }
    if (n == 0) {
      eof_ = true;
      return false;
    }
    if (errno == EINTR || errno == EAGAIN) continue;
    error_ = errno;  // ECONNRESET counts as the end of the stream
    eof_ = true;
    return false;
  }
}

std::string Client::read_lines(size_t n, Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    size_t pos = 0, found = 0;
    while (found < n && (pos = buffered_.find('\n', pos)) != std::string::npos) {
      ++found;
      ++pos;
    }
    if (found == n) {
      std::string out = buffered_.substr(0, pos);
      buffered_.erase(0, pos);
      return out;
    }
    if (!fill(deadline)) return std::exchange(buffered_, {});
  }
}

std::string Client::read_bytes(size_t n, Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  while (buffered_.size() < n) {
    if (!fill(deadline)) return std::exchange(buffered_, {});
  }
  std::string out = buffered_.substr(0, n);
  buffered_.erase(0, n);
  return out;
}

std::string Client::read_until_eof(Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  while (fill(deadline)) {
  }
  return std::exchange(buffered_, {});
}

bool Client::readable_within(Millis timeout) {
  if (!buffered_.empty() || eof_) return true;
  return wait_fd(fd_, POLLIN, Clock::now() + timeout);
}

void Client::shutdown_write() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

void Client::reset() {
  if (fd_ < 0) return;
  const linger l{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  close();
}

void Client::close() {
  close_fd(fd_);
}

// ---------------------------------------------------------------- Datagram

Datagram Datagram::udp(const std::string& host) {
  sockaddr_storage ss;
  const socklen_t len = make_inet_address(host, 0, ss);
  Datagram d;
  d.fd_ = ::socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (d.fd_ < 0) die("socket");
  if (::bind(d.fd_, reinterpret_cast<sockaddr*>(&ss), len) < 0) die("bind");
  return d;
}

Datagram Datagram::unix_dgram(const std::string& path) {
  sockaddr_storage ss;
  const socklen_t len = make_unix_address(path, ss);
  Datagram d;
  d.fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (d.fd_ < 0) die("socket");
  if (::bind(d.fd_, reinterpret_cast<sockaddr*>(&ss), len) < 0) die("bind");
  return d;
}

Datagram::~Datagram() {
  close_fd(fd_);
}

Datagram::Datagram(Datagram&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      last_from_(other.last_from_),
      last_from_len_(other.last_from_len_) {}

Datagram& Datagram::operator=(Datagram&& other) noexcept {
  if (this != &other) {
    close_fd(fd_);
    fd_ = std::exchange(other.fd_, -1);
    last_from_ = other.last_from_;
    last_from_len_ = other.last_from_len_;
  }
  return *this;
}

uint16_t Datagram::port() const {
  return local_port(fd_);
}

bool Datagram::send_to(std::string_view data, const std::string& host, uint16_t port) {
  sockaddr_storage ss;
  const socklen_t len = make_inet_address(host, port, ss);
  return ::sendto(fd_, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&ss), len) ==
         static_cast<ssize_t>(data.size());
}

bool Datagram::send_to_unix(std::string_view data, const std::string& path) {
  sockaddr_storage ss;
  const socklen_t len = make_unix_address(path, ss);
  return ::sendto(fd_, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&ss), len) ==
         static_cast<ssize_t>(data.size());
}

bool Datagram::reply(std::string_view data) {
  if (last_from_len_ == 0) return false;
  return ::sendto(fd_, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&last_from_),
                  last_from_len_) == static_cast<ssize_t>(data.size());
}

std::optional<std::string> Datagram::receive(Millis timeout, size_t capacity) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (!wait_fd(fd_, POLLIN, deadline)) return std::nullopt;
    std::string buf(capacity, '\0');
    last_from_len_ = sizeof(last_from_);
    const ssize_t n = ::recvfrom(fd_, buf.data(), buf.size(), MSG_DONTWAIT,
                                 reinterpret_cast<sockaddr*>(&last_from_), &last_from_len_);
    if (n >= 0) {
      buf.resize(static_cast<size_t>(n));
      return buf;
    }
    last_from_len_ = 0;
    // EAGAIN: spurious wakeup; ECONNREFUSED: an ICMP error for an earlier send.
    if (errno != EAGAIN && errno != EINTR && errno != ECONNREFUSED) return std::nullopt;
  }
}

std::vector<std::string> Datagram::drain() {
  std::vector<std::string> out;
  for (;;) {
    std::string buf(128 * 1024, '\0');  // a Unix datagram may pass 64 KiB
    const ssize_t n = ::recv(fd_, buf.data(), buf.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR || errno == ECONNREFUSED) continue;
      return out;
    }
    buf.resize(static_cast<size_t>(n));
    out.push_back(std::move(buf));
  }
}

// ---------------------------------------------------------------- misc

uint16_t unused_port(int type) {
  const int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  sockaddr_storage ss;
  const socklen_t len = make_inet_address("127.0.0.1", 0, ss);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) < 0) {
    ::close(fd);
    die("bind");
  }
  const uint16_t port = local_port(fd);
  ::close(fd);
  return port;
}

Listening::Listening() {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) die("socket");
  sockaddr_storage ss;
  const socklen_t len = make_inet_address("127.0.0.1", 0, ss);
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&ss), len) < 0 || ::listen(fd_, 16) < 0)
    die("bind/listen");
  port_ = local_port(fd_);
}

Listening::~Listening() {
  close_fd(fd_);
}

Client Listening::accept(Millis timeout) {
  if (!wait_fd(fd_, POLLIN, Clock::now() + timeout)) return Client();
  const int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  return fd < 0 ? Client() : Client(fd);
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/netlab-e2e-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) die("mkdtemp");
  dir_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

}  // namespace netlab::testing
