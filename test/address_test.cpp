#include "net/address.hpp"

#include <gtest/gtest.h>

namespace netlab::net {
namespace {

TEST(ParsePort, AcceptsNumbersInRange) {
  EXPECT_EQ(parse_port("0", Transport::kTcp), 0);
  EXPECT_EQ(parse_port("21567", Transport::kTcp), 21567);
  EXPECT_EQ(parse_port("65535", Transport::kUdp), 65535);
}

}  // namespace
}  // namespace netlab::net
