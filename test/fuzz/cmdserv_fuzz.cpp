// Fuzzes cmdserv's command parser (handle_command), its path resolver
// (open_confined_dir: the component-by-component walk beneath the root fd,
// links followed by hand, `..` as the real parent) and the listing cap
// (list_directory with small max_reply) on a real directory tree made at
// start-up, plus json_quote, which carries every listed name to the client.
//
// The tree, under a fresh temporary directory BASE:
//   BASE/root/            the --root: files, subdirectories, a Chinese name,
//                         symlinks that stay inside (relative, absolute, "..",
//                         a chain, one whose `..` is its target's parent)
//                         and symlinks that leave it (to BASE/outside, to the
//                         sibling BASE/root-evil whose name starts like the
//                         root's, to "/", through "..", dangling, looping)
//   BASE/outside/, BASE/root-evil/   each holds one SECRET-* file
//
// Invariants:
//   - every directory open_confined_dir opens is the root or inside it
//     (checked on the opened fd itself, through /proc/self/fd, with the
//     realpath-canonical root); a failure always says why;
//   - wherever the kernel's own openat2(RESOLVE_BENEATH) opens the path, the
//     resolver opens the very same directory (so `..` means what the kernel
//     says it means);
//   - a listing cut at a small max_reply fits it, ends with the one marker
//     element, and holds only names of the root's directories, sorted;
//   - every `ls` reply is an error line or exactly the listing of one of the
//     root's own directories: nothing outside is ever listed;
//   - no fd into the tree is left open, whatever the path;
//   - json_quote gives one JSON string that is valid UTF-8 with no raw
//     control byte, and decoding it gives the input back, each byte of an
//     invalid UTF-8 sequence as U+FFFD.
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "modes/cmdserv/commands.hpp"
#include "test/fuzz/fuzz_support.hpp"

namespace {

using netlab::modes::CommandContext;

struct Tree {
  std::string base;
  std::string root;
  std::set<std::string> listings;  // the only successful `ls` replies there can be
  std::set<std::string> elements;  // every quoted name in them
  int root_fd = -1;
};
Tree tree;

void make_dir(const std::string& path) {
  if (mkdir(path.c_str(), 0755) != 0)
    netlab::fuzz::invariant_broken(path.c_str(), __FILE__, __LINE__);
}

void make_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) netlab::fuzz::invariant_broken(path.c_str(), __FILE__, __LINE__);
  ::close(fd);
}

void make_link(const std::string& target, const std::string& path) {
  if (symlink(target.c_str(), path.c_str()) != 0) {
    netlab::fuzz::invariant_broken(path.c_str(), __FILE__, __LINE__);
  }
}

int remove_entry(const char* path, const struct stat*, int, FTW*) {
  return ::remove(path);
}

