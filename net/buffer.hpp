#pragma once
// Buffer: contiguous bytes with a read and a write position.
//
//   +--------------------+------------------+------------------+
//   |  consumed (free)   |  readable bytes  |  writable space  |
//   +--------------------+------------------+------------------+
//   0       <=       read_pos_    <=    write_pos_    <=    data_.size()
//
// consume() only moves read_pos_; the consumed prefix is reclaimed lazily by
// prepare() (slide down or grow), so a stream of small reads and writes costs
// no per-message allocation. It does no I/O: the caller reads into prepare()d
// space and commit()s what the kernel wrote.
#include <cstddef>
#include <memory>
#include <string_view>
#include <utility>

namespace netlab::net {

class Buffer {
 public:
  Buffer() = default;
  Buffer(Buffer&& other) noexcept { *this = std::move(other); }
  Buffer& operator=(Buffer&& other) noexcept {
    data_ = std::move(other.data_);
    capacity_ = std::exchange(other.capacity_, 0);
    read_pos_ = std::exchange(other.read_pos_, 0);
    write_pos_ = std::exchange(other.write_pos_, 0);
    return *this;
  }

  size_t size() const { return write_pos_ - read_pos_; }
  bool empty() const { return size() == 0; }
  std::string_view view() const { return {data_.get() + read_pos_, size()}; }

  void append(std::string_view bytes);
  void consume(size_t n);  // n is clamped to size()
  void clear() { read_pos_ = write_pos_ = 0; }

  // At least `n` writable bytes at the returned pointer; then commit(k), k <= n.
  char* prepare(size_t n);
  void commit(size_t n) { write_pos_ += n; }

  // Memory held, readable or not: what backpressure limits must bound.
  size_t capacity() const { return capacity_; }
  // Gives memory back after a burst (a buffer that once held 1 MiB need not keep it).
  void shrink_if_idle(size_t keep);

 private:
  // Not a std::vector<char>: that zero-fills every byte it grows by, which
  // cost more than everything else on the request path (callgrind: a 64 KiB
  // memset per read). Bytes here are only ever read after being written.
  std::unique_ptr<char[]> data_;
  size_t capacity_ = 0;
  size_t read_pos_ = 0;
  size_t write_pos_ = 0;
};

}  // namespace netlab::net
