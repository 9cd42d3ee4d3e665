#include "modes/cmdserv/listing_cache.hpp"

#include <algorithm>
#include <utility>

namespace netlab::modes {

namespace {
bool same_time(const timespec& a, const timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}
}  // namespace

bool ListingCache::same_directory(const Slot& s, const struct stat& st, size_t max_reply) {
  return s.dev == st.st_dev && s.ino == st.st_ino && same_time(s.mtime, st.st_mtim) &&
         same_time(s.ctime, st.st_ctim) && s.max_reply == max_reply;
}

std::shared_ptr<const std::string> ListingCache::find(const struct stat& st, size_t max_reply,
                                                      Clock::time_point now) {
  const std::lock_guard lock(mu_);
  for (const Slot& s : slots_) {
    if (same_directory(s, st, max_reply) && now - s.made < kMaxAge) return s.listing;
  }
  return nullptr;
}

void ListingCache::put(const struct stat& st, size_t max_reply,
                       std::shared_ptr<const std::string> listing, Clock::time_point now) {
  const std::lock_guard lock(mu_);
  // One slot per directory: a newer listing replaces the one it outdates.
  std::erase_if(slots_, [&](const Slot& s) { return s.dev == st.st_dev && s.ino == st.st_ino; });
  if (slots_.size() >= kSlots) slots_.erase(slots_.begin());
  slots_.push_back(
      Slot{st.st_dev, st.st_ino, st.st_mtim, st.st_ctim, max_reply, now, std::move(listing)});
}

}  // namespace netlab::modes
