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
  if (capacity_ - write_pos_ >= n) return data_.get() + write_pos_;
  const size_t readable = size();
  if (read_pos_ > 0 && capacity_ - readable >= n) {
    // Enough room once the consumed prefix is reclaimed: slide down, no allocation.
    std::memmove(data_.get(), data_.get() + read_pos_, readable);
  } else {
    const size_t bigger_size = std::max(readable + n, capacity_ * 2);
    auto bigger = std::make_unique_for_overwrite<char[]>(bigger_size);
    if (readable > 0) std::memcpy(bigger.get(), data_.get() + read_pos_, readable);
    data_ = std::move(bigger);
    capacity_ = bigger_size;
  }
  read_pos_ = 0;
  write_pos_ = readable;
  return data_.get() + write_pos_;
}

void Buffer::shrink_if_idle(size_t keep) {
  if (empty() && capacity_ > keep) {
    data_.reset();
    capacity_ = 0;
    read_pos_ = write_pos_ = 0;
  }
}

}  // namespace netlab::net
