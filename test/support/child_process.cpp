#include "support/child_process.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <system_error>
#include <utility>

#include "support/process.hpp"

extern char** environ;

namespace netlab::testing {

const std::string& netlab_binary() {
  static const std::string path = [] {
    const char* env = std::getenv("NETLAB_BINARY");
    return std::string(env != nullptr && env[0] != '\0' ? env : NETLAB_BINARY);
  }();
  return path;
}

}  // namespace netlab::testing

namespace netlab::testing::detail {

namespace {
// Writing to a child's stdin after it exited must be an error, not a death.
const bool kSigpipeIgnored = [] {
  ::signal(SIGPIPE, SIG_IGN);
  return true;
}();

// The test's environment with TERM=dumb and no inputrc, so readline on the
// pty draws with plain characters whatever terminal runs the tests.
std::vector<std::string> pty_environment() {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view v(*e);
    if (v.starts_with("TERM=") || v.starts_with("INPUTRC=") || v.starts_with("COLUMNS=") ||
        v.starts_with("LINES=")) {
      continue;
    }
    env.emplace_back(v);
  }
  env.emplace_back("TERM=dumb");
  env.emplace_back("INPUTRC=/dev/null");
  return env;
}
}  // namespace

void die(const char* what) {
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

ChildProcess::ChildProcess(std::vector<std::string> args, Stdio stdio, std::string stdin_bytes,
                           unsigned max_fds)
    : stdio_(stdio) {
  (void)kSigpipeIgnored;
  const bool pty = stdio_ == Stdio::kPty;
  int err[2];
  if (::pipe2(err, O_CLOEXEC) < 0) die("pipe2");
  int in[2] = {-1, -1};
  int out[2] = {-1, -1};
  int master = -1;
  std::string slave_path;

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;

  if (!pty) {
    if (::pipe2(out, O_CLOEXEC) < 0) die("pipe2");
    if (stdio_ == Stdio::kNullStdin) {
      posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    } else {
      if (::pipe2(in, O_CLOEXEC) < 0) die("pipe2");
      posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
    }
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    // A process group of its own, so the destructor also reaches whatever it
    // forks (the fork model's children).
    posix_spawnattr_setpgroup(&attr, 0);
    flags |= POSIX_SPAWN_SETPGROUP;
  } else {
    master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || ::grantpt(master) < 0 || ::unlockpt(master) < 0) die("posix_openpt");
    char name[128];
    if (::ptsname_r(master, name, sizeof(name)) != 0) die("ptsname_r");
    slave_path = name;
    const winsize ws{24, 80, 0, 0};
    ::ioctl(master, TIOCSWINSZ, &ws);
    // A session of its own: opening the slave makes it the controlling
    // terminal, as for a user at a terminal (and a group to kill).
    flags |= POSIX_SPAWN_SETSID;
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, slave_path.c_str(), O_RDWR, 0);
    posix_spawn_file_actions_adddup2(&actions, STDIN_FILENO, STDOUT_FILENO);
  }
  posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);

  // Default signal handling and an empty mask, whatever the test process does.
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, flags);

  std::vector<std::string> argv_strings;
  if (max_fds > 0) {
    // dash and bash alike set both limits for "ulimit -n" without -H/-S; exec
    // keeps the pid, so the child is still netlab itself to the caller.
    argv_strings = {"/bin/sh", "-c",
                    "ulimit -n " + std::to_string(max_fds) + R"( && exec "$0" "$@")"};
  }
  argv_strings.push_back(netlab_binary());
  for (auto& a : args) argv_strings.push_back(std::move(a));
  std::vector<char*> argv;
  for (auto& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::vector<std::string> env_strings;
  std::vector<char*> envp;
  char** env = environ;
  if (pty) {
    env_strings = pty_environment();
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    env = envp.data();
  }

  const int rc = ::posix_spawn(&pid_, argv[0], &actions, &attr, argv.data(), env);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(err[1]);
  if (in[0] >= 0) ::close(in[0]);
  if (out[1] >= 0) ::close(out[1]);
  if (rc != 0) {
    ::close(err[0]);
    if (in[1] >= 0) ::close(in[1]);
    if (out[0] >= 0) ::close(out[0]);
    if (master >= 0) ::close(master);
    const std::string what = "posix_spawn " + netlab_binary();
    errno = rc;
    die(what.c_str());
  }
  err_fd_ = err[0];
  if (!pty) {
    in_fd_ = in[1];
    out_fd_ = out[0];
  } else {
    out_fd_ = master;
    in_fd_ = ::fcntl(master, F_DUPFD_CLOEXEC, 0);
    if (in_fd_ < 0) die("dup");
  }
  if (in_fd_ >= 0) set_nonblocking(in_fd_);
  set_nonblocking(out_fd_);
  set_nonblocking(err_fd_);
  pidfd_ =
      static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));  // -1 on old kernels: we poll in slices
  if (stdio_ == Stdio::kFedStdin) {
    stdin_left_ = std::move(stdin_bytes);
    write_fed_stdin();
  }
}

