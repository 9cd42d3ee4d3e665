// netlab: one binary, one subcommand per program of the socket-programming
// chapter. main() only builds the CLI, dispatches and maps errors to exit codes.
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <exception>
#include <memory>
#include <string>
#include <string_view>

#include "modes/cli_options.hpp"
#include "modes/modes.hpp"
#include "net/log.hpp"

#ifndef NETLAB_VERSION
#define NETLAB_VERSION "0.0.0"
#endif

namespace {
// As ninja's exit_status.h names them; tests check these.
constexpr int kExitSuccess = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
}  // namespace

namespace {
// A program started with fd 0, 1 or 2 closed would hand that number to its
// first socket, and then read "stdin" from a client or log into it.
void ensure_standard_fds() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd)
      _exit(kExitFailure);
  }
}

// The command that lacks its subcommand ("netlab", "netlab bench") when a
// parse failed for that reason, else null.
const CLI::App* missing_subcommand(const CLI::App& app, const CLI::ParseError& e) {
  if (dynamic_cast<const CLI::RequiredError*>(&e) == nullptr) return nullptr;
  const CLI::App* deepest = &app;
  while (!deepest->get_subcommands().empty()) deepest = deepest->get_subcommands().front();
  return deepest->get_require_subcommand_min() > 0 ? deepest : nullptr;
}
}  // namespace

int main(int argc, char** argv) {
  ensure_standard_fds();
  // Belt and braces: sockets send with MSG_NOSIGNAL, but stdout may be a pipe
  // that closes (netlab tclnt | head -1); that must be an error, not a death.
  signal(SIGPIPE, SIG_IGN);

  CLI::App app{"netlab: the socket-programming chapter as real tools (TCP/UDP servers and clients)",
               "netlab"};
  app.set_version_flag("--version", "netlab " NETLAB_VERSION);
  app.formatter(std::make_shared<netlab::modes::HelpFormatter>());  // inherited by every subcommand
  app.require_subcommand(1);
  app.footer("Run 'netlab SUBCOMMAND --help' for a subcommand's options and examples.");
  // "netlab --trace tserv" as well as "netlab tserv --trace".
  netlab::modes::add_global_trace_options(app);

  netlab::modes::Runner runner;
  for (auto register_mode : {netlab::modes::register_tserv, netlab::modes::register_tclnt,
                             netlab::modes::register_userv, netlab::modes::register_uclnt,
                             netlab::modes::register_cmdserv, netlab::modes::register_chat_server,
                             netlab::modes::register_chat_client, netlab::modes::register_bench}) {
    register_mode(app, runner);
  }

  // CLI11 would call "netlab bogus" a missing subcommand; name the culprit.
  const auto known = [&app](std::string_view name) {
    return !app.get_subcommands(
                   [name](CLI::App* sub) { return sub->check_name(std::string(name)); })
                .empty();
  };
  if (argc > 1 && argv[1][0] != '-' && !known(argv[1])) {
    fmt::print(stderr, "netlab: unknown subcommand '{}'\nRun with --help for more information.\n",
               argv[1]);
    return kExitUsage;
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // "netlab" alone: the usage and the subcommands, as git and docker do;
    // on stderr, since it is a usage error all the same.
    if (const CLI::App* command = missing_subcommand(app, e)) {
      std::string path;  // "netlab" for bench, so its usage reads "netlab bench ..."
      for (const CLI::App* p = command->get_parent(); p != nullptr; p = p->get_parent())
        path = path.empty() ? p->get_name() : p->get_name() + " " + path;
      fmt::print(stderr, "{}", command->help(path));
      return kExitUsage;
    }
    // CLI11 prints the message; --help/--version come back as success.
    return app.exit(e) == 0 ? kExitSuccess : kExitUsage;
  }

  netlab::net::Log::set_program("netlab " + app.get_subcommands().front()->get_name());
  try {
    return runner ? runner() : kExitSuccess;
  } catch (const std::exception& e) {
    netlab::net::Log::error("{}", e.what());
    return kExitFailure;
  }
}
