#include "net/log.hpp"

#include <cstdio>

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
  std::string out = fmt::format("{}: {}\n", program_name(), line);
  std::fputs(out.c_str(), stderr);
}

}  // namespace netlab::net
