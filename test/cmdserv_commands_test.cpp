// Unit tests of the command server's protocol (modes/cmdserv/commands): the
// commands, the path confinement of `ls DIR` and the JSON escaping of names.
// No sockets: the directory trees live in a fresh directory under /tmp.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "modes/cmdserv/commands.hpp"

namespace netlab::modes {
namespace {

using namespace std::string_literals;

constexpr const char* kFakeCtime = "Thu Nov  5 11:31:22 2026";

[[noreturn]] void die(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// Removes everything below the directory fd, by file descriptor rather than
// path, so trees deeper than PATH_MAX and odd names go too.
void remove_below(int dirfd) {
  DIR* d = ::fdopendir(::dup(dirfd));
  if (d == nullptr) return;
  std::vector<std::string> names;
  while (const dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  ::closedir(d);
  for (const auto& name : names) {
    struct stat st {};
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
      ::fchmodat(dirfd, name.c_str(), 0700, 0);
      const int sub =
          ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub >= 0) {
        remove_below(sub);
        ::close(sub);
      }
      ::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR);
    } else {
      ::unlinkat(dirfd, name.c_str(), 0);
    }
  }
}

// A tree under /tmp: base/root is the server's root, base/outside and
// base/root-evil (sharing root's name as a prefix) lie outside it.
class CmdservTree : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/netlab-cmd-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) die("mkdtemp");
    std::unique_ptr<char, decltype(&std::free)> real(::realpath(tmpl, nullptr), &std::free);
    if (!real) die("realpath");
    base_ = real.get();
    mkdir_abs(base_ + "/root");
    mkdir_abs(base_ + "/outside");
    mkdir_abs(base_ + "/root-evil");
    touch_abs(base_ + "/outside/secret.txt");
    touch_abs(base_ + "/root-evil/secret.txt");
    root_ = base_ + "/root";
  }

  void TearDown() override {
    const int fd = ::open(base_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
      remove_below(fd);
      ::close(fd);
    }
    ::rmdir(base_.c_str());
  }

  static void mkdir_abs(const std::string& path) {
    if (::mkdir(path.c_str(), 0755) != 0) die("mkdir " + path);
  }
  static void touch_abs(const std::string& path) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) die("create " + path);
    ::close(fd);
  }
  // Relative to the root.
  void mkdir(const std::string& rel) const { mkdir_abs(root_ + "/" + rel); }
  void touch(const std::string& rel) const { touch_abs(root_ + "/" + rel); }
  void symlink(const std::string& target, const std::string& rel) const {
    const std::string link = root_ + "/" + rel;
    if (::symlink(target.c_str(), link.c_str()) != 0) die("symlink " + link);
  }
  bool exists_abs(const std::string& path) const {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
  }

  std::string ls(std::string_view dir) const { return list_directory(root_, dir); }

  CommandContext context() const {
    return {root_, [] { return std::string(kFakeCtime); }, "posix Test 1.0 x", kDefaultMaxReply,
            nullptr};
  }

  std::string base_;
  std::string root_;  // canonical
};

// ------------------------------------------------------------ json_quote

