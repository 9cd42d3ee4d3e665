#include "modes/cli_options.hpp"

#include <fmt/format.h>

#include <cctype>
#include <utility>
#include <vector>

#include "net/log.hpp"
#include "net/trace.hpp"

namespace netlab::modes {

namespace {
CLI::Validator port_validator(net::Transport t) {
  return CLI::Validator(
      [t](std::string& value) -> std::string {
        if (net::parse_port(value, t)) return {};
        return fmt::format("invalid port '{}': not a number 0-65535 or a known {} service", value,
                           net::transport_name(t));
      },
      "PORT");
}

// Given before the subcommand; add_global_trace_options binds these.
LogOptions& global_trace_options() {
  static LogOptions o;
  return o;
}

// --trace and --trace-bytes, on the main app or on a subcommand.
void add_trace_options(CLI::App* app, LogOptions& o) {
  // A flag with an optional "=all", not an option with an optional value:
  // "netlab --trace tserv" must not take "tserv" for the value. A bare
  // --trace stores "true".
  app->add_flag("--trace", o.trace,
                "Print every socket call (socket, bind, accept, connect, recv, send, close, ...) "
                "on stderr; --trace=all adds the event loop's epoll and poll calls")
      ->check(CLI::Validator(
          [](std::string& value) -> std::string {
            if (value == "true" || value == "all") return {};
            return fmt::format("invalid value '{}': use --trace or --trace=all", value);
          },
          ""))
      ->type_name("[=all]")
      ->group("Logging");
  app->add_option_function<size_t>(
         "--trace-bytes", [&o](size_t n) { o.trace_bytes = n; },
         fmt::format("Show at most N bytes of each payload in --trace lines (default {}; "
                     "implies --trace)",
                     net::Trace::kDefaultPayloadBytes))
      ->type_name("N")
      ->group("Logging");
}

CLI::Validator cidr_validator() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        if (net::Cidr::parse(value)) return {};
        return fmt::format("invalid network '{}': expected ADDRESS[/PREFIX]", value);
      },
      "CIDR");
}
}  // namespace

