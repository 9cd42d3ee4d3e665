#include "modes/chat/terminal.hpp"

#include <readline/history.h>
#include <readline/readline.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include "net/terminal_text.hpp"

namespace netlab::modes::chat {

namespace {
// readline's callback API is C: one handler, no user pointer. Only one
// ChatTerminal reads a terminal at a time.
ChatTerminal* g_active_terminal = nullptr;
constexpr size_t kReadChunk = 16 * 1024;
// The longest line read from a pipe before it is handed on in pieces.
constexpr size_t kMaxInputLine = 1024 * 1024;

}  // namespace

ChatTerminal::ChatTerminal(net::EventLoop& loop, std::string prompt, LineHandler on_line,
                           std::function<void()> on_eof)
    : loop_(loop),
      prompt_(std::move(prompt)),
      on_line_(std::move(on_line)),
      on_eof_(std::move(on_eof)),
      interactive_(isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)),
      escape_output_(isatty(STDOUT_FILENO)),
      out_(loop) {
  struct stat st {};
  input_can_end_ = fstat(STDIN_FILENO, &st) == 0 &&
                   (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || isatty(STDIN_FILENO));
}

ChatTerminal::~ChatTerminal() {
  stop();
}

void ChatTerminal::start() {
  if (reading_ || eof_) return;
  reading_ = true;
  if (interactive_) {
    g_active_terminal = this;
    rl_callback_handler_install(prompt_.c_str(), &ChatTerminal::readline_callback);
  }
  if (!input_paused_) watch_input();
}

void ChatTerminal::stop() {
  if (!reading_) return;
  reading_ = false;
  unwatch_input();
  if (interactive_) {
    rl_callback_handler_remove();
    g_active_terminal = nullptr;
  }
}

void ChatTerminal::pause_input() {
  if (input_paused_) return;
  input_paused_ = true;
  unwatch_input();
}

void ChatTerminal::resume_input() {
  if (!input_paused_) return;
  input_paused_ = false;
  if (reading_ && !eof_) watch_input();
}

void ChatTerminal::watch_input() {
  if (interactive_) {
    loop_.watch(STDIN_FILENO, EPOLLIN, [](uint32_t) { rl_callback_read_char(); });
    watching_ = true;
    return;
  }
  try {
    loop_.watch(STDIN_FILENO, EPOLLIN, [this](uint32_t) { read_pipe(); });
    watching_ = true;
  } catch (const std::system_error& e) {
    // epoll refuses regular files (stdin < file): they never block, so
    // read them from the loop's deferred queue instead, until paused.
    if (e.code().value() != EPERM) throw;
    loop_.defer([this] {
      while (reading_ && !eof_ && !input_paused_) read_pipe();
    });
  }
}

void ChatTerminal::unwatch_input() {
  if (watching_) loop_.unwatch(STDIN_FILENO);
  watching_ = false;
}

void ChatTerminal::readline_callback(char* line) {
  ChatTerminal* self = g_active_terminal;
  if (self == nullptr) {
    std::free(line);
    return;
  }
  if (line == nullptr) {  // Ctrl-D on an empty line
    self->eof_ = true;
    self->stop();
    std::fputc('\n', stdout);
    if (self->on_eof_) self->on_eof_();
    return;
  }
  std::string text(line);
  std::free(line);
  if (!text.empty()) add_history(text.c_str());
  self->on_line_(std::move(text));
}

void ChatTerminal::read_pipe() {
  const ssize_t n = ::read(STDIN_FILENO, pending_.prepare(kReadChunk), kReadChunk);
  if (n > 0) {
    pending_.commit(static_cast<size_t>(n));
    if (raw_input_) {
      std::string chunk(pending_.view());
      pending_.clear();
      on_line_(std::move(chunk));
      return;
    }
    deliver_pipe_lines(false);
  } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
    eof_ = true;
    deliver_pipe_lines(true);
    stop();
    if (on_eof_) on_eof_();
  }
}

void ChatTerminal::deliver_pipe_lines(bool at_eof) {
  for (;;) {
    const std::string_view data = pending_.view();
    const size_t nl = data.find('\n');
    if (nl == std::string_view::npos) {
      // A line that never ends is handed on in pieces of kMaxInputLine, so
      // piped input without newlines cannot grow this buffer without bound.
      if (data.size() >= kMaxInputLine) {
        std::string piece(data.substr(0, kMaxInputLine));
        pending_.consume(kMaxInputLine);
        on_line_(std::move(piece));
        if (!reading_ && !eof_) return;
        continue;
      }
      if (at_eof && !data.empty()) {
        std::string last(data);
        pending_.clear();
        on_line_(std::move(last));
      }
      return;
    }
    std::string line(data.substr(0, nl));
    if (!line.empty() && line.back() == '\r') line.pop_back();
    pending_.consume(nl + 1);
    on_line_(std::move(line));
    if (!reading_ && !eof_) return;  // the handler stopped us (e.g. it sent quit)
  }
}

void ChatTerminal::print(std::string_view line) {
  write_line(line, true);
}
void ChatTerminal::notice(std::string_view text) {
  write_line(text, false);
}

void ChatTerminal::write_line(std::string_view text, bool from_network) {
  std::string out =
      !from_network || escape_output_ ? net::escape_for_terminal(text) : std::string(text);
  out += '\n';
  if (interactive_ && reading_ && out_.idle()) {
    // Move the prompt and the half-typed line out of the way, print, redraw.
    char* saved = rl_copy_text(0, rl_end);
    const int saved_point = rl_point;
    rl_save_prompt();
    rl_replace_line("", 0);
    rl_redisplay();
    std::fflush(stdout);  // readline's own output goes first
    out_.write(out);
    rl_restore_prompt();
    rl_replace_line(saved, 0);
    rl_point = saved_point;
    rl_redisplay();
    std::free(saved);
    return;
  }
  // (A terminal that is not taking output, Ctrl-S say: the line waits in
  // order and the prompt is redrawn with the next line that goes out.)
  out_.write(out);
}

}  // namespace netlab::modes::chat