TEST(CmdservJson, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(json_quote(""), R"("")");
  EXPECT_EQ(json_quote("plain name.txt"), R"("plain name.txt")");
  EXPECT_EQ(json_quote("a\"b"), R"("a\"b")");
  EXPECT_EQ(json_quote("a\\b"), R"("a\\b")");
  EXPECT_EQ(json_quote("\b\f\n\r\t"), R"("\b\f\n\r\t")");
  EXPECT_EQ(json_quote("nul\0x"s), R"("nul\u0000x")");
  EXPECT_EQ(json_quote("\x01\x1b[31m\x1f"), R"("\u0001\u001b[31m\u001f")");
  EXPECT_EQ(json_quote("/ and ' stay"), R"("/ and ' stay")");
  // DEL needs no escape in JSON, but an escape is valid JSON too.
  const std::string del = json_quote("\x7f");
  EXPECT_TRUE(del == "\"\x7f\"" || del == R"("\u007f")") << del;
  // Nothing below 0x20 may pass through raw: JSON forbids it.
  for (int c = 0; c < 0x20; ++c) {
    const std::string q = json_quote(std::string(1, static_cast<char>(c)));
    EXPECT_EQ(q.find(static_cast<char>(c), 1), std::string::npos) << "byte " << c << " -> " << q;
    EXPECT_EQ(q.substr(0, 2), "\"\\") << "byte " << c;
  }
}

TEST(CmdservJson, KeepsValidUtf8AsIs) {
  EXPECT_EQ(json_quote("中文目录"), "\"中文目录\"");
  EXPECT_EQ(json_quote("caf\xc3\xa9"), "\"caf\xc3\xa9\"");            // U+00E9
  EXPECT_EQ(json_quote("\xe2\x82\xac"), "\"\xe2\x82\xac\"");          // U+20AC
  EXPECT_EQ(json_quote("\xf0\x9f\x98\x80"), "\"\xf0\x9f\x98\x80\"");  // U+1F600
  EXPECT_EQ(json_quote("\xf4\x8f\xbf\xbf"), "\"\xf4\x8f\xbf\xbf\"");  // U+10FFFF
  EXPECT_EQ(json_quote("\xed\x9f\xbf\xee\x80\x80"),
            "\"\xed\x9f\xbf\xee\x80\x80\"");  // U+D7FF U+E000
}

TEST(CmdservJson, ReplacesEachByteOfAnInvalidSequence) {
  const std::string r = "\\ufffd";
  EXPECT_EQ(json_quote("\x80"), "\"" + r + "\"");  // lone continuation byte
  EXPECT_EQ(json_quote("a\xbfz"), "\"a" + r + "z\"");
  EXPECT_EQ(json_quote("\xc0\xaf"), "\"" + r + r + "\"");                  // overlong '/'
  EXPECT_EQ(json_quote("\xe0\x80\xaf"), "\"" + r + r + r + "\"");          // overlong, 3 bytes
  EXPECT_EQ(json_quote("\xf0\x80\x80\xaf"), "\"" + r + r + r + r + "\"");  // overlong, 4 bytes
  EXPECT_EQ(json_quote("\xed\xa0\x80"), "\"" + r + r + r + "\"");          // surrogate U+D800
  EXPECT_EQ(json_quote("\xed\xbf\xbf"), "\"" + r + r + r + "\"");          // surrogate U+DFFF
  EXPECT_EQ(json_quote("\xf4\x90\x80\x80"), "\"" + r + r + r + r + "\"");  // past U+10FFFF
  EXPECT_EQ(json_quote("\xff\xfe"), "\"" + r + r + "\"");
  EXPECT_EQ(json_quote("\xf8\x88\x80\x80\x80"), "\"" + r + r + r + r + r + "\"");  // 5-byte form
  EXPECT_EQ(json_quote("ok\xe4\xb8"), "\"ok" + r + r + "\"");  // truncated at the end
  EXPECT_EQ(json_quote("\xe4\xb8"
                       "a"),
            "\"" + r + r + "a\"");  // cut short by ASCII
  EXPECT_EQ(json_quote("\xe4\xb8\xad\xff\xe6\x96\x87"), "\"\xe4\xb8\xad" + r + "\xe6\x96\x87\"");
  EXPECT_EQ(json_quote("\xff\""), "\"" + r + "\\\"\"");
}

TEST(CmdservJson, ArrayJoinsQuotedItems) {
  EXPECT_EQ(json_string_array({}), "[]");
  EXPECT_EQ(json_string_array({"a"}), R"(["a"])");
  EXPECT_EQ(json_string_array({"a", "b/", "q\"", "\xff"}), R"(["a", "b/", "q\"", "\ufffd"])");
}

// ------------------------------------------------------------ commands

TEST(CmdservCommand, DateRepliesWithTheInjectedCtime) {
  int calls = 0;
  const CommandContext ctx{"/",
                           [&calls] {
                             ++calls;
                             return std::string(kFakeCtime);
                           },
                           "posix X", kDefaultMaxReply, nullptr};
  EXPECT_EQ(handle_command("date", ctx), std::string(kFakeCtime));
  EXPECT_EQ(calls, 1);
}

TEST(CmdservCommand, OsDescribesTheKernelFromUname) {
  utsname u{};
  ASSERT_EQ(::uname(&u), 0);
  const std::string want = "posix "s + u.sysname + " " + u.release + " " + u.machine;
  EXPECT_EQ(os_description(), want);
  const CommandContext ctx{"/", [] { return std::string(kFakeCtime); }, os_description(),
                           kDefaultMaxReply, nullptr};
  EXPECT_EQ(handle_command("os", ctx), want);
}

TEST(CmdservCommand, HelpNamesEveryCommandOnOneLine) {
  const CommandContext ctx{"/", [] { return std::string(kFakeCtime); }, "posix X", kDefaultMaxReply,
                           nullptr};
  const auto help = handle_command("help", ctx);
  ASSERT_TRUE(help);
  EXPECT_EQ(*help, kCommandHelp);
  EXPECT_EQ(help->find('\n'), std::string::npos);
  for (const char* word : {"date", "os", "ls", "help"})
    EXPECT_NE(help->find(word), std::string::npos) << word;
}

TEST(CmdservCommand, EmptyAndBlankLinesGetNoReply) {
  const CommandContext ctx{"/", [] { return std::string(kFakeCtime); }, "posix X", kDefaultMaxReply,
                           nullptr};
  for (const char* line : {"", " ", "\t", "\r", "   \t  ", " \t\v\f\r"}) {
    EXPECT_EQ(handle_command(line, ctx), std::nullopt)
        << ::testing::PrintToString(std::string(line));
  }
}

TEST(CmdservCommand, MatchesCommandsAfterTrimmingWhitespace) {
  const CommandContext ctx{"/", [] { return std::string(kFakeCtime); }, "posix X", kDefaultMaxReply,
                           nullptr};
  for (const char* line : {" date", "date ", "\tdate\t", "  date \r", "\vdate\f"}) {
    EXPECT_EQ(handle_command(line, ctx), std::string(kFakeCtime))
        << ::testing::PrintToString(std::string(line));
  }
  EXPECT_EQ(handle_command("  os  ", ctx), "posix X");
  EXPECT_EQ(handle_command("\thelp\r", ctx), std::string(kCommandHelp));
}

TEST(CmdservCommand, AnythingElseIsEchoedWithTheTimestamp) {
  const CommandContext ctx{"/", [] { return std::string(kFakeCtime); }, "posix X", kDefaultMaxReply,
                           nullptr};
  const std::string stamp = "["s + kFakeCtime + "] ";
  for (const char* text :
       {"hello", "hello world", "DATE", "Date", "dates", "date now", "os x", "help me", "lsx",
        "ls-la", "id", "date; id", "$(id)", "`id`", "date && id", "date | sh", "你好"}) {
    EXPECT_EQ(handle_command(text, ctx), stamp + text) << text;
  }
}

TEST_F(CmdservTree, NoCommandEverReachesAShell) {
  const CommandContext ctx = context();
  const std::string marker = base_ + "/pwned";
  const std::string stamp = "["s + kFakeCtime + "] ";
  for (const std::string& text :
       {"date; touch " + marker, "$(touch " + marker + ")", "`touch " + marker + "`",
        "help && touch " + marker, "os | touch " + marker, "touch " + marker, "ls;touch " + marker,
        "ls|touch " + marker}) {
    EXPECT_EQ(handle_command(text, ctx), stamp + text);
  }
  // `ls ARG` is a path and only a path: these name directories that do not exist.
  for (const std::string& text :
       {"ls ; touch " + marker, "ls $(touch " + marker + ")", "ls `touch " + marker + "`",
        "ls sub; rm -rf /"s, "ls && touch " + marker}) {
    const auto reply = handle_command(text, ctx);
    ASSERT_TRUE(reply) << text;
    EXPECT_EQ(reply->rfind("error: ", 0), 0u) << text << " -> " << *reply;
  }
  EXPECT_FALSE(exists_abs(marker)) << "a shell ran";
  EXPECT_TRUE(exists_abs(root_)) << "a shell ran";
}

// ------------------------------------------------------------ ls and the root

TEST_F(CmdservTree, ListsTheRootSortedWithHiddenFilesAndDirectorySlashes) {
  touch("b.txt");
  touch("a.txt");
  touch(".hidden");
  touch("Zed");
  touch("中文");
  mkdir("sub");
  mkdir(".config");
  // Byte order: '.' < 'Z' < 'a' < 's' < UTF-8 lead bytes.
  const std::string want = R"([".config/", ".hidden", "Zed", "a.txt", "b.txt", "sub/", "中文"])";
  EXPECT_EQ(ls(""), want);
  EXPECT_EQ(ls("."), want);
  EXPECT_EQ(ls("./"), want);
  const CommandContext ctx = context();
  EXPECT_EQ(handle_command("ls", ctx), want);
  EXPECT_EQ(handle_command("  ls  ", ctx), want);
  EXPECT_EQ(handle_command("ls .", ctx), want);
  EXPECT_EQ(handle_command("ls\t.", ctx), want);
}

TEST_F(CmdservTree, ListsAnEmptyDirectoryAsAnEmptyArray) {
  mkdir("empty");
  EXPECT_EQ(ls("empty"), "[]");
}

TEST_F(CmdservTree, ListsSubdirectoriesAndNestedOnes) {
  mkdir("sub");
  touch("sub/inner.txt");
  mkdir("sub/deeper");
  touch("sub/deeper/leaf");
  mkdir("my dir");
  touch("my dir/x");
  const CommandContext ctx = context();
  EXPECT_EQ(handle_command("ls sub", ctx), R"(["deeper/", "inner.txt"])");
  EXPECT_EQ(handle_command("ls  sub/ ", ctx), R"(["deeper/", "inner.txt"])");
  EXPECT_EQ(handle_command("ls sub/deeper", ctx), R"(["leaf"])");
  EXPECT_EQ(handle_command("ls ./sub/./deeper/", ctx), R"(["leaf"])");
  EXPECT_EQ(handle_command("ls sub//deeper", ctx), R"(["leaf"])");
  EXPECT_EQ(handle_command("ls my dir", ctx), R"(["x"])");
}

TEST_F(CmdservTree, DotDotThatStaysInsideIsAllowed) {
  mkdir("a");
  mkdir("b");
  touch("b/in-b");
  EXPECT_EQ(ls("a/../b"), R"(["in-b"])");
  EXPECT_EQ(ls("a/.."), R"(["a/", "b/"])");
  EXPECT_EQ(ls("a/../a/../b/"), R"(["in-b"])");
}

TEST_F(CmdservTree, DotDotThatClimbsOutIsOutsideRoot) {
  mkdir("a");
  for (const char* dir : {"..", "../", "./..", "a/../..", "a/../../outside", "../outside",
                          "../../../../../../../..", "a/./../.."}) {
    EXPECT_EQ(ls(dir), "error: outside root") << dir;
  }
  // `..` is walked, not collapsed as text: a/b does not exist, and the
  // kernel would say so before it ever got to climb.
  EXPECT_EQ(ls("a/b/../../.."), "error: No such file or directory");
  const CommandContext ctx = context();
  EXPECT_EQ(handle_command("ls ..", ctx), "error: outside root");
  EXPECT_EQ(handle_command("ls\t../outside ", ctx), "error: outside root");
}

TEST_F(CmdservTree, AbsolutePathsAreOutsideRoot) {
  for (const std::string& dir :
       {"/"s, "/etc"s, "//etc"s, "/tmp"s, base_ + "/outside", base_ + "/root-evil"}) {
    EXPECT_EQ(ls(dir), "error: outside root") << dir;
  }
  EXPECT_EQ(handle_command("ls /etc", context()), "error: outside root");
}

TEST_F(CmdservTree, SymlinksThatLeaveTheRootAreOutsideRoot) {
  mkdir("sub");
  symlink("/etc", "escape");
  symlink(base_ + "/outside", "abs-out");
  symlink("..", "up");
  symlink("../outside", "rel-out");
  symlink("../root-evil", "evil");  // shares the root's path as a prefix
  symlink("../../outside", "sub/deep-out");
  symlink("/", "slash");
  for (const char* dir : {"escape", "escape/", "abs-out", "up", "up/outside", "rel-out", "evil",
                          "sub/deep-out", "slash", "slash/tmp"}) {
    EXPECT_EQ(ls(dir), "error: outside root") << dir;
  }
  EXPECT_EQ(handle_command("ls escape", context()), "error: outside root");
}

TEST_F(CmdservTree, SymlinksThatLeaveTheRootRevealNothingOutside) {
  // Whether something exists outside the root must not show: a missing name
  // beyond an escaping symlink is as "outside" as an existing one.
  symlink(base_ + "/outside", "out");
  symlink(base_ + "/outside/no-such-dir", "dangling-out");
  symlink("../outside/no-such-dir", "rel-dangling-out");
  EXPECT_EQ(ls("out/secret.txt"), "error: outside root");
  EXPECT_EQ(ls("out/no-such-dir"), "error: outside root");
  EXPECT_EQ(ls("dangling-out"), "error: outside root");
  EXPECT_EQ(ls("rel-dangling-out"), "error: outside root");
  EXPECT_EQ(ls("rel-dangling-out/deeper"), "error: outside root");
}

TEST_F(CmdservTree, SymlinksInsideTheRootAreFollowed) {
  mkdir("sub");
  touch("sub/inner.txt");
  symlink("sub", "rel-in");
  symlink(root_ + "/sub", "abs-in");
  symlink(".", "self");
  EXPECT_EQ(ls("rel-in"), R"(["inner.txt"])");
  EXPECT_EQ(ls("abs-in"), R"(["inner.txt"])");
  EXPECT_EQ(ls("self/sub"), R"(["inner.txt"])");
  // A symlink is listed as itself (no '/'), never as what it points to.
  EXPECT_EQ(ls(""), R"(["abs-in", "rel-in", "self", "sub/"])");
}

TEST_F(CmdservTree, SymlinkLoopsAndDanglingLinksAreErrors) {
  symlink("loop", "loop");
  symlink("missing-target", "dangling");
  EXPECT_EQ(ls("loop"), "error: "s + std::strerror(ELOOP));
  EXPECT_EQ(ls("dangling"), "error: No such file or directory");
}

TEST_F(CmdservTree, DotDotAfterASymlinkIsTheParentOfItsTarget) {
  // As in a shell (and the kernel): with s -> a/b, s/.. is a, not the root.
  mkdir("a");
  mkdir("a/b");
  touch("a/in-a");
  touch("a/b/in-b");
  symlink("a/b", "s");
  symlink(root_ + "/a/b", "abs");
  EXPECT_EQ(ls("s"), R"(["in-b"])");
  EXPECT_EQ(ls("s/.."), R"(["b/", "in-a"])");
  EXPECT_EQ(ls("s/../"), R"(["b/", "in-a"])");
  EXPECT_EQ(ls("abs/.."), R"(["b/", "in-a"])");
  EXPECT_EQ(ls("s/../b"), R"(["in-b"])");
  EXPECT_EQ(ls("s/../.."), R"(["a/", "abs", "s"])");
  EXPECT_EQ(handle_command("ls s/..", context()), R"(["b/", "in-a"])");
}

TEST_F(CmdservTree, DotDotChainsNeverEscape) {
  mkdir("a");
  mkdir("a/b");
  symlink("a/b", "s");
  symlink("../..", "a/b/top");       // the root, seen from a/b
  symlink("../../..", "a/b/above");  // one above the root
  symlink("s/../../..", "through");  // climbs out through a link
  symlink(root_ + "/a/b/../../..", "abs-up");
  EXPECT_EQ(ls("a/b/top"), R"(["a/", "abs-up", "s", "through"])");
  for (const char* dir : {"s/../../..", "s/../../../outside", "s/../../../root", "a/b/top/..",
                          "a/b/above", "a/b/above/root", "through", "abs-up", "s/../../s/../../..",
                          "a/b/top/a/b/top/..", "./s/./.././../.."}) {
    EXPECT_EQ(ls(dir), "error: outside root") << dir;
  }
}

TEST_F(CmdservTree, SymlinkLoopsAndLongChainsAreClearErrors) {
  mkdir("sub");
  touch("sub/inner.txt");
  symlink("pong", "ping");
  symlink("ping", "pong");
  symlink("deep/x", "deep");  // grows on every hop
  symlink(root_ + "/abs-loop", "abs-loop");
  const std::string eloop = "error: "s + std::strerror(ELOOP);
  for (const char* dir : {"ping", "pong/", "deep", "abs-loop", "ping/sub"}) {
    EXPECT_EQ(ls(dir), eloop) << dir;
  }
  // A chain of 40 links is followed (the kernel's own limit), 41 is a loop.
  symlink("sub", "chain40");
  for (int i = 39; i >= 1; --i) {
    symlink("chain" + std::to_string(i + 1), "chain" + std::to_string(i));
  }
  EXPECT_EQ(ls("chain1"), R"(["inner.txt"])");
  symlink("chain1", "chain0");
  EXPECT_EQ(ls("chain0"), eloop);
}

// The race of issue 19: `abs` is an absolute link to <root>/d, which a
// thread keeps swapping (renameat2 RENAME_EXCHANGE) with `x`, a link to a
// directory outside. A resolver that checks a path and then opens it again
// by name lists the outside directory now and then; one that never re-opens
// by path sees either d or the link x, and refuses x.
TEST_F(CmdservTree, SwappingLinksDuringLsNeverListsOutsideTheRoot) {
  mkdir("d");
  touch("d/inside.txt");
  symlink(root_ + "/d", "abs");
  symlink(base_ + "/outside", "x");  // outside/ holds secret.txt
  const std::string outside = R"(["secret.txt"])";
  const std::string inside = R"(["inside.txt"])";
  const int root_fd = ::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(root_fd, 0);
  if (::renameat2(root_fd, "d", root_fd, "x", RENAME_EXCHANGE) != 0) {
    const int err = errno;
    ::close(root_fd);
    GTEST_SKIP() << "no RENAME_EXCHANGE here: " << std::strerror(err);
  }
  ASSERT_EQ(::renameat2(root_fd, "d", root_fd, "x", RENAME_EXCHANGE), 0);

  std::atomic<bool> stop{false};
  std::thread swapper([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      ::renameat2(root_fd, "d", root_fd, "x", RENAME_EXCHANGE);
    }
  });
  size_t tries = 0, listed_outside = 0, listed_inside = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (tries < 20000 && std::chrono::steady_clock::now() < deadline) {
    const std::string reply = ls("abs");
    ++tries;
    if (reply == outside || reply.find("secret") != std::string::npos) ++listed_outside;
    if (reply == inside) ++listed_inside;
  }
  stop = true;
  swapper.join();
  ::close(root_fd);
  std::printf("[   RACE   ] %zu tries: %zu listed d, %zu listed outside\n", tries, listed_inside,
              listed_outside);
  EXPECT_EQ(listed_outside, 0u) << "of " << tries << " tries";
  EXPECT_GT(listed_inside, 0u) << "the link was never followed: the test proves nothing";
}

