#pragma once
// Options shared by several subcommands, registered the same way everywhere
// so --help, the completions and the behaviour agree.
#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "net/address.hpp"
#include "net/listener.hpp"
#include "net/request_server.hpp"

namespace netlab::modes {

// --help layout: option, value name and default only (see make_option_opts).
class HelpFormatter : public CLI::Formatter {
 public:
  std::string make_option_opts(const CLI::Option* opt) const override;
};

// -v/--verbose, -q/--quiet, --trace[=all], --trace-bytes N.
struct LogOptions {
  bool verbose = false;
  bool quiet = false;
  std::string trace;                  // "", "true" (plain --trace) or "all"
  std::optional<size_t> trace_bytes;  // unset: the default (or the one before the subcommand)
  void apply() const;  // configures net::Log and net::Trace; call first thing in run()
};
void add_log_options(CLI::App* sub, LogOptions& o);
// --trace and --trace-bytes before the subcommand too ("netlab --trace tserv");
// apply() combines them with the subcommand's own.
void add_global_trace_options(CLI::App& app);

// -H/--host, -p/--port, --unix. Clients also take [HOST] [PORT] positionals.
enum class Side { kServer, kClient };
void add_address_options(CLI::App* sub, net::Endpoint& ep, net::Transport t, Side side);

// --allow/--deny CIDR (repeatable).
void add_access_options(CLI::App* sub, net::AccessList& acl);

// --model, --framing, --max-line, --one-shot, --max-clients, --idle-timeout,
// plus address, access and log options: everything a request server takes.
void add_request_server_options(CLI::App* sub, net::RequestServerOptions& o, LogOptions& log);

// "--model" -> "MODEL": the value name shown in --help.
std::string metavar(const std::string& option);

// An option taking one of a fixed set of words, stored as T; the first
// choice is the default. --help shows the choices.
template <typename T>
CLI::Option* add_choice_option(CLI::App* sub, const std::string& name, T& target,
                               std::vector<std::pair<std::string, T>> choices,
                               const std::string& help) {
  std::vector<std::string> names;
  for (const auto& c : choices) names.push_back(c.first);
  return sub
      ->add_option_function<std::string>(
          name,
          [&target, choices](const std::string& v) {
            for (const auto& c : choices) {
              if (c.first == v) target = c.second;
            }
          },
          help)
      ->check(CLI::IsMember(names))
      ->type_name(metavar(name))
      ->default_str(names.front());
}

// A footer listing examples, one per line, for --help.
std::string examples(std::initializer_list<const char*> lines);

}  // namespace netlab::modes
