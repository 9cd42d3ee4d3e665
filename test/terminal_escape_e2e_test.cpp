// End-to-end tests that nothing a peer controls can drive the user's
// terminal through netlab's own messages: chat-client's error for a login
// refusal, the duplex operator's notices and -v log lines naming a peer whose
// address (a Linux abstract Unix socket name) holds control bytes.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <regex>
#include <string>
#include <string_view>

#include "support/chat_client_helpers.hpp"
#include "support/process.hpp"

namespace netlab::testing {
namespace {

using namespace std::chrono_literals;

// ESC starts every escape sequence, BEL ends an OSC (window title) one, and
// U+009B (CSI as C1, UTF-8 c2 9b) is a one-character ESC [.
::testing::AssertionResult has_no_terminal_controls(std::string_view text) {
  for (const std::string_view bad : {"\x1b", "\x07", "\xc2\x9b"}) {
    if (text.find(bad) != std::string_view::npos) {
      return ::testing::AssertionFailure()
             << "raw control bytes in: " << ::testing::PrintToString(std::string(text));
    }
  }
  return ::testing::AssertionSuccess();
}

// A fake chat server (a plain socket of the test's) refuses the login with
// an error that would set the window title and clear the screen if printed
// raw; chat-client must show it escaped in its one error line.
TEST(TerminalEscape, ChatClientShowsAHostileLoginRefusalEscaped) {
  Listening server;
  Process client({"chat-client", "-u", "alice", "-r", "lobby", "-H", "127.0.0.1", "-p",
                  std::to_string(server.port())});
  Client conn = server.accept();
  ASSERT_TRUE(conn.valid());
  EXPECT_EQ(conn.read_lines(1), "alice lobby\n");
  ASSERT_TRUE(
      conn.send("error: \x1b]0;PWNED\x07\x1b[2J\xc2\x9b"
                "31m\n"));
  EXPECT_EQ(client.wait_exit(), 1) << client.err();
  EXPECT_TRUE(has_no_terminal_controls(client.err()));
  EXPECT_NE(client.err().find("login refused: error: ^[]0;PWNED^G^[[2J\\u009b31m"),
            std::string::npos)
      << client.err();
}

// A Unix stream client bound to an abstract name (leading NUL) of its choice,
// connected to `path`; the server sees that name as its peer address.
Client abstract_unix_client(std::string_view name, const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Client();
  Client c(fd);
  sockaddr_un self{};
  self.sun_family = AF_UNIX;
  std::memcpy(self.sun_path + 1, name.data(), name.size());  // sun_path[0] stays '\0'
  const auto self_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&self), self_len) < 0) return Client();
  sockaddr_un to{};
  to.sun_family = AF_UNIX;
  std::memcpy(to.sun_path, path.data(), path.size());
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof(to)) < 0) return Client();
  return c;
}

// The name: a window title change and a screen clear, unique per test run.
std::string hostile_name() {
  return "\x1b]0;PWNED" + std::to_string(::getpid()) + "\x07\x1b[2J";
}
std::string escaped_hostile_name() {
  return "@^[]0;PWNED" + std::to_string(::getpid()) + "^G^[[2J";
}

const std::regex kListeningUnix("listening on unix ");

TEST(TerminalEscape, DuplexOperatorSeesAHostileUnixPeerAddressEscaped) {
  TempDir dir;
  const std::string path = dir.path("pair.sock");
  InteractiveProcess op({"chat-server", "--mode", "duplex", "--unix", path, "-v"});
  ASSERT_TRUE(op.wait_for_stderr(kListeningUnix)) << op.err();
  Client c = abstract_unix_client(hostile_name(), path);
  ASSERT_TRUE(c.valid()) << std::strerror(errno);
  ASSERT_TRUE(op.wait_for_out(" connected\n")) << op.out();
  ASSERT_TRUE(c.send("quit\n"));
  EXPECT_EQ(c.read_until_eof(), "quit\n");
  ASSERT_TRUE(op.wait_for_out(" left\n")) << op.out();

  EXPECT_TRUE(has_no_terminal_controls(op.out()));
  EXPECT_NE(op.out().find("* " + escaped_hostile_name() + " connected\n"), std::string::npos)
      << op.out();
  EXPECT_NE(op.out().find("* " + escaped_hostile_name() + " left\n"), std::string::npos)
      << op.out();
  op.close_stdin();
  EXPECT_EQ(op.wait_exit(), 0) << op.err();
  EXPECT_TRUE(has_no_terminal_controls(op.err()));
}

// -v log lines name the peer too (room mode logs every connection).
TEST(TerminalEscape, VerboseLogShowsAHostileUnixPeerAddressEscaped) {
  TempDir dir;
  const std::string path = dir.path("room.sock");
  Process server({"chat-server", "--unix", path, "-v"});
  ASSERT_TRUE(server.wait_for_stderr(kListeningUnix)) << server.err();
  Client c = abstract_unix_client(hostile_name(), path);
  ASSERT_TRUE(c.valid()) << std::strerror(errno);
  ASSERT_TRUE(c.send("alice lobby\n"));
  EXPECT_EQ(c.read_lines(1), "success\n");
  ASSERT_TRUE(server.wait_for_stderr(std::regex("alice joined lobby"))) << server.err();
  EXPECT_EQ(server.terminate(), 0);
  EXPECT_TRUE(has_no_terminal_controls(server.err()));
  EXPECT_NE(server.err().find(escaped_hostile_name()), std::string::npos) << server.err();
}

}  // namespace
}  // namespace netlab::testing