// ------------------------------------------------------------ the listing cap

// The names of a listing, without the JSON quotes (plain names only).
std::vector<std::string> elements(const std::string& json) {
  std::vector<std::string> out;
  if (json.size() < 2 || json == "[]") return out;
  const std::string body = json.substr(1, json.size() - 2);
  for (size_t pos = 0; pos < body.size();) {
    const size_t end = std::min(body.find(", ", pos), body.size());
    out.push_back(body.substr(pos + 1, end - pos - 2));
    pos = end + 2;
  }
  return out;
}

TEST_F(CmdservTree, ListingOverTheCapIsCutSortedAndEndsWithOneMarker) {
  mkdir("big");
  for (int i = 0; i < 300; ++i) touch("big/entry-" + std::to_string(1000 + i));  // 14 bytes each
  const std::string whole = ls("big");
  ASSERT_EQ(elements(whole).size(), 300u);
  for (const size_t cap : {size_t{64}, size_t{100}, size_t{1000}, whole.size() - 1}) {
    const std::string cut = list_directory(root_, "big", cap);
    EXPECT_LE(cut.size(), cap);
    EXPECT_GT(cut.size() + 14 + 2, cap) << "cut long before the cap";
    auto names = elements(cut);
    ASSERT_FALSE(names.empty());
    EXPECT_EQ(names.back(), kTruncatedMarker) << cut;
    names.pop_back();
    EXPECT_TRUE(std::is_sorted(names.begin(), names.end())) << cut;
    for (const auto& n : names) {
      EXPECT_EQ(n.rfind("entry-", 0), 0u) << n;
      EXPECT_NE(n, kTruncatedMarker);
    }
  }
  // Exactly at the size of the whole listing nothing is cut.
  EXPECT_EQ(list_directory(root_, "big", whole.size()), whole);
  // Below the smallest cap, the smallest cap.
  EXPECT_EQ(list_directory(root_, "big", 0), list_directory(root_, "big", kMinMaxReply));
  // The command goes by the context's cap.
  CommandContext ctx = context();
  ctx.max_reply = 200;
  const auto reply = handle_command("ls big", ctx);
  ASSERT_TRUE(reply);
  EXPECT_LE(reply->size(), 200u);
  EXPECT_EQ(elements(*reply).back(), kTruncatedMarker);
}

