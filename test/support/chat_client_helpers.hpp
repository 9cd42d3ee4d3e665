#pragma once
// Test support for the chat end-to-end tests: a netlab child whose stdin
// stays open for later writes (Process writes its stdin once and closes it),
// optionally on a pseudo-terminal, so a test can play the chat-server's
// operator or type into chat-client while the other side answers. Like
// Process, every wait is a poll() with a deadline and the destructor kills
// and reaps the child's process group.
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "support/child_process.hpp"
#include "support/process.hpp"

namespace netlab::testing {

class InteractiveProcess {
 public:
  enum class Stdio {
    kPipes,  // stdin and stdout are pipes (chat "pipe mode")
    kPty,    // stdin and stdout are one pseudo-terminal, the child's controlling TTY
  };
  explicit InteractiveProcess(std::vector<std::string> args, Stdio stdio = Stdio::kPipes);
  ~InteractiveProcess();  // SIGKILLs and reaps the child's group if it still runs
  InteractiveProcess(const InteractiveProcess&) = delete;
  InteractiveProcess& operator=(const InteractiveProcess&) = delete;

  pid_t pid() const { return child_.pid(); }

  // Writes all of `bytes` to the child's stdin (collecting its output
  // meanwhile); false if the child stopped reading or the deadline passed.
  bool write(std::string_view bytes, Millis timeout = kTimeout);
  // EOF for the child's stdin (pipes only; on a pty, write "\x04" instead).
  void close_stdin();
  // Stops (true) or resumes (false) reading the child's stdout: a pipe nobody
  // reads, until resumed.
  void pause_stdout(bool paused);

  // Collects output until pred() holds or the deadline passes; returns pred().
  bool wait_until(const std::function<bool()>& pred, Millis timeout = kTimeout);
  // Until stdout holds `text` at or after byte `from`.
  bool wait_for_out(std::string_view text, Millis timeout = kTimeout, size_t from = 0);
  // The first complete stderr line the regex matches, or nullopt.
  std::optional<std::string> wait_for_stderr(const std::regex& re, Millis timeout = kTimeout);
  // "listening on tcp 127.0.0.1:<port>" -> port; nullopt plus a gtest failure.
  std::optional<uint16_t> wait_for_port(Millis timeout = kTimeout);

  bool signal(int sig);
  // Exit code, 128 + signal, or -1 after the deadline (then killed, with a
  // gtest failure).
  int wait_exit(Millis timeout = kTimeout);

  const std::string& out() const { return child_.out(); }
  const std::string& err() const { return child_.err(); }

 private:
  detail::ChildProcess child_;
};

}  // namespace netlab::testing
