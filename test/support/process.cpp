#include "support/process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>
#include <utility>

extern char** environ;

namespace netlab::testing {

namespace {
// Writing to a child's stdin after it exited must be an error, not a death.
const bool kSigpipeIgnored = [] {
  ::signal(SIGPIPE, SIG_IGN);
  return true;
}();

[[noreturn]] void die(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

void set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) die("fcntl");
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// host must be a numeric loopback address; anything else is a test bug.
socklen_t make_inet_address(const std::string& host, uint16_t port, sockaddr_storage& ss) {
  std::memset(&ss, 0, sizeof(ss));
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    if (v4->sin_addr.s_addr != htonl(INADDR_LOOPBACK))
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

Process::Process(std::vector<std::string> args, std::optional<std::string> stdin_bytes) {
  (void)kSigpipeIgnored;
  int out[2], err[2], in[2] = {-1, -1};
  if (::pipe2(out, O_CLOEXEC) < 0 || ::pipe2(err, O_CLOEXEC) < 0) die("pipe2");
  if (stdin_bytes && ::pipe2(in, O_CLOEXEC) < 0) die("pipe2");

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (stdin_bytes) {
    posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
  } else {
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  }
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);

  // Default signal handling and an empty mask, whatever the test process
  // does; a process group of its own so the destructor also reaches the
  // fork model's children.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

  std::vector<std::string> argv_strings;
  argv_strings.push_back(NETLAB_BINARY);
  for (auto& a : args) argv_strings.push_back(std::move(a));
  std::vector<char*> argv;
  for (auto& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);

  const int rc = ::posix_spawn(&pid_, argv[0], &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(out[1]);
  ::close(err[1]);
  if (in[0] >= 0) ::close(in[0]);
  if (rc != 0) {
    ::close(out[0]);
    ::close(err[0]);
    if (in[1] >= 0) ::close(in[1]);
    errno = rc;
    die("posix_spawn " NETLAB_BINARY);
  }
  out_fd_ = out[0];
  err_fd_ = err[0];
  stdin_fd_ = in[1];
  set_nonblocking(out_fd_);
  set_nonblocking(err_fd_);
  pidfd_ =
      static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));  // -1 on old kernels: we poll in slices
  if (stdin_fd_ >= 0) {
    set_nonblocking(stdin_fd_);
    stdin_left_ = std::move(*stdin_bytes);
    write_stdin();
  }
}

Process::~Process() {
  if (!reaped_) kill_and_reap();
  close_fd(pidfd_);
  close_fd(stdin_fd_);
  close_fd(out_fd_);
  close_fd(err_fd_);
}

void Process::write_stdin() {
  while (stdin_fd_ >= 0 && !stdin_left_.empty()) {
    const ssize_t n = ::write(stdin_fd_, stdin_left_.data(), stdin_left_.size());
    if (n > 0) {
      stdin_left_.erase(0, static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {
      return;
    } else {
      stdin_left_.clear();  // EPIPE: the child stopped reading
    }
  }
  close_fd(stdin_fd_);  // everything written: EOF for the child
}

bool Process::try_reap() {
  if (reaped_) return true;
  // Look without reaping: while the exited child is a zombie its pid, and so
  // its process group id, cannot be reused, so killing the group reaches
  // only what it left behind (forked workers), never a stranger.
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0 ||
      info.si_pid != pid_) {
    return false;
  }
  ::kill(-pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  status_ = status;
  close_fd(pidfd_);
  close_fd(stdin_fd_);
  return true;
}

void Process::kill_and_reap() {
  // The child is alive or a zombie here, so its group id is still ours.
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  status_ = status;
  close_fd(pidfd_);
}

void Process::pump(int timeout_ms) {
  pollfd fds[4];
  int* owners[4];
  nfds_t n = 0;
  auto add = [&](int& fd, short events) {
    if (fd < 0) return;
    fds[n] = {fd, events, 0};
    owners[n++] = &fd;
  };
  add(out_fd_, POLLIN);
  add(err_fd_, POLLIN);
  if (!stdin_left_.empty()) add(stdin_fd_, POLLOUT);
  if (!reaped_) add(pidfd_, POLLIN);
  // Without a pidfd nothing tells us the child exited: look every 10 ms.
  if (!reaped_ && pidfd_ < 0 && (timeout_ms < 0 || timeout_ms > 10)) timeout_ms = 10;
  if (n == 0) {
    try_reap();
    return;
  }
  if (::poll(fds, n, timeout_ms) < 0 && errno != EINTR) die("poll");
  for (nfds_t i = 0; i < n; ++i) {
    if (fds[i].revents == 0) continue;
    int& fd = *owners[i];
    if (&fd == &stdin_fd_) {
      write_stdin();
    } else if (&fd == &pidfd_) {
      try_reap();
    } else {
      std::string& sink = (&fd == &out_fd_) ? out_ : err_;
      char buf[65536];
      for (;;) {
        const ssize_t got = ::read(fd, buf, sizeof(buf));
        if (got > 0) {
          sink.append(buf, static_cast<size_t>(got));
          continue;
        }
        if (got < 0 && errno == EINTR) continue;
        if (got < 0 && errno == EAGAIN) break;
        close_fd(fd);  // EOF
        break;
      }
    }
  }
  if (pidfd_ < 0) try_reap();
}

std::optional<std::string> Process::wait_for_stderr(const std::regex& re, Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  size_t scanned = 0;  // complete lines before this offset did not match
  for (;;) {
    size_t nl;
    while ((nl = err_.find('\n', scanned)) != std::string::npos) {
      std::string line = err_.substr(scanned, nl - scanned);
      scanned = nl + 1;
      if (std::regex_search(line, re)) return line;
    }
    if (err_fd_ < 0 || Clock::now() >= deadline) return std::nullopt;
    pump(ms_left(deadline));
  }
}

std::optional<uint16_t> Process::wait_for_port(std::string_view proto, bool ipv6, Millis timeout) {
  const std::string host = ipv6 ? R"(\[::1\])" : R"(127\.0\.0\.1)";
  const std::regex re("^netlab [a-z-]+: listening on " + std::string(proto) + " " + host +
                      ":([0-9]+)$");
  const auto line = wait_for_stderr(re, timeout);
  if (!line) {
    ADD_FAILURE() << "no 'listening on " << proto << "' line from pid " << pid_
                  << "; stderr so far:\n"
                  << err_;
    return std::nullopt;
  }
  std::smatch m;
  std::regex_search(*line, m, re);
  const long port = std::strtol(m[1].str().c_str(), nullptr, 10);
  if (port <= 0 || port > 65535) {
    ADD_FAILURE() << "bad port in: " << *line;
    return std::nullopt;
  }
  return static_cast<uint16_t>(port);
}

bool Process::signal(int sig) {
  return !reaped_ && ::kill(pid_, sig) == 0;
}

int Process::wait_exit(Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!(reaped_ && out_fd_ < 0 && err_fd_ < 0)) {
    if (Clock::now() >= deadline) {
      if (reaped_) break;  // exited; only a straggler still holds the pipes
      ADD_FAILURE() << "pid " << pid_ << " did not exit within " << timeout.count()
                    << " ms; killed. stderr:\n"
                    << err_;
      kill_and_reap();
      return -1;
    }
    pump(ms_left(deadline));
  }
  if (WIFEXITED(status_)) return WEXITSTATUS(status_);
  if (WIFSIGNALED(status_)) return 128 + WTERMSIG(status_);
  return -1;
}

int Process::terminate(Millis timeout) {
  signal(SIGTERM);
  return wait_exit(timeout);
}

// ---------------------------------------------------------------- Client

Client Client::connect_to(const sockaddr_storage& ss, socklen_t len, int rcvbuf, Millis timeout) {
  const int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) die("socket");
  Client c(fd);
  if (rcvbuf > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
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

std::optional<std::string> Datagram::receive(Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (!wait_fd(fd_, POLLIN, deadline)) return std::nullopt;
    std::string buf(65536, '\0');
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
    std::string buf(65536, '\0');
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
