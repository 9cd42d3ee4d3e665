#pragma once
// Every subcommand lives in its own file and exports one register_<mode>()
// that adds its options to the CLI and, once parsing succeeded, stores the
// function that runs it. main() runs the stored Runner after parsing, so usage
// errors (exit 2) and runtime errors (exit 1) never mix.
#include <functional>

namespace CLI {
class App;
}

namespace netlab::modes {

using Runner = std::function<int()>;

void register_tserv(CLI::App& app, Runner& runner);
void register_tclnt(CLI::App& app, Runner& runner);
void register_userv(CLI::App& app, Runner& runner);
void register_uclnt(CLI::App& app, Runner& runner);
void register_cmdserv(CLI::App& app, Runner& runner);
void register_chat_server(CLI::App& app, Runner& runner);
void register_chat_client(CLI::App& app, Runner& runner);
void register_bench(CLI::App& app, Runner& runner);

}  // namespace netlab::modes
