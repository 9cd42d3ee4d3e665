#include "support/cluster_node.hpp"

namespace netlab::testing {

namespace {
std::vector<std::string> node_args(const std::string& url, std::vector<std::string> options) {
  std::vector<std::string> a = {"chat-server", "--port", "0", "--cluster", url};
  a.insert(a.end(), options.begin(), options.end());
  return a;
}
}  // namespace

Node::Node(const std::string& redis_url, std::vector<std::string> options)
    : proc(node_args(redis_url, std::move(options))) {
  if (auto p = proc.wait_for_port()) port = *p;
}

std::string log_in(Client& c, const Node& node, const std::string& login_line, int rcvbuf) {
  c = Client::tcp("127.0.0.1", node.port, rcvbuf);
  if (!c.valid() || !c.send(login_line + "\n")) return "connect/send failed";
  return c.read_lines(1);
}

::testing::AssertionResult alice_and_bob(Client& alice, const Node& n1, Client& bob,
                                         const Node& n2) {
  if (std::string r = log_in(alice, n1, "alice lobby"); r != "success\n") {
    return ::testing::AssertionFailure() << "alice's login got " << ::testing::PrintToString(r);
  }
  if (std::string r = log_in(bob, n2, "bob lobby"); r != "success\n") {
    return ::testing::AssertionFailure() << "bob's login got " << ::testing::PrintToString(r);
  }
  if (std::string r = alice.read_lines(1); r != "* bob joined lobby\n") {
    return ::testing::AssertionFailure() << "alice heard " << ::testing::PrintToString(r);
  }
  return ::testing::AssertionSuccess();
}

std::string read_until_line_with(Client& c, std::string_view needle, Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string got;
  for (;;) {
    const std::string line = c.read_lines(1, Millis(ms_left(deadline)));
    got += line;
    if (line.empty() || line.back() != '\n' || line.find(needle) != std::string::npos) return got;
  }
}

size_t count_lines(std::string_view lines, std::string_view line) {
  size_t n = 0;
  size_t start = 0;
  while (start < lines.size()) {
    size_t end = lines.find('\n', start);
    end = end == std::string_view::npos ? lines.size() : end + 1;
    if (lines.substr(start, end - start) == line) ++n;
    start = end;
  }
  return n;
}

}  // namespace netlab::testing
