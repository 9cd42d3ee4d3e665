#include "support/chat_client_helpers.hpp"

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

#include <cerrno>
#include <cstring>
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

InteractiveProcess::InteractiveProcess(std::vector<std::string> args, Stdio stdio) : stdio_(stdio) {
  (void)kSigpipeIgnored;
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

  if (stdio_ == Stdio::kPipes) {
    if (::pipe2(in, O_CLOEXEC) < 0 || ::pipe2(out, O_CLOEXEC) < 0) die("pipe2");
    posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    // A process group of its own, so the destructor reaches anything it forks.
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

  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, flags);

  std::vector<std::string> argv_strings;
  argv_strings.push_back(NETLAB_BINARY);
  for (auto& a : args) argv_strings.push_back(std::move(a));
  std::vector<char*> argv;
  for (auto& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::vector<std::string> env_strings;
  std::vector<char*> envp;
  char** env = environ;
  if (stdio_ == Stdio::kPty) {
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
    errno = rc;
    die("posix_spawn " NETLAB_BINARY);
  }
  err_fd_ = err[0];
  if (stdio_ == Stdio::kPipes) {
    in_fd_ = in[1];
    out_fd_ = out[0];
  } else {
    out_fd_ = master;
    in_fd_ = ::fcntl(master, F_DUPFD_CLOEXEC, 0);
    if (in_fd_ < 0) die("dup");
  }
  set_nonblocking(in_fd_);
  set_nonblocking(out_fd_);
  set_nonblocking(err_fd_);
  pidfd_ =
      static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));  // -1 on old kernels: we poll in slices
}

InteractiveProcess::~InteractiveProcess() {
  if (!reaped_) kill_and_reap();
  close_fd(pidfd_);
  close_fd(in_fd_);
  close_fd(out_fd_);
  close_fd(err_fd_);
}

bool InteractiveProcess::write(std::string_view bytes, Millis timeout) {
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

void InteractiveProcess::close_stdin() {
  close_fd(in_fd_);
}

bool InteractiveProcess::try_reap() {
  if (reaped_) return true;
  // Look without reaping: while the child is a zombie its group id cannot be
  // reused, so killing the group reaches only what it left behind.
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
  return true;
}

void InteractiveProcess::kill_and_reap() {
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  status_ = status;
  close_fd(pidfd_);
}

void InteractiveProcess::pump(int timeout_ms) {
  pollfd fds[3];
  int* owners[3];
  nfds_t n = 0;
  auto add = [&](int& fd) {
    if (fd < 0) return;
    fds[n] = {fd, POLLIN, 0};
    owners[n++] = &fd;
  };
  add(out_fd_);
  add(err_fd_);
  if (!reaped_) add(pidfd_);
  if (!reaped_ && pidfd_ < 0 && (timeout_ms < 0 || timeout_ms > 10)) timeout_ms = 10;
  if (n == 0) {
    try_reap();
    return;
  }
  if (::poll(fds, n, timeout_ms) < 0 && errno != EINTR) die("poll");
  for (nfds_t i = 0; i < n; ++i) {
    if (fds[i].revents == 0) continue;
    int& fd = *owners[i];
    if (&fd == &pidfd_) {
      try_reap();
      continue;
    }
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
  if (pidfd_ < 0) try_reap();
}

bool InteractiveProcess::wait_until(const std::function<bool()>& pred, Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    const bool open = out_fd_ >= 0 || err_fd_ >= 0 || !reaped_;
    if (!open || Clock::now() >= deadline) return pred();
    pump(ms_left(deadline));
  }
}

bool InteractiveProcess::wait_for_out(std::string_view text, Millis timeout, size_t from) {
  return wait_until(
      [&] { return out_.size() >= from && out_.find(text, from) != std::string::npos; }, timeout);
}

std::optional<std::string> InteractiveProcess::wait_for_stderr(const std::regex& re,
                                                               Millis timeout) {
  std::optional<std::string> found;
  size_t scanned = 0;
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
      timeout);
  return found;
}

std::optional<uint16_t> InteractiveProcess::wait_for_port(Millis timeout) {
  static const std::regex re(R"(^netlab [a-z-]+: listening on tcp 127\.0\.0\.1:([0-9]+)$)");
  const auto line = wait_for_stderr(re, timeout);
  if (!line) {
    ADD_FAILURE() << "no 'listening on tcp 127.0.0.1' line from pid " << pid_
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

bool InteractiveProcess::signal(int sig) {
  return !reaped_ && ::kill(pid_, sig) == 0;
}

int InteractiveProcess::wait_exit(Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  // A pty master may never report EOF while the slave is open elsewhere: the
  // exit itself is what counts there.
  const auto done = [&] {
    return reaped_ && err_fd_ < 0 && (out_fd_ < 0 || stdio_ == Stdio::kPty);
  };
  while (!done()) {
    if (Clock::now() >= deadline) {
      if (reaped_) break;
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

}  // namespace netlab::testing
