#include "core/read/disk_cache.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>

#include "tests/support/test_support.h"

namespace npzfs::core {
namespace {

using testing::AsBytes;
using testing::AsChars;

constexpr uint64_t kChunk = 4096;

std::unique_ptr<DiskCache> Make(uint64_t size) {
  DiskCacheOptions o;
  o.dir = ::testing::TempDir();
  o.size = size;
  auto c = DiskCache::Open(o, kChunk);
  EXPECT_TRUE(c) << c.error().message;
  return c ? std::move(*c) : nullptr;
}

std::string Bytes(char fill, size_t n = kChunk) { return std::string(n, fill); }

TEST(DiskCacheTest, GivesBackWhatWasPut) {
  auto cache = Make(16 * kChunk);
  ASSERT_TRUE(cache);
  EXPECT_EQ(cache->Get({1, 2}), nullptr);
  cache->Put({1, 2}, AsBytes(Bytes('a')));
  cache->Put({1, 3}, AsBytes(Bytes('b', 100)));  // a short last chunk
  ASSERT_TRUE(cache->Contains({1, 2}));
  ChunkRef a = cache->Get({1, 2});
  ChunkRef b = cache->Get({1, 3});
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(AsChars(a->bytes()), Bytes('a'));
  EXPECT_EQ(AsChars(b->bytes()), Bytes('b', 100));
  const DiskCacheStats s = cache->stats();
  EXPECT_EQ(s.capacity, 16 * kChunk);
  EXPECT_EQ(s.bytes, kChunk + 100);
  EXPECT_EQ(s.hits, 2u);
  EXPECT_EQ(s.misses, 1u);
}

TEST(DiskCacheTest, PutLaterWritesEveryChunkEvenWhenTheWriterIsBehind) {
  auto cache = Make(4096 * kChunk);
  ASSERT_TRUE(cache);
  // 16 MiB at once: twice what may wait, so callers write some themselves.
  for (uint64_t i = 0; i < 4096; ++i) {
    auto chunk = std::make_shared<Chunk>(kChunk);
    std::memset(chunk->mutable_bytes().data(), static_cast<int>(i % 251), kChunk);
    cache->PutLater({0, i}, std::move(chunk));
  }
  cache->Flush();
  for (uint64_t i = 0; i < 4096; i += 97) {
    ChunkRef got = cache->Get({0, i});
    ASSERT_NE(got, nullptr) << i;
    EXPECT_EQ(AsChars(got->bytes()), Bytes(static_cast<char>(i % 251))) << i;
  }
  EXPECT_EQ(cache->stats().puts, 4096u);
}

TEST(DiskCacheTest, HoldsAtMostItsSizeDroppingTheLeastRecentlyUsed) {
  auto cache = Make(4 * kChunk);
  ASSERT_TRUE(cache);
  for (uint64_t i = 0; i < 4; ++i) cache->Put({0, i}, AsBytes(Bytes(static_cast<char>('a' + i))));
  ASSERT_NE(cache->Get({0, 0}), nullptr);  // 0 is now the most recent
  cache->Put({0, 4}, AsBytes(Bytes('e')));
  EXPECT_TRUE(cache->Contains({0, 0}));
  EXPECT_FALSE(cache->Contains({0, 1}));  // the least recently used went
  EXPECT_TRUE(cache->Contains({0, 4}));
  EXPECT_EQ(AsChars(cache->Get({0, 4})->bytes()), Bytes('e'));
  EXPECT_EQ(AsChars(cache->Get({0, 2})->bytes()), Bytes('c'));
  EXPECT_LE(cache->stats().bytes, 4 * kChunk);
}

TEST(DiskCacheTest, BytesChangedOnDiskAreNeverGivenBack) {
  auto cache = Make(4 * kChunk);
  ASSERT_TRUE(cache);
  cache->Put({0, 0}, AsBytes(Bytes('a')));
  ASSERT_TRUE(cache->CorruptForTest({0, 0}, 1234));
  EXPECT_EQ(cache->Get({0, 0}), nullptr);
  EXPECT_FALSE(cache->Contains({0, 0}));  // dropped
  EXPECT_EQ(cache->stats().bad_reads, 1u);
}

TEST(DiskCacheTest, EraseMemberDropsOnlyThatMember) {
  auto cache = Make(8 * kChunk);
  ASSERT_TRUE(cache);
  cache->Put({0, 0}, AsBytes(Bytes('a')));
  cache->Put({1, 0}, AsBytes(Bytes('b')));
  cache->EraseMember(0);
  EXPECT_FALSE(cache->Contains({0, 0}));
  EXPECT_TRUE(cache->Contains({1, 0}));
}

TEST(DiskCacheTest, LeavesNoFileBehind) {
  const std::string dir = ::testing::TempDir() + "/disk_cache_empty";
  std::filesystem::create_directories(dir);
  {
    DiskCacheOptions o;
    o.dir = dir;
    o.size = 8 * kChunk;
    auto cache = DiskCache::Open(o, kChunk);
    ASSERT_TRUE(cache) << cache.error().message;
    (*cache)->Put({0, 0}, AsBytes(Bytes('a')));
    EXPECT_TRUE(std::filesystem::is_empty(dir));
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir));
  std::filesystem::remove(dir);
}

TEST(DiskCacheTest, AMissingDirectoryIsAnErrorNamingIt) {
  DiskCacheOptions o;
  o.dir = "/nonexistent/npzfs cache";
  auto cache = DiskCache::Open(o, kChunk);
  ASSERT_FALSE(cache);
  EXPECT_EQ(cache.error().code, Errc::kIo);
  EXPECT_NE(cache.error().message.find("'/nonexistent/npzfs cache'"), std::string::npos)
      << cache.error().message;
}

TEST(DiskCacheTest, TmpdirIsTheDefault) {
  const std::string dir = ::testing::TempDir() + "/disk_cache_tmpdir";
  std::filesystem::create_directories(dir);
  const char* old = std::getenv("TMPDIR");
  const std::string saved = old ? old : "";
  setenv("TMPDIR", dir.c_str(), 1);
  auto cache = DiskCache::Open({}, kChunk);
  if (old) {
    setenv("TMPDIR", saved.c_str(), 1);
  } else {
    unsetenv("TMPDIR");
  }
  ASSERT_TRUE(cache) << cache.error().message;
  EXPECT_EQ((*cache)->dir(), dir);
  std::filesystem::remove(dir);
}

}  // namespace
}  // namespace npzfs::core
