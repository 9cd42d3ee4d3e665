#include "net/datagram_batch.hpp"

#include <cerrno>
#include <string>

#include "net/trace.hpp"

namespace netlab::net {

DatagramBatch::DatagramBatch(unsigned capacity, size_t max_datagram)
    : max_datagram_(max_datagram),
      storage_(std::make_unique_for_overwrite<char[]>(capacity * (max_datagram + 1))),
      slots_(capacity),
      in_(capacity),
      in_iov_(capacity),
      out_(capacity),
      out_iov_(2 * static_cast<size_t>(capacity)) {
  for (unsigned i = 0; i < capacity; ++i) slots_[i].data = storage_.get() + i * (max_datagram + 1);
}

int DatagramBatch::receive(Socket& s) {
  replies_ = 0;
  if (Trace::calls()) return receive_traced(s);
  const unsigned n = capacity();
  for (unsigned i = 0; i < n; ++i) {
    in_iov_[i] = {slots_[i].data, max_datagram_ + 1};
    msghdr& h = in_[i].msg_hdr;
    h = msghdr{};
    h.msg_name = slots_[i].from.get_mutable();
    h.msg_namelen = *slots_[i].from.size_for_kernel();
    h.msg_iov = &in_iov_[i];
    h.msg_iovlen = 1;
  }
  const int got = s.recv_many(in_.data(), n);
  if (got < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
  for (int i = 0; i < got; ++i) {
    *slots_[i].from.size_for_kernel() = in_[i].msg_hdr.msg_namelen;
    slots_[i].size = in_[i].msg_len;
  }
  return got;
}

int DatagramBatch::receive_traced(Socket& s) {
  unsigned got = 0;
  while (got < capacity()) {
    Slot& slot = slots_[got];
    const ssize_t n = s.recv_from(slot.data, max_datagram_ + 1, slot.from);
    if (n < 0) {
      if (got > 0 || errno == EAGAIN || errno == EWOULDBLOCK) break;
      return -1;
    }
    slot.size = static_cast<size_t>(n);
    ++got;
  }
  return static_cast<int>(got);
}

void DatagramBatch::reply(unsigned i, std::string_view head, std::string_view tail) {
  const unsigned r = replies_++;
  iovec* iov = &out_iov_[2 * static_cast<size_t>(r)];
  iov[0] = {const_cast<char*>(head.data()), head.size()};
  iov[1] = {const_cast<char*>(tail.data()), tail.size()};
  msghdr& h = out_[r].msg_hdr;
  h = msghdr{};
  h.msg_name = const_cast<sockaddr*>(slots_[i].from.get());
  h.msg_namelen = slots_[i].from.size();
  h.msg_iov = iov;
  h.msg_iovlen = 2;
}

unsigned DatagramBatch::send_replies(Socket& s) {
  if (Trace::calls()) return send_replies_traced(s);
  unsigned sent = 0;
  unsigned dropped = 0;
  while (sent < replies_) {
    const int n = s.send_many(out_.data() + sent, replies_ - sent);
    if (n > 0) {
      sent += static_cast<unsigned>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      dropped += replies_ - sent;  // send queue full: UDP drops, never blocks
      break;
    } else {
      ++sent;  // this one reply was refused (e.g. too big); the rest go on
      ++dropped;
    }
  }
  replies_ = 0;
  return dropped;
}

unsigned DatagramBatch::send_replies_traced(Socket& s) {
  unsigned dropped = 0;
  std::string bytes;
  for (unsigned r = 0; r < replies_; ++r) {
    const iovec* iov = &out_iov_[2 * static_cast<size_t>(r)];
    bytes.assign(static_cast<const char*>(iov[0].iov_base), iov[0].iov_len);
    bytes.append(static_cast<const char*>(iov[1].iov_base), iov[1].iov_len);
    const msghdr& h = out_[r].msg_hdr;
    const Address to(static_cast<const sockaddr*>(h.msg_name), h.msg_namelen);
    if (s.send_to(bytes.data(), bytes.size(), to) < 0) ++dropped;
  }
  replies_ = 0;
  return dropped;
}

}  // namespace netlab::net