TEST_F(CmdservTree, NameLongerThanTheCapLeavesOnlyTheMarker) {
  mkdir("long");
  touch("long/" + std::string(200, 'x'));
  EXPECT_EQ(list_directory(root_, "long", 64), R"(["/truncated"])");
}

TEST(CmdservListingCache, ReusesACutListingOnlyForTheSameUnchangedDirectory) {
  ListingCache cache;
  struct stat st {};
  st.st_dev = 1;
  st.st_ino = 2;
  st.st_mtim = {100, 5};
  st.st_ctim = {100, 6};
  const auto t0 = ListingCache::Clock::now();
  cache.put(st, 1000, std::make_shared<const std::string>("listing"), t0);
  ASSERT_NE(cache.find(st, 1000, t0), nullptr);
  EXPECT_EQ(*cache.find(st, 1000, t0 + std::chrono::milliseconds(500)), "listing");
  EXPECT_EQ(cache.find(st, 1000, t0 + ListingCache::kMaxAge), nullptr) << "too old";
  EXPECT_EQ(cache.find(st, 999, t0), nullptr) << "another cap";
  struct stat changed = st;
  changed.st_mtim.tv_nsec = 7;
  EXPECT_EQ(cache.find(changed, 1000, t0), nullptr) << "mtime moved";
  changed = st;
  changed.st_ctim.tv_sec = 101;
  EXPECT_EQ(cache.find(changed, 1000, t0), nullptr) << "ctime moved";
  changed = st;
  changed.st_ino = 3;
  EXPECT_EQ(cache.find(changed, 1000, t0), nullptr) << "another directory";
  // A newer listing of the directory replaces the old one.
  cache.put(changed = st, 1000, std::make_shared<const std::string>("newer"), t0);
  EXPECT_EQ(*cache.find(st, 1000, t0), "newer");
  // At most kSlots directories: the oldest goes.
  for (ino_t ino = 10; ino < 10 + ListingCache::kSlots; ++ino) {
    struct stat other = st;
    other.st_ino = ino;
    cache.put(other, 1000, std::make_shared<const std::string>("other"), t0);
  }
  EXPECT_EQ(cache.find(st, 1000, t0), nullptr);
}

