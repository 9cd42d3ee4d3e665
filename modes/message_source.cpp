#include "modes/message_source.hpp"

#include <unistd.h>

#include <cstdio>
#include <iostream>

namespace netlab::modes {

MessageSource::MessageSource(const std::vector<std::string>& messages)
    : messages_(messages), interactive_(messages.empty() && isatty(STDIN_FILENO)) {}

std::optional<std::string> MessageSource::next() {
  if (!messages_.empty()) {
    if (next_index_ >= messages_.size() || messages_[next_index_].empty()) return std::nullopt;
    return messages_[next_index_++];
  }
  if (interactive_) {
    std::fputs("> ", stdout);
    std::fflush(stdout);
  }
  std::string line;
  if (!std::getline(std::cin, line)) return std::nullopt;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) return std::nullopt;
  return line;
}

void print_reply(std::string_view reply) {
  std::fwrite(reply.data(), 1, reply.size(), stdout);
  if (reply.empty() || reply.back() != '\n') std::fputc('\n', stdout);
  std::fflush(stdout);
}

}  // namespace netlab::modes
