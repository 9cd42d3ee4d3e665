// End-to-end tests of cmdserv: the real binary, started with --port 0 and a
// --root of our own under /tmp, talked to over 127.0.0.1 and Unix sockets only.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <regex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "modes/cmdserv/commands.hpp"
#include "support/process.hpp"
#include "support/stamp.hpp"

namespace netlab::testing {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;

constexpr size_t kCtimeSize = 24;  // "Thu Nov  5 11:31:22 2026"

// A root directory with a known tree:
//   .hidden  a.txt  sub/{deeper/, inner.txt}  escape -> /etc
struct Root {
  Root() {
    make_dir("root");
    make_file("root/.hidden");
    make_file("root/a.txt");
    make_dir("root/sub");
    make_dir("root/sub/deeper");
    make_file("root/sub/inner.txt");
    if (::symlink("/etc", dir.path("root/escape").c_str()) != 0) fail("symlink");
  }
  std::string path() const { return dir.path("root"); }
  void make_dir(const std::string& rel) const {
    if (::mkdir(dir.path(rel).c_str(), 0755) != 0) fail("mkdir " + rel);
  }
  void make_file(const std::string& rel) const {
    const int fd = ::open(dir.path(rel).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) fail("create " + rel);
    ::close(fd);
  }
  bool exists(const std::string& rel) const {
    struct stat st {};
    return ::lstat(dir.path(rel).c_str(), &st) == 0;
  }
  [[noreturn]] static void fail(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
  }

  TempDir dir;
};

constexpr const char* kRootListing = R"([".hidden", "a.txt", "escape", "sub/"])";
constexpr const char* kSubListing = R"(["deeper/", "inner.txt"])";

// A cmdserv over an ephemeral loopback port; port stays 0 if it never listened.
struct Cmdserv {
  explicit Cmdserv(const Root& root, std::vector<std::string> options = {})
      : proc(args(root, std::move(options))) {
    if (auto p = proc.wait_for_port()) port = *p;
  }
  static std::vector<std::string> args(const Root& root, std::vector<std::string> options) {
    std::vector<std::string> a = {"cmdserv", "--port", "0", "--root", root.path()};
    a.insert(a.end(), options.begin(), options.end());
    return a;
  }
  Client connect() const { return Client::tcp("127.0.0.1", port); }

