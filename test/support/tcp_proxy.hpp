#pragma once
// A TCP proxy of the test's own, on 127.0.0.1:0, in front of a loopback
// server (the cluster tests put one between a node and Redis): a thread
// with poll() forwards bytes both ways until the test cuts the link.
//
// cut() closes every connection through it (each side gets a FIN: what was
// already forwarded still reaches the other end) and, until restore(),
// closes every new connection as soon as it is accepted, so the client sees
// its server go away rather than hang. cut_after(needle) does the same the
// moment a chunk from a client containing `needle` has been forwarded: the
// request reaches the server, its reply never reaches the client.
//
// Owns its listening socket, the connections and the thread; the destructor
// stops the thread and closes them all.
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace netlab::testing {

class TcpProxy {
 public:
  explicit TcpProxy(uint16_t upstream_port);  // check valid()
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  bool valid() const { return listen_fd_ >= 0; }
  uint16_t port() const { return port_; }

  void cut();
  void restore();
  // Cuts once a client has sent bytes containing `needle` (within one read).
  void cut_after(std::string needle);
  bool is_cut() const;

 private:
  struct Pair {
    int client = -1;
    int server = -1;
  };
  void run();
  void accept_one();
  // Moves what is readable on `from` to `to`; false when the pair is over.
  bool forward(int from, int to, bool from_client);
  void close_pair(Pair& p);
  void close_all();
  void wake();

  uint16_t upstream_port_;
  int listen_fd_ = -1;
  int wake_fds_[2] = {-1, -1};  // a pipe: the test thread wakes the proxy thread
  uint16_t port_ = 0;
  std::vector<Pair> pairs_;  // the proxy thread's own

  mutable std::mutex mu_;  // guards the five below
  std::condition_variable applied_;
  bool cut_ = false;       // refusing; the current connections are to be closed
  bool cut_done_ = false;  // ... and the proxy thread has closed them
  bool stopping_ = false;
  std::string needle_;

  std::thread thread_;
};

}  // namespace netlab::testing
