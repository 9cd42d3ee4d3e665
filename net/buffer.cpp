#include "net/buffer.hpp"

#include <algorithm>
#include <cstring>

namespace netlab::net {

void Buffer::append(std::string_view bytes) {
  if (bytes.empty()) return;
  std::memcpy(prepare(bytes.size()), bytes.data(), bytes.size());
  commit(bytes.size());
}

void Buffer::consume(size_t n) {
  read_pos_ += std::min(n, size());
  if (read_pos_ == write_pos_) read_pos_ = write_pos_ = 0;
}

char* Buffer::prepare(size_t n) {
  if (data_.size() - write_pos_ >= n) return data_.data() + write_pos_;
  const size_t readable = size();
  if (read_pos_ > 0 && data_.size() - readable >= n) {
    // Enough room once the consumed prefix is reclaimed: slide down, no allocation.
    std::memmove(data_.data(), data_.data() + read_pos_, readable);
  } else {
    std::vector<char> bigger(std::max(readable + n, data_.size() * 2));
    if (readable > 0) std::memcpy(bigger.data(), data_.data() + read_pos_, readable);
    data_.swap(bigger);
  }
  read_pos_ = 0;
  write_pos_ = readable;
  return data_.data() + write_pos_;
}

void Buffer::shrink_if_idle(size_t keep) {
  if (empty() && data_.size() > keep) {
    std::vector<char>().swap(data_);
    read_pos_ = write_pos_ = 0;
  }
}

}  // namespace netlab::net
