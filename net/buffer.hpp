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
#include <string_view>
#include <vector>

namespace netlab::net {

class Buffer {
 public:
  size_t size() const { return write_pos_ - read_pos_; }
  bool empty() const { return size() == 0; }
  std::string_view view() const { return {data_.data() + read_pos_, size()}; }

  void append(std::string_view bytes);
  void consume(size_t n);  // n is clamped to size()
  void clear() { read_pos_ = write_pos_ = 0; }

  // At least `n` writable bytes at the returned pointer; then commit(k), k <= n.
  char* prepare(size_t n);
  void commit(size_t n) { write_pos_ += n; }

  // Memory held, readable or not: what backpressure limits must bound.
  size_t capacity() const { return data_.size(); }
  // Gives memory back after a burst (a buffer that once held 1 MiB need not keep it).
  void shrink_if_idle(size_t keep);

 private:
  std::vector<char> data_;
  size_t read_pos_ = 0;
  size_t write_pos_ = 0;
};

}  // namespace netlab::net
