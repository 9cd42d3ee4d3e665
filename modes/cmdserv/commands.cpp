#include "modes/cmdserv/commands.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <iterator>
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
// Whether a directory entry is itself a directory. Not following a symlink:
// a link is listed as itself, never as what it points to (which may lie
// outside the root). d_type says so without a system call on most file
// systems; fstatat only where it is DT_UNKNOWN.
bool is_directory(DIR* d, const dirent& e) {
  if (e.d_type != DT_UNKNOWN) return e.d_type == DT_DIR;
  struct stat st {};
  return fstatat(dirfd(d), e.d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

struct Entry {
  std::string name;    // raw bytes, '/' added for a directory: the sort key
  std::string quoted;  // json_quote(name)
};

// Reads the entries of `d` while their JSON fits max_reply, sorts them and
// appends the array to `out`; true when the listing was cut.
bool append_listing(DIR* d, size_t max_reply, std::string& out) {
  // "[" + the quoted names joined by ", " + "]", counted as they are read:
  // reading stops at the first name that would not fit, so the work is
  // bounded by max_reply, not by the size of the directory.
  std::vector<Entry> entries;
  size_t size = 2;
  bool cut = false;
  while (const dirent* e = readdir(d)) {
    const std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    Entry entry{std::string(name), {}};
    if (is_directory(d, *e)) entry.name += '/';
    entry.quoted = json_quote(entry.name);
    const size_t cost = entry.quoted.size() + (entries.empty() ? 0 : 2);
    if (size + cost > max_reply) {
      cut = true;
      break;
    }
    size += cost;
    entries.push_back(std::move(entry));
  }
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.name < b.name; });
  const std::string marker = json_quote(kTruncatedMarker);
  if (cut) {
    // Room for ", " and the marker: the last names in sorted order give way.
    while (!entries.empty() && size + 2 + marker.size() > max_reply) {
      size -= entries.back().quoted.size() + (entries.size() > 1 ? 2 : 0);
      entries.pop_back();
    }
  }
  out.reserve(out.size() + size + (cut ? 2 + marker.size() : 0));
  out += '[';
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i > 0) out += ", ";
    out += entries[i].quoted;
  }
  if (cut) out += entries.empty() ? marker : ", " + marker;
  out += ']';
  return cut;
}

void append_error(int err, std::string& out) {
  out += "error: ";
  out += std::strerror(err);
}
}  // namespace

void list_directory_into(const std::string& root, std::string_view dir, size_t max_reply,
                         ListingCache* cache, std::string& out) {
  max_reply = std::max(max_reply, kMinMaxReply);
  const ConfinedDir target = open_confined_dir(root, dir);
  if (!target.error.empty()) {
    out += "error: " + target.error;
    return;
  }
  struct CloseDir {
    void operator()(DIR* d) const { closedir(d); }
  };
  std::unique_ptr<DIR, CloseDir> d(fdopendir(target.fd));
  if (!d) {
    const int err = errno;
    ::close(target.fd);
    append_error(err, out);
    return;
  }
  struct stat st {};
  const auto now = ListingCache::Clock::now();
  const bool cacheable = cache != nullptr && fstat(target.fd, &st) == 0;
  if (cacheable) {
    if (const auto kept = cache->find(st, max_reply, now)) {
      out += *kept;
      return;
    }
  }
  const size_t start = out.size();
  if (append_listing(d.get(), max_reply, out) && cacheable) {
    cache->put(st, max_reply, std::make_shared<const std::string>(out.substr(start)), now);
  }
}

std::string list_directory(const std::string& root, std::string_view dir, size_t max_reply) {
  std::string out;
  list_directory_into(root, dir, max_reply, nullptr, out);
  return out;
}

std::string os_description() {
  utsname u{};
  if (uname(&u) != 0) return "posix";
  return fmt::format("posix {} {} {}", u.sysname, u.release, u.machine);
}

bool handle_command_into(std::string_view line, const CommandContext& ctx, std::string& out) {
  const std::string_view cmd = trim(line);
  if (cmd.empty()) return false;
  if (cmd == "date") {
    out += ctx.ctime_now();
  } else if (cmd == "os") {
    out += ctx.os_line;
  } else if (cmd == "help") {
    out += kCommandHelp;
  } else if (cmd == "ls") {
    list_directory_into(ctx.root, "", ctx.max_reply, ctx.listings.get(), out);
  } else if (cmd.size() > 3 && cmd.substr(0, 2) == "ls" &&
             kWhitespace.find(cmd[2]) != std::string_view::npos) {
    list_directory_into(ctx.root, trim(cmd.substr(3)), ctx.max_reply, ctx.listings.get(), out);
  } else {
    fmt::format_to(std::back_inserter(out), "[{}] {}", ctx.ctime_now(), line);
  }
  return true;
}

std::optional<std::string> handle_command(std::string_view line, const CommandContext& ctx) {
  std::string out;
  if (!handle_command_into(line, ctx, out)) return std::nullopt;
  return out;
}

}  // namespace netlab::modes
