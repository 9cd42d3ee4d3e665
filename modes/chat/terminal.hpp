#pragma once
// The human side of a chat, shared by chat-client and the chat-server
// operator (--mode duplex/half-duplex): reads the user's lines from stdin
// inside the EventLoop (no threads racing on the terminal) and prints
// incoming lines.
//
// On a TTY it uses GNU readline's callback interface: an incoming line is
// printed above the prompt and the half-typed input is redrawn intact, with
// history on the arrow keys. Text from the network is shown with control
// bytes escaped there, so no peer can drive this terminal. With a pipe or a
// file on stdin, lines are read as they come and the network's bytes pass
// unchanged. Notices (our own lines, which may name a peer's address) are
// escaped everywhere: they are for people, never data.
//
// Output never blocks the loop (see TerminalOutput): an owner that reads a
// peer stops doing so while output_backed_up(), until on_output_drained.
#include <functional>
#include <string>
#include <string_view>

#include "modes/chat/terminal_output.hpp"
#include "net/buffer.hpp"
#include "net/event_loop.hpp"

namespace netlab::modes::chat {

class ChatTerminal {
 public:
  using LineHandler = std::function<void(std::string line)>;

  ChatTerminal(net::EventLoop& loop, std::string prompt, LineHandler on_line,
               std::function<void()> on_eof);
  ~ChatTerminal();
  ChatTerminal(const ChatTerminal&) = delete;
  ChatTerminal& operator=(const ChatTerminal&) = delete;

  void start();  // begin reading stdin
  void stop();   // stop reading (and restore the terminal)
  // What the user types or pipes has nowhere to go yet (the peer is not
  // reading): leave it in the tty or the pipe, where the kernel bounds it,
  // until resume_input(). Independent of start()/stop().
  void pause_input();
  void resume_input();
  void print(std::string_view line);   // one line from the network, without '\n'
  void notice(std::string_view text);  // a line of our own (always escaped)
  // Raw input (chat-server --framing raw): with a pipe or file on stdin,
  // each chunk read is handed on as it is, newlines included, instead of
  // being cut into lines. (A terminal still gives one typed line at a time.)
  void set_raw_input(bool raw) { raw_input_ = raw; }
  bool output_backed_up() const { return out_.backed_up(); }
  void set_on_output_drained(std::function<void()> h) { out_.set_on_drained(std::move(h)); }
  // Before exiting: lets stdout take what is queued (see TerminalOutput::finish).
  void finish_output(std::chrono::milliseconds limit) { out_.finish(limit); }
  bool interactive() const { return interactive_; }
  // stdin is a terminal or a pipe: its end means the user is done. (At the
  // end of /dev/null or a file, a server's operator simply has no more to say.)
  bool input_can_end() const { return input_can_end_; }

 private:
  void watch_input();
  void unwatch_input();
  void read_pipe();
  void deliver_pipe_lines(bool at_eof);
  void write_line(std::string_view text, bool from_network);
  static void readline_callback(char* line);

  net::EventLoop& loop_;
  std::string prompt_;
  LineHandler on_line_;
  std::function<void()> on_eof_;
  bool interactive_;    // stdin and stdout are terminals: readline mode
  bool escape_output_;  // stdout is a terminal
  bool input_can_end_;
  bool reading_ = false;
  bool watching_ = false;  // stdin is registered with the loop
  bool eof_ = false;
  bool input_paused_ = false;  // pause_input()
  bool raw_input_ = false;
  net::Buffer pending_;  // pipe mode: bytes of a line not yet complete
  TerminalOutput out_;
};

}  // namespace netlab::modes::chat
