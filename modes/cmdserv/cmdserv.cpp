// netlab cmdserv: the command server of exercise 16-5 (date, os, ls, help).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <memory>
#include <system_error>

#include "modes/cli_options.hpp"
#include "modes/cmdserv/commands.hpp"
#include "modes/modes.hpp"
#include "modes/timestamp.hpp"
#include "net/request_server.hpp"

namespace netlab::modes {

namespace {
struct Options {
  net::RequestServerOptions server;
  std::string root = ".";
  size_t max_reply = kDefaultMaxReply;
  LogOptions log;
};

std::string canonical_root(const std::string& root) {
  std::unique_ptr<char, decltype(&std::free)> real(realpath(root.c_str(), nullptr), &std::free);
  if (!real) throw std::system_error(errno, std::generic_category(), "cannot use root " + root);
  return real.get();
}

int run(const Options& o) {
  o.log.apply();
  const CommandContext ctx{canonical_root(o.root), [] { return ctime_now(); }, os_description(),
                           o.max_reply, std::make_shared<ListingCache>()};
  return net::run_request_server(o.server, [&ctx](std::string_view line, std::string& reply) {
    return handle_command_into(line, ctx, reply);
  });
}
}  // namespace

void register_cmdserv(CLI::App& app, Runner& runner) {
  auto opts = std::make_shared<Options>();
  auto* sub = app.add_subcommand(
      "cmdserv", "Command server: date, os, ls [DIR], help; other lines get a timestamp");
  add_request_server_options(sub, opts->server, opts->log);
  sub->add_option("--root", opts->root,
                  "Directory that ls lists and never leaves (default: the working directory)")
      ->check(CLI::ExistingDirectory)
      ->type_name("DIR")
      ->group("Command server");
  sub->add_option("--max-reply", opts->max_reply,
                  fmt::format("Longest ls reply in bytes; a longer listing is cut and ends with "
                              "the element \"{}\"",
                              kTruncatedMarker))
      ->check(CLI::Range(kMinMaxReply, size_t{1} << 30))
      ->type_name("BYTES")
      ->capture_default_str()
      ->group("Command server");
  sub->footer(examples({
      "netlab cmdserv --port 0 --root /srv/pub    # then: printf 'ls\\n' | netlab tclnt PORT",
      "netlab cmdserv --model thread -v",
      "netlab cmdserv --framing raw               # the tutorial's client sends no newline",
      "netlab cmdserv --max-reply 65536           # cut listings at 64 KiB",
  }));
  sub->callback([opts, &runner] { runner = [opts] { return run(*opts); }; });
}

}  // namespace netlab::modes