TEST_F(CmdservTree, CutListingsAreSharedThroughTheCacheAndWholeOnesAreNot) {
  mkdir("big");
  for (int i = 0; i < 100; ++i) touch("big/entry-" + std::to_string(1000 + i));
  mkdir("small");
  touch("small/one");
  ListingCache cache;
  std::string first, second, small;
  list_directory_into(root_, "big", 200, &cache, first);
  list_directory_into(root_, "big", 200, &cache, second);
  EXPECT_EQ(first, second);
  EXPECT_EQ(elements(first).back(), kTruncatedMarker);
  list_directory_into(root_, "small", 200, &cache, small);
  EXPECT_EQ(small, R"(["one"])");
  touch("small/two");
  small.clear();
  list_directory_into(root_, "small", 200, &cache, small);
  EXPECT_EQ(small, R"(["one", "two"])");
}

TEST_F(CmdservTree, DotsInsideNamesAreOrdinaryNames) {
  mkdir("x..y");
  touch("x..y/f1");
  mkdir("...");
  touch(".../f2");
  mkdir("..hidden");
  touch("..hidden/f3");
  mkdir("trail..");
  touch("trail../f4");
  EXPECT_EQ(ls("x..y"), R"(["f1"])");
  EXPECT_EQ(ls("..."), R"(["f2"])");
  EXPECT_EQ(ls("..hidden"), R"(["f3"])");
  EXPECT_EQ(ls("trail.."), R"(["f4"])");
  EXPECT_EQ(ls("x..y/../..."), R"(["f2"])");
  EXPECT_EQ(ls(""), R"([".../", "..hidden/", "trail../", "x..y/"])");
}

