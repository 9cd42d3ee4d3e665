#pragma once
// The last few cut listings, shared by every client of one server process:
// forty clients asking for the same huge directory at once cost one read of
// it, not forty. Only cut listings are kept (a whole one is cheap to make
// again, and must always be fresh); one is reused while its directory is the
// same inode with the same mtime and ctime, and for at most kMaxAge (file
// system timestamps are coarse, so an unchanged mtime does not quite prove
// an unchanged directory). Safe to use from several threads (--model thread).
#include <sys/stat.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace netlab::modes {

class ListingCache {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr auto kMaxAge = std::chrono::seconds(1);
  static constexpr size_t kSlots = 4;  // at most 4 listings of --max-reply bytes

  // The listing of the directory `st` describes, cut at max_reply, if one is
  // kept; nullptr otherwise.
  std::shared_ptr<const std::string> find(const struct stat& st, size_t max_reply,
                                          Clock::time_point now);
  void put(const struct stat& st, size_t max_reply, std::shared_ptr<const std::string> listing,
           Clock::time_point now);

 private:
  struct Slot {
    dev_t dev = 0;
    ino_t ino = 0;
    timespec mtime{};
    timespec ctime{};
    size_t max_reply = 0;
    Clock::time_point made;
    std::shared_ptr<const std::string> listing;
  };
  static bool same_directory(const Slot& s, const struct stat& st, size_t max_reply);

  std::mutex mu_;
  std::vector<Slot> slots_;  // oldest first
};

}  // namespace netlab::modes
