#include "modes/cmdserv/confined_dir.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

namespace netlab::modes {

namespace {
// Lookups one walk may make: a path under PATH_MAX has fewer than 2,048
// components, so only links can need more; this bounds the work a tree of
// long links can ask of the server for one request.
constexpr size_t kMaxLookups = 4096;

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// Which directory an fd is, for telling whether `..` led where we came from.
struct DirId {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const DirId&) const = default;
};

std::optional<DirId> id_of(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return std::nullopt;
  return DirId{st.st_dev, st.st_ino};
}

ConfinedDir failure(int err) {
  return {-1, std::strerror(err)};
}
ConfinedDir outside() {
  return {-1, std::string(kOutsideRoot)};
}

// One step of the walk: `name` in `dir`, as a directory, a final symlink not
// followed (it fails with ENOTDIR). Opened for reading; where only searching
// is allowed (a --x directory on the way) as O_PATH, which can still be
// walked through but not listed.
struct Step {
  Fd fd;
  bool readable = false;
};
Step open_step(int dir, const char* name) {
  const int fd = ::openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0) return {Fd(fd), true};
  if (errno != EACCES) return {};
  return {Fd(::openat(dir, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)), false};
}

// The next component of `path` from `pos` on, "." and empty ones skipped;
// empty at the end.
std::string_view next_component(std::string_view path, size_t& pos) {
  while (pos < path.size()) {
    const size_t end = std::min(path.find('/', pos), path.size());
    const std::string_view part = path.substr(pos, end - pos);
    pos = end + 1;
    if (!part.empty() && part != ".") return part;
  }
  return {};
}

// An absolute link target beneath the root: what follows the root's own
// components in it, or nullopt when it does not start with them (".." among
// them included: that is for the walk beneath the root to judge).
std::optional<std::string_view> beneath_root(std::string_view root, std::string_view target) {
  size_t r = 0;
  size_t t = 0;
  for (std::string_view want = next_component(root, r); !want.empty();
       want = next_component(root, r)) {
    if (next_component(target, t) != want) return std::nullopt;
  }
  return target.substr(std::min(t, target.size()));
}

// The walk: the current directory, and the directories from the root down
// to it, which `..` must find again.
class Walk {
 public:
  Walk(Fd root, DirId root_id) : root_(std::move(root)), chain_{root_id} {}

  ConfinedDir run(const std::string& root_path, std::string_view dir) {
    if (!restart()) return failure(errno);
    std::string todo(dir);  // what is left to walk; a link's target goes in front
    size_t pos = 0;
    int hops = 0;
    size_t lookups = 0;
    for (std::string_view name = next_component(todo, pos); !name.empty();
         name = next_component(todo, pos)) {
      if (++lookups > kMaxLookups) return failure(ELOOP);
      if (name == "..") {
        if (chain_.size() == 1) return outside();
        if (auto err = up()) return *err;
        continue;
      }
      // Only lookups count against PATH_MAX, so a path that climbs out
      // first is "outside root" however long it is.
      if (dir.size() >= PATH_MAX) return failure(ENAMETOOLONG);
      const std::string component(name);
      Step step = open_step(cur_.get(), component.c_str());
      if (step.fd.valid()) {
        const auto id = id_of(step.fd.get());
        if (!id) return failure(errno);
        chain_.push_back(*id);
        cur_ = std::move(step.fd);
        readable_ = step.readable;
        continue;
      }
      const int err = errno;
      if (err != ENOTDIR && err != ELOOP) return failure(err);
      // A symlink, or a file. Follow a link ourselves, beneath the root.
      char buf[PATH_MAX];
      const ssize_t n = ::readlinkat(cur_.get(), component.c_str(), buf, sizeof(buf));
      if (n < 0) return failure(err);  // not a link: ENOTDIR stands
      if (static_cast<size_t>(n) == sizeof(buf)) return failure(ENAMETOOLONG);
      if (++hops > kMaxSymlinkHops) return failure(ELOOP);
      std::string_view target(buf, static_cast<size_t>(n));
      if (target.empty()) return failure(ENOENT);
      if (target.front() == '/') {
        const auto rest = beneath_root(root_path, target);
        if (!rest) return outside();
        target = *rest;
        if (!restart()) return failure(errno);
      }
      todo = std::string(target) + "/" + todo.substr(std::min(pos, todo.size()));
      pos = 0;
    }
    if (!readable_) return failure(EACCES);
    return {cur_.release(), {}};
  }

 private:
  // Back at the root, for an absolute link (and at the start).
  bool restart() {
    cur_ = Fd(::fcntl(root_.get(), F_DUPFD_CLOEXEC, 0));
    chain_.resize(1);
    readable_ = true;
    return cur_.valid();
  }

  // `..`: the kernel's answer, which must be the directory the walk came
  // from. It is not when a rename moved the current directory meanwhile;
  // then its parent may lie anywhere, the root's outside included.
  std::optional<ConfinedDir> up() {
    Step step = open_step(cur_.get(), "..");
    if (!step.fd.valid()) return failure(errno);
    const auto id = id_of(step.fd.get());
    if (!id) return failure(errno);
    chain_.pop_back();
    if (*id != chain_.back()) return ConfinedDir{-1, "directory moved during lookup"};
    cur_ = std::move(step.fd);
    readable_ = step.readable;
    return std::nullopt;
  }

  Fd root_;
  Fd cur_;
  bool readable_ = true;
  std::vector<DirId> chain_;
};
}  // namespace

ConfinedDir open_confined_dir(const std::string& root, std::string_view dir) {
  if (dir.find('\0') != std::string_view::npos) return {-1, "invalid path"};
  if (!dir.empty() && dir.front() == '/') return outside();
  Fd root_fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd.valid()) return failure(errno);
  const auto root_id = id_of(root_fd.get());
  if (!root_id) return failure(errno);
  return Walk(std::move(root_fd), *root_id).run(root, dir);
}

}  // namespace netlab::modes
