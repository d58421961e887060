#include "core/read/chunk_crcs.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <random>
#include <string>

namespace npzfs::core {
namespace {

uint32_t Crc(const std::string& s, size_t begin = 0, size_t n = std::string::npos) {
  const std::string part = s.substr(begin, n);
  return static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(part.data()), static_cast<uInt>(part.size())));
}

std::string Random(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

TEST(CrcBetweenTest, GivesTheCrcOfTheBytesBetweenTwoRunningValues) {
  const std::string s = Random(100'000, 1);
  const uint32_t before = Crc(s, 0, 30'000);
  const uint32_t after = Crc(s, 0, 70'000);
  EXPECT_EQ(CrcBetween(before, after, 40'000), Crc(s, 30'000, 40'000));
  EXPECT_EQ(CrcBetween(0, Crc(s), s.size()), Crc(s));
}

TEST(ChunkCrcsTest, ChunksInAnyOrderCombineToTheMemberCrc) {
  const size_t chunk = 4096;
  const std::string s = Random(10 * chunk + 123, 2);  // a short last chunk
  ChunkCrcs crcs(s.size(), chunk);
  ASSERT_EQ(crcs.chunk_count(), 11u);
  for (uint64_t i : {5, 0, 10, 1, 3, 2, 9, 4, 8, 7}) {
    EXPECT_EQ(crcs.Record(i, Crc(s, i * chunk, chunk)), ChunkCrcs::Check::kNew);
    EXPECT_FALSE(crcs.complete());
  }
  EXPECT_EQ(crcs.prefix(), 6u);
  EXPECT_EQ(crcs.prefix_crc(), Crc(s, 0, 6 * chunk));
  EXPECT_EQ(crcs.Record(6, Crc(s, 6 * chunk, chunk)), ChunkCrcs::Check::kNew);
  EXPECT_TRUE(crcs.complete());
  EXPECT_EQ(crcs.member_crc(), Crc(s));
}

TEST(ChunkCrcsTest, AChunkMadeAgainMustMatch) {
  ChunkCrcs crcs(3 * 100, 100);
  EXPECT_EQ(crcs.Get(1), std::nullopt);
  EXPECT_EQ(crcs.Record(1, 0xdeadbeef), ChunkCrcs::Check::kNew);
  EXPECT_EQ(crcs.Get(1), 0xdeadbeefu);
  EXPECT_EQ(crcs.Record(1, 0xdeadbeef), ChunkCrcs::Check::kMatches);
  EXPECT_EQ(crcs.Record(1, 0xdeadbeee), ChunkCrcs::Check::kMismatch);
  EXPECT_EQ(crcs.Get(1), 0xdeadbeefu);                        // the first one stays
  EXPECT_EQ(crcs.Record(3, 0), ChunkCrcs::Check::kMismatch);  // no such chunk
  crcs.Clear();
  EXPECT_EQ(crcs.Get(1), std::nullopt);
  EXPECT_EQ(crcs.Record(1, 0xdeadbeee), ChunkCrcs::Check::kNew);
}

TEST(ChunkCrcsTest, AnEmptyMemberIsCompleteWithCrcZero) {
  ChunkCrcs crcs(0, 100);
  EXPECT_TRUE(crcs.complete());
  EXPECT_EQ(crcs.member_crc(), 0u);
}

}  // namespace
}  // namespace npzfs::core
