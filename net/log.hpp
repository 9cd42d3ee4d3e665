#pragma once
// One-line diagnostics on stderr, all prefixed with "netlab <sub>: ".
// Each line is formatted first and written with a single fputs so lines from
// threads (--model thread) or forked children never interleave mid-line.
#include <fmt/format.h>

#include <string>
#include <string_view>

namespace netlab::net {

enum class Verbosity { kQuiet, kNormal, kVerbose };

class Log {
 public:
  static void set_program(std::string name);
  static const std::string& program();
  static void set_verbosity(Verbosity v);
  static bool verbose() { return verbosity_ == Verbosity::kVerbose; }
  static bool quiet() { return verbosity_ == Verbosity::kQuiet; }

  // Always printed: failures the user must see.
  template <typename... Args>
  static void error(fmt::format_string<Args...> f, Args&&... args) {
    write(fmt::format(f, std::forward<Args>(args)...));
  }
  // Readiness lines ("listening on ..."): scripts depend on them, so even -q
  // keeps them.
  template <typename... Args>
  static void always(fmt::format_string<Args...> f, Args&&... args) {
    write(fmt::format(f, std::forward<Args>(args)...));
  }
  // Normal operational lines (e.g. "listening on"); hidden by -q.
  template <typename... Args>
  static void info(fmt::format_string<Args...> f, Args&&... args) {
    if (!quiet()) write(fmt::format(f, std::forward<Args>(args)...));
  }
  // Per-connection chatter; only with -v.
  template <typename... Args>
  static void debug(fmt::format_string<Args...> f, Args&&... args) {
    if (verbose()) write(fmt::format(f, std::forward<Args>(args)...));
  }

 private:
  static void write(std::string_view line);
  static inline Verbosity verbosity_ = Verbosity::kNormal;
};

}  // namespace netlab::net
