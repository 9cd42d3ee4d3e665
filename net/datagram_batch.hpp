#pragma once
// DatagramBatch: a UDP server's datagrams, many per system call. One
// recvmmsg() takes every datagram already queued (up to capacity), one
// sendmmsg() sends all the replies: per datagram that is a fraction of a
// system call instead of a recvfrom() and a sendto() each.
//
// A reply is sent as one datagram made of two pieces (say, a prefix shared
// by the whole batch and the received payload itself), so building a reply
// copies nothing.
//
// With --trace the batch makes one recvfrom()/sendto() per datagram instead:
// the trace then shows the calls the tutorial names, and they are the calls
// really made.
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

#include "net/address.hpp"
#include "net/socket.hpp"

namespace netlab::net {

class DatagramBatch {
 public:
  DatagramBatch(unsigned capacity, size_t max_datagram);

  unsigned capacity() const { return static_cast<unsigned>(slots_.size()); }

  // Receives what is queued on `s`, up to capacity(), without blocking.
  // Returns the number received (0: nothing was waiting), or -1 with errno
  // for an error other than EAGAIN (on UDP often an ICMP error left by an
  // earlier reply: it concerns one peer, and the next call goes on).
  int receive(Socket& s);
  std::string_view datagram(unsigned i) const { return {slots_[i].data, slots_[i].size}; }
  // Datagram i was longer than max_datagram: only a Unix datagram socket
  // can carry one (UDP's largest payload is below 64 KiB). Its datagram()
  // is then cut short, so it must not be answered as if whole.
  bool too_long(unsigned i) const { return slots_[i].size > max_datagram_; }
  const Address& sender(unsigned i) const { return slots_[i].from; }

  // Queues a reply to datagram i: head then tail, as one datagram. Both must
  // stay valid until send_replies().
  void reply(unsigned i, std::string_view head, std::string_view tail);
  // Sends the queued replies and forgets them. A reply the kernel refuses
  // (too big, no route, send queue full) is dropped, as UDP drops datagrams;
  // returns how many were dropped.
  unsigned send_replies(Socket& s);

 private:
  struct Slot {
    Address from;
    char* data = nullptr;
    size_t size = 0;
  };
  int receive_traced(Socket& s);
  unsigned send_replies_traced(Socket& s);

  size_t max_datagram_;
  // capacity x (max_datagram + 1) bytes, never zero-filled: pages the kernel
  // never writes to (most of each 64 KiB slot) cost no memory. The extra
  // byte per slot is how a longer datagram shows (see too_long), on both the
  // recvmmsg and the traced recvfrom path.
  std::unique_ptr<char[]> storage_;
  std::vector<Slot> slots_;
  std::vector<mmsghdr> in_;
  std::vector<iovec> in_iov_;
  std::vector<mmsghdr> out_;
  std::vector<iovec> out_iov_;  // two per reply
  unsigned replies_ = 0;
};

}  // namespace netlab::net
