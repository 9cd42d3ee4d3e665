#include "support/chat_client_helpers.hpp"

#include <utility>

namespace netlab::testing {

namespace {
using detail::ChildProcess;

ChildProcess::Stdio child_stdio(InteractiveProcess::Stdio stdio) {
  return stdio == InteractiveProcess::Stdio::kPty ? ChildProcess::Stdio::kPty
                                                  : ChildProcess::Stdio::kPipes;
}
}  // namespace

InteractiveProcess::InteractiveProcess(std::vector<std::string> args, Stdio stdio)
    : child_(std::move(args), child_stdio(stdio)) {}

InteractiveProcess::~InteractiveProcess() = default;  // ChildProcess kills and reaps

bool InteractiveProcess::write(std::string_view bytes, Millis timeout) {
  return child_.write(bytes, timeout);
}

void InteractiveProcess::close_stdin() {
  child_.close_stdin();
}

void InteractiveProcess::pause_stdout(bool paused) {
  child_.pause_stdout(paused);
}

// InteractiveProcess waits until everything has ended (Process gives up
// once stderr has).
bool InteractiveProcess::wait_until(const std::function<bool()>& pred, Millis timeout) {
  return child_.wait_until(pred, timeout, ChildProcess::Until::kAllEnded);
}

bool InteractiveProcess::wait_for_out(std::string_view text, Millis timeout, size_t from) {
  const std::string& out = child_.out();
  return wait_until([&] { return out.size() >= from && out.find(text, from) != std::string::npos; },
                    timeout);
}

std::optional<std::string> InteractiveProcess::wait_for_stderr(const std::regex& re,
                                                               Millis timeout) {
  return child_.wait_for_stderr(re, timeout, ChildProcess::Until::kAllEnded);
}

std::optional<uint16_t> InteractiveProcess::wait_for_port(Millis timeout) {
  static const std::regex re(R"(^netlab [a-z-]+: listening on tcp 127\.0\.0\.1:([0-9]+)$)");
  return child_.wait_for_port(re, "tcp 127.0.0.1", timeout, ChildProcess::Until::kAllEnded);
}

bool InteractiveProcess::signal(int sig) {
  return child_.signal(sig);
}

int InteractiveProcess::wait_exit(Millis timeout) {
  return child_.wait_exit(timeout);
}

}  // namespace netlab::testing
