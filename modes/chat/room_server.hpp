#pragma once
// chat-server --mode room: many members, many rooms, one epoll loop.
#include <chrono>
#include <cstddef>
#include <optional>

#include "modes/chat/cluster_bus.hpp"
#include "net/cidr.hpp"
#include "net/endpoint.hpp"
#include "net/line_codec.hpp"

namespace netlab::modes::chat {

struct RoomServerOptions {
  net::Endpoint endpoint;
  net::Framing framing = net::Framing::kLine;
  size_t max_line = net::kDefaultMaxLine;
  size_t history = 0;              // lines of room history a newcomer gets
  size_t max_queue = 1024 * 1024;  // bytes queued for one member before it is dropped
  size_t max_clients = 0;          // 0: what RLIMIT_NOFILE allows
  double login_timeout_s = 30;     // 0: none
  net::AccessList access;
  std::optional<ClusterOptions> cluster;  // set: one node of a cluster (--cluster)
};

int run_room_server(const RoomServerOptions& options);

}  // namespace netlab::modes::chat
