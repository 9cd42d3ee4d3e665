// End-to-end tests of --trace: every subcommand run for real with --trace,
// its stderr read back as the sequence of socket calls the tutorial names.
// The checks follow the calls a learner would look for: servers socket ->
// setsockopt -> bind -> listen, clients socket -> connect, a recv and a send
// per message, close at the end, with the fds and addresses agreeing with
// each other and with the "listening on" line.
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
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "support/process.hpp"

extern char** environ;

namespace netlab::testing {
namespace {

using namespace std::chrono_literals;

// ------------------------------------------------------------------ reading a trace

// One --trace line: "   12.345 ms [tid 42] recv(fd 5, 65536) = 6 bytes ...".
struct TraceLine {
  std::string who;   // "", "tid 42" or "pid 42"
  std::string call;  // "recv(fd 5, 65536) = 6 bytes ..."
};

std::vector<TraceLine> trace_lines(const std::string& err) {
  static const std::regex line_re(R"(^ *\d+\.\d{3} ms (?:\[((?:tid|pid) \d+)\] )?(.*)$)");
  std::vector<TraceLine> out;
  size_t start = 0;
  size_t nl;
  while ((nl = err.find('\n', start)) != std::string::npos) {
    const std::string line = err.substr(start, nl - start);
    start = nl + 1;
    std::smatch m;
    if (std::regex_match(line, m, line_re)) out.push_back({m[1].str(), m[2].str()});
  }
  return out;
}

std::string call_name(const std::string& call) {
  return call.substr(0, call.find('('));
}

std::vector<std::string> call_names(const std::vector<TraceLine>& lines) {
  std::vector<std::string> names;
  for (const auto& l : lines) names.push_back(call_name(l.call));
  return names;
}

// A matched trace line: which line, who made it, and the regex groups.
struct Found {
  size_t index = 0;
  std::string who;
  std::vector<std::string> groups;  // [0] is the whole call
};

// The first call at or after `from` that `pattern` matches whole.
std::optional<Found> find_call(const std::vector<TraceLine>& lines, const std::string& pattern,
                               size_t from = 0) {
  const std::regex re(pattern);
  for (size_t i = from; i < lines.size(); ++i) {
    std::smatch m;
    if (!std::regex_match(lines[i].call, m, re)) continue;
    Found f{i, lines[i].who, {}};
    for (const auto& g : m) f.groups.push_back(g.str());
    return f;
  }
  return std::nullopt;
}

std::string dump(const std::vector<TraceLine>& lines) {
  std::string out = "trace:\n";
  for (const auto& l : lines) out += "  [" + l.who + "] " + l.call + "\n";
  return out;
}

// Finds each pattern in turn, each after the previous one.
std::vector<Found> in_order(const std::vector<TraceLine>& lines,
                            const std::vector<std::string>& patterns) {
  std::vector<Found> found;
  size_t from = 0;
  for (const auto& p : patterns) {
    auto f = find_call(lines, p, from);
    if (!f) {
      ADD_FAILURE() << "no call matching /" << p << "/ after line " << from << "\n" << dump(lines);
      return {};
    }
    from = f->index + 1;
    found.push_back(*f);
  }
  return found;
}

uint16_t local_port_of(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) return 0;
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

const std::string kFd = R"((\d+))";  // a captured fd number
// "[Wed Nov 25 11:31:22 2026] " as shown in a payload.
const std::string kStamp = R"(\[\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\] )";

// A server on 127.0.0.1 only (one listening socket), started with `args`.
struct Server {
  Server(std::vector<std::string> args, std::string_view proto = "tcp") : proc(std::move(args)) {
    if (auto p = proc.wait_for_port(proto)) port = *p;
  }
  Process proc;
  uint16_t port = 0;
};

std::vector<std::string> server_args(std::vector<std::string> args) {
  for (const char* a : {"--port", "0", "--host", "127.0.0.1"}) args.emplace_back(a);
  return args;
}

// The server's setup: socket, SO_REUSEADDR, bind, listen (streams only) and
// the getsockname that learns the port --port 0 got. Returns the fd.
std::string expect_server_setup(const std::vector<TraceLine>& lines, uint16_t port,
                                const std::string& type = "SOCK_STREAM") {
  std::vector<std::string> patterns = {"socket\\(AF_INET, " + type + "\\) = fd " + kFd};
  const auto first = in_order(lines, patterns);
  if (first.empty()) return "";
  const std::string fd = first[0].groups[1];
  patterns.push_back("setsockopt\\(fd " + fd + ", SOL_SOCKET, SO_REUSEADDR, 1\\)");
  patterns.push_back("bind\\(fd " + fd + ", 127\\.0\\.0\\.1:0\\)");
  if (type == "SOCK_STREAM") patterns.push_back("listen\\(fd " + fd + ", backlog \\d+\\)");
  patterns.push_back("getsockname\\(fd " + fd + "\\) = 127\\.0\\.0\\.1:" + std::to_string(port));
  const auto all = in_order(lines, patterns);
  EXPECT_EQ(all.size(), patterns.size());
  return fd;
}

bool has_escape(const std::string& s) {
  return s.find('\033') != std::string::npos;
}

// ------------------------------------------------------------------ tserv, every model

class TraceTserv : public ::testing::TestWithParam<std::string> {};

// One client, one line, then the client closes: the whole conversation, call
// for call, on the server's side.
TEST_P(TraceTserv, ShowsSetupOneExchangeAndTeardownInOrder) {
  const std::string model = GetParam();
  Server server(server_args({"tserv", "--trace", "--model", model}));
  ASSERT_NE(server.port, 0);
  Client c = Client::tcp("127.0.0.1", server.port);
  ASSERT_TRUE(c.valid());
  const uint16_t client_port = local_port_of(c.fd());
  ASSERT_TRUE(c.send("hello\n"));
  EXPECT_NE(c.read_lines(1), "");
  c.close();
  // The server closes its end once it read the end of the stream.
  ASSERT_TRUE(server.proc.wait_for_stderr(std::regex(R"(\d ms .*recv\(fd \d+, 65536\) = 0 bytes)")))
      << server.proc.err();
  const auto closed_client = std::regex(R"(\d ms (\[\w+ \d+\] )?close\(fd \d+\))");
  ASSERT_TRUE(server.proc.wait_for_stderr(closed_client)) << server.proc.err();
  EXPECT_EQ(server.proc.terminate(), 0);

  const auto lines = trace_lines(server.proc.err());
  const std::string lfd = expect_server_setup(lines, server.port);
  ASSERT_NE(lfd, "");
  const auto session =
      in_order(lines, {"accept\\(fd " + lfd + "\\) = fd " + kFd +
                           " from 127\\.0\\.0\\.1:" + std::to_string(client_port),
                       R"(recv\(fd (\d+), 65536\) = 6 bytes "hello\\n")",
                       R"(send\(fd (\d+), 33 bytes ")" + kStamp + R"(hello"\.\.\.\) = 33)",
                       R"(recv\(fd (\d+), 65536\) = 0 bytes \(peer closed\))"});
  ASSERT_EQ(session.size(), 4u);
  const std::string cfd = session[0].groups[1];
  for (size_t i = 1; i < session.size(); ++i) EXPECT_EQ(session[i].groups[1], cfd) << i;
  // Whoever served the client closes it; the listening socket is closed
  // last, when the server stops.
  const std::string worker = session[1].who;
  std::optional<Found> close_client;
  for (size_t from = session.back().index + 1;
       (close_client = find_call(lines, "close\\(fd " + cfd + "\\)", from));
       from = close_client->index + 1) {
    if (close_client->who == worker) break;
  }
  ASSERT_TRUE(close_client) << dump(lines);
  const auto close_listener =
      find_call(lines, "close\\(fd " + lfd + "\\)", session.back().index + 1);
  ASSERT_TRUE(close_listener) << dump(lines);

  // Who made each call: nobody named in the reactor and iterative models;
  // the accepting thread (the main one, tid = pid) and a worker thread, or
  // the parent process and a child.
  const std::string main_id = std::to_string(server.proc.pid());
  if (model == "thread" || model == "fork") {
    const std::string kind = model == "thread" ? "tid " : "pid ";
    for (const auto& l : lines) EXPECT_EQ(l.who.rfind(kind, 0), 0u) << l.who << " " << l.call;
    EXPECT_EQ(session[0].who, kind + main_id);  // accept
    EXPECT_NE(worker, kind + main_id);          // recv
    EXPECT_EQ(session[2].who, worker);          // send
    EXPECT_EQ(close_listener->who, kind + main_id);
  } else {
    for (const auto& l : lines) EXPECT_EQ(l.who, "") << l.call;
  }
  if (model == "fork") {
    // As in SocketServer.ForkingMixIn: the parent closes its copy of the
    // client's socket, the child its copy of the listening one.
    EXPECT_TRUE(find_call(lines, "close\\(fd " + cfd + "\\)", session[0].index + 1)) << dump(lines);
    bool parent_closed = false;
    bool child_closed = false;
    for (const auto& l : lines) {
      parent_closed |= l.who == "pid " + main_id && l.call == "close(fd " + cfd + ")";
      child_closed |= l.who == worker && l.call == "close(fd " + lfd + ")";
    }
    EXPECT_TRUE(parent_closed) << dump(lines);
    EXPECT_TRUE(child_closed) << dump(lines);
  }
  // --trace alone: no event-loop calls, no colour on a pipe.
  for (const auto& name : call_names(lines)) {
    EXPECT_NE(name.rfind("epoll", 0), 0u) << name;
    EXPECT_NE(name, "poll");
  }
  EXPECT_FALSE(has_escape(server.proc.err()));
}

INSTANTIATE_TEST_SUITE_P(EveryModel, TraceTserv,
                         ::testing::Values("reactor", "iterative", "thread", "fork"),
                         [](const auto& info) { return info.param; });

// The recorder called from many worker threads at once: every line whole and
// attributed, and each client's exchange traced by one worker.
TEST(Trace, ThreadModelKeepsLinesWholeWithClientsAtOnce) {
  Server server(server_args({"tserv", "--trace=all", "--model", "thread"}));
  ASSERT_NE(server.port, 0);
  constexpr int kClients = 8;
  constexpr int kRounds = 5;
  std::vector<Client> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(Client::tcp("127.0.0.1", server.port));
    ASSERT_TRUE(clients.back().valid()) << i;
  }
  // Every client's request is in flight before any reply is read, so the
  // workers run (and trace) side by side.
  for (int round = 0; round < kRounds; ++round) {
    for (int i = 0; i < kClients; ++i) {
      ASSERT_TRUE(clients[i].send("c" + std::to_string(i) + "r" + std::to_string(round) + "\n"));
    }
    for (int i = 0; i < kClients; ++i) EXPECT_NE(clients[i].read_lines(1), "") << i;
  }
  clients.clear();
  EXPECT_EQ(server.proc.terminate(), 0) << server.proc.err();