ChildProcess::~ChildProcess() {
  if (!reaped_) kill_and_reap();
  close_fd(pidfd_);
  close_fd(in_fd_);
  close_fd(out_fd_);
  close_fd(err_fd_);
}

void ChildProcess::write_fed_stdin() {
  while (in_fd_ >= 0 && !stdin_left_.empty()) {
    const ssize_t n = ::write(in_fd_, stdin_left_.data(), stdin_left_.size());
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
  close_fd(in_fd_);  // everything written: EOF for the child
}

bool ChildProcess::write(std::string_view bytes, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!bytes.empty()) {
    if (in_fd_ < 0) return false;
    const ssize_t n = ::write(in_fd_, bytes.data(), bytes.size());
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) return false;  // EPIPE: the child stopped reading
    if (Clock::now() >= deadline) return false;
    // Full: drain the child's output meanwhile so it cannot block on us.
    pollfd p{in_fd_, POLLOUT, 0};
    pump(0);
    ::poll(&p, 1, std::min(ms_left(deadline), 10));
  }
  return true;
}

void ChildProcess::close_stdin() {
  close_fd(in_fd_);
}

bool ChildProcess::try_reap() {
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
  if (stdio_ == Stdio::kFedStdin) close_fd(in_fd_);  // nobody reads the rest
  return true;
}

void ChildProcess::kill_and_reap() {
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

void ChildProcess::pump(int timeout_ms) {
  pollfd fds[4];
  int* owners[4];
  nfds_t n = 0;
  auto add = [&](int& fd, short events) {
    if (fd < 0) return;
    fds[n] = {fd, events, 0};
    owners[n++] = &fd;
  };
  if (!stdout_paused_) add(out_fd_, POLLIN);
  add(err_fd_, POLLIN);
  if (!stdin_left_.empty()) add(in_fd_, POLLOUT);
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
    if (&fd == &in_fd_) {
      write_fed_stdin();
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
        close_fd(fd);  // EOF (a pty master reports EIO once the slave side is gone)
        break;
      }
    }
  }
  if (pidfd_ < 0) try_reap();
}

bool ChildProcess::wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                              Until until) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    const bool open =
        until == Until::kStderrEof ? err_fd_ >= 0 : (out_fd_ >= 0 || err_fd_ >= 0 || !reaped_);
    if (!open || Clock::now() >= deadline) return pred();
    pump(ms_left(deadline));
  }
}

std::optional<std::string> ChildProcess::wait_for_stderr(const std::regex& re,
                                                         std::chrono::milliseconds timeout,
                                                         Until until) {
  std::optional<std::string> found;
  size_t scanned = 0;  // complete lines before this offset did not match
  wait_until(
      [&] {
        size_t nl;
        while ((nl = err_.find('\n', scanned)) != std::string::npos) {
          std::string line = err_.substr(scanned, nl - scanned);
          scanned = nl + 1;
          if (std::regex_search(line, re)) {
            found = std::move(line);
            return true;
          }
        }
        return false;
      },
      timeout, until);
  return found;
}

std::optional<uint16_t> ChildProcess::wait_for_port(const std::regex& re, std::string_view what,
                                                    std::chrono::milliseconds timeout,
                                                    Until until) {
  const auto line = wait_for_stderr(re, timeout, until);
  if (!line) {
    ADD_FAILURE() << "no 'listening on " << what << "' line from pid " << pid_
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

bool ChildProcess::signal(int sig) {
  return !reaped_ && ::kill(pid_, sig) == 0;
}

int ChildProcess::wait_exit(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  // A pty master may never report EOF while the slave is open elsewhere: the
  // exit itself is what counts there.
  const auto done = [&] {
    return reaped_ && err_fd_ < 0 && (out_fd_ < 0 || stdio_ == Stdio::kPty);
  };
  while (!done()) {
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
  if (stdio_ == Stdio::kPty) pump(0);  // whatever the pty still holds
  if (WIFEXITED(status_)) return WEXITSTATUS(status_);
  if (WIFSIGNALED(status_)) return 128 + WTERMSIG(status_);
  return -1;
}

}  // namespace netlab::testing::detail