void remove_tree() {
  if (!tree.base.empty()) nftw(tree.base.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

// The elements of a JSON array of names, quoted. No name in the tree holds
// the separator ", " or a '"' that is not escaped, so splitting is enough.
std::vector<std::string> split_elements(std::string_view json) {
  std::vector<std::string> out;
  if (json.size() < 2 || json == "[]") return out;
  const std::string_view body = json.substr(1, json.size() - 2);
  for (size_t pos = 0; pos < body.size();) {
    const size_t end = std::min(body.find(", ", pos), body.size());
    out.emplace_back(body.substr(pos, end - pos));
    pos = end + 2;
  }
  return out;
}

void build_tree() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/netlab-cmdserv-fuzz.XXXXXX";
  if (!mkdtemp(pattern.data())) netlab::fuzz::invariant_broken("mkdtemp", __FILE__, __LINE__);
  char real[PATH_MAX];
  if (!realpath(pattern.c_str(), real))
    netlab::fuzz::invariant_broken("realpath", __FILE__, __LINE__);
  tree.base = real;
  std::atexit(remove_tree);
  const std::string& b = tree.base;
  const std::string r = b + "/root";
  tree.root = r;

  make_dir(r);
  make_dir(b + "/outside");
  make_file(b + "/outside/SECRET-outside.txt");
  make_dir(b + "/root-evil");
  make_file(b + "/root-evil/SECRET-evil.txt");

  make_file(r + "/a.txt");
  make_file(r + "/.hidden");
  make_file(r + "/quote\"back\\slash");
  make_dir(r + "/sub");
  make_file(r + "/sub/b.txt");
  make_dir(r + "/sub/deeper");
  make_file(r + "/sub/deeper/c.txt");
  make_dir(r + "/中文目录");
  make_file(r + "/中文目录/文件.txt");
  make_link("sub", r + "/link_in");
  make_link(r + "/sub", r + "/link_abs_in");
  make_link("sub/../sub/deeper", r + "/link_dotdot_in");
  make_link("..", r + "/sub/link_up");
  make_link("../..", r + "/sub/deeper/link_top");
  make_link("../../..", r + "/sub/deeper/link_escape");
  make_link("../outside", r + "/link_out");
  make_link(b + "/outside", r + "/link_abs_out");
  make_link("../root-evil", r + "/link_evil");
  make_link(b + "/root-evil", r + "/link_abs_evil");
  make_link("/", r + "/link_slash");
  make_link("../nowhere", r + "/link_dangling");
  make_link("link_loop", r + "/link_loop");
  make_link("a.txt", r + "/link_file");
  make_link("sub/deeper", r + "/link_phys");  // link_phys/.. is sub, not the root
  make_link("link_in", r + "/link_chain");
  make_link(r, r + "/link_abs_root");
  make_link(r + "/sub/../..", r + "/link_abs_up");
  make_link("link_pong", r + "/link_ping");
  make_link("link_ping", r + "/link_pong");

  // Written out by hand rather than listed by the code under test.
  using netlab::modes::json_string_array;
  tree.listings = {
      json_string_array({".hidden",       "a.txt",          "link_abs_evil", "link_abs_in",
                         "link_abs_out",  "link_abs_root",  "link_abs_up",   "link_chain",
                         "link_dangling", "link_dotdot_in", "link_evil",     "link_file",
                         "link_in",       "link_loop",      "link_out",      "link_phys",
                         "link_ping",     "link_pong",      "link_slash",    "quote\"back\\slash",
                         "sub/",          "中文目录/"}),
      json_string_array({"b.txt", "deeper/", "link_up"}),
      json_string_array({"c.txt", "link_escape", "link_top"}),
      json_string_array({"文件.txt"}),
  };
  for (const auto& listing : tree.listings) {
    for (const auto& e : split_elements(listing)) tree.elements.insert(e);
  }
  tree.root_fd = ::open(r.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (tree.root_fd < 0) netlab::fuzz::invariant_broken("open root", __FILE__, __LINE__);
}

bool inside_root(const std::string& path) {
  return path == tree.root || path.starts_with(tree.root + "/");
}

// Where the kernel resolves DIR beneath the root by itself, the walk must
// end in the same directory. (openat2 refuses absolute links with EXDEV, and
// "" and overlong paths are errors there; those are left out.)
void check_same_as_kernel(std::string_view dir, const struct stat& ours) {
  if (dir.empty() || dir.find('\0') != std::string_view::npos) return;
  open_how how{};
  how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  const std::string path(dir);
  const int fd =
      static_cast<int>(syscall(SYS_openat2, tree.root_fd, path.c_str(), &how, sizeof(how)));
  if (fd < 0) return;
  struct stat st {};
  FUZZ_CHECK(fstat(fd, &st) == 0);
  ::close(fd);
  FUZZ_CHECK(st.st_dev == ours.st_dev && st.st_ino == ours.st_ino);
}

// A listing cut at a small cap: no longer than the cap, the marker last and
// only there, and otherwise names the root's directories hold, sorted.
void check_capped_listing(std::string_view dir, size_t cap) {
  const std::string reply = netlab::modes::list_directory(tree.root, dir, cap);
  if (reply.starts_with("error: ")) return;
  FUZZ_CHECK(reply.size() <= std::max(cap, netlab::modes::kMinMaxReply));
  FUZZ_CHECK(reply.front() == '[' && reply.back() == ']');
  if (tree.listings.count(reply) == 1) return;  // it fit
  const std::string marker = netlab::modes::json_quote(netlab::modes::kTruncatedMarker);
  std::vector<std::string> names = split_elements(reply);
  FUZZ_CHECK(!names.empty() && names.back() == marker);
  names.pop_back();
  for (size_t i = 0; i < names.size(); ++i) {
    FUZZ_CHECK(names[i] != marker && tree.elements.count(names[i]) == 1);
    if (i > 0) FUZZ_CHECK(names[i - 1] < names[i]);
  }
}

void check_confined(std::string_view dir) {
  const auto r = netlab::modes::open_confined_dir(tree.root, dir);
  if (r.fd < 0) {
    FUZZ_CHECK(!r.error.empty());
    return;
  }
  FUZZ_CHECK(r.error.empty());
  struct stat st {};
  FUZZ_CHECK(fstat(r.fd, &st) == 0 && S_ISDIR(st.st_mode));
  char opened[PATH_MAX];
  const std::string proc = "/proc/self/fd/" + std::to_string(r.fd);
  const ssize_t n = readlink(proc.c_str(), opened, sizeof(opened));
  FUZZ_CHECK(n > 0 && static_cast<size_t>(n) < sizeof(opened));
  FUZZ_CHECK(inside_root(std::string(opened, static_cast<size_t>(n))));
  check_same_as_kernel(dir, st);
  ::close(r.fd);
}

// Between two inputs no fd may be open on anything in the tree. (Counting
// fds would not do: libFuzzer's own threads open files now and then.)
void check_no_fd_left() {
  std::unique_ptr<DIR, int (*)(DIR*)> fds(opendir("/proc/self/fd"), closedir);
  FUZZ_CHECK(fds != nullptr);
  while (const dirent* e = readdir(fds.get())) {
    if (std::string_view(e->d_name) == std::to_string(tree.root_fd)) continue;  // ours, kept
    char target[PATH_MAX];
    const ssize_t n = readlinkat(dirfd(fds.get()), e->d_name, target, sizeof(target) - 1);
    if (n <= 0) continue;
    FUZZ_CHECK(!std::string_view(target, static_cast<size_t>(n)).starts_with(tree.base));
  }
}

void check_reply_to_ls(const std::optional<std::string>& reply) {
  FUZZ_CHECK(reply.has_value());
  FUZZ_CHECK(reply->starts_with("error: ") || tree.listings.count(*reply) == 1);
  FUZZ_CHECK(reply->find("SECRET") == std::string::npos);
}

// A JSON string literal back to its bytes (U+FFFD as its UTF-8 form).
std::string json_unquote(std::string_view q) {
  FUZZ_CHECK(q.size() >= 2 && q.front() == '"' && q.back() == '"');
  std::string out;
  for (size_t i = 1; i + 1 < q.size(); ++i) {
    FUZZ_CHECK(q[i] != '"');
    if (q[i] != '\\') {
      out += q[i];
      continue;
    }
    FUZZ_CHECK(i + 2 < q.size());
    const char e = q[++i];
    switch (e) {
      case '"':
      case '\\':
      case '/':
        out += e;
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        FUZZ_CHECK(i + 4 < q.size());
        const std::string hex(q.substr(i + 1, 4));
        FUZZ_CHECK(hex.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos);
        const unsigned long cp = std::strtoul(hex.c_str(), nullptr, 16);
        i += 4;
        if (cp == 0xFFFD) {
          out += "\xEF\xBF\xBD";
        } else {
          FUZZ_CHECK(cp < 0x80);  // json_quote escapes only ASCII controls
          out += static_cast<char>(cp);
        }
        break;
      }
      default:
        FUZZ_CHECK(!"unknown JSON escape");
    }
  }
  return out;
}

void check_json_quote(std::string_view bytes) {
  const std::string q = netlab::modes::json_quote(bytes);
  FUZZ_CHECK(netlab::fuzz::is_valid_utf8(q));
  for (char c : q) {
    const auto u = static_cast<unsigned char>(c);
    FUZZ_CHECK(u >= 0x20 && u != 0x7F);
  }
  std::string expected;
  for (size_t i = 0; i < bytes.size();) {
    uint32_t cp = 0;
    const size_t len = netlab::fuzz::reference_utf8(bytes, i, cp);
    if (len == 0) {
      expected += "\xEF\xBF\xBD";
      ++i;
    } else {
      expected.append(bytes.substr(i, len));
      i += len;
    }
  }
  FUZZ_CHECK(json_unquote(q) == expected);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  build_tree();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const CommandContext ctx{tree.root, [] { return std::string("Wed Nov 25 11:31:22 2026"); },
                           "posix Linux 6.1.0 x86_64", netlab::modes::kDefaultMaxReply, nullptr};

  check_confined(input);
  check_reply_to_ls(netlab::modes::handle_command("ls " + std::string(input), ctx));
  check_capped_listing(input, size * 7 % 300);

  // The input as a request line of its own: a listing only when it is `ls`.
  const auto reply = netlab::modes::handle_command(input, ctx);
  if (reply && (reply->starts_with("[\"") || *reply == "[]")) check_reply_to_ls(reply);

  check_json_quote(input);

  check_no_fd_left();
  return 0;
}
