#pragma once
// --mode for chat-server and chat-client.
#include <CLI/CLI.hpp>
#include <initializer_list>
#include <string_view>

namespace netlab::modes::chat {

enum class ChatMode { kRoom, kDuplex, kHalfDuplex };

void add_chat_mode_option(CLI::App* sub, ChatMode& mode);

// No option is silently ignored: with any mode but room, each of these given
// on the command line is a usage error naming it
// ("netlab chat-server: --history applies only to --mode room").
void reject_room_only_options(const CLI::App* sub, ChatMode mode,
                              std::initializer_list<std::string_view> options);

}  // namespace netlab::modes::chat
