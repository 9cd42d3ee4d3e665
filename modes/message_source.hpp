#pragma once
// Where a client's messages come from: the -m values in order, or else stdin
// one line at a time (with a "> " prompt only when stdin is a terminal, like
// the tutorial's raw_input loop). An empty line or EOF ends the session.
#include <optional>
#include <string>
#include <vector>

namespace netlab::modes {

class MessageSource {
 public:
  explicit MessageSource(const std::vector<std::string>& messages);
  std::optional<std::string> next();

 private:
  const std::vector<std::string>& messages_;
  size_t next_index_ = 0;
  bool interactive_;
};

// Writes bytes to stdout and flushes, so replies reach a pipe at once. Adds
// '\n' when the reply lacks one (UDP replies, raw servers).
void print_reply(std::string_view reply);

}  // namespace netlab::modes
