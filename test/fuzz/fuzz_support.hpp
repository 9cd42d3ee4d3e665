#pragma once
// What every fuzz target shares: an invariant check that aborts (so libFuzzer
// saves the input) whatever NDEBUG says, and a UTF-8 decoder written straight
// from the RFC 3629 table, independent of net/utf8.cpp, to hold netlab's
// decoder and everything built on it against.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace netlab::fuzz {

[[noreturn]] inline void invariant_broken(const char* what, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
  std::abort();
}

#define FUZZ_CHECK(cond) \
  ((cond) ? static_cast<void>(0) : ::netlab::fuzz::invariant_broken(#cond, __FILE__, __LINE__))

// Length of the well-formed UTF-8 sequence at s[i] and its code point, or 0.
// RFC 3629 section 4: the allowed range of each continuation byte depends on
// the lead byte, which excludes overlong forms, surrogates and > U+10FFFF.
inline size_t reference_utf8(std::string_view s, size_t i, uint32_t& cp) {
  const auto at = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char lead = at(i);
  if (lead < 0x80) {
    cp = lead;
    return 1;
  }
  size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    len = 2;
  } else if (lead == 0xE0) {
    len = 3, lo = 0xA0;
  } else if (lead == 0xED) {
    len = 3, hi = 0x9F;
  } else if (lead >= 0xE1 && lead <= 0xEF) {
    len = 3;
  } else if (lead == 0xF0) {
    len = 4, lo = 0x90;
  } else if (lead == 0xF4) {
    len = 4, hi = 0x8F;
  } else if (lead >= 0xF1 && lead <= 0xF3) {
    len = 4;
  } else {
    return 0;
  }
  if (s.size() - i < len) return 0;
  if (at(i + 1) < lo || at(i + 1) > hi) return 0;
  for (size_t k = 2; k < len; ++k) {
    if (at(i + k) < 0x80 || at(i + k) > 0xBF) return 0;
  }
  static constexpr unsigned char kLeadMask[] = {0, 0, 0x1F, 0x0F, 0x07};
  cp = lead & kLeadMask[len];
  for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (at(i + k) & 0x3F);
  return len;
}

inline bool is_valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    uint32_t cp = 0;
    const size_t len = reference_utf8(s, i, cp);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

// True when `part` is a view into `whole` (or empty): parsers that hand out
// string_views must never point anywhere else.
inline bool is_view_into(std::string_view part, std::string_view whole) {
  if (part.empty()) return true;
  const auto p = reinterpret_cast<uintptr_t>(part.data());
  const auto w = reinterpret_cast<uintptr_t>(whole.data());
  return p >= w && p + part.size() <= w + whole.size();
}

}  // namespace netlab::fuzz
