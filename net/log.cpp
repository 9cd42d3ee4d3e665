#include "net/log.hpp"

#include <cstdio>

#include "net/terminal_text.hpp"

namespace netlab::net {

namespace {
std::string& program_name() {
  static std::string name = "netlab";
  return name;
}
}  // namespace

void Log::set_program(std::string name) {
  program_name() = std::move(name);
}
const std::string& Log::program() {
  return program_name();
}
void Log::set_verbosity(Verbosity v) {
  verbosity_ = v;
}

void Log::write(std::string_view line) {
  // Lines carry what peers sent (their errors, their addresses): shown as
  // text, never as terminal controls, whether stderr is a terminal now or a
  // log file someone cats later.
  std::string out = fmt::format("{}: {}\n", program_name(), escape_for_terminal(line));
  std::fputs(out.c_str(), stderr);
}

}  // namespace netlab::net