TEST_F(CmdservTree, MissingDirectoriesAndFilesAreErrors) {
  touch("file.txt");
  mkdir("sub");
  EXPECT_EQ(ls("missing"), "error: No such file or directory");
  EXPECT_EQ(ls("sub/missing/deeper"), "error: No such file or directory");
  EXPECT_EQ(ls("file.txt"), "error: Not a directory");
  EXPECT_EQ(ls("file.txt/"), "error: Not a directory");
  EXPECT_EQ(handle_command("ls missing", context()), "error: No such file or directory");
}

TEST_F(CmdservTree, UnreadableDirectoryIsAnError) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads every directory";
  mkdir("locked");
  ASSERT_EQ(::chmod((root_ + "/locked").c_str(), 0), 0);
  EXPECT_EQ(ls("locked"), "error: Permission denied");
}

TEST_F(CmdservTree, NamesWithNulBytesNeverListAnotherDirectory) {
  // No file name holds a NUL; "sub\0x" must not be cut short to "sub".
  mkdir("sub");
  touch("sub/inner.txt");
  for (const std::string& dir : {"sub\0x"s, "sub\0"s, "\0"s, "sub/\0"s}) {
    EXPECT_EQ(ls(dir).rfind("error: ", 0), 0u)
        << ::testing::PrintToString(dir) << " -> " << ls(dir);
  }
}