  // A line cut or merged by another thread's write would be neither a trace
  // line nor a log line.
  const std::string& err = server.proc.err();
  const auto lines = trace_lines(err);
  size_t log_lines = 0;
  for (size_t at = 0; (at = err.find("\nnetlab tserv: ", at)) != std::string::npos; ++at) {
    ++log_lines;
  }
  log_lines += err.rfind("netlab tserv: ", 0) == 0;
  EXPECT_EQ(lines.size() + log_lines, static_cast<size_t>(std::count(err.begin(), err.end(), '\n')))
      << err;
  for (const auto& l : lines) EXPECT_EQ(l.who.rfind("tid ", 0), 0u) << l.who << " " << l.call;
  for (int i = 0; i < kClients; ++i) {
    std::set<std::string> workers;
    for (int round = 0; round < kRounds; ++round) {
      const std::string text = "c" + std::to_string(i) + "r" + std::to_string(round);
      const auto recv =
          find_call(lines, R"(recv\(fd \d+, 65536\) = \d+ bytes ")" + text + R"(\\n")");
      ASSERT_TRUE(recv) << text << "\n" << dump(lines);
      workers.insert(recv->who);
    }
    EXPECT_EQ(workers.size(), 1u) << "client " << i << " served by more than one thread";
  }
}

// ------------------------------------------------------------------ payloads

TEST(Trace, PayloadsAreEscapedAndUtf8ShownAsItIs) {
  Server server(server_args({"tserv", "--trace"}));
  ASSERT_NE(server.port, 0);
  Client c = Client::tcp("127.0.0.1", server.port);
  ASSERT_TRUE(c.valid());
  ASSERT_TRUE(c.send(std::string("nul\0tab\t你好\xff\r\n", 17)));
  EXPECT_NE(c.read_lines(1), "");
  const std::string expected =
      R"(recv\(fd \d+, 65536\) = 17 bytes "nul\\x00tab\\t你好\\xff\\r\\n")";
  EXPECT_TRUE(server.proc.wait_for_stderr(std::regex(expected))) << server.proc.err();
  EXPECT_EQ(server.proc.terminate(), 0);
}

TEST(Trace, TraceBytesCutsPayloadsAndImpliesTrace) {
  // After the subcommand, and before it.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"tserv", "--trace-bytes", "5"},
        std::vector<std::string>{"--trace-bytes", "5", "tserv"}}) {
    Server server(server_args(args));
    ASSERT_NE(server.port, 0);
    Client c = Client::tcp("127.0.0.1", server.port);
    ASSERT_TRUE(c.send("hello world\n"));
    EXPECT_NE(c.read_lines(1), "");
    EXPECT_TRUE(server.proc.wait_for_stderr(
        std::regex(R"(recv\(fd \d+, 65536\) = 12 bytes "hello"\.\.\.$)")))
        << server.proc.err();
    EXPECT_TRUE(server.proc.wait_for_stderr(
        std::regex(R"(send\(fd \d+, 39 bytes "\[\w{3} "\.\.\.\) = 39$)")))
        << server.proc.err();
    EXPECT_EQ(server.proc.terminate(), 0);
  }
}

