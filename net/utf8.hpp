#pragma once
// UTF-8 decoding shared by every place that must tell text from bytes
// (cmdserv's JSON, chat names, net/terminal_text's escaping).
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace netlab::net {

// Length of the valid UTF-8 sequence starting at s[i] (1 for ASCII), storing
// the code point in cp; 0 when the bytes there are not valid UTF-8 (overlong
// forms, surrogates, code points past U+10FFFF and truncated sequences
// included).
size_t utf8_decode(std::string_view s, size_t i, uint32_t& cp);

}  // namespace netlab::net
