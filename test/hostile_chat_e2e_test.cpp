// Hostile-client end-to-end tests of chat-server (room mode, issue 6): the
// real binary on --port 0 over 127.0.0.1. Three good members chat in room
// "good" on a thread of their own and must get every message byte for byte
// while the test thread attacks from other rooms: garbage, overlong lines,
// slowloris logins and messages, members that never read, storms of
// clients that vanish mid-line, fd exhaustion, SIGTERM on top of it all.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "support/chat_session.hpp"
#include "support/hostile.hpp"
#include "support/proc_stats.hpp"
#include "support/process.hpp"
#include "support/stamp.hpp"

namespace netlab::testing {
namespace {

using namespace std::chrono_literals;

// RSS bound beyond kBusyRssKib (support/hostile.hpp) for the members that
// never read: each is dropped once --max-queue (64 KiB here) is queued for
// it, in a buffer that may have doubled on the way; 256 KiB apiece.
constexpr size_t kTestMaxQueue = 64 * 1024;
constexpr long kPerNonReaderRssKib = 256;

// Every line of `got` is "[<ctime>] <user>: " + the matching line of
// `lines`, and nothing else came; reports the first difference only.
::testing::AssertionResult every_line_said(const StampWindow& window, std::string_view got,
                                           const std::string& user,
                                           const std::vector<std::string>& lines) {
  std::string_view rest = got;
  for (size_t i = 0; i < lines.size(); ++i) {
    const size_t nl = rest.find('\n');
    if (nl == std::string_view::npos)
      return ::testing::AssertionFailure() << "only " << i << " of " << lines.size() << " came";
    if (auto r = window.stamped(rest.substr(0, nl + 1), user + ": " + lines[i] + "\n"); !r)
      return r << " (line " << i + 1 << " of " << lines.size() << ")";
    rest.remove_prefix(nl + 1);
  }
  if (!rest.empty())
    return ::testing::AssertionFailure() << rest.size() << " unexpected bytes after the lines";
  return ::testing::AssertionSuccess();
}

// Three members g0 g1 g2 in room "good"; each round one of them speaks and
// the other two must get exactly that message next (so anything else that
// reached the room, garbage or a stray notice, fails the round).
struct GoodRoom {
  explicit GoodRoom(const ChatServer& server) {
    members = std::make_shared<std::vector<Client>>(3);
    for (size_t i = 0; i < 3; ++i) {
      ok = ok && log_in((*members)[i], server, "g" + std::to_string(i) + " good");
      for (size_t j = 0; ok && j < i; ++j) {
        const std::string notice = (*members)[j].read_lines(1);
        ok = notice == "* g" + std::to_string(i) + " joined good\n";
      }
    }
  }
  KeepTalking::Round round() const {
    auto window = std::make_shared<StampWindow>();
    return [m = members, window](uint64_t n) -> std::string {
      const size_t speaker = n % m->size();
      const std::string text = "round " + std::to_string(n) + " 你好";
      if (!(*m)[speaker].send(text + "\n")) return "g" + std::to_string(speaker) + ": send failed";
      for (size_t i = 0; i < m->size(); ++i) {
        if (i == speaker) continue;
        const std::string got = (*m)[i].read_lines(1);
        if (auto r = window->stamped(got, "g" + std::to_string(speaker) + ": " + text + "\n"); !r)
          return "g" + std::to_string(i) + ": " + r.message();
      }
      return "";
    };
  }
  // The room talks `rounds` rounds while nothing else goes on, every one right.
  ::testing::AssertionResult talks_fine(uint64_t rounds) const {
    KeepTalking talk(round());
    if (!talk.wait_for_rounds(rounds))
      return ::testing::AssertionFailure() << "the room did not talk " << rounds << " rounds";
    return talked_fine(talk.stop(), rounds);
  }
  std::shared_ptr<std::vector<Client>> members;
  bool ok = true;
};

// Reads every complete line already waiting (or arriving within `timeout`).
std::vector<std::string> lines_waiting(Client& c, Millis timeout = 0ms) {
  std::vector<std::string> out;
  while (c.readable_within(timeout)) {
    const std::string l = c.read_lines(1, 1s);
    if (l.empty()) break;
    out.push_back(l);
    timeout = 0ms;
  }
  return out;
}

// ================================================================ tests

// 1 MiB of random bytes (NULs, every byte value), invalid UTF-8 and Chinese
// said in room "junk": the other member there gets each line as sent. A
// garbage login line gets one error line and a close.
TEST(HostileChat, RandomBytesInvalidUtf8AndChineseReachTheRoomByteForByte) {
  ChatServer server;
  ASSERT_NE(server.port, 0);
  GoodRoom room(server);
  ASSERT_TRUE(room.ok);
  KeepTalking good(room.round());
  ASSERT_TRUE(good.wait_for_rounds(1));
  const StampWindow window;

  Client sink, junk;
  ASSERT_TRUE(log_in(sink, server, "sink junk"));
  ASSERT_TRUE(log_in(junk, server, "junk junk"));
  ASSERT_EQ(sink.read_lines(1), "* junk joined junk\n");
  const std::string data = random_lines(1 << 20, 16);
  const auto lines = split_lines(data);
  EXPECT_TRUE(every_line_said(window, send_reading_replies(junk, sink, data), "junk", lines))
      << lines.size() << " lines of random bytes";

  std::vector<std::string> text = invalid_utf8_lines();
  for (const auto& l : chinese_lines()) text.push_back(l);
  std::string all;
  for (const auto& l : text) all += l + "\n";
  ASSERT_TRUE(junk.send(all));
  EXPECT_TRUE(every_line_said(window, sink.read_lines(text.size()), "junk", text));

  // Random bytes instead of a login: refused with one line, then closed.
  Client stranger = server.connect();
  ASSERT_TRUE(stranger.valid());
  stranger.send(random_lines(64 * 1024, 17));
  const std::string refusal = stranger.read_until_eof();
  EXPECT_TRUE(stranger.closed());
  EXPECT_TRUE(refusal.starts_with("error: ") && refusal.find('\n') == refusal.size() - 1)
      << ::testing::PrintToString(refusal);

  ASSERT_TRUE(good.wait_for_rounds(2));
  EXPECT_TRUE(talked_fine(good.stop(), 3));
  EXPECT_TRUE(rss_within(server.pid(), "after_garbage", rss_bound_kib(kBusyRssKib)));
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

// Lines over --max-line, from members and from clients not logged in, with
// and without a newline: the error line and a close each, the room told of
// the members that went; the longest allowed line is broadcast whole.
TEST(HostileChat, OverlongLinesGetTheErrorAndACloseAndTheRoomIsTold) {
  constexpr size_t kMaxLine = 1024;
  ChatServer server({"--max-line", std::to_string(kMaxLine)});
  ASSERT_NE(server.port, 0);
  GoodRoom room(server);
  ASSERT_TRUE(room.ok);
  KeepTalking good(room.round());
  ASSERT_TRUE(good.wait_for_rounds(1));
  const StampWindow window;
  const std::string error = "error: line too long (max " + std::to_string(kMaxLine) + " bytes)\n";

  Client sink, talker;
  ASSERT_TRUE(log_in(sink, server, "sink long"));
  ASSERT_TRUE(log_in(talker, server, "talker long"));
  ASSERT_EQ(sink.read_lines(1), "* talker joined long\n");
  const std::string exactly(kMaxLine, '\x01');
  ASSERT_TRUE(talker.send(exactly + "\n"));
  EXPECT_TRUE(window.stamped(sink.read_lines(1), "talker: " + exactly + "\n"));
  ASSERT_TRUE(talker.send(std::string(kMaxLine + 1, 'x') + "\n"));
  EXPECT_EQ(talker.read_until_eof(), error);
  EXPECT_TRUE(talker.closed());
  EXPECT_EQ(sink.read_lines(1), "* talker left long\n");

  std::vector<Client> strangers;
  for (int i = 0; i < 20; ++i) {
    strangers.push_back(server.connect());
    ASSERT_TRUE(strangers.back().valid());
    // No newline, a megabyte of it for the first: refused after about a
    // kilobyte; the send may fail half way once the server has closed.
    strangers.back().send(std::string(i == 0 ? 1 << 20 : 2 * kMaxLine, 'n'));
  }
  const auto deadline = Clock::now() + kTimeout;
  for (auto& s : strangers) {
    EXPECT_EQ(s.read_until_eof(left(deadline)), error);
    EXPECT_TRUE(s.closed());
  }
  ASSERT_TRUE(sink.send("/who\n"));
  EXPECT_EQ(sink.read_lines(1), "* members of long: sink\n");

  ASSERT_TRUE(good.wait_for_rounds(2));
  EXPECT_TRUE(talked_fine(good.stop(), 3));
  EXPECT_TRUE(rss_within(server.pid(), "after_overlong", rss_bound_kib(kBusyRssKib)));
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

// Ten clients log in and then speak one byte per 100 ms, each into a room of
// its own with a watcher: nothing is answered before a line is complete,
// everything is once it is, and the good room never waits.
TEST(HostileChat, SlowlorisLoginsAndMessagesAreServedAndStallNobody) {
  ChatServer server;
  ASSERT_NE(server.port, 0);
  GoodRoom room(server);
  ASSERT_TRUE(room.ok);
  KeepTalking good(room.round());
  ASSERT_TRUE(good.wait_for_rounds(1));
  const StampWindow window;

  constexpr int kSlow = 10;
  std::vector<Client> watchers(kSlow), slow;
  std::vector<std::string> logins, messages;
  for (int i = 0; i < kSlow; ++i) {
    const std::string n = std::to_string(10 + i);
    ASSERT_TRUE(log_in(watchers[i], server, "w" + n + " r" + n));
    slow.push_back(server.connect());
    ASSERT_TRUE(slow.back().valid());
    logins.push_back("s" + n + " r" + n + "\n");
    messages.push_back("\xe6\x85\xa2 " + n + "\n");  // "慢 NN"
  }
  const uint64_t before = good.rounds();
  EXPECT_EQ(dribble(slow, logins), "");
  auto deadline = Clock::now() + kTimeout;
  for (int i = 0; i < kSlow; ++i) {
    const std::string n = std::to_string(10 + i);
    EXPECT_EQ(slow[i].read_lines(1, left(deadline)), "success\n") << "slow client " << n;
    EXPECT_EQ(watchers[i].read_lines(1, left(deadline)), "* s" + n + " joined r" + n + "\n");
  }
  EXPECT_EQ(dribble(slow, messages), "");
  deadline = Clock::now() + kTimeout;
  for (int i = 0; i < kSlow; ++i) {
    const std::string n = std::to_string(10 + i);
    EXPECT_TRUE(
        window.stamped(watchers[i].read_lines(1, left(deadline)), "s" + n + ": " + messages[i]))
        << "watcher " << n;
  }
  // Nominally a round per 20 ms pause; a stalled server would manage none.
  const uint64_t during = good.rounds() - before;
  EXPECT_GE(during, 10u) << "good members completed only " << during << " rounds";
  EXPECT_TRUE(talked_fine(good.stop(), 10));
  EXPECT_TRUE(rss_within(server.pid(), "after_slowloris", rss_bound_kib(kBusyRssKib)));
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

// Ten members that never read while a publisher floods their room: each is
// dropped once --max-queue is queued for it, the publisher is told of every
// drop, the server's memory stays bounded, and the good room goes on.
TEST(HostileChat, MembersThatNeverReadAreDroppedAtMaxQueueAndRssStaysBounded) {
  ChatServer server({"--max-queue", std::to_string(kTestMaxQueue)});
  ASSERT_NE(server.port, 0);
  GoodRoom room(server);
  ASSERT_TRUE(room.ok);
  KeepTalking good(room.round());
  ASSERT_TRUE(good.wait_for_rounds(1));

  constexpr int kNonReaders = 10;
  Client pub;
  ASSERT_TRUE(log_in(pub, server, "pub flood"));
  std::vector<Client> hogs(kNonReaders);
  std::vector<std::string> notices;
  for (int i = 0; i < kNonReaders; ++i) {
    const std::string name = "nr" + std::to_string(10 + i);
    ASSERT_TRUE(log_in(hogs[i], server, name + " flood", /*rcvbuf=*/2048));
    EXPECT_EQ(pub.read_lines(1), "* " + name + " joined flood\n");
    notices.push_back("* " + name + " left flood (too slow)\n");
  }
  // The kernel takes a non-reader's bytes first (the server's send buffer
  // grows up to tcp_wmem's maximum) before its queue fills; flood until the
  // last drop, giving up well past both.
  const size_t kernel_max = max_of_sysctl("/proc/sys/net/ipv4/tcp_wmem", size_t{4} << 20);
  const size_t give_up = 2 * (kernel_max + kTestMaxQueue);
  const std::string filler(4000, 'f');
  std::vector<std::string> heard;
  size_t sent = 0;
  for (int i = 0; heard.size() < notices.size(); ++i) {
    ASSERT_LT(sent, give_up) << "only " << heard.size() << " of " << kNonReaders << " dropped";
    std::string batch;
    for (int k = 0; k < 8; ++k) batch += "m" + std::to_string(i) + " " + filler + "\n";
    ASSERT_TRUE(pub.send(batch)) << "the publisher was blocked";
    sent += batch.size();
    for (auto& l : lines_waiting(pub)) heard.push_back(l);
  }
  std::printf("[  FLOOD   ] %zu KiB published before all %d non-readers were dropped\n",
              sent / 1024, kNonReaders);
  std::sort(heard.begin(), heard.end());
  std::sort(notices.begin(), notices.end());
  EXPECT_EQ(heard, notices);
  EXPECT_TRUE(rss_within(server.pid(), "after_non_readers_dropped",
                         rss_bound_kib(kBusyRssKib + kNonReaders * kPerNonReaderRssKib)));
  const auto deadline = Clock::now() + kTimeout;
  for (auto& h : hogs) {
    h.read_until_eof(left(deadline));  // what was queued before the drop, then the end
    EXPECT_TRUE(h.closed());
  }
  ASSERT_TRUE(pub.send("/who\n"));
  EXPECT_EQ(pub.read_lines(1), "* members of flood: pub\n");
  ASSERT_TRUE(good.wait_for_rounds(2));
  EXPECT_TRUE(talked_fine(good.stop(), 3));
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

// A client that never reads and keeps logging in under a taken name: each
// try is answered "reuse" (it may try again), and those answers pile up
// like any other output. It is dropped at --max-queue, not kept forever —
// even while nobody else says a word (another member's line used to be
// what dropped it), so the good room talks before and after, not during.
TEST(HostileChat, ClientRepeatingATakenNameWithoutReadingIsDroppedAtMaxQueue) {
  ChatServer server({"--max-queue", std::to_string(kTestMaxQueue)});
  ASSERT_NE(server.port, 0);
  GoodRoom room(server);
  ASSERT_TRUE(room.ok);
  ASSERT_TRUE(room.talks_fine(3));

  Client hog = server.connect(/*rcvbuf=*/2048);
  ASSERT_TRUE(hog.valid());
  std::string chunk;
  while (chunk.size() < 64 * 1024) chunk += "g0 good\n";
  // The kernel holds the hog's answers first (the server's send buffer grows
  // up to tcp_wmem's maximum); give up well past that plus the queue.
  const size_t give_up =
      2 * (max_of_sysctl("/proc/sys/net/ipv4/tcp_wmem", size_t{4} << 20) + kTestMaxQueue);
  // Until the server hangs up (a send error). A send that times out only
  // means the server is still chewing on the logins (slow under ASan).
  size_t sent = 0;
  const auto deadline = Clock::now() + 20s;
  while (sent < give_up && Clock::now() < deadline) {
    if (hog.send(chunk, 200ms)) {
      sent += chunk.size();
    } else if (hog.error() != 0) {
      break;
    }
  }
  std::printf("[  REUSE   ] %zu KiB of logins sent before the drop\n", sent / 1024);
  EXPECT_LT(sent, give_up) << "never dropped";
  const std::string answers = hog.read_until_eof();
  EXPECT_TRUE(hog.closed());
  EXPECT_EQ(answers.find_first_not_of("reuse\n"), std::string::npos) << "not only reuse answers";
  EXPECT_TRUE(rss_within(server.pid(), "after_reuse_flood", rss_bound_kib(kBusyRssKib)));
  KeepTalking after(room.round());
  ASSERT_TRUE(after.wait_for_rounds(3));
  EXPECT_TRUE(talked_fine(after.stop(), 3));
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

// 500 clients that vanish mid-line: before logging in (reset or close),
// after logging in with half a message (reset or close), and after five
// messages the server is still broadcasting (reset). Afterwards the server
// holds no fd and no member more than before.
TEST(HostileChat, FiveHundredClientsThatVanishMidLineLeakNothing) {
  ChatServer server;
  ASSERT_NE(server.port, 0);
  GoodRoom room(server);
  ASSERT_TRUE(room.ok);
  KeepTalking good(room.round());
  ASSERT_TRUE(good.wait_for_rounds(1));
  const int baseline = open_fd_count(server.pid());

  constexpr int kClients = 500;
  constexpr int kWave = 50;  // well under the listen backlog: no SYN is dropped and retried
  for (int first = 0; first < kClients; first += kWave) {
    std::vector<Client> wave;
    for (int i = first; i < first + kWave; ++i) {
      wave.push_back(server.connect());
      Client& c = wave.back();
      ASSERT_TRUE(c.valid()) << "client " << i << ": " << std::strerror(c.error());
      const std::string name = "s" + std::to_string(i);
      switch (i % 4) {
        case 0:
        case 1:
          ASSERT_TRUE(c.send(name.substr(0, 2)));  // half a login line
          break;
        case 2:
          ASSERT_TRUE(c.send(name + " storm\nhalf a mess"));
          break;
        default:
          ASSERT_TRUE(c.send(name + " storm\none\ntwo\nthree\nfour\nfive\nhal"));
      }
    }
    for (int i = first; i < first + kWave; ++i) {
      Client& c = wave[static_cast<size_t>(i - first)];
      if (i % 2 == 1 && i % 4 != 3) {
        c.close();
      } else {
        c.reset();
      }
    }
  }
  EXPECT_EQ(wait_for_fd_count_at_most(server.pid(), baseline), baseline)
      << "fds leaked by clients that vanished";
  ASSERT_TRUE(good.wait_for_rounds(2));
  EXPECT_TRUE(talked_fine(good.stop(), 3));
  // Every storm member is forgotten: only the good room is left.
  ASSERT_TRUE((*room.members)[0].send("/rooms\n"));
  EXPECT_EQ((*room.members)[0].read_lines(1), "* rooms: good (3)\n");
  EXPECT_TRUE(rss_within(server.pid(), "after_500_vanishing", rss_bound_kib(kBusyRssKib)));
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

// RLIMIT_NOFILE 64 (hard and soft), --max-clients above what that allows,
// and 100 clients logging in: the server keeps what its fds allow, closes
// the rest at once, does not spin, and takes members again once they left.
TEST(HostileChat, OutOfFdsItNeitherSpinsNorStopsServing) {
  if (kSanitized) {
    GTEST_SKIP() << "UBSan's vptr check reports a false positive when the process runs out of "
                    "fds; this scenario runs against the plain build only";
  }
  constexpr unsigned kMaxFds = 64;
  constexpr int kHeld = 100;
  constexpr double kIdleCpuLimit = 0.1;  // seconds of CPU per idle second: a spin would use ~1
  // Without --max-clients the server would stop at 16 members for 64 fds
  // and answer the rest "error: server full": never running out at all.
  ChatServer server({"--max-clients", "1000"}, kMaxFds);
  ASSERT_NE(server.port, 0);
  Client g0, g1;
  ASSERT_TRUE(log_in(g0, server, "g0 good"));
  ASSERT_TRUE(log_in(g1, server, "g1 good"));
  ASSERT_EQ(g0.read_lines(1), "* g1 joined good\n");
  const StampWindow window;
  auto good_talk = [&](const std::string& when) {
    ASSERT_TRUE(g0.send(when + "\n"));
    EXPECT_TRUE(window.stamped(g1.read_lines(1), "g0: " + when + "\n")) << when;
  };
  good_talk("before the flood");
  const int baseline = open_fd_count(server.pid());

  std::vector<Client> held;
  for (int i = 0; i < kHeld; ++i) {
    held.push_back(server.connect());
    ASSERT_TRUE(held.back().valid()) << "client " << i;
    // A room each, so no member hears of another.
    const std::string n = std::to_string(100 + i);
    ASSERT_TRUE(held.back().send("h" + n + " r" + n + "\n"));
  }
  int served = 0, refused = 0;
  std::vector<Client*> watch;
  const auto deadline = Clock::now() + kTimeout;
  for (auto& c : held) {
    const std::string reply = c.read_lines(1, left(deadline));
    if (reply.empty() && c.closed()) {
      ++refused;  // accepted on the reserve fd and closed at once
    } else {
      EXPECT_EQ(reply, "success\n");
      ++served;
      watch.push_back(&c);
    }
  }
  std::printf("[   FDS    ] limit %u: %d of %d logins served, %d closed at once\n", kMaxFds, served,
              kHeld, refused);
  EXPECT_GT(refused, 0) << "the fd limit was never reached";
  EXPECT_GT(served, kHeld / 3);
  EXPECT_TRUE(server.proc.wait_for_stderr(std::regex("out of file descriptors"), 1s))
      << server.proc.err();
  good_talk("while out of fds");
  watch.push_back(&g0);
  watch.push_back(&g1);
  const double busy_cpu = idle_cpu_seconds(server.pid(), watch);
  std::printf("[   CPU    ] %.3f s over one idle second while out of fds\n", busy_cpu);
  EXPECT_LT(busy_cpu, kIdleCpuLimit) << "the server spins while out of fds";

  held.clear();
  EXPECT_EQ(wait_for_fd_count_at_most(server.pid(), baseline), baseline);
  good_talk("after the flood");
  std::vector<Client> fresh(10);
  watch = {&g0, &g1};
  for (int i = 0; i < 10; ++i) {
    const std::string n = std::to_string(i);
    ASSERT_TRUE(log_in(fresh[i], server, "f" + n + " f" + n)) << "new member " << i;
    watch.push_back(&fresh[i]);
  }
  const double idle_cpu = idle_cpu_seconds(server.pid(), watch);
  std::printf("[   CPU    ] %.3f s over one idle second after the flood\n", idle_cpu);
  EXPECT_LT(idle_cpu, kIdleCpuLimit);
  EXPECT_TRUE(rss_within(server.pid(), "after_fd_exhaustion", rss_bound_kib(kBusyRssKib)));
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();
}

// Everything at once — good members, slowloris logins, members with half a
// line, a garbage talker, non-readers being flooded — and then SIGTERM:
// every good member is told the server is shutting down and closed, and
// the server exits 0 (so no core) within the shutdown grace.
TEST(HostileChat, SigtermUnderHostileLoadTellsEveryGoodMemberAndExitsZero) {
  ChatServer server({"--max-queue", std::to_string(kTestMaxQueue)});
  ASSERT_NE(server.port, 0);
  GoodRoom room(server);
  ASSERT_TRUE(room.ok);
  ASSERT_TRUE(room.talks_fine(3));
  std::vector<Client> slow, half;
  for (int i = 0; i < 5; ++i) {
    slow.push_back(server.connect());
    ASSERT_TRUE(slow.back().valid());
    ASSERT_TRUE(slow.back().send("slo"));
  }
  for (int i = 0; i < 20; ++i) {
    half.emplace_back();
    ASSERT_TRUE(log_in(half.back(), server, "h" + std::to_string(i) + " h" + std::to_string(i)));
    ASSERT_TRUE(half.back().send("half a li"));
  }
  Client junk, pub;
  ASSERT_TRUE(log_in(junk, server, "junk junk"));
  junk.send(random_lines(256 * 1024, 18), 200ms);  // nobody else in junk: no echo
  ASSERT_TRUE(log_in(pub, server, "pub flood"));
  std::vector<Client> hogs(3);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(log_in(hogs[i], server, "nr" + std::to_string(i) + " flood", /*rcvbuf=*/2048));
  }
  const std::string flood_line = std::string(4000, 'f') + "\n";
  std::string batch;
  for (int k = 0; k < 64; ++k) batch += flood_line;
  pub.send(batch, 200ms);
  EXPECT_TRUE(rss_within(server.pid(), "under_hostile_load",
                         rss_bound_kib(kBusyRssKib + 3 * kPerNonReaderRssKib)));

  const auto start = Clock::now();
  ASSERT_TRUE(server.proc.signal(SIGTERM));
  const auto deadline = Clock::now() + 5s;
  for (auto& m : *room.members) {
    EXPECT_EQ(m.read_until_eof(left(deadline)), kChatShutdown);
    EXPECT_TRUE(m.closed());
  }
  ASSERT_TRUE(wait_exited_unreaped(server.pid(), 5s))
      << "no exit " << elapsed_ms(start) << " after SIGTERM";
  std::printf("[   TERM   ] exited %s after SIGTERM\n", elapsed_ms(start).c_str());
  EXPECT_EQ(server.proc.wait_exit(), 0) << server.proc.err();
}

}  // namespace
}  // namespace netlab::testing
