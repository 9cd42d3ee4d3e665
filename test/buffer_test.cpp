#include "net/buffer.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace netlab::net {
namespace {

using namespace std::string_literals;

TEST(Buffer, StartsEmptyWithoutMemory) {
  Buffer b;
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.size(), 0u);
  EXPECT_EQ(b.capacity(), 0u);
  EXPECT_EQ(b.view(), "");
}

TEST(Buffer, AppendedBytesAreReadableInOrder) {
  Buffer b;
  b.append("hello ");
  b.append("world");
  EXPECT_FALSE(b.empty());
  EXPECT_EQ(b.size(), 11u);
  EXPECT_EQ(b.view(), "hello world");
}

TEST(Buffer, AppendingNothingChangesNothing) {
  Buffer b;
  b.append("");
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.capacity(), 0u);
  b.append("x");
  b.append("");
  EXPECT_EQ(b.view(), "x");
}

TEST(Buffer, ConsumeDropsBytesFromTheFront) {
  Buffer b;
  b.append("abcdef");
  b.consume(2);
  EXPECT_EQ(b.view(), "cdef");
  b.consume(3);
  EXPECT_EQ(b.view(), "f");
  b.append("gh");
  EXPECT_EQ(b.view(), "fgh");
}

TEST(Buffer, ConsumeIsClampedToSize) {
  Buffer b;
  b.append("abc");
  b.consume(1000);
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.view(), "");
  b.consume(5);  // on an empty buffer: harmless
  EXPECT_TRUE(b.empty());
  b.append("z");
  EXPECT_EQ(b.view(), "z");
}

TEST(Buffer, KeepsBinaryBytesIncludingNul) {
  Buffer b;
  const std::string bytes = "a\0b\xff\x80\n\r\0"s;
  b.append(bytes);
  EXPECT_EQ(b.size(), bytes.size());
  EXPECT_EQ(std::string(b.view()), bytes);
}

TEST(Buffer, PrepareGivesAtLeastTheRequestedSpaceAndCommitPublishesIt) {
  Buffer b;
  b.append("ab");
  char* p = b.prepare(100);
  ASSERT_NE(p, nullptr);
  EXPECT_GE(b.capacity() - b.size(), 100u);
  std::memcpy(p, "cdefg", 5);
  // Only what is committed becomes readable.
  b.commit(3);
  EXPECT_EQ(b.view(), "abcde");
}

TEST(Buffer, PrepareWithoutCommitAddsNothing) {
  Buffer b;
  b.append("xy");
  char* p = b.prepare(16);
  std::memset(p, 'q', 16);
  EXPECT_EQ(b.view(), "xy");
}

TEST(Buffer, ReusesItsMemoryForAStreamOfSmallMessages) {
  Buffer b;
  b.append(std::string(64, 'x'));
  b.consume(64);
  const size_t cap = b.capacity();
  ASSERT_GE(cap, 64u);
  for (int i = 0; i < 10000; ++i) {
    b.append("request line\n");
    b.consume(b.size());
  }
  EXPECT_EQ(b.capacity(), cap);
}

TEST(Buffer, SlidesConsumedSpaceInsteadOfGrowing) {
  Buffer b;
  b.append(std::string(64, 'a'));
  const size_t cap = b.capacity();
  b.consume(60);  // 4 readable bytes left at the end of the storage
  const std::string tail(b.view());
  char* p = b.prepare(cap - 4);  // fits only once the consumed prefix is reclaimed
  std::memset(p, 'b', cap - 4);
  b.commit(cap - 4);
  EXPECT_EQ(b.capacity(), cap);
  EXPECT_EQ(std::string(b.view()), tail + std::string(cap - 4, 'b'));
}

TEST(Buffer, GrowsAndKeepsUnreadBytes) {
  Buffer b;
  std::string expected;
  for (int i = 0; i < 1000; ++i) {
    const std::string piece = std::to_string(i) + ",";
    b.append(piece);
    expected += piece;
    if (i % 7 == 0) {
      b.consume(3);
      expected.erase(0, 3);
    }
  }
  EXPECT_EQ(std::string(b.view()), expected);
  EXPECT_GE(b.capacity(), b.size());
}

TEST(Buffer, ClearEmptiesButKeepsMemory) {
  Buffer b;
  b.append(std::string(1000, 'x'));
  const size_t cap = b.capacity();
  b.clear();
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.capacity(), cap);
  b.append("new");
  EXPECT_EQ(b.view(), "new");
}

TEST(Buffer, ShrinkIfIdleReleasesAnIdleBigBuffer) {
  Buffer b;
  b.append(std::string(1 << 20, 'x'));
  b.consume(b.size());
  ASSERT_GE(b.capacity(), size_t{1} << 20);
  b.shrink_if_idle(16 * 1024);
  EXPECT_LE(b.capacity(), 16u * 1024);
  b.append("still usable");
  EXPECT_EQ(b.view(), "still usable");
}

TEST(Buffer, ShrinkIfIdleKeepsABufferThatHoldsData) {
  Buffer b;
  b.append(std::string(1 << 20, 'x'));
  b.consume((1 << 20) - 5);
  const size_t cap = b.capacity();
  b.shrink_if_idle(1024);
  EXPECT_EQ(b.capacity(), cap);
  EXPECT_EQ(b.view(), "xxxxx");
}

TEST(Buffer, ShrinkIfIdleKeepsASmallBuffer) {
  Buffer b;
  b.append(std::string(100, 'x'));
  b.consume(100);
  const size_t cap = b.capacity();
  b.shrink_if_idle(16 * 1024);
  EXPECT_EQ(b.capacity(), cap);
}

}  // namespace
}  // namespace netlab::net
