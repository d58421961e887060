#include "core/read/crc_intervals.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <string>

namespace npzfs::core {
namespace {

uint32_t Crc(const std::string& s, uint64_t begin, uint64_t end) {
  return static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(s.data() + begin), static_cast<uInt>(end - begin)));
}

TEST(CrcIntervalsTest, PiecesInAnyOrderGiveTheWholeCrc) {
  std::string data(100'000, '\0');
  std::mt19937 rng(1);
  for (char& ch : data) ch = static_cast<char>(rng());
  std::vector<uint64_t> cuts = {0, 100'000};
  for (int i = 0; i < 50; ++i) cuts.push_back(rng() % 100'000);
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  std::vector<size_t> order(cuts.size() - 1);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  CrcIntervals crc(data.size());
  for (size_t k = 0; k < order.size(); ++k) {
    EXPECT_FALSE(crc.complete());
    const uint64_t b = cuts[order[k]], e = cuts[order[k] + 1];
    ASSERT_TRUE(crc.Add(b, e, Crc(data, b, e)));
  }
  ASSERT_TRUE(crc.complete());
  EXPECT_EQ(crc.crc(), Crc(data, 0, data.size()));
  EXPECT_EQ(crc.count(), 1u);
}

TEST(CrcIntervalsTest, GapsAndOverlaps) {
  CrcIntervals crc(100);
  ASSERT_TRUE(crc.Add(10, 20, 0));
  ASSERT_TRUE(crc.Add(40, 50, 0));
  auto gaps = crc.Gaps(0, 100);
  ASSERT_EQ(gaps.size(), 3u);
  EXPECT_EQ(gaps[0].begin, 0u);
  EXPECT_EQ(gaps[0].end, 10u);
  EXPECT_EQ(gaps[1].begin, 20u);
  EXPECT_EQ(gaps[1].end, 40u);
  EXPECT_EQ(gaps[2].begin, 50u);
  EXPECT_EQ(gaps[2].end, 100u);
  EXPECT_TRUE(crc.Gaps(12, 18).empty());
  gaps = crc.Gaps(15, 45);
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].begin, 20u);
  EXPECT_EQ(gaps[0].end, 40u);
  EXPECT_FALSE(crc.Add(15, 25, 0));
  EXPECT_FALSE(crc.Add(5, 11, 0));
  EXPECT_FALSE(crc.Add(0, 100, 0));
  EXPECT_FALSE(crc.Add(90, 101, 0));
  EXPECT_TRUE(crc.Add(20, 40, 0));
  EXPECT_EQ(crc.count(), 1u);
}

TEST(CrcIntervalsTest, KeepsAtMostTheLimitForgettingTheShortest) {
  CrcIntervals crc(1000, 4);
  ASSERT_TRUE(crc.Add(0, 50, 0));
  ASSERT_TRUE(crc.Add(100, 110, 0));
  ASSERT_TRUE(crc.Add(200, 300, 0));
  ASSERT_TRUE(crc.Add(400, 500, 0));
  ASSERT_TRUE(crc.Add(600, 700, 0));
  EXPECT_EQ(crc.count(), 4u);
  ASSERT_EQ(crc.Gaps(100, 110).size(), 1u);  // the shortest went
}

TEST(CrcIntervalsTest, EmptyMemberIsCompleteWithCrcZero) {
  CrcIntervals crc(0);
  EXPECT_TRUE(crc.complete());
  EXPECT_EQ(crc.crc(), 0u);
}

}  // namespace
}  // namespace npzfs::core
