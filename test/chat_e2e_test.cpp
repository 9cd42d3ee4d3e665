// End-to-end tests of chat-server and chat-client: the real binary, started
// with --port 0, talked to over 127.0.0.1 only — raw sockets playing the
// members, pipes (and one pseudo-terminal) playing the people at the keyboard.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "support/chat_client_helpers.hpp"
#include "support/chat_session.hpp"
#include "support/hostile.hpp"
#include "support/process.hpp"
#include "support/stamp.hpp"

namespace netlab::testing {
namespace {

using namespace std::chrono_literals;

// How long a check that something does NOT happen watches for it.
constexpr Millis kQuietWindow{250};

// "127.0.0.1:<port>" of our side of the connection, as the server names us.
std::string local_endpoint(const Client& c) {
  sockaddr_in sin{};
  socklen_t len = sizeof(sin);
  ::getsockname(c.fd(), reinterpret_cast<sockaddr*>(&sin), &len);
  return "127.0.0.1:" + std::to_string(ntohs(sin.sin_port));
}

// ================================================================ room mode

TEST(ChatRoom, LoginSucceedsAndJoinIsAnnouncedToTheOthersInTheRoomOnly) {
  ChatServer server;
  ASSERT_NE(server.port, 0);
  Client alice, bob, carol, dave;
  ASSERT_TRUE(log_in(alice, server, "alice"));  // no room: lobby
  ASSERT_TRUE(log_in(bob, server, "bob lobby"));
  EXPECT_EQ(alice.read_lines(1), "* bob joined lobby\n");
  ASSERT_TRUE(log_in(carol, server, "carol games"));
  ASSERT_TRUE(log_in(dave, server, "dave games"));
  EXPECT_EQ(carol.read_lines(1), "* dave joined games\n");
  // A joiner is not told about itself; lobby heard nothing of games.
  EXPECT_TRUE(quiet(alice));
  EXPECT_TRUE(quiet(bob));
  EXPECT_TRUE(quiet(carol));
  EXPECT_TRUE(quiet(dave));
  // Names are UTF-8: Chinese names and rooms work, up to 32 characters.
  Client ming;
  ASSERT_TRUE(log_in(ming, server, "小明 lobby"));
  EXPECT_EQ(alice.read_lines(1), "* 小明 joined lobby\n");
  EXPECT_EQ(bob.read_lines(1), "* 小明 joined lobby\n");
  Client longest;
  ASSERT_TRUE(log_in(longest, server, std::string(32, 'n') + " " + std::string(32, 'r')));
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

TEST(ChatRoom, MessagesReachEveryOtherMemberStampedAndNeverTheSender) {
  ChatServer server;
  ASSERT_NE(server.port, 0);
  const StampWindow window;
  Client alice, bob, carol;
  ASSERT_TRUE(log_in(alice, server, "alice lobby"));
  ASSERT_TRUE(log_in(bob, server, "bob lobby"));
  ASSERT_TRUE(log_in(carol, server, "carol lobby"));
  EXPECT_EQ(alice.read_lines(2), "* bob joined lobby\n* carol joined lobby\n");
  EXPECT_EQ(bob.read_lines(1), "* carol joined lobby\n");

  ASSERT_TRUE(alice.send("hello room\n"));
  EXPECT_TRUE(window.stamped(bob.read_lines(1), "alice: hello room\n"));
  EXPECT_TRUE(window.stamped(carol.read_lines(1), "alice: hello room\n"));
  EXPECT_TRUE(quiet(alice));  // no echo

  // Several lines in one write keep their order; CRLF loses the CR; an empty
  // line says nothing; text passes unchanged (UTF-8, inner blanks, a '/' later on).
  ASSERT_TRUE(bob.send("one\r\ntwo\n\n  spaced  out \n你好，世界 a/b\n"));
  const std::vector<Want> from_bob = {said("bob: one"), said("bob: two"),
                                      said("bob:   spaced  out "), said("bob: 你好，世界 a/b")};
  EXPECT_TRUE(lines_are(window, alice.read_lines(4), from_bob));
  EXPECT_TRUE(lines_are(window, carol.read_lines(4), from_bob));
  EXPECT_TRUE(quiet(bob));
  EXPECT_TRUE(quiet(alice));
  EXPECT_TRUE(quiet(carol));

  // A line split across two writes is one message.
  ASSERT_TRUE(carol.send("spl"));
  ASSERT_TRUE(alice.send("first\n"));
  EXPECT_TRUE(window.stamped(bob.read_lines(1), "alice: first\n"));
  ASSERT_TRUE(carol.send("it\n"));
  EXPECT_TRUE(window.stamped(bob.read_lines(1), "carol: split\n"));
  EXPECT_TRUE(lines_are(window, alice.read_lines(1), {said("carol: split")}));
  EXPECT_TRUE(lines_are(window, carol.read_lines(1), {said("alice: first")}));
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

TEST(ChatRoom, RoomsAreIsolatedEvenUnderTheSameNames) {
  ChatServer server;
  ASSERT_NE(server.port, 0);
  const StampWindow window;
  Client alice_lobby, bob_lobby, alice_games, bob_games;
  ASSERT_TRUE(log_in(alice_lobby, server, "alice lobby"));
  ASSERT_TRUE(log_in(alice_games, server, "alice games"));  // the same name in another room
  ASSERT_TRUE(log_in(bob_lobby, server, "bob lobby"));
  ASSERT_TRUE(log_in(bob_games, server, "bob games"));
  EXPECT_EQ(alice_lobby.read_lines(1), "* bob joined lobby\n");
  EXPECT_EQ(alice_games.read_lines(1), "* bob joined games\n");

  ASSERT_TRUE(alice_lobby.send("lobby talk\n"));
  ASSERT_TRUE(alice_games.send("games talk\n"));
  EXPECT_TRUE(window.stamped(bob_lobby.read_lines(1), "alice: lobby talk\n"));
  EXPECT_TRUE(window.stamped(bob_games.read_lines(1), "alice: games talk\n"));
  // Both messages were handled before these /help: nothing crossed over.
  for (Client* c : {&alice_lobby, &bob_lobby, &alice_games, &bob_games}) EXPECT_TRUE(quiet(*c));

  alice_games.close();
  EXPECT_EQ(bob_games.read_lines(1), "* alice left games\n");
  EXPECT_TRUE(quiet(bob_lobby));
  EXPECT_TRUE(quiet(alice_lobby));
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

TEST(ChatRoom, NameTakenInTheRoomGetsReuseAndTheConnectionMayTryAgain) {
  ChatServer server;
  ASSERT_NE(server.port, 0);
  Client alice;
  ASSERT_TRUE(log_in(alice, server, "alice lobby"));
  Client second = server.connect();
  ASSERT_TRUE(second.valid());
  ASSERT_TRUE(second.send("alice lobby\n"));
  EXPECT_EQ(second.read_lines(1), "reuse\n");
  ASSERT_TRUE(second.send("alice\n"));  // the default room is lobby too
  EXPECT_EQ(second.read_lines(1), "reuse\n");
  ASSERT_TRUE(second.send("alice2 lobby\n"));
  EXPECT_EQ(second.read_lines(1), "success\n");
  // Only the successful login was announced.
  EXPECT_EQ(alice.read_lines(1), "* alice2 joined lobby\n");
  EXPECT_TRUE(quiet(alice));
  EXPECT_TRUE(quiet(second));
  ASSERT_TRUE(alice.send("/who\n"));
  EXPECT_EQ(alice.read_lines(1), "* members of lobby: alice alice2\n");
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

TEST(ChatRoom, InvalidLoginGetsErrorLineAndIsClosed) {
  ChatServer server;
  ASSERT_NE(server.port, 0);
  Client watcher;
  ASSERT_TRUE(log_in(watcher, server, "watcher lobby"));
  const struct {
    std::string login;
    std::string reply;
  } cases[] = {
      {"", "error: invalid login: empty name (expected NAME or NAME ROOM)\n"},
      {"   ", "error: invalid login: leading space (expected NAME or NAME ROOM)\n"},
      {"alice  lobby", "error: invalid login: two spaces in a row (expected NAME or NAME ROOM)\n"},
      {"a b c", "error: invalid login: more than two words (expected NAME or NAME ROOM)\n"},
      {std::string(33, 'x'), "error: invalid name: longer than 32 characters\n"},
      {"bad\x01name", "error: invalid name: spaces and control characters are not allowed\n"},
      {"bad\x7fname lobby", "error: invalid name: spaces and control characters are not allowed\n"},
      {"\xff\xfe", "error: invalid name: not valid UTF-8\n"},
      {"alice " + std::string(33, 'r'), "error: invalid room: longer than 32 characters\n"},
      {"alice ro\x1bom", "error: invalid room: spaces and control characters are not allowed\n"},
      {"alice \xc3", "error: invalid room: not valid UTF-8\n"},
  };
  for (const auto& c : cases) EXPECT_TRUE(login_refused(server, c.login, c.reply));
  // Nobody joined.
  ASSERT_TRUE(watcher.send("/who\n"));
  EXPECT_EQ(watcher.read_lines(1), "* members of lobby: watcher\n");
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

// " lobby" once logged in as user "lobby": the login is exactly NAME or NAME ROOM.
TEST(ChatRoom, LoginWithALeadingSpaceIsRefusedAndClosed) {
  ChatServer server;
  ASSERT_NE(server.port, 0);
  EXPECT_TRUE(login_refused(server, " lobby",
                            "error: invalid login: leading space (expected NAME or NAME ROOM)\n"));
  // Nobody took the name "lobby".
  Client lobby;
  EXPECT_TRUE(log_in(lobby, server, "lobby"));
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

TEST(ChatRoom, QuitTellsTheOthersRepliesQuitAndCloses) {
  ChatServer server;
  ASSERT_NE(server.port, 0);
  Client alice, bob, carol;
  ASSERT_TRUE(log_in(alice, server, "alice"));
  ASSERT_TRUE(log_in(bob, server, "bob"));
  ASSERT_TRUE(log_in(carol, server, "carol"));
  EXPECT_EQ(alice.read_lines(2), "* bob joined lobby\n* carol joined lobby\n");
  EXPECT_EQ(bob.read_lines(1), "* carol joined lobby\n");

  ASSERT_TRUE(alice.send("quit\n"));
  EXPECT_EQ(alice.read_until_eof(), "quit\n");
  EXPECT_TRUE(alice.closed());
  EXPECT_EQ(bob.read_lines(1), "* alice left lobby\n");
  EXPECT_EQ(carol.read_lines(1), "* alice left lobby\n");

  // Blanks around quit are fine; the name is free again afterwards.
  ASSERT_TRUE(bob.send("  quit \r\n"));
  EXPECT_EQ(bob.read_until_eof(), "quit\n");
  EXPECT_EQ(carol.read_lines(1), "* bob left lobby\n");
  ASSERT_TRUE(log_in(alice, server, "alice"));
  EXPECT_EQ(carol.read_lines(1), "* alice joined lobby\n");
  ASSERT_TRUE(carol.send("/who\n"));
  EXPECT_EQ(carol.read_lines(1), "* members of lobby: carol alice\n");
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

TEST(ChatRoom, MembersThatVanishWithoutQuitAreAnnouncedAsLeft) {
  ChatServer server;
  ASSERT_NE(server.port, 0);
  Client alice, bob, carol, dave;
  ASSERT_TRUE(log_in(alice, server, "alice"));
  ASSERT_TRUE(log_in(bob, server, "bob"));
  ASSERT_TRUE(log_in(carol, server, "carol"));
  ASSERT_TRUE(log_in(dave, server, "dave"));
  EXPECT_EQ(alice.read_lines(3), "* bob joined lobby\n* carol joined lobby\n* dave joined lobby\n");

  bob.close();  // FIN
  EXPECT_EQ(alice.read_lines(1), "* bob left lobby\n");
  carol.reset();  // RST (SO_LINGER 0)
  EXPECT_EQ(alice.read_lines(1), "* carol left lobby\n");
  // A reset while a message for the member is on its way.
  ASSERT_TRUE(alice.send("for dave\n"));
  dave.reset();
  EXPECT_EQ(alice.read_lines(1), "* dave left lobby\n");
  ASSERT_TRUE(alice.send("/who\n"));
  EXPECT_EQ(alice.read_lines(1), "* members of lobby: alice\n");
  // Their names are free again.
  ASSERT_TRUE(log_in(bob, server, "bob"));
  ASSERT_TRUE(log_in(carol, server, "carol"));
  EXPECT_EQ(alice.read_lines(2), "* bob joined lobby\n* carol joined lobby\n");
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

TEST(ChatRoom, WhoListsTheMembersOfOnesOwnRoomInJoinOrder) {
  ChatServer server;
  ASSERT_NE(server.port, 0);
  Client carol, alice, bob, dave;
  ASSERT_TRUE(log_in(carol, server, "carol"));
  ASSERT_TRUE(log_in(alice, server, "alice"));
  ASSERT_TRUE(log_in(bob, server, "bob"));
  ASSERT_TRUE(log_in(dave, server, "dave games"));
  EXPECT_EQ(carol.read_lines(2), "* alice joined lobby\n* bob joined lobby\n");
  ASSERT_TRUE(alice.send("/who\n"));
  EXPECT_EQ(alice.read_lines(2), "* bob joined lobby\n* members of lobby: carol alice bob\n");
  ASSERT_TRUE(dave.send("/who\n"));
  EXPECT_EQ(dave.read_lines(1), "* members of games: dave\n");
  alice.close();
  EXPECT_EQ(carol.read_lines(1), "* alice left lobby\n");
  ASSERT_TRUE(bob.send("/who\n"));
  EXPECT_EQ(bob.read_lines(2), "* alice left lobby\n* members of lobby: carol bob\n");
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

TEST(ChatRoom, RoomsListsEveryRoomWithItsMemberCountByName) {
  ChatServer server;
  ASSERT_NE(server.port, 0);
  Client alice, bob, dave, zoe;
  ASSERT_TRUE(log_in(alice, server, "alice lobby"));
  ASSERT_TRUE(log_in(bob, server, "bob lobby"));
  ASSERT_TRUE(log_in(dave, server, "dave games"));
  EXPECT_EQ(alice.read_lines(1), "* bob joined lobby\n");
  ASSERT_TRUE(dave.send("/rooms\n"));
  EXPECT_EQ(dave.read_lines(1), "* rooms: games (1) lobby (2)\n");
  ASSERT_TRUE(log_in(zoe, server, "zoe zoo"));
  ASSERT_TRUE(alice.send("/rooms\n"));
  EXPECT_EQ(alice.read_lines(1), "* rooms: games (1) lobby (2) zoo (1)\n");
  // An empty room is no longer listed.
  ASSERT_TRUE(dave.send("quit\n"));
  EXPECT_EQ(dave.read_until_eof(), "quit\n");
  ASSERT_TRUE(zoe.send("/rooms\n"));
  EXPECT_EQ(zoe.read_lines(1), "* rooms: lobby (2) zoo (1)\n");
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

TEST(ChatRoom, JoinMovesTheMemberWithNoticesInBothRooms) {
  ChatServer server;
  ASSERT_NE(server.port, 0);
  const StampWindow window;
  Client alice, bob, dave;
  ASSERT_TRUE(log_in(alice, server, "alice lobby"));
  ASSERT_TRUE(log_in(bob, server, "bob lobby"));
  ASSERT_TRUE(log_in(dave, server, "dave games"));
  EXPECT_EQ(alice.read_lines(1), "* bob joined lobby\n");

  ASSERT_TRUE(bob.send("/join games\n"));
  EXPECT_EQ(bob.read_lines(1), "success\n");
  EXPECT_EQ(alice.read_lines(1), "* bob left lobby\n");
  EXPECT_EQ(dave.read_lines(1), "* bob joined games\n");
  EXPECT_TRUE(quiet(bob));  // told about neither move

  // bob now talks in games only.
  ASSERT_TRUE(bob.send("in games now\n"));
  EXPECT_TRUE(window.stamped(dave.read_lines(1), "bob: in games now\n"));
  EXPECT_TRUE(quiet(alice));
  ASSERT_TRUE(bob.send("/who\n"));
  EXPECT_EQ(bob.read_lines(1), "* members of games: dave bob\n");

  // Joining the room one is in: success, no notices.
  ASSERT_TRUE(bob.send("/join games\n"));
  EXPECT_EQ(bob.read_lines(1), "success\n");
  EXPECT_TRUE(quiet(dave));

  // The reuse rule applies in the new room; bob stays where he was.
  Client bob2;
  ASSERT_TRUE(log_in(bob2, server, "bob lobby"));
  EXPECT_EQ(alice.read_lines(1), "* bob joined lobby\n");
  ASSERT_TRUE(bob.send("/join lobby\n"));
  EXPECT_EQ(bob.read_lines(1), "reuse\n");
  ASSERT_TRUE(bob.send("/who\n"));
  EXPECT_EQ(bob.read_lines(1), "* members of games: dave bob\n");
  EXPECT_TRUE(quiet(alice));
  EXPECT_TRUE(quiet(dave));

  // Invalid room names are refused and change nothing.
  ASSERT_TRUE(bob.send("/join\n"));
  EXPECT_EQ(bob.read_lines(1), "error: invalid room: empty name\n");
  ASSERT_TRUE(bob.send("/join two words\n"));
  EXPECT_EQ(bob.read_lines(1),
            "error: invalid room: spaces and control characters are not allowed\n");
  ASSERT_TRUE(bob.send("/join " + std::string(33, 'r') + "\n"));
  EXPECT_EQ(bob.read_lines(1), "error: invalid room: longer than 32 characters\n");
  ASSERT_TRUE(bob.send("/who\n"));
  EXPECT_EQ(bob.read_lines(1), "* members of games: dave bob\n");

  // A new room comes into being on /join.
  ASSERT_TRUE(dave.send("/join attic\n"));
  EXPECT_EQ(dave.read_lines(1), "success\n");
  EXPECT_EQ(bob.read_lines(1), "* dave left games\n");
  ASSERT_TRUE(alice.send("/rooms\n"));
  EXPECT_EQ(alice.read_lines(1), "* rooms: attic (1) games (1) lobby (2)\n");
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

TEST(ChatRoom, MsgTalksPrivatelyToOneMemberOfTheSameRoom) {
  ChatServer server;
  ASSERT_NE(server.port, 0);
  const StampWindow window;
  Client alice, bob, carol, dave;
  ASSERT_TRUE(log_in(alice, server, "alice"));
  ASSERT_TRUE(log_in(bob, server, "bob"));
  ASSERT_TRUE(log_in(carol, server, "carol"));
  ASSERT_TRUE(log_in(dave, server, "dave games"));
  EXPECT_EQ(alice.read_lines(2), "* bob joined lobby\n* carol joined lobby\n");
  EXPECT_EQ(bob.read_lines(1), "* carol joined lobby\n");

  ASSERT_TRUE(alice.send("/msg bob psst,  just you\n"));
  EXPECT_TRUE(window.stamped(bob.read_lines(1), "alice (private): psst,  just you\n"));
  EXPECT_TRUE(quiet(alice));
  EXPECT_TRUE(quiet(carol));
  EXPECT_TRUE(quiet(dave));

  ASSERT_TRUE(alice.send("/msg dave hi\n"));  // dave is in another room
  EXPECT_EQ(alice.read_lines(1), "error: no user dave in lobby\n");
  ASSERT_TRUE(alice.send("/msg zed hi\n"));
  EXPECT_EQ(alice.read_lines(1), "error: no user zed in lobby\n");
  ASSERT_TRUE(dave.send("/msg alice hi\n"));
  EXPECT_EQ(dave.read_lines(1), "error: no user alice in games\n");
  ASSERT_TRUE(alice.send("/msg bob\n"));
  EXPECT_EQ(alice.read_lines(1), "error: usage: /msg USER TEXT\n");
  ASSERT_TRUE(alice.send("/msg\n"));
  EXPECT_EQ(alice.read_lines(1), "error: usage: /msg USER TEXT\n");
  for (Client* c : {&bob, &carol, &dave}) EXPECT_TRUE(quiet(*c));
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

TEST(ChatRoom, HelpListsTheCommandsAndUnknownCommandsAreErrors) {
  ChatServer server;
  ASSERT_NE(server.port, 0);
  Client alice, bob;
  ASSERT_TRUE(log_in(alice, server, "alice"));
  ASSERT_TRUE(log_in(bob, server, "bob"));
  EXPECT_EQ(alice.read_lines(1), "* bob joined lobby\n");
  ASSERT_TRUE(alice.send("/help\n"));
  EXPECT_EQ(alice.read_lines(1), kChatHelp);
  ASSERT_TRUE(alice.send("/x\n"));
  EXPECT_EQ(alice.read_lines(1), "error: unknown command /x\n");
  ASSERT_TRUE(alice.send("/nope with args\n"));
  EXPECT_EQ(alice.read_lines(1), "error: unknown command /nope\n");
  // None of it reached the room.
  EXPECT_TRUE(quiet(bob));
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

TEST(ChatRoom, HistoryGivesANewcomerTheRoomsLastMessagesRightAfterSuccess) {
  ChatServer server({"--history", "2"});
  ASSERT_NE(server.port, 0);
  const StampWindow window;
  Client alice, dave;
  ASSERT_TRUE(log_in(alice, server, "alice lobby"));
  ASSERT_TRUE(log_in(dave, server, "dave games"));
  ASSERT_TRUE(alice.send("m1\nm2\n/help\nm3\n"));  // commands are not history
  EXPECT_EQ(alice.read_lines(1), kChatHelp);
  ASSERT_TRUE(dave.send("g1\n"));
  ASSERT_TRUE(dave.send("/rooms\n"));  // g1 is handled once this is answered
  EXPECT_EQ(dave.read_lines(1), "* rooms: games (1) lobby (1)\n");

  Client bob = server.connect();
  ASSERT_TRUE(bob.valid());
  ASSERT_TRUE(bob.send("bob lobby\n"));
  EXPECT_TRUE(lines_are(window, bob.read_lines(3),
                        {line("success"), said("alice: m2"), said("alice: m3")}));
  EXPECT_TRUE(quiet(bob));
  EXPECT_EQ(alice.read_lines(1), "* bob joined lobby\n");

  // /join brings the new room's history; notices were never recorded.
  ASSERT_TRUE(bob.send("/join games\n"));
  EXPECT_TRUE(lines_are(window, bob.read_lines(2), {line("success"), said("dave: g1")}));
  EXPECT_TRUE(quiet(bob));
  ASSERT_TRUE(bob.send("/join lobby\n"));
  EXPECT_TRUE(lines_are(window, bob.read_lines(3),
                        {line("success"), said("alice: m2"), said("alice: m3")}));
  EXPECT_TRUE(quiet(bob));
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

// A room whose last member left keeps its history: the next newcomer still
// gets it, although the emptied room is no longer listed by /rooms.
TEST(ChatRoom, HistoryOutlivesTheRoomEmptying) {
  ChatServer server({"--history", "5"});
  ASSERT_NE(server.port, 0);
  const StampWindow window;
  Client alice, carol;
  ASSERT_TRUE(log_in(carol, server, "carol games"));
  ASSERT_TRUE(log_in(alice, server, "alice lobby"));
  ASSERT_TRUE(alice.send("m1\nm2\nquit\n"));
  EXPECT_EQ(alice.read_until_eof(), "quit\n");  // the server has handled the leave
  ASSERT_TRUE(alice.closed());
  ASSERT_TRUE(carol.send("/rooms\n"));
  EXPECT_EQ(carol.read_lines(1), "* rooms: games (1)\n");

  Client bob = server.connect();
  ASSERT_TRUE(bob.valid());
  ASSERT_TRUE(bob.send("bob lobby\n/help\n"));
  EXPECT_TRUE(lines_are(window, bob.read_lines(4),
                        {line("success"), said("alice: m1"), said("alice: m2"),
                         line(std::string(kChatHelp.substr(0, kChatHelp.size() - 1)))}));
  EXPECT_TRUE(quiet(carol));
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

TEST(ChatRoom, WithoutHistoryANewcomerGetsOnlySuccess) {
  ChatServer server;
  ASSERT_NE(server.port, 0);
  Client alice, bob;
  ASSERT_TRUE(log_in(alice, server, "alice"));
  ASSERT_TRUE(alice.send("before bob\n"));
  EXPECT_TRUE(quiet(alice));
  ASSERT_TRUE(log_in(bob, server, "bob"));
  EXPECT_TRUE(quiet(bob));
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

// A member that never reads (tiny receive buffer) while a publisher floods
// the room: it is dropped once its queue passes --max-queue, the room is
// told, and the members that read get every message, in order.
TEST(ChatRoom, NonReadingMemberIsDroppedAtMaxQueueWhileReadersGetEverythingInOrder) {
  constexpr size_t kMaxQueue = 65536;
  ChatServer server({"--max-queue", std::to_string(kMaxQueue)});
  ASSERT_NE(server.port, 0);
  const StampWindow window;
  Client r1, r2, pub, slow;
  ASSERT_TRUE(log_in(r1, server, "r1"));
  ASSERT_TRUE(log_in(r2, server, "r2"));
  ASSERT_TRUE(log_in(pub, server, "pub"));
  ASSERT_TRUE(log_in(slow, server, "slow", /*rcvbuf=*/2048));
  EXPECT_EQ(r1.read_lines(3), "* r2 joined lobby\n* pub joined lobby\n* slow joined lobby\n");
  EXPECT_EQ(r2.read_lines(2), "* pub joined lobby\n* slow joined lobby\n");
  EXPECT_EQ(pub.read_lines(1), "* slow joined lobby\n");

  // The kernel holds a non-reader's bytes too, before the server's own queue
  // starts to fill: the server's send buffer grows up to tcp_wmem's maximum.
  // Flood until the drop, but give up well past both.
  const size_t kernel_max = max_of_sysctl("/proc/sys/net/ipv4/tcp_wmem", size_t{4} << 20);
  const size_t give_up_after = 2 * (kernel_max + kMaxQueue);
  constexpr int kBatch = 8;  // 32 KiB a batch: the readers' socket buffers hold it all
  const std::string filler(4000, 'x');
  auto text = [&](int i) { return "m" + std::to_string(i) + " " + filler; };
  const size_t wire_size = 27 + std::string("pub: ").size() + text(0).size() + 1;  // about 4 KiB
  const std::string notice = "* slow left lobby (too slow)\n";

  // Reads the batch just sent (and the notice, should it come): false on
  // EOF or the deadline.
  auto read_batch = [&](Client& c, std::vector<std::string>& into) {
    size_t want = kBatch;
    while (want > 0) {
      const std::string chunk = c.read_lines(want);
      const auto lines = split_lines(chunk);
      if (lines.size() != want || !chunk.ends_with('\n')) return false;
      for (const auto& l : lines) {
        into.push_back(l + "\n");
        if (into.back() != notice) --want;
      }
    }
    return true;
  };
  auto has_notice = [&](const std::vector<std::string>& lines) {
    return std::find(lines.begin(), lines.end(), notice) != lines.end();
  };

  std::vector<std::string> got[2];
  Client* readers[2] = {&r1, &r2};
  int sent = 0;
  for (int after_notice = 0; after_notice < 2;) {
    ASSERT_LT(sent * wire_size, give_up_after)
        << "no (too slow) notice after " << sent << " messages";
    std::string batch;
    for (int i = sent; i < sent + kBatch; ++i) batch += text(i) + "\n";
    ASSERT_TRUE(pub.send(batch)) << "publisher blocked at message " << sent;
    sent += kBatch;
    for (int r = 0; r < 2; ++r) {
      ASSERT_TRUE(read_batch(*readers[r], got[r]))
          << "reader " << r + 1 << " stalled at message " << sent;
    }
    if (has_notice(got[0]) && has_notice(got[1])) ++after_notice;  // and the room goes on
  }

  for (int r = 0; r < 2; ++r) {
    SCOPED_TRACE("reader " + std::to_string(r + 1));
    ASSERT_EQ(got[r].size(), static_cast<size_t>(sent) + 1)
        << "expected every message plus one notice";
    int next = 0;
    size_t notice_at = 0;
    for (size_t k = 0; k < got[r].size(); ++k) {
      if (got[r][k] == notice) {
        notice_at = k;
        continue;
      }
      ASSERT_TRUE(window.stamped(got[r][k], "pub: " + text(next) + "\n")) << "line " << k;
      ++next;
    }
    // Dropped once --max-queue bytes were waiting, not before; and not much
    // after (what the kernel buffered plus the queue plus some slack).
    EXPECT_GE(notice_at * wire_size, kMaxQueue);
    EXPECT_LE(notice_at * wire_size, kernel_max + kMaxQueue + (256u << 10));
  }
  EXPECT_EQ(pub.read_lines(1), notice);
  EXPECT_TRUE(quiet(pub));
  EXPECT_TRUE(quiet(r1));
  EXPECT_TRUE(quiet(r2));
  ASSERT_TRUE(r1.send("/who\n"));
  EXPECT_EQ(r1.read_lines(1), "* members of lobby: r1 r2 pub\n");

  // The slow member was disconnected: it finds the start of the flood, in
  // order and whole lines but maybe the last, and then the end of the stream.
  const std::string rest = slow.read_until_eof();
  EXPECT_TRUE(slow.closed());
  const auto lines = split_lines(rest);
  for (size_t k = 0; k < lines.size(); ++k) {
    const std::string want = "pub: " + text(static_cast<int>(k));
    const bool complete = k + 1 < lines.size() || rest.ends_with('\n');
    if (complete) {
      ASSERT_TRUE(window.stamped(lines[k] + "\n", want + "\n")) << "line " << k;
    } else {
      const std::string whole = lines[k];
      EXPECT_TRUE(whole.size() <= 27 || want.starts_with(whole.substr(27))) << "partial line " << k;
    }
  }
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

// --framing raw: each read chunk is one message and nothing is added to what
// the server sends — the tutorial's own client, which sends no newline.
TEST(ChatRoom, RawFramingTakesEachChunkAsAMessageAndAddsNoNewlines) {
  ChatServer server({"--framing", "raw"});
  ASSERT_NE(server.port, 0);
  const StampWindow window;
  Client alice = server.connect();
  ASSERT_TRUE(alice.valid());
  ASSERT_TRUE(alice.send("alice"));
  EXPECT_EQ(alice.read_bytes(7), "success");
  Client bob = server.connect();
  ASSERT_TRUE(bob.valid());
  ASSERT_TRUE(bob.send("bob lobby"));
  EXPECT_EQ(bob.read_bytes(7), "success");
  EXPECT_EQ(alice.read_bytes(18), "* bob joined lobby");
  Client bob2 = server.connect();
  ASSERT_TRUE(bob2.valid());
  ASSERT_TRUE(bob2.send("bob"));
  EXPECT_EQ(bob2.read_bytes(5), "reuse");

  // Messages: the stamp, the name, the chunk — no newline after any of them.
  ASSERT_TRUE(alice.send("hello bob"));
  const std::string hello = "alice: hello bob";
  EXPECT_TRUE(window.stamped(bob.read_bytes(27 + hello.size()), hello));
  ASSERT_TRUE(bob.send("hi alice"));
  const std::string hi = "bob: hi alice";
  EXPECT_TRUE(window.stamped(alice.read_bytes(27 + hi.size()), hi));
  ASSERT_TRUE(alice.send("again"));
  const std::string again = "alice: again";
  EXPECT_TRUE(window.stamped(bob.read_bytes(27 + again.size()), again));

  // Commands answer without newlines too.
  ASSERT_TRUE(bob.send("/who"));
  const std::string who = "* members of lobby: alice bob";
  EXPECT_EQ(bob.read_bytes(who.size()), who);
  ASSERT_TRUE(bob.send("/nope"));
  const std::string unknown = "error: unknown command /nope";
  EXPECT_EQ(bob.read_bytes(unknown.size()), unknown);

  // quit: "quit" and the close, the others told without a newline.
  ASSERT_TRUE(alice.send("quit"));
  EXPECT_EQ(alice.read_until_eof(), "quit");
  EXPECT_TRUE(alice.closed());
  EXPECT_EQ(bob.read_bytes(18), "* alice left lobby");
  ASSERT_TRUE(bob2.send("carol"));
  EXPECT_EQ(bob2.read_bytes(7), "success");
  EXPECT_EQ(bob.read_bytes(20), "* carol joined lobby");
  ASSERT_TRUE(server.proc.signal(SIGTERM));
  EXPECT_EQ(bob.read_until_eof(), "* server shutting down");
  EXPECT_EQ(bob2.read_until_eof(), "* server shutting down");
  EXPECT_EQ(server.proc.wait_exit(), 0) << server.proc.err();
}

TEST(ChatRoom, LoginTimeoutClosesConnectionsThatSayNothing) {
  ChatServer server({"--login-timeout", "0.3"});
  ASSERT_NE(server.port, 0);
  Client early;
  ASSERT_TRUE(log_in(early, server, "early"));  // logged in: the timeout no longer applies
  const auto start = Clock::now();
  Client silent = server.connect();
  Client partial = server.connect();
  ASSERT_TRUE(silent.valid());
  ASSERT_TRUE(partial.valid());
  ASSERT_TRUE(partial.send("half a log"));  // no newline: still no login
  EXPECT_EQ(silent.read_until_eof(), "error: login timeout\n");
  EXPECT_TRUE(silent.closed());
  const auto waited = Clock::now() - start;
  EXPECT_GE(waited, 250ms) << "closed after " << elapsed_ms(start);
  EXPECT_LT(waited, 2500ms) << "closed after " << elapsed_ms(start);
  EXPECT_EQ(partial.read_until_eof(), "error: login timeout\n");
  EXPECT_TRUE(partial.closed());
  // The member that logged in long before is still served.
  EXPECT_TRUE(quiet(early));
  ASSERT_TRUE(early.send("/who\n"));
  EXPECT_EQ(early.read_lines(1), "* members of lobby: early\n");
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

TEST(ChatRoom, MaxClientsRefusesTheNextConnectionWithServerFull) {
  ChatServer server({"--max-clients", "2"});
  ASSERT_NE(server.port, 0);
  Client alice, bob;
  ASSERT_TRUE(log_in(alice, server, "alice"));
  ASSERT_TRUE(log_in(bob, server, "bob"));
  EXPECT_EQ(alice.read_lines(1), "* bob joined lobby\n");
  Client third = server.connect();
  ASSERT_TRUE(third.valid());
  EXPECT_EQ(third.read_until_eof(), "error: server full\n");
  EXPECT_TRUE(third.closed());
  EXPECT_TRUE(quiet(alice));  // the refused one never joined

  // A place frees up when someone leaves.
  ASSERT_TRUE(bob.send("quit\n"));
  EXPECT_EQ(bob.read_until_eof(), "quit\n");
  EXPECT_EQ(alice.read_lines(1), "* bob left lobby\n");
  Client carol;
  ASSERT_TRUE(log_in(carol, server, "carol"));
  EXPECT_EQ(alice.read_lines(1), "* carol joined lobby\n");
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

TEST(ChatRoom, SigtermTellsEveryMemberAndExitsZero) {
  ChatServer server;
  ASSERT_NE(server.port, 0);
  Client alice, bob, carol;
  ASSERT_TRUE(log_in(alice, server, "alice"));
  ASSERT_TRUE(log_in(bob, server, "bob"));
  ASSERT_TRUE(log_in(carol, server, "carol games"));
  EXPECT_EQ(alice.read_lines(1), "* bob joined lobby\n");
  ASSERT_TRUE(server.proc.signal(SIGTERM));
  for (Client* c : {&alice, &bob, &carol}) {
    EXPECT_EQ(c->read_until_eof(), kChatShutdown);
    EXPECT_TRUE(c->closed());
  }
  EXPECT_EQ(server.proc.wait_exit(), 0) << server.proc.err();
  // The listener is gone with it.
  Client late = server.connect();
  EXPECT_FALSE(late.valid());
}

TEST(ChatRoom, SigintIsAStopSignalToo) {
  ChatServer server;
  ASSERT_NE(server.port, 0);
  Client alice;
  ASSERT_TRUE(log_in(alice, server, "alice"));
  ASSERT_TRUE(server.proc.signal(SIGINT));
  EXPECT_EQ(alice.read_until_eof(), kChatShutdown);
  EXPECT_EQ(server.proc.wait_exit(), 0) << server.proc.err();
}

// ============================================================== chat-client

TEST(ChatClient, TwoPipeModeClientsTalkAndExitZeroAfterStdinEnds) {
  ChatServer server;
  ASSERT_NE(server.port, 0);
  const StampWindow window;
  Client watcher;
  ASSERT_TRUE(log_in(watcher, server, "watcher"));

  InteractiveProcess alice(client_args(server.port, "alice", "lobby"));
  EXPECT_EQ(watcher.read_lines(1), "* alice joined lobby\n");
  // A long --linger: bob must exit because the server closes after his quit.
  InteractiveProcess bob(client_args(server.port, "bob", "lobby", {"--linger", "30"}));
  EXPECT_EQ(watcher.read_lines(1), "* bob joined lobby\n");
  EXPECT_TRUE(alice.wait_for_out("* bob joined lobby\n")) << alice.out();

  ASSERT_TRUE(bob.write("hello alice\n"));
  EXPECT_TRUE(alice.wait_for_out("bob: hello alice\n")) << alice.out();
  ASSERT_TRUE(alice.write("hi bob, 你好\n"));
  EXPECT_TRUE(bob.wait_for_out("alice: hi bob, 你好\n")) << bob.out();
  ASSERT_TRUE(watcher.send("from the watcher\n"));
  EXPECT_TRUE(bob.wait_for_out("watcher: from the watcher\n")) << bob.out();
  EXPECT_TRUE(alice.wait_for_out("watcher: from the watcher\n")) << alice.out();

  bob.close_stdin();  // -> quit, the server closes, bob exits
  EXPECT_EQ(bob.wait_exit(), 0) << bob.err();
  EXPECT_TRUE(alice.wait_for_out("* bob left lobby\n")) << alice.out();
  alice.close_stdin();
  EXPECT_EQ(alice.wait_exit(), 0) << alice.err();

  EXPECT_TRUE(lines_are(window, alice.out(),
                        {line("* bob joined lobby"), said("bob: hello alice"),
                         said("watcher: from the watcher"), line("* bob left lobby")}));
  EXPECT_TRUE(lines_are(window, bob.out(),
                        {said("alice: hi bob, 你好"), said("watcher: from the watcher")}));
  EXPECT_EQ(alice.err(), "");
  EXPECT_EQ(bob.err(), "");
  EXPECT_TRUE(lines_are(window, watcher.read_lines(4),
                        {said("bob: hello alice"), said("alice: hi bob, 你好"),
                         line("* bob left lobby"), line("* alice left lobby")}));
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

TEST(ChatClient, PipedClientSendsEveryLineThenQuitsAndPrintsHistory) {
  ChatServer server({"--history", "5"});
  ASSERT_NE(server.port, 0);
  const StampWindow window;
  Client watcher;
  ASSERT_TRUE(log_in(watcher, server, "watcher ops"));
  ASSERT_TRUE(watcher.send("earlier\n"));
  EXPECT_TRUE(quiet(watcher));
  Process bot(client_args(server.port, "bot", "ops"), "line one\nline two\nlast, no newline");
  EXPECT_EQ(bot.wait_exit(), 0) << bot.err();
  EXPECT_TRUE(lines_are(window, bot.out(), {said("watcher: earlier")}));
  EXPECT_EQ(bot.err(), "");
  EXPECT_TRUE(lines_are(window, watcher.read_lines(5),
                        {line("* bot joined ops"), said("bot: line one"), said("bot: line two"),
                         said("bot: last, no newline"), line("* bot left ops")}));
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

// A member may send a line as long as the server's --max-line; the broadcast
// adds "[<ctime>] name: " to it. chat-client must print such a line and stay,
// and never answer it: whatever it sent would reach the room as its message.
TEST(ChatClient, BroadcastLongerThan64KiBIsPrintedAndNeverAnswered) {
  ChatServer server;  // --max-line: the default 64 KiB
  ASSERT_NE(server.port, 0);
  const StampWindow window;
  Client alice;
  ASSERT_TRUE(log_in(alice, server, "alice lobby"));
  InteractiveProcess bob(client_args(server.port, "bob", "lobby"));
  EXPECT_EQ(alice.read_lines(1), "* bob joined lobby\n");

  const std::string big(64 * 1024 - 6, 'x');  // with its '\n' within 64 KiB; broadcast well over it
  ASSERT_TRUE(alice.send(big + "\n"));
  EXPECT_TRUE(bob.wait_for_out("alice: " + big + "\n"))
      << bob.out().size() << " bytes on stdout; stderr: " << bob.err();
  ASSERT_TRUE(alice.send("after\n"));
  EXPECT_TRUE(bob.wait_for_out("alice: after\n"))
      << bob.out().size() << " bytes; stderr: " << bob.err();

  // bob is still in the room, and the next thing alice hears from him is his own line.
  ASSERT_TRUE(bob.write("still here\n"));
  EXPECT_TRUE(window.stamped(alice.read_lines(1), "bob: still here\n"));
  EXPECT_TRUE(quiet(alice));
  bob.close_stdin();
  EXPECT_EQ(bob.wait_exit(), 0) << bob.err();
  EXPECT_EQ(bob.err(), "");
  EXPECT_TRUE(lines_are(window, bob.out(), {said("alice: " + big), said("alice: after")}));
  EXPECT_EQ(alice.read_lines(1), "* bob left lobby\n");
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

// Past chat-client's own limit (1 MiB) it leaves with a message, still
// without answering: an error line from it would reach the room as its message.
TEST(ChatClient, BroadcastOverOneMiBMakesItLeaveWithoutAnswering) {
  ChatServer server({"--max-line", "2000000", "--max-queue", "4000000"});
  ASSERT_NE(server.port, 0);
  Client alice;
  ASSERT_TRUE(log_in(alice, server, "alice lobby"));
  InteractiveProcess bob(client_args(server.port, "bob", "lobby"));
  EXPECT_EQ(alice.read_lines(1), "* bob joined lobby\n");
  ASSERT_TRUE(alice.send(std::string(1024 * 1024 + 100, 'x') + "\n"));
  EXPECT_EQ(bob.wait_exit(), 1) << bob.err();
  EXPECT_TRUE(std::regex_match(
      bob.err(), std::regex("^netlab chat-client: [^\n]*longer than 1048576 bytes\n$")))
      << bob.err();
  EXPECT_EQ(alice.read_lines(1), "* bob left lobby\n");  // and nothing "bob" said before that
  EXPECT_TRUE(quiet(alice));
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

TEST(ChatClient, NameTakenExitsOneWithAMessage) {
  ChatServer server;
  ASSERT_NE(server.port, 0);
  Client alice;
  ASSERT_TRUE(log_in(alice, server, "alice"));
  Process again(client_args(server.port, "alice", "lobby"), "never sent\n");
  EXPECT_EQ(again.wait_exit(), 1);
  EXPECT_TRUE(std::regex_match(
      again.err(), std::regex("^netlab chat-client: [^\n]*\\balice\\b[^\n]*taken[^\n]*\n$")))
      << again.err();
  EXPECT_EQ(again.out(), "");
  EXPECT_TRUE(quiet(alice));  // nothing joined, nothing said
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

TEST(ChatClient, RefusedLoginExitsOneWithTheServersReason) {
  ChatServer server;
  ASSERT_NE(server.port, 0);
  Process client(client_args(server.port, std::string(33, 'x'), "lobby"), "");
  EXPECT_EQ(client.wait_exit(), 1);
  EXPECT_TRUE(std::regex_match(
      client.err(), std::regex("^netlab chat-client: [^\n]*longer than 32 characters\n$")))
      << client.err();
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

TEST(ChatClient, UserAndRoomAreRequiredInRoomModeWithExitTwo) {
  Process no_user({"chat-client", "-r", "lobby", "-H", "127.0.0.1", "-p", "1"}, "");
  EXPECT_EQ(no_user.wait_exit(), 2);
  EXPECT_NE(no_user.err().find("--user"), std::string::npos) << no_user.err();
  Process no_room({"chat-client", "-u", "alice", "-H", "127.0.0.1", "-p", "1"}, "");
  EXPECT_EQ(no_room.wait_exit(), 2);
  EXPECT_NE(no_room.err().find("--room"), std::string::npos) << no_room.err();
}

TEST(ChatClient, ServerGoingAwayIsReportedWithExitOne) {
  ChatServer server;
  ASSERT_NE(server.port, 0);
  Client watcher;
  ASSERT_TRUE(log_in(watcher, server, "watcher"));
  InteractiveProcess alice(client_args(server.port, "alice", "lobby"));
  EXPECT_EQ(watcher.read_lines(1), "* alice joined lobby\n");
  ASSERT_TRUE(server.proc.signal(SIGTERM));
  EXPECT_EQ(alice.wait_exit(), 1);
  EXPECT_EQ(alice.out(), kChatShutdown);
  EXPECT_EQ(alice.err(), "netlab chat-client: server closed the connection\n");
  EXPECT_EQ(server.proc.wait_exit(), 0) << server.proc.err();
}

TEST(ChatClient, LingerBoundsTheWaitForTheServerAfterQuit) {
  Listening fake;  // a server that answers the login and then never closes
  const auto start = Clock::now();
  Process bot({"chat-client", "-u", "bot", "-r", "ops", "-H", "127.0.0.1", "-p",
               std::to_string(fake.port()), "--linger", "0.3"},
              "bye\n");
  Client conn = fake.accept();
  ASSERT_TRUE(conn.valid());
  EXPECT_EQ(conn.read_lines(1), "bot ops\n");
  // The client reads stdin, sends quit and starts lingering only after this.
  const auto logged_in = Clock::now();
  ASSERT_TRUE(conn.send("success\n"));
  EXPECT_EQ(conn.read_lines(2), "bye\nquit\n");
  EXPECT_EQ(bot.wait_exit(), 0) << bot.err();
  EXPECT_GE(Clock::now() - logged_in, 290ms)
      << "exited " << elapsed_ms(logged_in) << " after the login";
  EXPECT_LT(Clock::now() - start, 2500ms) << "exited " << elapsed_ms(start) << " after the start";
  EXPECT_EQ(conn.read_until_eof(), "");
  EXPECT_TRUE(conn.closed());
}

// On a terminal: readline with the room's prompt, control bytes from the
// network shown escaped, an incoming line never garbling the typed one.
TEST(ChatClient, OnATerminalShowsPromptAndEscapesControlBytes) {
  const int probe = ::posix_openpt(O_RDWR | O_NOCTTY);
  if (probe < 0) GTEST_SKIP() << "no pseudo-terminals here: " << std::strerror(errno);
  ::close(probe);
  ChatServer server;
  ASSERT_NE(server.port, 0);
  const StampWindow window;
  Client bob;
  ASSERT_TRUE(log_in(bob, server, "bob lobby"));
  InteractiveProcess alice(client_args(server.port, "alice", "lobby"),
                           InteractiveProcess::Stdio::kPty);
  EXPECT_EQ(bob.read_lines(1), "* alice joined lobby\n");
  ASSERT_TRUE(alice.wait_for_out("lobby> ")) << ::testing::PrintToString(alice.out());

  ASSERT_TRUE(bob.send("evil \x1b]0;pwned\x07 \x1b[2J\x1b[31mred\r\x08 \xc2\x9b done 你好\n"));
  ASSERT_TRUE(alice.wait_for_out("done 你好")) << ::testing::PrintToString(alice.out());
  const std::string& seen = alice.out();
  EXPECT_NE(seen.find("bob: evil ^[]0;pwned^G ^[[2J^[[31mred^M^H \\u009b done 你好"),
            std::string::npos)
      << ::testing::PrintToString(seen);
  for (std::string_view raw : {"\x1b]0;", "\x07", "\x1b[2J", "\x1b[31m", "\xc2\x9b"}) {
    EXPECT_EQ(seen.find(raw), std::string::npos)
        << "raw " << ::testing::PrintToString(std::string(raw)) << " in "
        << ::testing::PrintToString(seen);
  }

  // Half a line typed, then a message arrives: it is printed and the prompt
  // with the half line is drawn again after it.
  ASSERT_TRUE(alice.write("half"));
  ASSERT_TRUE(alice.wait_for_out("half", kTimeout, seen.size()));
  const size_t before = alice.out().size();
  ASSERT_TRUE(bob.send("interrupting\n"));
  ASSERT_TRUE(alice.wait_for_out("bob: interrupting", kTimeout, before));
  const size_t msg_at = alice.out().find("bob: interrupting", before);
  EXPECT_TRUE(alice.wait_for_out("lobby> half", kTimeout, msg_at))
      << ::testing::PrintToString(alice.out());
  ASSERT_TRUE(alice.write(" done\r"));
  EXPECT_TRUE(window.stamped(bob.read_lines(1), "alice: half done\n"));

  ASSERT_TRUE(alice.write("\x04"));  // Ctrl-D on an empty line: quit
  EXPECT_EQ(bob.read_lines(1), "* alice left lobby\n");
  EXPECT_EQ(alice.wait_exit(), 0) << alice.err();
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

// ======================================================= duplex, half-duplex

using Lines = std::vector<std::string>;

TEST(ChatDuplex, OperatorAndClientTypeFreelyBothWays) {
  PairServer server("duplex");
  ASSERT_NE(server.port, 0);
  // Typed before anyone connected: held, then sent on connect.
  ASSERT_TRUE(server.proc.write("before you came\n"));
  ASSERT_TRUE(server.proc.wait_for_out("(waiting")) << server.proc.out();

  Client c = server.connect();
  ASSERT_TRUE(c.valid());
  const std::string who = local_endpoint(c);
  EXPECT_EQ(c.read_lines(1), "before you came\n");
  ASSERT_TRUE(server.proc.wait_for_out("* " + who + " connected\n")) << server.proc.out();

  // No turns: two lines from each side in a row.
  ASSERT_TRUE(c.send("c1\n"));
  ASSERT_TRUE(c.send("c2 你好\n"));
  ASSERT_TRUE(server.proc.write("o1\no2\n"));
  EXPECT_EQ(c.read_lines(2), "o1\no2\n");
  EXPECT_TRUE(server.proc.wait_for_out("c2 你好\n")) << server.proc.out();
  ASSERT_TRUE(c.send("c3\n"));
  EXPECT_TRUE(server.proc.wait_for_out("c3\n")) << server.proc.out();
  ASSERT_TRUE(server.proc.write("o3\n"));
  EXPECT_EQ(c.read_lines(1), "o3\n");
  EXPECT_EQ(server.client_lines(), (Lines{"c1", "c2 你好", "c3"}));

  // The client quits: "quit", the close, and the operator is told.
  ASSERT_TRUE(c.send("quit\n"));
  EXPECT_EQ(c.read_until_eof(), "quit\n");
  EXPECT_TRUE(c.closed());
  EXPECT_TRUE(server.proc.wait_for_out("* " + who + " left\n")) << server.proc.out();

  // The next client is served, and the operator's EOF ends the chat.
  Client next = server.connect();
  ASSERT_TRUE(next.valid());
  ASSERT_TRUE(next.send("next one\n"));
  EXPECT_TRUE(server.proc.wait_for_out("next one\n")) << server.proc.out();
  ASSERT_TRUE(server.proc.write("welcome\n"));
  EXPECT_EQ(next.read_lines(1), "welcome\n");
  server.proc.close_stdin();
  EXPECT_EQ(next.read_until_eof(), kChatShutdown);
  EXPECT_TRUE(next.closed());
  EXPECT_EQ(server.proc.wait_exit(), 0) << server.proc.err();
}

TEST(ChatDuplex, SecondClientGetsBusyAndTheFirstCarriesOn) {
  PairServer server("duplex");
  ASSERT_NE(server.port, 0);
  Client first = server.connect();
  ASSERT_TRUE(first.valid());
  ASSERT_TRUE(server.proc.wait_for_out("* " + local_endpoint(first) + " connected\n"))
      << server.proc.out();
  Client second = server.connect();
  ASSERT_TRUE(second.valid());
  EXPECT_EQ(second.read_until_eof(), "error: busy\n");
  EXPECT_TRUE(second.closed());

  ASSERT_TRUE(first.send("still here\n"));
  EXPECT_TRUE(server.proc.wait_for_out("still here\n")) << server.proc.out();
  ASSERT_TRUE(server.proc.write("good\n"));
  EXPECT_EQ(first.read_lines(1), "good\n");
  EXPECT_EQ(server.client_lines(), (Lines{"still here"}));

  // SIGTERM: the client is told, exit 0.
  ASSERT_TRUE(server.proc.signal(SIGTERM));
  EXPECT_EQ(first.read_until_eof(), kChatShutdown);
  EXPECT_EQ(server.proc.wait_exit(), 0) << server.proc.err();
}

TEST(ChatDuplex, OperatorEofWithNobodyConnectedExitsZero) {
  PairServer server("duplex");
  ASSERT_NE(server.port, 0);
  server.proc.close_stdin();
  EXPECT_EQ(server.proc.wait_exit(), 0) << server.proc.err();
}

TEST(ChatDuplex, ChatClientAndOperatorTalkThroughPipes) {
  PairServer server("duplex");
  ASSERT_NE(server.port, 0);
  InteractiveProcess client({"chat-client", "--mode", "duplex", "-H", "127.0.0.1", "-p",
                             std::to_string(server.port), "--linger", "30"});
  ASSERT_TRUE(server.proc.wait_for_out(" connected\n")) << server.proc.out();
  ASSERT_TRUE(client.write("from the client\nand more\n"));
  ASSERT_TRUE(server.proc.write("from the operator\nand more\n"));
  EXPECT_TRUE(server.proc.wait_for_out("from the client\nand more\n")) << server.proc.out();
  EXPECT_TRUE(client.wait_for_out("from the operator\nand more\n")) << client.out();

  client.close_stdin();  // quit; the server closes; the client exits 0 at once
  EXPECT_EQ(client.wait_exit(), 0) << client.err();
  EXPECT_EQ(client.out(), "from the operator\nand more\n");  // the server's "quit" is not shown
  EXPECT_EQ(client.err(), "");
  EXPECT_TRUE(server.proc.wait_for_out(" left\n")) << server.proc.out();
  EXPECT_EQ(server.client_lines(), (Lines{"from the client", "and more"}));
  server.proc.close_stdin();
  EXPECT_EQ(server.proc.wait_exit(), 0) << server.proc.err();
}

TEST(ChatHalfDuplex, ClientSpeaksFirstAndEachLinePassesTheTurn) {
  PairServer server("half-duplex");
  ASSERT_NE(server.port, 0);
  Client c = server.connect();
  ASSERT_TRUE(c.valid());
  ASSERT_TRUE(server.proc.wait_for_out("* " + local_endpoint(c) + " connected\n"))
      << server.proc.out();

  // The operator types first: held, and told to wait for the client.
  const size_t mark = server.proc.out().size();
  ASSERT_TRUE(server.proc.write("o0\n"));
  EXPECT_TRUE(server.proc.wait_for_out("(waiting for ", kTimeout, mark)) << server.proc.out();
  EXPECT_FALSE(c.readable_within(kQuietWindow)) << "operator's line sent out of turn";

  ASSERT_TRUE(c.send("c1\n"));  // the client's turn: printed, and the held line goes out
  EXPECT_EQ(c.read_lines(1), "o0\n");
  EXPECT_TRUE(server.proc.wait_for_out("c1\n")) << server.proc.out();

  ASSERT_TRUE(c.send("c2\n"));  // the client's turn again after o0
  EXPECT_TRUE(server.proc.wait_for_out("c2\n")) << server.proc.out();

  // Two operator lines: one per turn.
  ASSERT_TRUE(server.proc.write("o1\no2\n"));
  EXPECT_EQ(c.read_lines(1), "o1\n");
  EXPECT_FALSE(c.readable_within(kQuietWindow)) << "second operator line sent without a turn";
  ASSERT_TRUE(c.send("c3\n"));
  EXPECT_EQ(c.read_lines(1), "o2\n");
  EXPECT_TRUE(server.proc.wait_for_out("c3\n")) << server.proc.out();
  EXPECT_EQ(server.client_lines(), (Lines{"c1", "c2", "c3"}));

  // The operator's EOF: the client is told and the server exits 0.
  server.proc.close_stdin();
  EXPECT_EQ(c.read_until_eof(), kChatShutdown);
  EXPECT_EQ(server.proc.wait_exit(), 0) << server.proc.err();
}

TEST(ChatHalfDuplex, ClientLineOutOfTurnGetsNotYourTurn) {
  PairServer server("half-duplex");
  ASSERT_NE(server.port, 0);
  Client c = server.connect();
  ASSERT_TRUE(c.valid());
  ASSERT_TRUE(c.send("mine\n"));
  EXPECT_TRUE(server.proc.wait_for_out("mine\n")) << server.proc.out();
  ASSERT_TRUE(c.send("again\n"));  // the operator's turn now
  EXPECT_EQ(c.read_lines(1), "error: not your turn\n");
  ASSERT_TRUE(c.send("and again\n"));
  EXPECT_EQ(c.read_lines(1), "error: not your turn\n");
  ASSERT_TRUE(server.proc.write("answer\n"));
  EXPECT_EQ(c.read_lines(1), "answer\n");
  ASSERT_TRUE(c.send("in turn\n"));
  EXPECT_TRUE(server.proc.wait_for_out("in turn\n")) << server.proc.out();
  EXPECT_EQ(server.client_lines(), (Lines{"mine", "in turn"}));  // the refused lines were not shown
  // quit needs no turn.
  ASSERT_TRUE(c.send("quit\n"));
  EXPECT_EQ(c.read_until_eof(), "quit\n");
  server.proc.close_stdin();
  EXPECT_EQ(server.proc.wait_exit(), 0) << server.proc.err();
}

TEST(ChatHalfDuplex, OperatorEofWaitsUntilHeldLinesAreSent) {
  PairServer server("half-duplex");
  ASSERT_NE(server.port, 0);
  Client c = server.connect();
  ASSERT_TRUE(c.valid());
  ASSERT_TRUE(server.proc.wait_for_out(" connected\n")) << server.proc.out();
  ASSERT_TRUE(server.proc.write("last word\n"));
  server.proc.close_stdin();
  EXPECT_FALSE(c.readable_within(kQuietWindow))
      << "sent out of turn, or closed with a line still held";
  ASSERT_TRUE(c.send("my turn\n"));
  EXPECT_EQ(c.read_until_eof(), std::string("last word\n") + std::string(kChatShutdown));
  EXPECT_EQ(server.proc.wait_exit(), 0) << server.proc.err();
  EXPECT_EQ(server.client_lines(), (Lines{"my turn"}));
}

TEST(ChatHalfDuplex, ChatClientHoldsItsLinesUntilItsTurn) {
  PairServer server("half-duplex");
  ASSERT_NE(server.port, 0);
  InteractiveProcess client({"chat-client", "--mode", "half-duplex", "-H", "127.0.0.1", "-p",
                             std::to_string(server.port), "--linger", "30"});
  ASSERT_TRUE(server.proc.wait_for_out(" connected\n")) << server.proc.out();

  ASSERT_TRUE(client.write("c1\nc2\n"));  // c2 must wait for the operator
  EXPECT_TRUE(server.proc.wait_for_out("c1\n")) << server.proc.out();
  EXPECT_TRUE(client.wait_for_out("(waiting for ")) << client.out();
  EXPECT_FALSE(server.proc.wait_for_out("c2\n", kQuietWindow)) << "client line sent out of turn";

  ASSERT_TRUE(server.proc.write("o1\n"));
  EXPECT_TRUE(client.wait_for_out("o1\n")) << client.out();
  EXPECT_TRUE(server.proc.wait_for_out("c2\n")) << server.proc.out();  // sent once the turn came

  // stdin ends while it is the operator's turn: quit waits for the turn too.
  client.close_stdin();
  EXPECT_FALSE(server.proc.wait_for_out(" left\n", kQuietWindow)) << "client quit out of turn";
  ASSERT_TRUE(server.proc.write("o2\n"));
  EXPECT_EQ(client.wait_exit(), 0) << client.err();
  EXPECT_TRUE(client.wait_for_out("o2\n")) << client.out();
  EXPECT_TRUE(server.proc.wait_for_out(" left\n")) << server.proc.out();
  EXPECT_EQ(server.client_lines(), (Lines{"c1", "c2"}));
  Lines client_got;
  for (auto& l : split_lines(client.out())) {
    if (!l.starts_with("(")) client_got.push_back(l);
  }
  EXPECT_EQ(client_got, (Lines{"o1", "o2"}));
  server.proc.close_stdin();
  EXPECT_EQ(server.proc.wait_exit(), 0) << server.proc.err();
}

// A duplex server whose stdin is /dev/null (a service manager's) has no
// operator: the end of its input is no reason to stop serving.
TEST(ChatDuplex, StdinAtDevNullKeepsServingUntilSigterm) {
  Process server({"chat-server", "--mode", "duplex", "--port", "0", "--host",
                  "127.0.0.1"});  // stdin: /dev/null
  const auto port = server.wait_for_port();
  ASSERT_TRUE(port);
  for (const std::string who : {"first", "second"}) {  // still there after a client left
    Client c = Client::tcp("127.0.0.1", *port);
    ASSERT_TRUE(c.valid()) << who << ": " << std::strerror(c.error())
                           << "; stderr: " << server.err();
    ASSERT_TRUE(c.send(who + " client says hi\nquit\n"));
    EXPECT_EQ(c.read_until_eof(), "quit\n") << who;
    EXPECT_TRUE(c.closed()) << who;
  }
  EXPECT_EQ(server.terminate(), 0) << server.err();
  EXPECT_NE(server.out().find("first client says hi\n"), std::string::npos) << server.out();
  EXPECT_NE(server.out().find("second client says hi\n"), std::string::npos) << server.out();
}

// `netlab chat-server --mode duplex` started with fd 0 closed, through
// sh -c 'exec <&-; exec netlab ...', with stdout and stderr on one pipe.
// Unless netlab reopens fd 0, its first socket gets that number and becomes
// "stdin". Killed and reaped by the destructor.
class ClosedStdinServer {
 public:
  ClosedStdinServer() {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) < 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDERR_FILENO);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaddset(&defaults, sig);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    std::string sh = "/bin/sh", dash_c = "-c";
    std::string script =
        "exec <&- && exec \"$0\" chat-server --mode duplex --port 0 --host 127.0.0.1";
    std::string binary = netlab_binary();
    char* argv[] = {sh.data(), dash_c.data(), script.data(), binary.data(), nullptr};
    const int rc = ::posix_spawn(&pid_, argv[0], &actions, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    ::close(out[1]);
    if (rc != 0) {
      ::close(out[0]);
      pid_ = -1;
      return;
    }
    fd_ = out[0];
  }
  ~ClosedStdinServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) ::close(fd_);
  }
  ClosedStdinServer(const ClosedStdinServer&) = delete;
  ClosedStdinServer& operator=(const ClosedStdinServer&) = delete;

  bool started() const { return pid_ > 0; }
  const std::string& output() const { return output_; }

  // Reads output until the regex matches somewhere in it or the deadline passes.
  std::optional<std::smatch> wait_for(const std::regex& re, Millis timeout = kTimeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      std::smatch m;
      if (std::regex_search(output_, m, re)) return m;
      if (!read_some(deadline)) return std::nullopt;
    }
  }
  // SIGTERM, then the exit code once the output ends; -1 at the deadline.
  int terminate(Millis timeout = kTimeout) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    const auto deadline = Clock::now() + timeout;
    while (read_some(deadline)) {
    }
    if (!eof_) return -1;  // the destructor kills it
    int status = 0;
    if (::waitpid(pid_, &status, 0) != pid_) return -1;
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  // One poll() and read(); false at EOF, on an error or at the deadline.
  bool read_some(Clock::time_point deadline) {
    if (fd_ < 0 || eof_) return false;
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, ms_left(deadline));
    if (ready < 0 && errno == EINTR) return true;
    if (ready <= 0) return false;
    char buf[4096];
    const ssize_t n = ::read(fd_, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) return true;
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    output_.append(buf, static_cast<size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int fd_ = -1;
  bool eof_ = false;
  std::string output_;
};

TEST(ChatDuplex, StartedWithStdinClosedServesAndExitsZeroOnSigterm) {
  ClosedStdinServer server;
  ASSERT_TRUE(server.started());
  const auto listening = server.wait_for(std::regex("listening on tcp 127\\.0\\.0\\.1:(\\d+)\n"));
  ASSERT_TRUE(listening) << server.output();
  const auto port = static_cast<uint16_t>(std::stoi((*listening)[1].str()));
  ASSERT_NE(port, 0);
  Client c = Client::tcp("127.0.0.1", port);
  ASSERT_TRUE(c.valid()) << std::strerror(c.error()) << "; output: " << server.output();
  const std::string who = local_endpoint(c);
  ASSERT_TRUE(server.wait_for(
      std::regex("\\* " + std::regex_replace(who, std::regex("\\."), "\\.") + " connected\n")))
      << server.output();
  ASSERT_TRUE(c.send("over a closed stdin\n"));
  EXPECT_TRUE(server.wait_for(std::regex("(^|\n)over a closed stdin\n"))) << server.output();
  EXPECT_EQ(server.terminate(), 0) << server.output();
  EXPECT_EQ(c.read_until_eof(), kChatShutdown);
  EXPECT_TRUE(c.closed());
}

}  // namespace
}  // namespace netlab::testing
