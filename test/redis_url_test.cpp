// --cluster's URL: redis://HOST:PORT[/DB].
#include "modes/chat/redis_url.hpp"

#include <gtest/gtest.h>

namespace netlab::modes::chat {
namespace {

TEST(RedisUrl, ParsesHostPortAndDatabase) {
  std::string why;
  auto u = parse_redis_url("redis://127.0.0.1:6380/3", why);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 6380);
  EXPECT_EQ(u->db, 3);
  EXPECT_EQ(u->to_string(), "redis://127.0.0.1:6380/3");
}

TEST(RedisUrl, PortAndDatabaseDefaultTo6379AndZero) {
  std::string why;
  auto u = parse_redis_url("redis://cache.example", why);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "cache.example");
  EXPECT_EQ(u->port, 6379);
  EXPECT_EQ(u->db, 0);
  EXPECT_EQ(u->to_string(), "redis://cache.example:6379");
}

TEST(RedisUrl, Ipv6AddressesAreBracketed) {
  std::string why;
  auto u = parse_redis_url("redis://[::1]:7000", why);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 7000);
  EXPECT_EQ(u->to_string(), "redis://[::1]:7000");
  auto bare = parse_redis_url("redis://[::1]", why);
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->port, 6379);
}

TEST(RedisUrl, RejectsOtherSchemesAndBadNumbersWithAReason) {
  std::string why;
  EXPECT_FALSE(parse_redis_url("http://127.0.0.1:6379", why));
  EXPECT_EQ(why, "expected redis://HOST:PORT[/DB]");
  EXPECT_FALSE(parse_redis_url("redis://", why));
  EXPECT_FALSE(parse_redis_url("redis://:6379", why));
  EXPECT_FALSE(parse_redis_url("redis://host:", why));
  EXPECT_FALSE(parse_redis_url("redis://[::1", why));
  EXPECT_FALSE(parse_redis_url("redis://[::1]x", why));
  EXPECT_FALSE(parse_redis_url("redis://host:70000", why));
  EXPECT_EQ(why, "invalid port '70000'");
  EXPECT_FALSE(parse_redis_url("redis://host:0", why));
  EXPECT_FALSE(parse_redis_url("redis://host:12ab", why));
  EXPECT_FALSE(parse_redis_url("redis://host:6379/x", why));
  EXPECT_EQ(why, "invalid database number 'x'");
  EXPECT_FALSE(parse_redis_url("redis://host:6379/-1", why));
  EXPECT_FALSE(parse_redis_url("redis://user@host:6379", why));
}

}  // namespace
}  // namespace netlab::modes::chat
