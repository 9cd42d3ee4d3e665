#include "support/redis_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

extern char** environ;

namespace netlab::testing {

namespace {
constexpr int kStartAttempts = 5;

// Waits up to `slice` for the child to exit (readable pidfd); true once reaped.
bool exited_within(pid_t pid, Millis slice) {
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(slice.count()));
    ::close(pidfd);
  } else {
    // Old kernels: nothing to wait on; look again after the slice.
    ::poll(nullptr, 0, static_cast<int>(slice.count()));
  }
  int status = 0;
  const pid_t r = ::waitpid(pid, &status, WNOHANG);
  return r == pid || (r < 0 && errno == ECHILD);
}

bool reap(pid_t pid, Clock::time_point deadline) {
  while (!exited_within(pid, Millis(std::max(1, ms_left(deadline))))) {
    if (Clock::now() >= deadline) return false;
  }
  return true;
}
}  // namespace

RedisServer::RedisServer() {
  for (int attempt = 0; attempt < kStartAttempts && !running(); ++attempt) {
    start_on(free_port(), kTimeout);
  }
}

RedisServer::~RedisServer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    reap(pid_, Clock::now() + kTimeout);
  }
}

uint16_t RedisServer::free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sin;
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len) == 0) {
    port = ntohs(sin.sin_port);
  }
  ::close(fd);
  return port;
}

bool RedisServer::start_on(uint16_t port, Millis timeout) {
  const std::string port_text = std::to_string(port);
  std::vector<std::string> args = {
      "redis-server", "--port", port_text,    "--bind",  "127.0.0.1",   "--save", "",
      "--appendonly", "no",     "--loglevel", "warning", "--daemonize", "no"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, "redis-server", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    error_ = std::string("cannot run redis-server (make deps installs it): ") + std::strerror(rc);
    return false;
  }
  // Ready once it answers PING; gone at once if the port was taken.
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    Client c = Client::tcp("127.0.0.1", port, 0, Millis(200));
    if (c.valid() && c.send("PING\r\n") && c.read_lines(1, Millis(500)) == "+PONG\r\n") {
      pid_ = pid;
      port_ = port;
      return true;
    }
    // Refused: not listening yet, or it exited (the port was taken).
    if (exited_within(pid, Millis(10))) {
      error_ = "redis-server exited at start on port " + port_text;
      return false;
    }
  }
  ::kill(pid, SIGKILL);
  reap(pid, Clock::now() + kTimeout);
  error_ = "redis-server did not answer on port " + port_text;
  return false;
}

bool RedisServer::stop(Millis timeout) {
  if (pid_ <= 0) return true;
  ::kill(pid_, SIGTERM);
  const bool done = reap(pid_, Clock::now() + timeout);
  if (done) pid_ = -1;
  return done;
}

bool RedisServer::start_again(Millis timeout) {
  if (running()) return true;
  return start_on(port_, timeout);
}

std::string RedisServer::query(const std::string& inline_command, Millis timeout) {
  Client c = Client::tcp("127.0.0.1", port_, 0, timeout);
  if (!c.valid() || !c.send(inline_command + "\r\n")) return {};
  return c.read_lines(1, timeout);
}

}  // namespace netlab::testing
