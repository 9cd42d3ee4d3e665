#include "modes/cmdserv/commands.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "net/utf8.hpp"

namespace netlab::modes {

namespace {
constexpr std::string_view kWhitespace = " \t\r\n\v\f";

std::string_view trim(std::string_view s) {
  const size_t b = s.find_first_not_of(kWhitespace);
  if (b == std::string_view::npos) return {};
  const size_t e = s.find_last_not_of(kWhitespace);
  return s.substr(b, e - b + 1);
}

// Normalizes a relative path lexically ("a/./b/../c" -> "a/c"); nullopt when
// ".." would climb above the start.
std::optional<std::string> normalize_relative(std::string_view dir) {
  std::vector<std::string_view> parts;
  size_t pos = 0;
  while (pos <= dir.size()) {
    const size_t slash = std::min(dir.find('/', pos), dir.size());
    const std::string_view part = dir.substr(pos, slash - pos);
    pos = slash + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (parts.empty()) return std::nullopt;
      parts.pop_back();
    } else {
      parts.push_back(part);
    }
  }
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += '/';
    out += p;
  }
  return out;
}

bool is_inside(const std::string& root, const std::string& path) {
  if (path == root) return true;
  const std::string prefix = root == "/" ? root : root + "/";
  return path.compare(0, prefix.size(), prefix) == 0;
}
}  // namespace

std::string json_quote(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() + 2);
  out += '"';
  for (size_t i = 0; i < bytes.size();) {
    const unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x80) {
      uint32_t cp = 0;
      const size_t len = net::utf8_decode(bytes, i, cp);
      if (len == 0) {
        out += "\\ufffd";
        ++i;
      } else {
        out.append(bytes.substr(i, len));
        i += len;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += fmt::format("\\u{:04x}", c);
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  out += '"';
  return out;
}

std::string json_string_array(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ", ";
    out += json_quote(items[i]);
  }
  out += ']';
  return out;
}

namespace {
// openat2(RESOLVE_BENEATH), or -1 with errno (ENOSYS on kernels before 5.6).
int open_beneath(int root_fd, const std::string& relative) {
  open_how how{};
  how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(syscall(SYS_openat2, root_fd, relative.c_str(), &how, sizeof(how)));
}
}  // namespace

ConfinedDir open_confined_dir(const std::string& root, std::string_view dir) {
  if (dir.find('\0') != std::string_view::npos) return {-1, "invalid path"};
  if (!dir.empty() && dir.front() == '/') return {-1, "outside root"};
  // Lexical check first, so a path that climbs out is refused before we
  // touch the file system (and never reveals what exists outside).
  const auto relative = normalize_relative(dir);
  if (!relative) return {-1, "outside root"};
  const std::string rel = relative->empty() ? "." : *relative;
  if (root.size() + rel.size() + 1 >= PATH_MAX) return {-1, std::strerror(ENAMETOOLONG)};

  const int root_fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) return {-1, std::strerror(errno)};
  const int fd = open_beneath(root_fd, rel);
  const int beneath_errno = errno;
  ::close(root_fd);
  if (fd >= 0) return {fd, {}};
  if (beneath_errno != EXDEV && beneath_errno != ENOSYS && beneath_errno != EPERM) {
    return {-1, std::strerror(beneath_errno)};
  }
  // EXDEV: some step left the root, or was an absolute symlink that may
  // still point inside; ENOSYS/EPERM: no openat2 here. realpath decides.
  const std::string joined = rel == "." ? root : (root == "/" ? "/" : root + "/") + rel;
  std::unique_ptr<char, decltype(&std::free)> real(realpath(joined.c_str(), nullptr), &std::free);
  if (!real)
    return {-1, beneath_errno == EXDEV ? std::string("outside root") : std::strerror(errno)};
  if (!is_inside(root, real.get())) return {-1, "outside root"};
  const int real_fd = ::open(real.get(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (real_fd < 0) return {-1, std::strerror(errno)};
  return {real_fd, {}};
}

std::string list_directory(const std::string& root, std::string_view dir) {
  const ConfinedDir target = open_confined_dir(root, dir);
  if (!target.error.empty()) return "error: " + target.error;
  struct CloseDir {
    void operator()(DIR* d) const { closedir(d); }
  };
  std::unique_ptr<DIR, CloseDir> d(fdopendir(target.fd));
  if (!d) {
    const int err = errno;
    ::close(target.fd);
    return fmt::format("error: {}", std::strerror(err));
  }
  std::vector<std::string> names;
  while (const dirent* e = readdir(d.get())) {
    const std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st {};
    // No-follow: a symlink is listed as itself, never as what it points to
    // (which may lie outside the root).
    const bool is_dir =
        fstatat(dirfd(d.get()), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
    names.push_back(is_dir ? std::string(name) + "/" : std::string(name));
  }
  std::sort(names.begin(), names.end());
  return json_string_array(names);
}

std::string os_description() {
  utsname u{};
  if (uname(&u) != 0) return "posix";
  return fmt::format("posix {} {} {}", u.sysname, u.release, u.machine);
}

std::optional<std::string> handle_command(std::string_view line, const CommandContext& ctx) {
  const std::string_view cmd = trim(line);
  if (cmd.empty()) return std::nullopt;
  if (cmd == "date") return ctx.ctime_now();
  if (cmd == "os") return ctx.os_line;
  if (cmd == "help") return std::string(kCommandHelp);
  if (cmd == "ls") return list_directory(ctx.root, "");
  if (cmd.size() > 3 && cmd.substr(0, 2) == "ls" &&
      kWhitespace.find(cmd[2]) != std::string_view::npos) {
    return list_directory(ctx.root, trim(cmd.substr(3)));
  }
  return fmt::format("[{}] {}", ctx.ctime_now(), line);
}

}  // namespace netlab::modes