std::string metavar(const std::string& option) {
  std::string out = option.substr(option.find_first_not_of('-'));
  for (char& c : out)
    c = (c == '-') ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string HelpFormatter::make_option_opts(const CLI::Option* opt) const {
  // CLI11's default adds validator names ("TEXT:PORT") and "Excludes: ..."
  // to every option line; the descriptions say what matters.
  if (opt->get_type_size() == 0) return {};
  // "MODEL:{reactor,thread}" -> "{reactor,thread}", "TEXT:PORT" -> "TEXT".
  std::string type = opt->get_type_name();
  const size_t colon = type.find(':');
  if (colon != std::string::npos)
    type = type.compare(colon + 1, 1, "{") == 0 ? type.substr(colon + 1) : type.substr(0, colon);
  // "--trace[=all]": a flag's optional value sticks to its name.
  std::string out = type.starts_with('[') ? type : " " + type;
  if (!opt->get_default_str().empty()) out += "=" + opt->get_default_str();
  if (opt->get_expected_max() == CLI::detail::expected_max_vector_size) out += " ...";
  if (opt->get_required()) out += " REQUIRED";
  return out;
}

void LogOptions::apply() const {
  net::Log::set_verbosity(verbose ? net::Verbosity::kVerbose
                          : quiet ? net::Verbosity::kQuiet
                                  : net::Verbosity::kNormal);
  const LogOptions& before = global_trace_options();
  const bool all = trace == "all" || before.trace == "all";
  const std::optional<size_t> bytes = trace_bytes ? trace_bytes : before.trace_bytes;
  const bool on = all || !trace.empty() || !before.trace.empty() || bytes.has_value();
  net::Trace::configure(all  ? net::Trace::Level::kAll
                        : on ? net::Trace::Level::kCalls
                             : net::Trace::Level::kOff,
                        bytes.value_or(net::Trace::kDefaultPayloadBytes));
}

void add_log_options(CLI::App* sub, LogOptions& o) {
  auto* v = sub->add_flag("-v,--verbose", o.verbose, "Log connections and other events");
  auto* q = sub->add_flag("-q,--quiet", o.quiet, "Log nothing but errors");
  v->excludes(q);
  for (auto* opt : {v, q}) opt->group("Logging");
  add_trace_options(sub, o);
}

void add_global_trace_options(CLI::App& app) {
  add_trace_options(&app, global_trace_options());
}

void add_address_options(CLI::App* sub, net::Endpoint& ep, net::Transport t, Side side) {
  const char* host_help =
      side == Side::kServer
          ? "Address to listen on (default localhost: loopback only; 0.0.0.0 or :: for all)"
          : "Server host name or address";
  const std::string host_names = side == Side::kClient ? "-H,--host,host" : "-H,--host";
  const std::string port_names = side == Side::kClient ? "-p,--port,port" : "-p,--port";
  auto* host =
      sub->add_option(host_names, ep.host, host_help)->capture_default_str()->type_name("HOST");
  auto* port =
      sub->add_option_function<std::string>(
             port_names, [&ep, t](const std::string& v) { ep.port = *net::parse_port(v, t); },
             side == Side::kServer
                 ? fmt::format("Port number or {} service name (0 = any free port)",
                               net::transport_name(t))
                 : fmt::format("Server port number or {} service name", net::transport_name(t)))
          ->check(port_validator(t))
          ->type_name("PORT")
          ->default_str(std::to_string(ep.port));
  auto* unix_path = sub->add_option("--unix", ep.unix_path,
                                    t == net::Transport::kTcp
                                        ? "Use a Unix stream socket at PATH instead of TCP"
                                        : "Use a Unix datagram socket at PATH instead of UDP")
                        ->type_name("PATH");
  unix_path->excludes(host)->excludes(port);
  for (auto* o : {host, port, unix_path}) o->group("Address");
}

void add_access_options(CLI::App* sub, net::AccessList& acl) {
  auto to_cidrs = [](std::vector<net::Cidr>& out) {
    return [&out](const std::vector<std::string>& values) {
      for (const auto& v : values) out.push_back(*net::Cidr::parse(v));
    };
  };
  sub->add_option_function<std::vector<std::string>>(
         "--allow", to_cidrs(acl.allow), "Accept only clients from this network (repeatable)")
      ->check(cidr_validator())
      ->type_name("CIDR")
      ->group("Access control");
  sub->add_option_function<std::vector<std::string>>(
         "--deny", to_cidrs(acl.deny), "Refuse clients from this network (repeatable)")
      ->check(cidr_validator())
      ->type_name("CIDR")
      ->group("Access control");
}

void add_request_server_options(CLI::App* sub, net::RequestServerOptions& o, LogOptions& log) {
  add_address_options(sub, o.endpoint, net::Transport::kTcp, Side::kServer);
  add_choice_option(
      sub, "--model", o.model,
      {{"reactor", net::Model::kReactor},
       {"thread", net::Model::kThread},
       {"fork", net::Model::kFork},
       {"iterative", net::Model::kIterative}},
      "reactor (epoll, default), thread (one per client), fork (one process per client) "
      "or iterative (one client at a time)")
      ->group("Server");
  add_choice_option(
      sub, "--framing", o.framing, {{"line", net::Framing::kLine}, {"raw", net::Framing::kRaw}},
      "line (default): a request is a \\n-terminated line; raw: each read chunk is a request")
      ->group("Server");
  sub->add_option("--max-line", o.max_line,
                  "Longest accepted line in bytes; longer ones get an error")
      ->check(CLI::Range(size_t{1}, size_t{1} << 30))
      ->type_name("BYTES")
      ->capture_default_str()
      ->group("Server");
  sub->add_flag("--one-shot", o.one_shot, "Answer one request per connection, then close")
      ->group("Server");
  sub->add_option("--max-clients", o.max_clients,
                  "Refuse clients beyond N at once (0 = no limit; 1024 for thread and fork)")
      ->check(CLI::NonNegativeNumber)
      ->type_name("N")
      ->capture_default_str()
      ->group("Server");
  sub->add_option("--idle-timeout", o.idle_timeout_s,
                  "Close clients that make no progress for SECS (0 = never)")
      ->check(CLI::NonNegativeNumber)
      ->type_name("SECS")
      ->capture_default_str()
      ->group("Server");
  add_access_options(sub, o.access);
  add_log_options(sub, log);
}

std::string examples(std::initializer_list<const char*> lines) {
  std::string out = "\nExamples:\n";
  for (const char* l : lines) out += fmt::format("  {}\n", l);
  return out;
}

}  // namespace netlab::modes
