#pragma once
// Text bound for a terminal. Whatever a peer controls (a chat line, an error
// it answered, its abstract Unix socket name) must reach the user's screen
// as text only: one byte sequence could otherwise set the window title,
// clear the screen, rewrite what is shown or reorder a line (bidi). Every
// place that prints to a terminal (the log, the chat screens and their
// notices) goes through escape_for_terminal(); the tracer quotes payloads in
// its own Python-like notation but asks the same steers_terminal().
#include <cstdint>
#include <string>
#include <string_view>

namespace netlab::net {

// A non-ASCII code point that changes how a terminal shows what follows:
// C1 controls (CSI U+009B and friends), LRM/RLM, bidi embeddings, overrides
// and isolates, the line and paragraph separators.
bool steers_terminal(uint32_t cp);

// Control bytes (C0 but tab, DEL) as "^[", "^G", "^?"; code points that
// steer a terminal as "\u009b"; invalid UTF-8 bytes as "\xff"; printable
// UTF-8 (tab included) unchanged.
std::string escape_for_terminal(std::string_view text);

}  // namespace netlab::net
