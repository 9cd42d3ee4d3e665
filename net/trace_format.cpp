#include "net/trace_format.hpp"

#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

// The one UTF-8 decoder (cmdserv's JSON, chat names and the chat terminal use
// it too), so "is this text?" gets the same answer everywhere.
#include "net/terminal_text.hpp"
#include "net/utf8.hpp"

namespace netlab::net {

namespace {
std::string failed(int err) {
  return fmt::format(" = {}", errno_text(err));
}

// "6 bytes", "1 byte".
std::string bytes_count(size_t n) {
  return fmt::format("{} byte{}", n, n == 1 ? "" : "s");
}

// " \"hello\\n\"" after a byte count; nothing with --trace-bytes 0.
std::string payload(const char* data, size_t n, size_t limit) {
  if (limit == 0) return {};
  return fmt::format(" {}", quote_payload(std::string_view(data, n), limit));
}

// A call that returns only success or failure.
CallText status_call(CallKind kind, std::string text, int rc, int err) {
  if (rc < 0) return {kind, true, text + failed(err)};
  return {kind, false, std::move(text)};
}

// A call whose failure may be EAGAIN: not an error, just "nothing yet".
CallText io_failure(CallKind kind, std::string text, int err) {
  return {kind, !is_would_block(err), text + failed(err)};
}

std::string timeout_text(int timeout_ms) {
  return timeout_ms < 0 ? "no timeout" : fmt::format("timeout {} ms", timeout_ms);
}

// "EPOLLIN|EPOLLOUT"; the leftover bits as a number.
std::string epoll_events_text(uint32_t events) {
  static constexpr std::pair<uint32_t, const char*> kNames[] = {
      {EPOLLIN, "EPOLLIN"},   {EPOLLOUT, "EPOLLOUT"},        {EPOLLRDHUP, "EPOLLRDHUP"},
      {EPOLLPRI, "EPOLLPRI"}, {EPOLLERR, "EPOLLERR"},        {EPOLLHUP, "EPOLLHUP"},
      {EPOLLET, "EPOLLET"},   {EPOLLONESHOT, "EPOLLONESHOT"}};
  std::string out;
  for (const auto& [bit, name] : kNames) {
    if (!(events & bit)) continue;
    if (!out.empty()) out += '|';
    out += name;
    events &= ~bit;
  }
  if (events != 0 || out.empty()) {
    if (!out.empty()) out += '|';
    out += fmt::format("{:#x}", events);
  }
  return out;
}

std::string poll_events_text(short events) {
  std::string out;
  if (events & POLLIN) out = "POLLIN";
  if (events & POLLOUT) out += out.empty() ? "POLLOUT" : "|POLLOUT";
  return out.empty() ? std::to_string(events) : out;
}

void append_hex_byte(std::string& out, unsigned char c) {
  out += fmt::format("\\x{:02x}", c);
}

}  // namespace

std::string family_name(int family) {
  switch (family) {
    case AF_INET:
      return "AF_INET";
    case AF_INET6:
      return "AF_INET6";
    case AF_UNIX:
      return "AF_UNIX";
    default:
      return std::to_string(family);
  }
}

std::string socket_type_name(int type) {
  std::string out;
  switch (type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) {
    case SOCK_STREAM:
      out = "SOCK_STREAM";
      break;
    case SOCK_DGRAM:
      out = "SOCK_DGRAM";
      break;
    case SOCK_SEQPACKET:
      out = "SOCK_SEQPACKET";
      break;
    default:
      out = std::to_string(type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC));
  }
  if (type & SOCK_NONBLOCK) out += "|SOCK_NONBLOCK";
  if (type & SOCK_CLOEXEC) out += "|SOCK_CLOEXEC";
  return out;
}

std::string sockopt_level_name(int level) {
  switch (level) {
    case SOL_SOCKET:
      return "SOL_SOCKET";
    case IPPROTO_TCP:
      return "IPPROTO_TCP";
    case IPPROTO_IPV6:
      return "IPPROTO_IPV6";
    case IPPROTO_IP:
      return "IPPROTO_IP";
    default:
      return std::to_string(level);
  }
}

std::string sockopt_name(int level, int name) {
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_REUSEADDR:
        return "SO_REUSEADDR";
      case SO_REUSEPORT:
        return "SO_REUSEPORT";
      case SO_ERROR:
        return "SO_ERROR";
      case SO_RCVBUF:
        return "SO_RCVBUF";
      case SO_SNDBUF:
        return "SO_SNDBUF";
      case SO_KEEPALIVE:
        return "SO_KEEPALIVE";
      case SO_LINGER:
        return "SO_LINGER";
      case SO_TYPE:
        return "SO_TYPE";
    }
  } else if (level == IPPROTO_TCP && name == TCP_NODELAY) {
    return "TCP_NODELAY";
  } else if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY) {
    return "IPV6_V6ONLY";
  }
  return std::to_string(name);
}

