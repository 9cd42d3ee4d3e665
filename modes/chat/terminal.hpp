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
// file on stdin, lines are read as they come and output bytes pass unchanged.
#include <functional>
#include <string>
#include <string_view>

#include "net/buffer.hpp"
#include "net/event_loop.hpp"

namespace netlab::modes::chat {

// Control bytes (C0, DEL, C1) as visible escapes ("^[", "^G", "^?", "\u009b"),
// invalid UTF-8 bytes as "\xff"; printable UTF-8 (tab included) unchanged.
std::string escape_for_terminal(std::string_view text);

class ChatTerminal {
 public:
  using LineHandler = std::function<void(std::string line)>;

  ChatTerminal(net::EventLoop& loop, std::string prompt, LineHandler on_line,
               std::function<void()> on_eof);
  ~ChatTerminal();
  ChatTerminal(const ChatTerminal&) = delete;
  ChatTerminal& operator=(const ChatTerminal&) = delete;

  void start();                        // begin reading stdin
  void stop();                         // stop reading (and restore the terminal)
  void print(std::string_view line);   // one line from the network, without '\n'
  void notice(std::string_view text);  // a line of our own (never escaped)
  bool interactive() const { return interactive_; }
  // stdin is a terminal or a pipe: its end means the user is done. (At the
  // end of /dev/null or a file, a server's operator simply has no more to say.)
  bool input_can_end() const { return input_can_end_; }

 private:
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
  net::Buffer pending_;  // pipe mode: bytes of a line not yet complete
};

}  // namespace netlab::modes::chat
