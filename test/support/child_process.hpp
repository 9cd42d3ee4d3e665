#pragma once
// Internal to test/support: the child-process machinery shared by Process
// (process.hpp) and InteractiveProcess (chat_client_helpers.hpp). Spawns the
// netlab binary in a process group (or, on a pty, a session) of its own,
// collects its output through non-blocking fds, and waits, kills and reaps it
// with deadlines. Tests use Process and InteractiveProcess, not this.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace netlab::testing {

// The netlab binary every end-to-end test runs: $NETLAB_BINARY when set and
// not empty (make check-tsan points the Release tests at a ThreadSanitizer
// build this way), else the one built with the tests.
const std::string& netlab_binary();

}  // namespace netlab::testing

namespace netlab::testing::detail {

[[noreturn]] void die(const char* what);  // throws std::system_error for errno
void set_nonblocking(int fd);
void close_fd(int& fd);  // closes it if open and sets it to -1

class ChildProcess {
 public:
  enum class Stdio {
    kNullStdin,  // stdin /dev/null, stdout a pipe
    kFedStdin,   // stdin a pipe fed `stdin_bytes` and then closed, stdout a pipe
    kPipes,      // stdin and stdout pipes, stdin open until close_stdin()
    kPty,        // stdin and stdout one pseudo-terminal, the child's controlling TTY
  };
  // What a wait gives up on besides the deadline.
  enum class Until {
    kStderrEof,  // stderr reached EOF
    kAllEnded,   // stdout and stderr reached EOF and the child was reaped
  };

  // max_fds > 0: RLIMIT_NOFILE, soft and hard, for the child (set by a shell
  // that then execs netlab, since posix_spawn cannot set limits). Lowering
  // the hard limit matters: netlab raises its soft limit to the hard one.
  ChildProcess(std::vector<std::string> args, Stdio stdio, std::string stdin_bytes = {},
               unsigned max_fds = 0);
  ~ChildProcess();  // SIGKILLs and reaps the child's group if it still runs
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool reaped() const { return reaped_; }
  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }

  // Writes all of `bytes` to stdin (kPipes, kPty), collecting output meanwhile.
  bool write(std::string_view bytes, std::chrono::milliseconds timeout);
  void close_stdin();
  // While paused, the child's stdout is not read (its pipe fills up and the
  // child's writes block, as with a reader that went away without closing).
  void pause_stdout(bool paused) { stdout_paused_ = paused; }

  bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                  Until until);
  std::optional<std::string> wait_for_stderr(const std::regex& re,
                                             std::chrono::milliseconds timeout, Until until);
  // wait_for_stderr(re), then the port in its first group; nullopt plus a
  // gtest failure naming `what` if no such line came.
  std::optional<uint16_t> wait_for_port(const std::regex& re, std::string_view what,
                                        std::chrono::milliseconds timeout, Until until);

  bool signal(int sig);
  int wait_exit(std::chrono::milliseconds timeout);

 private:
  // One poll() round over the fds (and the child's pidfd), up to timeout_ms.
  void pump(int timeout_ms);
  void write_fed_stdin();
  bool try_reap();
  void kill_and_reap();

  Stdio stdio_;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  int in_fd_ = -1;   // the stdin pipe, or (pty) a duplicate of the master
  int out_fd_ = -1;  // the stdout pipe, or the pty master
  int err_fd_ = -1;
  std::string stdin_left_;  // kFedStdin: still to write
  std::string out_;
  std::string err_;
  bool reaped_ = false;
  bool stdout_paused_ = false;
  int status_ = 0;
};

}  // namespace netlab::testing::detail
