#pragma once
// Acceptor: accepts on a Listener's sockets inside an EventLoop and hands
// each new connection to a callback. It borrows the sockets (the Listener
// must outlive it).
//
// Running out of fds must never spin the loop: level-triggered epoll keeps
// reporting the pending connection, so on EMFILE/ENFILE we give up a reserve
// fd, accept the connection and close it at once (the client sees a clean
// close instead of hanging in the backlog), and take the reserve back. If even
// that fails, accepting pauses for a moment.
#include <functional>

#include "net/address.hpp"
#include "net/event_loop.hpp"
#include "net/listener.hpp"
#include "net/socket.hpp"

namespace netlab::net {

class Acceptor {
 public:
  using AcceptHandler = std::function<void(Socket socket, const Address& peer)>;

  Acceptor(EventLoop& loop, Listener& listener, AcceptHandler on_accept);
  ~Acceptor();
  Acceptor(const Acceptor&) = delete;
  Acceptor& operator=(const Acceptor&) = delete;

  void stop();  // stop accepting and close the listening sockets

 private:
  void handle_readable(Socket& listening);
  void handle_out_of_fds(Socket& listening);
  void pause_accepting();

  EventLoop& loop_;
  Listener& listener_;
  AcceptHandler on_accept_;
  int reserve_fd_ = -1;
  EventLoop::TimerId resume_timer_ = 0;
  EventLoop::Clock::time_point last_out_of_fds_log_{};
  bool stopped_ = false;
  bool paused_ = false;
};

}  // namespace netlab::net
