// netlab chat-server: exercises 16-7 ... 16-10. Room mode is the multi-user
// server; duplex and half-duplex are one-to-one chats with the operator.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <memory>

#include "modes/chat/modes.hpp"
#include "modes/chat/pair_server.hpp"
#include "modes/chat/redis_url.hpp"
#include "modes/chat/room_server.hpp"
#include "modes/cli_options.hpp"
#include "modes/modes.hpp"

namespace netlab::modes {

namespace chat {
void add_chat_mode_option(CLI::App* sub, ChatMode& mode) {
  add_choice_option(
      sub, "--mode", mode,
      {{"room", ChatMode::kRoom},
       {"duplex", ChatMode::kDuplex},
       {"half-duplex", ChatMode::kHalfDuplex}},
      "room (default): multi-user rooms; duplex: 1:1 with the server's operator, both type freely; "
      "half-duplex: 1:1 in strict turns, client first")
      ->group("Chat");
}

void reject_room_only_options(const CLI::App* sub, ChatMode mode,
                              std::initializer_list<std::string_view> options) {
  if (mode == ChatMode::kRoom) return;
  for (std::string_view option : options) {
    if (sub->count(std::string(option)) > 0) {
      throw CLI::ValidationError(fmt::format("{} {}: {} applies only to --mode room",
                                             sub->get_parent()->get_name(), sub->get_name(),
                                             option));
    }
  }
}
}  // namespace chat

namespace {
struct Options {
  chat::ChatMode mode = chat::ChatMode::kRoom;
  chat::RoomServerOptions room;
  std::string cluster_prefix = "netlab";
  LogOptions log;
};

int run(const Options& o) {
  o.log.apply();
  if (o.mode == chat::ChatMode::kRoom) return chat::run_room_server(o.room);
  chat::PairServerOptions pair;
  pair.endpoint = o.room.endpoint;
  pair.half_duplex = o.mode == chat::ChatMode::kHalfDuplex;
  pair.framing = o.room.framing;
  pair.max_line = o.room.max_line;
  pair.access = o.room.access;
  return chat::run_pair_server(pair);
}
}  // namespace

void register_chat_server(CLI::App& app, Runner& runner) {
  auto opts = std::make_shared<Options>();
  auto* sub = app.add_subcommand("chat-server",
                                 "Chat server: multi-room chat, or a 1:1 chat with the operator");
  auto& r = opts->room;
  add_address_options(sub, r.endpoint, net::Transport::kTcp, Side::kServer);
  chat::add_chat_mode_option(sub, opts->mode);
  add_choice_option(
      sub, "--framing", r.framing, {{"line", net::Framing::kLine}, {"raw", net::Framing::kRaw}},
      "line (default): one message per line; raw: each read chunk is a message and replies carry "
      "no newline (the tutorial's client)")
      ->group("Chat");
  sub->add_option("--history", r.history,
                  "Lines of room history a newcomer receives first (room mode)")
      ->check(CLI::Range(size_t{0}, size_t{100000}))
      ->type_name("N")
      ->capture_default_str()
      ->group("Chat");
  sub->add_option("--max-queue", r.max_queue,
                  "Bytes queued for a member that does not read before it is dropped (room mode)")
      ->check(CLI::Range(size_t{1024}, size_t{1} << 32))
      ->type_name("BYTES")
      ->capture_default_str()
      ->group("Chat");
  sub->add_option("--max-clients", r.max_clients,
                  "Refuse clients beyond N (0 = as many as file descriptors allow; room mode)")
      ->check(CLI::NonNegativeNumber)
      ->type_name("N")
      ->capture_default_str()
      ->group("Chat");
  sub->add_option("--login-timeout", r.login_timeout_s,
                  "Close connections that send no login line within SECS (room mode)")
      ->check(CLI::NonNegativeNumber)
      ->type_name("SECS")
      ->capture_default_str()
      ->group("Chat");
  sub->add_option("--max-line", r.max_line, "Longest accepted line in bytes")
      ->check(CLI::Range(size_t{1}, size_t{1} << 30))
      ->type_name("BYTES")
      ->capture_default_str()
      ->group("Chat");
  sub->add_option_function<std::string>(
         "--cluster",
         [opts](const std::string& url) {
           std::string why;
           auto parsed = chat::parse_redis_url(url, why);
           if (!parsed) throw CLI::ValidationError("--cluster", url + ": " + why);
           if (!opts->room.cluster) opts->room.cluster.emplace();
           opts->room.cluster->url = *parsed;
         },
         "Serve the rooms together with other nodes through Redis pub/sub (room mode)")
      ->type_name("redis://HOST:PORT[/DB]")
      ->group("Cluster");
  sub->add_option_function<std::string>(
         "--cluster-prefix",
         [opts](const std::string& prefix) {
           if (prefix.empty() || prefix.find_first_of(" \t\r\n") != std::string::npos) {
             throw CLI::ValidationError("--cluster-prefix",
                                        "'" + prefix + "': expected a word without spaces");
           }
           opts->cluster_prefix = prefix;
         },
         "Prefix of every Redis key and channel of the cluster (default netlab; with --cluster)")
      ->type_name("PREFIX")
      ->group("Cluster");
  add_access_options(sub, r.access);
  add_log_options(sub, opts->log);
  sub->footer(examples({
      "netlab chat-server --port 0 --history 20 -v",
      "netlab chat-server --framing raw            # the tutorial's chat client",
      "netlab chat-server --mode half-duplex       # talk to one client yourself, in turns",
      "netlab chat-server --port 7000 --cluster redis://127.0.0.1:6379   # one node of several",
  }));
  sub->callback([opts, &runner, sub] {
    // Duplex and half-duplex serve one client, with no login and no room:
    // these would do nothing there.
    chat::reject_room_only_options(sub, opts->mode,
                                   {"--history", "--max-queue", "--max-clients", "--login-timeout",
                                    "--cluster", "--cluster-prefix"});
    if (sub->count("--cluster-prefix") > 0 && !opts->room.cluster) {
      throw CLI::ValidationError("netlab chat-server: --cluster-prefix needs --cluster");
    }
    if (opts->room.cluster) opts->room.cluster->prefix = opts->cluster_prefix;
    runner = [opts] { return run(*opts); };
  });
}

}  // namespace netlab::modes
