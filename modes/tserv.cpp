// netlab tserv: the TCP timestamp server (tsTserv.py, TsTservss.py).
#include <CLI/CLI.hpp>
#include <memory>

#include "modes/cli_options.hpp"
#include "modes/modes.hpp"
#include "modes/timestamp.hpp"
#include "net/request_server.hpp"

namespace netlab::modes {

namespace {
struct Options {
  net::RequestServerOptions server;
  LogOptions log;
};

int run(const Options& o) {
  o.log.apply();
  return net::run_request_server(o.server, [](std::string_view line, std::string& reply) {
    append_timestamp_reply(reply, line);
    return true;
  });
}
}  // namespace

void register_tserv(CLI::App& app, Runner& runner) {
  auto opts = std::make_shared<Options>();
  auto* sub = app.add_subcommand("tserv",
                                 "TCP timestamp server: replies \"[<ctime>] <line>\" to each line");
  add_request_server_options(sub, opts->server, opts->log);
  sub->footer(examples({
      "netlab tserv                       # localhost:21567, epoll reactor",
      "netlab tserv --port 0 -v           # any free port, log connections",
      "netlab tserv --model fork --one-shot --framing raw   # like TsTservss.py",
  }));
  sub->callback([opts, &runner] { runner = [opts] { return run(*opts); }; });
}

}  // namespace netlab::modes