TEST_F(CmdservTree, OverlongPathsAreErrorsNotCrashes) {
  mkdir("sub");
  // Longer than PATH_MAX, nothing of it exists.
  std::string missing;
  while (missing.size() <= PATH_MAX) missing += "component/";
  EXPECT_EQ(ls(missing), "error: "s + std::strerror(ENAMETOOLONG));
  // One component longer than NAME_MAX.
  EXPECT_EQ(ls(std::string(NAME_MAX + 1, 'n')), "error: "s + std::strerror(ENAMETOOLONG));
  // Far longer than PATH_MAX and climbing out: still only "outside root".
  std::string climbing;
  while (climbing.size() <= 2 * PATH_MAX) climbing += "../";
  EXPECT_EQ(ls(climbing), "error: outside root");
  // Long only before normalization: either listed or refused, never a crash.
  std::string dots;
  while (dots.size() <= PATH_MAX) dots += "./";
  const std::string reply = ls(dots + "sub");
  EXPECT_TRUE(reply == "[]" || reply.rfind("error: ", 0) == 0) << reply;
}

TEST_F(CmdservTree, ExistingTreeDeeperThanPathMaxIsAnError) {
  // Built with mkdirat/openat, since its path is too long for mkdir().
  const std::string component(200, 'd');
  int fd = ::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  std::string rel;
  while (rel.size() <= PATH_MAX + 200) {
    ASSERT_EQ(::mkdirat(fd, component.c_str(), 0755), 0) << std::strerror(errno);
    const int next = ::openat(fd, component.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ::close(fd);
    ASSERT_GE(next, 0);
    fd = next;
    rel += (rel.empty() ? "" : "/") + component;
  }
  ::close(fd);
  const std::string reply = ls(rel);
  EXPECT_EQ(reply, "error: "s + std::strerror(ENAMETOOLONG));
  EXPECT_EQ(handle_command("ls " + rel, context()), reply);
}

TEST_F(CmdservTree, NonUtf8NamesAreListedWithReplacementCharacters) {
  touch("bad\xff.bin");
  touch("\xc0\xaf");
  mkdir("dir\xfe");
  touch("dir\xfe/inside");
  touch("ok-\xe4\xb8\xad");
  EXPECT_EQ(ls(""),
            R"(["bad\ufffd.bin", "dir\ufffd/", "ok-)"s + "\xe4\xb8\xad" + R"(", "\ufffd\ufffd"])");
  // The raw bytes still name the directory in a request.
  EXPECT_EQ(ls("dir\xfe"), R"(["inside"])");
}

TEST_F(CmdservTree, NamesAreJsonEscaped) {
  touch("q\"uote");
  touch("back\\slash");
  touch("new\nline");
  touch("tab\tch");
  touch("cr\rx");
  touch(
      "ctl\x01"
      "x");
  touch("esc\x1b[31mred");
  touch("del\x7f");
  mkdir("dir\"\\\n");
  const std::string reply = ls("");
  EXPECT_EQ(reply.find('\n'), std::string::npos) << "a name broke the reply line: " << reply;
  EXPECT_EQ(reply.find('\x1b'), std::string::npos) << reply;
  for (const char* escaped :
       {R"("q\"uote")", R"("back\\slash")", R"("new\nline")", R"("tab\tch")", R"("cr\rx")",
        R"("ctl\u0001x")", R"("esc\u001b[31mred")", R"("dir\"\\\n/")"}) {
    EXPECT_NE(reply.find(escaped), std::string::npos) << escaped << " not in " << reply;
  }
  // Sorted by the raw bytes of the names.
  const std::vector<std::string_view> order = {R"("back)", R"("cr)",  R"("ctl)",
                                               R"("del)",  R"("dir)", R"("esc)",
                                               R"("new)",  R"("q)",   R"("tab)"};
  size_t at = 0;
  for (const auto& prefix : order) {
    const size_t pos = reply.find(prefix, at);
    ASSERT_NE(pos, std::string::npos) << prefix << " out of order in " << reply;
    at = pos + 1;
  }
}

}  // namespace
}  // namespace netlab::modes
