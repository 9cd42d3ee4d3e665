// The RESP reader behind `netlab bench fanout --protocol redis`.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "modes/bench/resp.hpp"

namespace netlab::modes::bench {
namespace {

const std::string kMessage = "*3\r\n$7\r\nmessage\r\n$5\r\nbench\r\n$3\r\n123\r\n";
const std::string kSubscribed = "*3\r\n$9\r\nsubscribe\r\n$5\r\nbench\r\n:1\r\n";

TEST(BenchResp, ParsesAPubSubMessage) {
  RespReply r;
  size_t used = 0;
  ASSERT_EQ(parse_resp(kMessage, r, used), RespParse::kReply);
  EXPECT_EQ(used, kMessage.size());
  EXPECT_EQ(r.type, '*');
  ASSERT_EQ(r.count, 3u);
  EXPECT_EQ(r.items[0], "message");
  EXPECT_EQ(r.items[1], "bench");
  EXPECT_EQ(r.items[2], "123");
}

TEST(BenchResp, ParsesTheSubscribeConfirmationWithItsIntegerCount) {
  RespReply r;
  size_t used = 0;
  ASSERT_EQ(parse_resp(kSubscribed, r, used), RespParse::kReply);
  EXPECT_EQ(r.items[0], "subscribe");
  EXPECT_EQ(r.items[2], "1");
}

TEST(BenchResp, ParsesPipelinedRepliesOneAtATime) {
  const std::string stream = kSubscribed + kMessage + ":1000\r\n+OK\r\n";
  std::vector<std::string> firsts;
  size_t pos = 0;
  RespReply r;
  size_t used = 0;
  while (parse_resp(std::string_view(stream).substr(pos), r, used) == RespParse::kReply) {
    std::string first(1, r.type);
    first.append(r.count > 0 ? r.items[0] : r.scalar);
    firsts.push_back(first);
    pos += used;
  }
  EXPECT_EQ(pos, stream.size());
  EXPECT_EQ(firsts, (std::vector<std::string>{"*subscribe", "*message", ":1000", "+OK"}));
}

TEST(BenchResp, NeedsMoreAtEverySplitPoint) {
  for (size_t cut = 0; cut < kMessage.size(); ++cut) {
    RespReply r;
    size_t used = 0;
    EXPECT_EQ(parse_resp(std::string_view(kMessage).substr(0, cut), r, used), RespParse::kNeedMore)
        << "cut at " << cut;
  }
}

TEST(BenchResp, BulkStringsMayHoldCrLf) {
  const std::string s = "*1\r\n$4\r\na\r\nb\r\n";
  RespReply r;
  size_t used = 0;
  ASSERT_EQ(parse_resp(s, r, used), RespParse::kReply);
  EXPECT_EQ(r.items[0], "a\r\nb");
}

TEST(BenchResp, ErrorsNullsAndGarbage) {
  RespReply r;
  size_t used = 0;
  ASSERT_EQ(parse_resp("-ERR unknown command\r\n", r, used), RespParse::kReply);
  EXPECT_EQ(r.type, '-');
  EXPECT_EQ(r.scalar, "ERR unknown command");
  ASSERT_EQ(parse_resp("$-1\r\n", r, used), RespParse::kReply);
  EXPECT_EQ(used, 5u);
  EXPECT_EQ(parse_resp("hello\r\n", r, used), RespParse::kMalformed);
  EXPECT_EQ(parse_resp("$abc\r\n", r, used), RespParse::kMalformed);
  EXPECT_EQ(parse_resp("$3\r\nabcXY", r, used), RespParse::kMalformed);
}

}  // namespace
}  // namespace netlab::modes::bench