  Process proc;
  uint16_t port = 0;
};

// The server's ctime, as Python's time.ctime() of a second since `before`.
::testing::AssertionResult is_ctime_since(std::time_t before, std::string_view got) {
  const std::time_t after = std::time(nullptr);
  for (std::time_t t = before; t <= after; ++t) {
    if (got == python_ctime(t)) return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << ::testing::PrintToString(std::string(got)) << " is not the ctime of a second between "
         << python_ctime(before) << " and " << python_ctime(after);
}

const std::regex& ctime_shape() {
  static const std::regex re(
      R"((Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 123]\d )"
      R"(\d\d:\d\d:\d\d \d{4})");
  return re;
}

std::string line(std::string_view s) {
  return std::string(s) + "\n";
}

// Sends one line and reads one reply line.
std::string ask(Client& c, std::string_view request) {
  if (!c.send(line(request))) return "<send failed: " + std::string(std::strerror(c.error())) + ">";
  return c.read_lines(1);
}

// The whole protocol over one connection, byte for byte.
void expect_every_command(Client& c) {
  ASSERT_TRUE(c.valid()) << std::strerror(c.error());
  const std::time_t before = std::time(nullptr);
  const std::string date = ask(c, "date");
  ASSERT_EQ(date.size(), kCtimeSize + 1) << ::testing::PrintToString(date);
  EXPECT_EQ(date.back(), '\n');
  EXPECT_TRUE(std::regex_match(date.substr(0, kCtimeSize), ctime_shape())) << date;
  EXPECT_TRUE(is_ctime_since(before, date.substr(0, kCtimeSize)));

  EXPECT_EQ(ask(c, "os"), line(modes::os_description()));
  EXPECT_EQ(ask(c, "help"), line(modes::kCommandHelp));
  EXPECT_EQ(ask(c, "ls"), line(kRootListing));
  EXPECT_EQ(ask(c, "ls sub"), line(kSubListing));
  EXPECT_EQ(ask(c, "ls sub/deeper"), line("[]"));
  EXPECT_EQ(ask(c, "ls .."), "error: outside root\n");
  EXPECT_EQ(ask(c, "ls /etc"), "error: outside root\n");
  EXPECT_EQ(ask(c, "ls escape"), "error: outside root\n");
  EXPECT_EQ(ask(c, "ls missing"), "error: No such file or directory\n");
  EXPECT_EQ(ask(c, "ls a.txt"), "error: Not a directory\n");

  const StampWindow window;
  EXPECT_TRUE(window.stamped(ask(c, "hello there"), "hello there\n"));
  EXPECT_TRUE(window.stamped(ask(c, "date; id"), "date; id\n"));
}

// ------------------------------------------------------------ commands

TEST(CmdservE2e, AnswersEveryCommandByteForByte) {
  Root root;
  Cmdserv server(root);
  ASSERT_NE(server.port, 0);
  Client c = server.connect();
  expect_every_command(c);
  c.shutdown_write();
  EXPECT_EQ(c.read_until_eof(), "");
  EXPECT_TRUE(c.closed());
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

TEST(CmdservE2e, DateIsTheServersCtime) {
  Root root;
  Cmdserv server(root);
  ASSERT_NE(server.port, 0);
  Client c = server.connect();
  ASSERT_TRUE(c.valid());
  const std::time_t before = std::time(nullptr);
  const std::string reply = ask(c, "date");
  static const std::regex shape(
      R"(^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 123]\d )"
      R"(\d\d:\d\d:\d\d \d{4}\n$)");
  EXPECT_TRUE(std::regex_match(reply, shape)) << ::testing::PrintToString(reply);
  EXPECT_TRUE(is_ctime_since(before, reply.substr(0, kCtimeSize)));
  EXPECT_EQ(server.proc.terminate(), 0);
}

TEST(CmdservE2e, EmptyLinesGetNoReply) {
  Root root;
  Cmdserv server(root);
  ASSERT_NE(server.port, 0);
  Client c = server.connect();
  ASSERT_TRUE(c.valid());
  // Had any blank line been answered, its reply would come before help's.
  ASSERT_TRUE(c.send("\n"));
  ASSERT_TRUE(c.send("\r\n  \t \n"));
  ASSERT_TRUE(c.send("help\n"));
  EXPECT_EQ(c.read_lines(1), line(modes::kCommandHelp));
  ASSERT_TRUE(c.send("\n\nos\n"));
  EXPECT_EQ(c.read_lines(1), line(modes::os_description()));
  EXPECT_EQ(server.proc.terminate(), 0);
}

TEST(CmdservE2e, MatchesCommandsAfterTrimmingWhitespace) {
  Root root;
  Cmdserv server(root);
  ASSERT_NE(server.port, 0);
  Client c = server.connect();
  ASSERT_TRUE(c.valid());
  EXPECT_EQ(ask(c, "  help\t"), line(modes::kCommandHelp));
  EXPECT_EQ(ask(c, "os\r"), line(modes::os_description()));  // CRLF line
  EXPECT_EQ(ask(c, "\tls   sub  "), line(kSubListing));
  const std::time_t before = std::time(nullptr);
  const std::string date = ask(c, " date ");
  EXPECT_TRUE(is_ctime_since(before, date.substr(0, kCtimeSize)));
  EXPECT_EQ(date.substr(kCtimeSize), "\n");
  EXPECT_EQ(server.proc.terminate(), 0);
}

TEST(CmdservE2e, UnknownTextGetsTheTimestampAndNoShellRuns) {
  Root root;
  Cmdserv server(root);
  ASSERT_NE(server.port, 0);
  Client c = server.connect();
  ASSERT_TRUE(c.valid());
  const std::string marker = root.dir.path("pwned");
  const StampWindow window;
  for (const std::string& text :
       {"date; touch " + marker, "$(touch " + marker + ")", "`touch " + marker + "`",
        "help && touch " + marker, "ls;touch " + marker, std::string("你好, 世界"),
        std::string("DATE")}) {
    EXPECT_TRUE(window.stamped(ask(c, text), line(text))) << text;
  }
  // `ls ARG` treats ARG as a path only: these name directories that do not exist.
  for (const std::string& text : {"ls ; touch " + marker, "ls $(touch " + marker + ")"}) {
    const std::string reply = ask(c, text);
    EXPECT_EQ(reply.rfind("error: ", 0), 0u) << text << " -> " << reply;
    EXPECT_EQ(reply.find('\n'), reply.size() - 1) << reply;
  }
  // Every request above got its reply, so any shell would have run by now.
  EXPECT_FALSE(root.exists("pwned")) << "a shell ran";
  EXPECT_EQ(server.proc.terminate(), 0);
}

TEST(CmdservE2e, NamesStayOnTheirReplyLine) {
  Root root;
  root.make_dir("root/odd");
  root.make_file("root/odd/new\nline");
  root.make_file("root/odd/q\"uote");
  root.make_file("root/odd/bad\xff");
  root.make_file("root/odd/\xe4\xb8\xad\xe6\x96\x87");
  Cmdserv server(root);
  ASSERT_NE(server.port, 0);
  Client c = server.connect();
  ASSERT_TRUE(c.valid());
  EXPECT_EQ(ask(c, "ls odd"), line(R"(["bad\ufffd", "new\nline", "q\"uote", "中文"])"));
  EXPECT_EQ(ask(c, "help"), line(modes::kCommandHelp)) << "the listing spilled over its line";
  EXPECT_EQ(server.proc.terminate(), 0);
}

TEST(CmdservE2e, OverUnixSocket) {
  Root root;
  const std::string path = root.dir.path("s");
  Process server({"cmdserv", "--unix", path, "--root", root.path()});
  ASSERT_TRUE(
      server.wait_for_stderr(std::regex("^netlab cmdserv: listening on unix " + path + "$")))
      << server.err();
  Client c = Client::unix_stream(path);
  ASSERT_TRUE(c.valid()) << std::strerror(c.error());
  EXPECT_EQ(ask(c, "ls sub"), line(kSubListing));
  EXPECT_EQ(ask(c, "ls .."), "error: outside root\n");
  EXPECT_EQ(server.terminate(), 0);
}

TEST(CmdservE2e, NulByteInAPathIsNotCutShort) {
  // Bytes pass through unchanged, NUL included; no name holds a NUL, so
  // "sub\0x" names nothing and must not list "sub".
  Root root;
  Cmdserv server(root);
  ASSERT_NE(server.port, 0);
  Client c = server.connect();
  ASSERT_TRUE(c.valid());
  const std::string reply = ask(c, "ls sub\0x"s);
  EXPECT_EQ(reply.rfind("error: ", 0), 0u) << ::testing::PrintToString(reply);
  EXPECT_EQ(server.proc.terminate(), 0);
}

// ------------------------------------------------------------ raw framing

// Each read chunk is one message and a reply has no newline. We wait for the
// full reply before sending the next request, so each request is one chunk;
// reading exactly the expected size and then the next reply checks that no
// stray bytes (a newline) followed.
TEST(CmdservE2e, RawFramingRepliesWithoutNewline) {
  Root root;
  Cmdserv server(root, {"--framing", "raw"});
  ASSERT_NE(server.port, 0);
  Client c = server.connect();
  ASSERT_TRUE(c.valid());

  const std::time_t before = std::time(nullptr);
  ASSERT_TRUE(c.send("date"));
  const std::string date = c.read_bytes(kCtimeSize);
  EXPECT_TRUE(std::regex_match(date, ctime_shape())) << ::testing::PrintToString(date);
  EXPECT_TRUE(is_ctime_since(before, date));

  const std::string os = modes::os_description();
  ASSERT_TRUE(c.send("os"));
  EXPECT_EQ(c.read_bytes(os.size()), os);
  ASSERT_TRUE(c.send("help"));
  EXPECT_EQ(c.read_bytes(modes::kCommandHelp.size()), modes::kCommandHelp);
  ASSERT_TRUE(c.send("ls sub"));
  EXPECT_EQ(c.read_bytes(std::strlen(kSubListing)), kSubListing);
  const std::string outside = "error: outside root";
  ASSERT_TRUE(c.send("ls .."));
  EXPECT_EQ(c.read_bytes(outside.size()), outside);

  const StampWindow window;
  ASSERT_TRUE(c.send("hi there"));
  EXPECT_TRUE(window.stamped(c.read_bytes(27 + 8), "hi there"));

  // Nothing more was sent after the last reply.
  c.shutdown_write();
  EXPECT_EQ(c.read_until_eof(), "");
  EXPECT_TRUE(c.closed());
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

// ------------------------------------------------------------ models

TEST(CmdservE2e, ThreadModelAnswersEveryCommand) {
  Root root;
  Cmdserv server(root, {"--model", "thread"});
  ASSERT_NE(server.port, 0);
  Client a = server.connect();
  Client b = server.connect();  // two at once: one thread each
  ASSERT_TRUE(b.valid());
  EXPECT_EQ(ask(b, "ls sub"), line(kSubListing));
  expect_every_command(a);
  EXPECT_EQ(ask(b, "ls escape"), "error: outside root\n");
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

TEST(CmdservE2e, ForkModelAnswersEveryCommand) {
  Root root;
  Cmdserv server(root, {"--model", "fork"});
  ASSERT_NE(server.port, 0);
  Client a = server.connect();
  Client b = server.connect();
  ASSERT_TRUE(b.valid());
  EXPECT_EQ(ask(b, "ls .."), "error: outside root\n");
  expect_every_command(a);
  EXPECT_EQ(ask(b, "ls"), line(kRootListing));
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

TEST(CmdservE2e, IterativeModelAnswersEveryCommand) {
  Root root;
  Cmdserv server(root, {"--model", "iterative"});
  ASSERT_NE(server.port, 0);
  Client c = server.connect();
  expect_every_command(c);
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

TEST(CmdservE2e, ThreadModelWithRawFraming) {
  Root root;
  Cmdserv server(root, {"--model", "thread", "--framing", "raw"});
  ASSERT_NE(server.port, 0);
  Client c = server.connect();
  ASSERT_TRUE(c.valid());
  ASSERT_TRUE(c.send("ls"));
  EXPECT_EQ(c.read_bytes(std::strlen(kRootListing)), kRootListing);
  c.shutdown_write();
  EXPECT_EQ(c.read_until_eof(), "");
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

// ------------------------------------------------------------ lifecycle

TEST(CmdservE2e, SigtermWithAClientConnectedExitsZero) {
  Root root;
  Cmdserv server(root);
  ASSERT_NE(server.port, 0);
  Client c = server.connect();
  ASSERT_TRUE(c.valid());
  EXPECT_EQ(ask(c, "os"), line(modes::os_description()));
  ASSERT_TRUE(server.proc.signal(SIGTERM));
  EXPECT_EQ(server.proc.wait_exit(), 0) << server.proc.err();
  EXPECT_EQ(c.read_until_eof(), "");
  EXPECT_TRUE(c.closed());
}

TEST(CmdservE2e, MissingRootIsAUsageError) {
  Root root;
  Process server({"cmdserv", "--port", "0", "--root", root.dir.path("no-such-dir")});
  EXPECT_EQ(server.wait_exit(), 2);
  EXPECT_NE(server.err().find("no-such-dir"), std::string::npos) << server.err();
}

}  // namespace
}  // namespace netlab::testing