// ------------------------------------------------------------------ where --trace goes

TEST(Trace, WorksBeforeTheSubcommandToo) {
  Server server({"--trace", "tserv", "--port", "0", "--host", "127.0.0.1"});
  ASSERT_NE(server.port, 0);
  EXPECT_EQ(server.proc.terminate(), 0);
  EXPECT_NE(expect_server_setup(trace_lines(server.proc.err()), server.port), "");
}

TEST(Trace, IsOffByDefault) {
  Server server(server_args({"tserv"}));
  ASSERT_NE(server.port, 0);
  Client c = Client::tcp("127.0.0.1", server.port);
  ASSERT_TRUE(c.send("hello\n"));
  EXPECT_NE(c.read_lines(1), "");
  c.close();
  EXPECT_EQ(server.proc.terminate(), 0);
  EXPECT_EQ(trace_lines(server.proc.err()).size(), 0u) << server.proc.err();
}

TEST(Trace, RejectsAnUnknownLevel) {
  Process p({"tserv", "--trace=everything"});
  EXPECT_EQ(p.wait_exit(), 2);
  EXPECT_NE(p.err().find("--trace"), std::string::npos) << p.err();
}

// ------------------------------------------------------------------ --trace=all

TEST(Trace, AllAddsTheEventLoopsCalls) {
  Server server(server_args({"tserv", "--trace=all"}));
  ASSERT_NE(server.port, 0);
  Client c = Client::tcp("127.0.0.1", server.port);
  ASSERT_TRUE(c.send("hi\n"));
  EXPECT_NE(c.read_lines(1), "");
  c.close();
  ASSERT_TRUE(server.proc.wait_for_stderr(std::regex(R"(\d ms close\(fd \d+\)$)")));
  EXPECT_EQ(server.proc.terminate(), 0);
  const auto lines = trace_lines(server.proc.err());
  const std::string lfd = expect_server_setup(lines, server.port);
  const auto found = in_order(
      lines, {"epoll_create1\\(EPOLL_CLOEXEC\\) = fd " + kFd,
              "epoll_ctl\\(fd (\\d+), EPOLL_CTL_ADD, fd " + lfd + ", EPOLLIN\\)",
              R"(epoll_wait\(fd (\d+), (no timeout|timeout \d+ ms)\) = [1-9]\d* ready)",
              "accept\\(fd " + lfd + "\\) = fd \\d+ from .*",
              // The reactor drains the backlog until EAGAIN: shown with =all.
              "accept\\(fd " + lfd + "\\) = EAGAIN \\(Resource temporarily unavailable\\)"});
  ASSERT_EQ(found.size(), 5u);
  EXPECT_EQ(found[1].groups[1], found[0].groups[1]);
  EXPECT_EQ(found[2].groups[1], found[0].groups[1]);
}

