#pragma once
// --mode for chat-server and chat-client.
#include <CLI/CLI.hpp>

namespace netlab::modes::chat {

enum class ChatMode { kRoom, kDuplex, kHalfDuplex };

void add_chat_mode_option(CLI::App* sub, ChatMode& mode);

}  // namespace netlab::modes::chat