std::string errno_text(int err) {
  const char* name = strerrorname_np(err);
  return fmt::format("{} ({})", name ? name : std::to_string(err), std::strerror(err));
}

bool is_would_block(int err) {
  return err == EAGAIN || err == EWOULDBLOCK;
}

std::string quote_payload(std::string_view bytes, size_t limit) {
  std::string out = "\"";
  size_t i = 0;
  while (i < bytes.size()) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    uint32_t cp = 0;
    const size_t len = c >= 0x80 ? utf8_decode(bytes, i, cp) : 1;
    if (i + (len == 0 ? 1 : len) > limit) break;
    if (len == 0) {  // not UTF-8: show the byte
      append_hex_byte(out, c);
      ++i;
      continue;
    }
    if (len > 1) {
      if (steers_terminal(cp)) {
        out += fmt::format("\\u{:04x}", cp);
      } else {
        out.append(bytes.substr(i, len));
      }
      i += len;
      continue;
    }
    // Python's repr() of bytes, which the tutorial's readers have seen.
    switch (c) {
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          append_hex_byte(out, c);
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  out += '"';
  if (i < bytes.size()) out += "...";
  return out;
}

CallText socket_call(int family, int type, int fd, int err) {
  std::string text = fmt::format("socket({}, {})", family_name(family), socket_type_name(type));
  if (fd < 0) return {CallKind::kSetup, true, text + failed(err)};
  return {CallKind::kSetup, false, fmt::format("{} = fd {}", text, fd)};
}

CallText setsockopt_call(int fd, int level, int name, int value, int rc, int err) {
  return status_call(CallKind::kSetup,
                     fmt::format("setsockopt(fd {}, {}, {}, {})", fd, sockopt_level_name(level),
                                 sockopt_name(level, name), value),
                     rc, err);
}

CallText so_error_call(int fd, int rc, int value, int err) {
  const std::string text = fmt::format("getsockopt(fd {}, SOL_SOCKET, SO_ERROR)", fd);
  if (rc < 0) return {CallKind::kSetup, true, text + failed(err)};
  if (value != 0) return {CallKind::kSetup, true, text + failed(value)};
  return {CallKind::kSetup, false, text + " = 0"};
}

CallText bind_call(int fd, const Address& addr, int rc, int err) {
  return status_call(CallKind::kSetup, fmt::format("bind(fd {}, {})", fd, addr.to_string()), rc,
                     err);
}

CallText listen_call(int fd, int backlog, int rc, int err) {
  return status_call(CallKind::kSetup, fmt::format("listen(fd {}, backlog {})", fd, backlog), rc,
                     err);
}

CallText accept_call(int fd, int new_fd, const Address& peer, int err) {
  std::string text = fmt::format("accept(fd {})", fd);
  if (new_fd < 0) return io_failure(CallKind::kSetup, std::move(text), err);
  return {CallKind::kSetup, false,
          fmt::format("{} = fd {} from {}", text, new_fd, peer.to_string())};
}

CallText connect_call(int fd, const Address& addr, int rc, int err) {
  std::string text = fmt::format("connect(fd {}, {})", fd, addr.to_string());
  if (rc == 0) return {CallKind::kSetup, false, std::move(text)};
  // A non-blocking connect always starts this way; getsockopt(SO_ERROR)
  // tells how it ended.
  return {CallKind::kSetup, err != EINPROGRESS, text + failed(err)};
}

CallText recv_call(int fd, size_t len, const char* data, ssize_t n, int err, bool stream,
                   size_t limit) {
  std::string text = fmt::format("recv(fd {}, {})", fd, len);
  if (n < 0) return io_failure(CallKind::kData, std::move(text), err);
  if (n == 0 && stream) return {CallKind::kData, false, text + " = 0 bytes (peer closed)"};
  return {CallKind::kData, false,
          fmt::format("{} = {}{}", text, bytes_count(static_cast<size_t>(n)),
                      payload(data, static_cast<size_t>(n), limit))};
}

CallText send_call(int fd, const char* data, size_t len, ssize_t n, int err, size_t limit) {
  std::string text =
      fmt::format("send(fd {}, {}{})", fd, bytes_count(len), payload(data, len, limit));
  if (n < 0) return io_failure(CallKind::kData, std::move(text), err);
  return {CallKind::kData, false, fmt::format("{} = {}", text, n)};
}

CallText recvfrom_call(int fd, size_t len, const char* data, ssize_t n, const Address& from,
                       int err, size_t limit) {
  std::string text = fmt::format("recvfrom(fd {}, {})", fd, len);
  if (n < 0) return io_failure(CallKind::kData, std::move(text), err);
  return {CallKind::kData, false,
          fmt::format("{} = {}{} from {}", text, bytes_count(static_cast<size_t>(n)),
                      payload(data, static_cast<size_t>(n), limit), from.to_string())};
}

CallText sendto_call(int fd, const char* data, size_t len, const Address& to, ssize_t n, int err,
                     size_t limit) {
  std::string text = fmt::format("sendto(fd {}, {}{}, {})", fd, bytes_count(len),
                                 payload(data, len, limit), to.to_string());
  if (n < 0) return io_failure(CallKind::kData, std::move(text), err);
  return {CallKind::kData, false, fmt::format("{} = {}", text, n)};
}

CallText shutdown_call(int fd, int how, int rc, int err) {
  const char* name = how == SHUT_WR ? "SHUT_WR" : how == SHUT_RD ? "SHUT_RD" : "SHUT_RDWR";
  return status_call(CallKind::kTeardown, fmt::format("shutdown(fd {}, {})", fd, name), rc, err);
}

CallText close_call(int fd, int rc, int err) {
  return status_call(CallKind::kTeardown, fmt::format("close(fd {})", fd), rc, err);
}

CallText getsockname_call(int fd, const Address& addr, int rc, int err) {
  std::string text = fmt::format("getsockname(fd {})", fd);
  if (rc < 0) return {CallKind::kSetup, true, text + failed(err)};
  return {CallKind::kSetup, false, fmt::format("{} = {}", text, addr.to_string())};
}

CallText getpeername_call(int fd, const Address& addr, int rc, int err) {
  std::string text = fmt::format("getpeername(fd {})", fd);
  if (rc < 0) return {CallKind::kSetup, true, text + failed(err)};
  return {CallKind::kSetup, false, fmt::format("{} = {}", text, addr.to_string())};
}

CallText epoll_create_call(int epfd, int err) {
  if (epfd < 0)
    return {CallKind::kLoop, true, fmt::format("epoll_create1(EPOLL_CLOEXEC){}", failed(err))};
  return {CallKind::kLoop, false, fmt::format("epoll_create1(EPOLL_CLOEXEC) = fd {}", epfd)};
}

CallText epoll_ctl_call(int epfd, int op, int fd, uint32_t events, int rc, int err) {
  std::string text;
  if (op == EPOLL_CTL_DEL) {
    text = fmt::format("epoll_ctl(fd {}, EPOLL_CTL_DEL, fd {})", epfd, fd);
  } else {
    text = fmt::format("epoll_ctl(fd {}, {}, fd {}, {})", epfd,
                       op == EPOLL_CTL_ADD ? "EPOLL_CTL_ADD" : "EPOLL_CTL_MOD", fd,
                       epoll_events_text(events));
  }
  return status_call(CallKind::kLoop, std::move(text), rc, err);
}

CallText epoll_wait_call(int epfd, int timeout_ms, int n, int err) {
  std::string text = fmt::format("epoll_wait(fd {}, {})", epfd, timeout_text(timeout_ms));
  // EINTR: a signal arrived; the loop just waits again.
  if (n < 0) return {CallKind::kLoop, err != EINTR, text + failed(err)};
  return {CallKind::kLoop, false, fmt::format("{} = {} ready", text, n)};
}

CallText poll_call(const pollfd* fds, size_t nfds, int timeout_ms, int n, int err) {
  std::string text = "poll(";
  bool first = true;
  for (size_t i = 0; i < nfds; ++i) {
    if (fds[i].fd < 0) continue;  // poll() skips negative fds
    if (!first) text += ", ";
    first = false;
    text += fmt::format("fd {} {}", fds[i].fd, poll_events_text(fds[i].events));
  }
  text += fmt::format("; {})", timeout_text(timeout_ms));
  if (n < 0) return {CallKind::kLoop, err != EINTR, text + failed(err)};
  return {CallKind::kLoop, false, fmt::format("{} = {} ready", text, n)};
}

std::string format_trace_line(const LinePrefix& prefix, const CallText& call, bool colour) {
  std::string out = fmt::format("{:9.3f} ms ", prefix.ms);
  if (prefix.id_kind == LinePrefix::Id::kThread) out += fmt::format("[tid {}] ", prefix.id);
  if (prefix.id_kind == LinePrefix::Id::kProcess) out += fmt::format("[pid {}] ", prefix.id);
  // Payloads are quoted already, but addresses are not: an abstract Unix
  // socket name is whatever bytes the peer chose.
  const std::string text = escape_for_terminal(call.text);
  if (!colour) return out + text + "\n";
  const char* start = "";
  if (call.error) {
    start = "\033[31m";  // red
  } else {
    switch (call.kind) {
      case CallKind::kSetup:
        start = "\033[36m";  // cyan
        break;
      case CallKind::kData:
        start = "\033[32m";  // green
        break;
      case CallKind::kTeardown:
        start = "\033[33m";  // yellow
        break;
      case CallKind::kLoop:
        start = "\033[2m";  // dim: the loop's bookkeeping, not the conversation
        break;
    }
  }
  return out + start + text + "\033[0m\n";
}

}  // namespace netlab::net