TEST(Trace, BenchShowsItsConnectionsAndItsOwnEpollCalls) {
  Server server(server_args({"tserv", "-q"}));
  ASSERT_NE(server.port, 0);
  Process bench({"bench", "rr", "127.0.0.1", std::to_string(server.port), "-c", "1", "-d", "0.05",
                 "--warmup", "0", "--trace=all", "--json"});
  ASSERT_EQ(bench.wait_exit(), 0) << bench.err();
  const auto lines = trace_lines(bench.err());
  // The generator runs on its own bare epoll loop, traced like EventLoop.
  const auto found = in_order(
      lines,
      {"epoll_create1\\(EPOLL_CLOEXEC\\) = fd " + kFd,
       "socket\\(AF_INET, SOCK_STREAM\\) = fd " + kFd,
       "connect\\(fd \\d+, 127\\.0\\.0\\.1:" + std::to_string(server.port) + "\\) = .*",
       R"(epoll_ctl\(fd (\d+), EPOLL_CTL_ADD, fd \d+, .*\))",
       R"(epoll_wait\(fd (\d+), .*\) = \d+ ready)", R"(send\(fd \d+, 6 bytes "hello\\n"\) = 6)",
       R"(recv\(fd \d+, \d+\) = \d+ bytes "\[.*)"});
  ASSERT_EQ(found.size(), 7u) << bench.err();
  EXPECT_EQ(server.proc.terminate(), 0);
}

TEST(Trace, PlainTraceHidesEagain) {
  Server server(server_args({"tserv", "--trace"}));
  ASSERT_NE(server.port, 0);
  Client c = Client::tcp("127.0.0.1", server.port);
  ASSERT_TRUE(c.send("hi\n"));
  EXPECT_NE(c.read_lines(1), "");
  EXPECT_EQ(server.proc.terminate(), 0);
  EXPECT_EQ(server.proc.err().find("EAGAIN"), std::string::npos) << server.proc.err();
  EXPECT_NE(server.proc.err().find("accept(fd"), std::string::npos) << server.proc.err();
}

// ------------------------------------------------------------------ tclnt

TEST(Trace, TclntConnectsSendsReceivesAndCloses) {
  Server server(server_args({"tserv"}));
  ASSERT_NE(server.port, 0);
  const std::string port = std::to_string(server.port);
  Process client({"tclnt", "--trace", "-H", "127.0.0.1", "-p", port, "-m", "hi"});
  EXPECT_EQ(client.wait_exit(), 0) << client.err();
  const auto lines = trace_lines(client.err());
  const auto found =
      in_order(lines, {"socket\\(AF_INET, SOCK_STREAM\\) = fd " + kFd,
                       R"(connect\(fd (\d+), 127\.0\.0\.1:)" + port +
                           R"(\) = EINPROGRESS \(Operation now in progress\))",
                       R"(getsockopt\(fd (\d+), SOL_SOCKET, SO_ERROR\) = 0)",
                       R"(send\(fd (\d+), 3 bytes "hi\\n"\) = 3)",
                       R"(recv\(fd (\d+), 65536\) = 30 bytes ")" + kStamp + R"(hi\\n")",
                       R"(close\(fd (\d+)\))"});
  ASSERT_EQ(found.size(), 6u);
  for (const auto& f : found) EXPECT_EQ(f.groups[1], found[0].groups[1]) << f.groups[0];
  EXPECT_EQ(call_names(lines).back(), "close");
  EXPECT_EQ(server.proc.terminate(), 0);
}

TEST(Trace, RefusedConnectShowsEconnrefused) {
  const std::string port = std::to_string(unused_port(SOCK_STREAM));
  Process client({"tclnt", "--trace", "-H", "::1", "-p", port, "-m", "hi"});
  EXPECT_EQ(client.wait_exit(), 1);
  const auto lines = trace_lines(client.err());
  // Non-blocking: connect starts, SO_ERROR tells how it ended (on some
  // kernels connect itself already says so).
  const auto found = in_order(
      lines, {"socket\\(AF_INET6, SOCK_STREAM\\) = fd " + kFd,
              R"(connect\(fd (\d+), \[::1\]:)" + port + R"(\).*)",
              R"((connect\(fd (\d+), \[::1\]:\d+\)|getsockopt\(fd (\d+), SOL_SOCKET, SO_ERROR\)))"
              R"( = ECONNREFUSED \(Connection refused\))",
              R"(close\(fd (\d+)\))"});
  EXPECT_EQ(found.size(), 4u);
  EXPECT_NE(client.err().find("cannot connect"), std::string::npos) << client.err();
}

// ------------------------------------------------------------------ UDP

TEST(Trace, UservReceivesFromAndSendsTo) {
  Server server(server_args({"userv", "--trace"}), "udp");
  ASSERT_NE(server.port, 0);
  Datagram d = Datagram::udp("127.0.0.1");
  ASSERT_TRUE(d.send_to("hello", "127.0.0.1", server.port));
  ASSERT_TRUE(d.receive());
  const std::string from = "127\\.0\\.0\\.1:" + std::to_string(d.port());
  ASSERT_TRUE(server.proc.wait_for_stderr(std::regex("sendto\\(fd")));
  EXPECT_EQ(server.proc.terminate(), 0);
  const auto lines = trace_lines(server.proc.err());
  const std::string fd = expect_server_setup(lines, server.port, "SOCK_DGRAM");
  ASSERT_NE(fd, "");
  EXPECT_EQ(in_order(lines, {"recvfrom\\(fd " + fd + ", 65536\\) = 5 bytes \"hello\" from " + from,
                             "sendto\\(fd " + fd + ", 32 bytes \"" + kStamp + "hello\", " + from +
                                 "\\) = 32",
                             "close\\(fd " + fd + "\\)"})
                .size(),
            3u);
  for (const auto& name : call_names(lines)) EXPECT_NE(name, "listen");
}

TEST(Trace, UclntConnectsSendsAndReceives) {
  Datagram fake = Datagram::udp("127.0.0.1");  // plays the server
  const std::string port = std::to_string(fake.port());
  Process client({"uclnt", "--trace", "-H", "127.0.0.1", "-p", port, "-m", "ping"});
  const auto request = fake.receive();
  ASSERT_TRUE(request);
  EXPECT_EQ(*request, "ping");
  ASSERT_TRUE(fake.reply("pong"));
  EXPECT_EQ(client.wait_exit(), 0) << client.err();
  const auto lines = trace_lines(client.err());
  const auto found =
      in_order(lines, {"socket\\(AF_INET, SOCK_DGRAM\\) = fd " + kFd,
                       R"(connect\(fd (\d+), 127\.0\.0\.1:)" + port + R"(\))",
                       R"(send\(fd (\d+), 4 bytes "ping"\) = 4)",
                       R"(recv\(fd (\d+), 65536\) = 4 bytes "pong")", R"(close\(fd (\d+)\))"});
  ASSERT_EQ(found.size(), 5u);
  for (const auto& f : found) EXPECT_EQ(f.groups[1], found[0].groups[1]) << f.groups[0];
}

// ------------------------------------------------------------------ cmdserv and chat

TEST(Trace, CmdservShowsRequestAndReply) {
  Server server(server_args({"cmdserv", "--trace"}));
  ASSERT_NE(server.port, 0);
  Client c = Client::tcp("127.0.0.1", server.port);
  ASSERT_TRUE(c.send("help\n"));
  EXPECT_NE(c.read_lines(1), "");
  c.close();
  ASSERT_TRUE(server.proc.wait_for_stderr(std::regex(R"(\d ms close\(fd \d+\)$)")));
  EXPECT_EQ(server.proc.terminate(), 0);
  const auto lines = trace_lines(server.proc.err());
  const std::string lfd = expect_server_setup(lines, server.port);
  EXPECT_EQ(in_order(lines, {"accept\\(fd " + lfd + "\\) = fd " + kFd + " from .*",
                             R"(recv\(fd \d+, 65536\) = 5 bytes "help\\n")",
                             R"(send\(fd \d+, \d+ bytes "commands: .*)", R"(close\(fd \d+\))"})
                .size(),
            4u);
}

TEST(Trace, ChatServerShowsLoginAndAnswer) {
  Server server(server_args({"chat-server", "--trace"}));
  ASSERT_NE(server.port, 0);
  Client c = Client::tcp("127.0.0.1", server.port);
  ASSERT_TRUE(c.send("alice lobby\n"));
  EXPECT_EQ(c.read_lines(1).substr(0, 7), "success");
  c.close();
  ASSERT_TRUE(server.proc.wait_for_stderr(std::regex(R"(\d ms close\(fd \d+\)$)")));
  EXPECT_EQ(server.proc.terminate(), 0);
  const auto lines = trace_lines(server.proc.err());
  const std::string lfd = expect_server_setup(lines, server.port);
  const auto found =
      in_order(lines, {"accept\\(fd " + lfd + "\\) = fd " + kFd + " from .*",
                       R"(recv\(fd (\d+), \d+\) = 12 bytes "alice lobby\\n")",
                       R"(send\(fd (\d+), \d+ bytes "success\\n.*)", R"(close\(fd (\d+)\))"});
  ASSERT_EQ(found.size(), 4u);
  for (const auto& f : found) EXPECT_EQ(f.groups[1], found[0].groups[1]) << f.groups[0];
}

TEST(Trace, ChatClientInPipeModeShowsItsConversation) {
  Server server(server_args({"chat-server"}));
  ASSERT_NE(server.port, 0);
  const std::string port = std::to_string(server.port);
  Process client(
      {"chat-client", "--trace", "-u", "bob", "-r", "lobby", "-H", "127.0.0.1", "-p", port},
      "hi all\n");
  EXPECT_EQ(client.wait_exit(), 0) << client.err();
  EXPECT_EQ(server.proc.terminate(), 0);
  const auto lines = trace_lines(client.err());
  const auto found = in_order(
      lines,
      {"socket\\(AF_INET, SOCK_STREAM\\) = fd " + kFd,
       R"(connect\(fd (\d+), 127\.0\.0\.1:)" + port + R"(\).*)",
       R"(getpeername\(fd (\d+)\) = 127\.0\.0\.1:)" + port,
       R"(send\(fd (\d+), 10 bytes "bob lobby\\n"\) = 10)",
       R"(recv\(fd (\d+), \d+\) = \d+ bytes "success\\n.*)",
       R"(send\(fd (\d+), 7 bytes "hi all\\n"\) = 7)", R"(send\(fd (\d+), 5 bytes "quit\\n"\) = 5)",
       R"(recv\(fd (\d+), \d+\) = 0 bytes \(peer closed\))", R"(close\(fd (\d+)\))"});
  ASSERT_EQ(found.size(), 9u);
  for (const auto& f : found) EXPECT_EQ(f.groups[1], found[0].groups[1]) << f.groups[0];
}

// ------------------------------------------------------------------ colours

// Runs `netlab ARGS` with stdout and stderr on a pseudo-terminal (stdin
// /dev/null) and NO_COLOR unset or set to `no_color`, until it exits;
// returns what it wrote, or nullopt without pseudo-terminals.
std::optional<std::string> run_on_pty(const std::vector<std::string>& args,
                                      std::optional<std::string> no_color) {
  const int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return std::nullopt;
  char name[128];
  if (::grantpt(master) < 0 || ::unlockpt(master) < 0 || ::ptsname_r(master, name, sizeof(name))) {
    ::close(master);
    return std::nullopt;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, name, O_RDWR, 0);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);

  std::vector<std::string> strings = {netlab_binary()};
  strings.insert(strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::string_view(*e).rfind("NO_COLOR=", 0) != 0) env_strings.emplace_back(*e);
  }
  if (no_color) env_strings.push_back("NO_COLOR=" + *no_color);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  std::string out;
  if (rc == 0) {
    // Until the child is gone and the pty reports EIO, or the deadline.
    const auto deadline = Clock::now() + kTimeout;
    for (;;) {
      pollfd p{master, POLLIN, 0};
      if (::poll(&p, 1, ms_left(deadline)) <= 0) {
        ADD_FAILURE() << "netlab on a pty did not finish; output so far:\n" << out;
        ::kill(pid, SIGKILL);
        break;
      }
      char buf[4096];
      const ssize_t n = ::read(master, buf, sizeof(buf));
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    ::waitpid(pid, nullptr, 0);
  }
  ::close(master);
  if (rc != 0) return std::nullopt;
  return out;
}

TEST(Trace, ColoursByKindOnATerminal) {
  const std::string port = std::to_string(unused_port(SOCK_STREAM));
  const auto out =
      run_on_pty({"tclnt", "--trace", "-H", "127.0.0.1", "-p", port, "-m", "x"}, std::nullopt);
  if (!out) GTEST_SKIP() << "no pseudo-terminals here";
  EXPECT_NE(out->find("\033[36msocket(AF_INET, SOCK_STREAM)"), std::string::npos) << *out;
  EXPECT_NE(out->find("\033[31m"), std::string::npos) << *out;  // ECONNREFUSED
  EXPECT_NE(out->find("ECONNREFUSED (Connection refused)\033[0m"), std::string::npos) << *out;
  EXPECT_NE(out->find("\033[33mclose(fd"), std::string::npos) << *out;
}

TEST(Trace, NoColorTurnsColoursOff) {
  const std::string port = std::to_string(unused_port(SOCK_STREAM));
  const auto out = run_on_pty({"tclnt", "--trace", "-H", "127.0.0.1", "-p", port, "-m", "x"}, "1");
  if (!out) GTEST_SKIP() << "no pseudo-terminals here";
  EXPECT_NE(out->find("socket(AF_INET, SOCK_STREAM)"), std::string::npos) << *out;
  EXPECT_FALSE(has_escape(*out)) << *out;
}

TEST(Trace, NoColoursWhenStderrIsNotATerminal) {
  const std::string port = std::to_string(unused_port(SOCK_STREAM));
  Process client({"tclnt", "--trace", "-H", "127.0.0.1", "-p", port, "-m", "x"});
  EXPECT_EQ(client.wait_exit(), 1);
  EXPECT_NE(client.err().find("socket(AF_INET, SOCK_STREAM)"), std::string::npos) << client.err();
  EXPECT_FALSE(has_escape(client.err())) << client.err();
}

}  // namespace
}  // namespace netlab::testing
