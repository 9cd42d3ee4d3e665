#include "support/chat_session.hpp"

#include <cstring>
#include <utility>

#include "support/hostile.hpp"

namespace netlab::testing {

namespace {
Process spawn_chat_server(std::vector<std::string> options, unsigned max_fds) {
  std::vector<std::string> args = {"chat-server", "--port", "0"};
  args.insert(args.end(), options.begin(), options.end());
  if (max_fds > 0) return Process(std::move(args), Process::FdLimit{max_fds});
  return Process(std::move(args));
}
}  // namespace

ChatServer::ChatServer(std::vector<std::string> options, unsigned max_fds)
    : proc(spawn_chat_server(std::move(options), max_fds)) {
  if (auto p = proc.wait_for_port()) port = *p;
}

std::vector<std::string> client_args(uint16_t port, const std::string& user,
                                     const std::string& room, std::vector<std::string> more) {
  std::vector<std::string> a = {
      "chat-client", "-u", user, "-r", room, "-H", "127.0.0.1", "-p", std::to_string(port)};
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

::testing::AssertionResult log_in(Client& c, const ChatServer& server, std::string_view login_line,
                                  int rcvbuf) {
  c = server.connect(rcvbuf);
  if (!c.valid()) return ::testing::AssertionFailure() << "connect: " << std::strerror(c.error());
  if (!c.send(std::string(login_line) + "\n"))
    return ::testing::AssertionFailure() << "send failed";
  const std::string reply = c.read_lines(1);
  if (reply != "success\n") {
    return ::testing::AssertionFailure()
           << "login " << ::testing::PrintToString(std::string(login_line)) << " got "
           << ::testing::PrintToString(reply);
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult login_refused(const ChatServer& server, std::string_view login_line,
                                         std::string_view reply) {
  Client c = server.connect();
  if (!c.valid()) return ::testing::AssertionFailure() << "connect: " << std::strerror(c.error());
  if (!c.send(std::string(login_line) + "\n"))
    return ::testing::AssertionFailure() << "send failed";
  const std::string got = c.read_until_eof();
  if (got != reply) {
    return ::testing::AssertionFailure()
           << "login " << ::testing::PrintToString(std::string(login_line)) << " got "
           << ::testing::PrintToString(got) << ", want "
           << ::testing::PrintToString(std::string(reply));
  }
  if (!c.closed()) return ::testing::AssertionFailure() << "the connection stayed open";
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult quiet(Client& c) {
  if (!c.send("/help\n")) return ::testing::AssertionFailure() << "send failed";
  const std::string next = c.read_lines(1);
  if (next != kChatHelp)
    return ::testing::AssertionFailure() << "unexpected line " << ::testing::PrintToString(next);
  return ::testing::AssertionSuccess();
}

Want said(std::string text) {
  return {true, std::move(text)};
}
Want line(std::string text) {
  return {false, std::move(text)};
}

::testing::AssertionResult lines_are(const StampWindow& window, std::string_view got,
                                     const std::vector<Want>& want) {
  std::string_view rest = got;
  for (size_t i = 0; i < want.size(); ++i) {
    const size_t nl = rest.find('\n');
    if (nl == std::string_view::npos) {
      return ::testing::AssertionFailure()
             << "line " << i + 1 << " of " << want.size() << " missing in "
             << ::testing::PrintToString(std::string(got));
    }
    const std::string_view one = rest.substr(0, nl + 1);
    if (want[i].stamped) {
      auto r = window.stamped(one, want[i].text + "\n");
      if (!r)
        return r << " (line " << i + 1 << " of " << ::testing::PrintToString(std::string(got))
                 << ")";
    } else if (one != want[i].text + "\n") {
      return ::testing::AssertionFailure()
             << "line " << i + 1 << " is " << ::testing::PrintToString(std::string(one))
             << ", want " << ::testing::PrintToString(want[i].text + "\n");
    }
    rest.remove_prefix(nl + 1);
  }
  if (!rest.empty()) {
    return ::testing::AssertionFailure()
           << "unexpected bytes after " << want.size()
           << " lines: " << ::testing::PrintToString(std::string(rest));
  }
  return ::testing::AssertionSuccess();
}

PairServer::PairServer(const std::string& mode)
    : proc({"chat-server", "--mode", mode, "--port", "0", "--host", "127.0.0.1"}) {
  if (auto p = proc.wait_for_port()) port = *p;
}

std::vector<std::string> PairServer::client_lines() const {
  std::vector<std::string> out;
  for (auto& l : split_lines(proc.out())) {
    if (!l.starts_with("* ") && !l.starts_with("(")) out.push_back(l);
  }
  return out;
}

}  // namespace netlab::testing
