#include "core/read/chunk_cache.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace npzfs::core {
namespace {

ChunkRef MakeChunk(size_t size, char fill) {
  auto c = std::make_shared<Chunk>(size);
  std::memset(c->mutable_bytes().data(), fill, size);
  return c;
}

TEST(ChunkCacheTest, EvictsTheLeastRecentlyUsedPastCapacity) {
  ChunkCache cache(300);
  cache.Insert({0, 0}, MakeChunk(100, 'a'));
  cache.Insert({0, 1}, MakeChunk(100, 'b'));
  cache.Insert({1, 0}, MakeChunk(100, 'c'));
  ASSERT_TRUE(cache.Lookup({0, 0}));  // now {0, 1} is the oldest
  cache.Insert({1, 1}, MakeChunk(100, 'd'));
  EXPECT_FALSE(cache.Contains({0, 1}));
  EXPECT_TRUE(cache.Contains({0, 0}));
  EXPECT_TRUE(cache.Contains({1, 0}));
  EXPECT_TRUE(cache.Contains({1, 1}));
  const ChunkCacheStats s = cache.stats();
  EXPECT_EQ(s.bytes, 300u);
  EXPECT_EQ(s.chunks, 3u);
  EXPECT_EQ(s.evictions, 1u);
  EXPECT_EQ(s.hits, 1u);
}

TEST(ChunkCacheTest, EvictedChunksAreSpilledButErasedOnesAreNot) {
  std::vector<std::pair<ChunkKey, char>> spilled;
  ChunkCache cache(200, [&](const ChunkKey& key, const ChunkRef& chunk) {
    spilled.emplace_back(key, static_cast<char>(chunk->bytes()[0]));
  });
  cache.Insert({0, 0}, MakeChunk(100, 'a'));
  cache.Insert({0, 1}, MakeChunk(100, 'b'));
  cache.Insert({0, 2}, MakeChunk(100, 'c'));  // evicts {0, 0}
  cache.Insert({0, 3}, MakeChunk(300, 'd'));  // too large to keep: spilled at once
  ASSERT_EQ(spilled.size(), 2u);
  EXPECT_EQ(spilled[0].first, (ChunkKey{0, 0}));
  EXPECT_EQ(spilled[0].second, 'a');
  EXPECT_EQ(spilled[1].first, (ChunkKey{0, 3}));
  cache.SetCapacity(100);  // evicts {0, 1}
  ASSERT_EQ(spilled.size(), 3u);
  EXPECT_EQ(spilled[2].first, (ChunkKey{0, 1}));
  cache.EraseMember(0);
  EXPECT_EQ(spilled.size(), 3u);
}

TEST(ChunkCacheTest, EvictedChunkHeldByAReaderStaysValid) {
  ChunkCache cache(100);
  cache.Insert({0, 0}, MakeChunk(100, 'x'));
  ChunkRef held = cache.Lookup({0, 0});
  cache.Insert({0, 1}, MakeChunk(100, 'y'));
  EXPECT_FALSE(cache.Contains({0, 0}));
  ASSERT_TRUE(held);
  EXPECT_EQ(static_cast<char>(held->bytes()[99]), 'x');
}

TEST(ChunkCacheTest, KeepsTheFirstChunkOfAKeyAndNothingTooLarge) {
  ChunkCache cache(100);
  cache.Insert({0, 0}, MakeChunk(10, 'a'));
  cache.Insert({0, 0}, MakeChunk(10, 'b'));
  EXPECT_EQ(static_cast<char>(cache.Lookup({0, 0})->bytes()[0]), 'a');
  cache.Insert({0, 1}, MakeChunk(101, 'c'));
  EXPECT_FALSE(cache.Contains({0, 1}));
  EXPECT_TRUE(cache.Contains({0, 0}));
  EXPECT_FALSE(cache.Lookup({5, 5}));
  EXPECT_EQ(cache.stats().misses, 1u);
}

TEST(ChunkCacheTest, ZeroCapacityKeepsNothing) {
  ChunkCache cache(0);
  cache.Insert({0, 0}, MakeChunk(1, 'a'));
  EXPECT_FALSE(cache.Contains({0, 0}));
  EXPECT_EQ(cache.stats().bytes, 0u);
}

TEST(ChunkCacheTest, EraseMemberDropsOnlyThatMember) {
  ChunkCache cache(1000);
  cache.Insert({0, 0}, MakeChunk(10, 'a'));
  cache.Insert({1, 0}, MakeChunk(10, 'b'));
  cache.Insert({1, 7}, MakeChunk(10, 'c'));
  cache.EraseMember(1);
  EXPECT_TRUE(cache.Contains({0, 0}));
  EXPECT_FALSE(cache.Contains({1, 0}));
  EXPECT_FALSE(cache.Contains({1, 7}));
  EXPECT_EQ(cache.stats().bytes, 10u);
}

TEST(ChunkCacheTest, SmallerCapacityEvictsTheLeastRecentlyUsed) {
  ChunkCache cache(300);
  cache.Insert({0, 0}, MakeChunk(100, 'a'));
  cache.Insert({0, 1}, MakeChunk(100, 'b'));
  cache.Insert({0, 2}, MakeChunk(100, 'c'));
  ASSERT_TRUE(cache.Lookup({0, 0}));  // {0, 1} is the oldest now
  cache.SetCapacity(200);
  EXPECT_EQ(cache.capacity(), 200u);
  EXPECT_FALSE(cache.Contains({0, 1}));
  EXPECT_TRUE(cache.Contains({0, 0}));
  EXPECT_TRUE(cache.Contains({0, 2}));
  cache.Insert({0, 3}, MakeChunk(150, 'd'));  // evicts both of the others
  EXPECT_EQ(cache.stats().bytes, 150u);
  cache.SetCapacity(100);
  EXPECT_EQ(cache.stats().bytes, 0u);
  cache.SetCapacity(1000);
  cache.Insert({0, 4}, MakeChunk(500, 'e'));
  EXPECT_TRUE(cache.Contains({0, 4}));
}

}  // namespace
}  // namespace npzfs::core
