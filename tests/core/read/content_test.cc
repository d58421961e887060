#include "core/read/content.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <random>
#include <thread>

#include "core/archive/archive.h"
#include "tests/support/sozip_writer.h"
#include "tests/support/test_support.h"
#include "tests/support/zip_patch.h"
#include "tests/support/zip_writer.h"

namespace npzfs::core {
namespace {

using testing::EngineParamName;
using testing::Engines;
using testing::IndexOf;
using testing::OpenBytes;
using testing::OpenPath;
using testing::ReadFile;
using testing::StandardArchive;
using testing::ZipfileDump;

Result<std::string> ReadRange(Content& c, size_t member, uint64_t offset, size_t n) {
  std::string out(n, '\0');
  auto got = c.Read(member, offset, std::span(reinterpret_cast<std::byte*>(out.data()), n));
  if (!got) return Fail(std::move(got).error());
  out.resize(*got);
  return out;
}

Result<std::string> ReadAll(Content& c, size_t member, size_t piece = 128 << 10) {
  std::string all;
  for (;;) {
    auto part = ReadRange(c, member, all.size(), piece);
    if (!part) return part;
    if (part->empty()) return all;
    all += *part;
  }
}

// The big member of make_npz.py's "big" archive (64 MiB, ~4:1) and its
// bytes as Python's zipfile reads them.
struct Big {
  std::unique_ptr<Archive> archive;
  size_t index = 0;
  std::string want;
};

const Big& BigMember() {
  static const Big* big = [] {
    auto* b = new Big;
    const std::string path = StandardArchive("big");
    b->archive = OpenPath(path);
    b->index = IndexOf(*b->archive, "big.npy");
    b->want = ReadFile(ZipfileDump(path) + "/" + std::to_string(b->index) + ".bin");
    return b;
  }();
  return *big;
}

// `count` reads of `len` bytes at offsets drawn from `seed` each equal the
// member's bytes.
void ExpectRandomRangesRight(Content& content, const Big& big, unsigned seed, int count,
                             size_t len) {
  std::mt19937_64 rng(seed);
  for (int k = 0; k < count; ++k) {
    const uint64_t off = rng() % big.want.size();
    auto got = ReadRange(content, big.index, off, len);
    ASSERT_TRUE(got) << got.error().message;
    ASSERT_EQ(*got, big.want.substr(off, len));
  }
}

// Every test runs with each inflate engine built in.
class ContentTest : public ::testing::TestWithParam<InflateEngine> {
 protected:
  ContentOptions Defaults() const {
    ContentOptions o;
    o.codec.deflate = GetParam();
    return o;
  }

  // Small chunks and spans, so that small members have many of both.
  ContentOptions Small(uint64_t cache_size = 1 << 20) const {
    ContentOptions o = Defaults();
    o.chunk_size = 16 << 10;
    o.span = 64 << 10;
    o.cache_size = cache_size;
    return o;
  }
};

INSTANTIATE_TEST_SUITE_P(Engines, ContentTest, ::testing::ValuesIn(Engines()), EngineParamName);

// The largest distance from an access point to the next (or to the end).
uint64_t MaxGap(const std::vector<uint64_t>& points, uint64_t size) {
  uint64_t gap = 0;
  for (size_t i = 0; i < points.size(); ++i) {
    gap = std::max(gap, (i + 1 < points.size() ? points[i + 1] : size) - points[i]);
  }
  return gap;
}

// Every byte of every member, read tail first, then at random offsets, then
// front to back, equals what Python's zipfile reads; members it cannot read
// fail here too.
TEST_P(ContentTest, EveryMemberEqualsZipfile) {
  for (const char* kind : {"stored", "compressed", "descriptor_compressed", "nonnpy", "bzip2",
                           "lzma", "prefix", "encrypted"}) {
    SCOPED_TRACE(kind);
    const std::string path = StandardArchive(kind);
    const std::string dump = ZipfileDump(path);
    auto archive = OpenPath(path);
    ASSERT_TRUE(archive);
    ContentOptions o = Small();
    o.chunk_size = 4096;
    o.span = 8192;
    Content content(*archive, o);
    std::mt19937_64 rng(7);
    for (size_t i = 0; i < archive->entries().size(); ++i) {
      const ZipEntry& e = archive->entries()[i];
      SCOPED_TRACE(e.name);
      if (e.is_directory) continue;
      const std::string bin = dump + "/" + std::to_string(i) + ".bin";
      if (!std::filesystem::exists(bin) || !CheckReadable(e)) {
        EXPECT_FALSE(ReadAll(content, i)) << "zipfile could not read it, we could";
        continue;
      }
      const std::string want = ReadFile(bin);
      if (want.size() > 10) {
        auto tail = ReadRange(content, i, want.size() - 10, 100);
        ASSERT_TRUE(tail) << tail.error().message;
        EXPECT_EQ(*tail, want.substr(want.size() - 10));
      }
      for (int k = 0; k < 20; ++k) {
        const uint64_t off = want.empty() ? 0 : rng() % want.size();
        const size_t len = rng() % 70'000;
        auto got = ReadRange(content, i, off, len);
        ASSERT_TRUE(got) << got.error().message;
        ASSERT_EQ(*got, want.substr(off, len)) << "offset " << off << " length " << len;
      }
      auto all = ReadAll(content, i, 10'000);
      ASSERT_TRUE(all) << all.error().message;
      ASSERT_EQ(*all, want);
      auto past = ReadRange(content, i, want.size() + 5, 10);
      ASSERT_TRUE(past);
      EXPECT_TRUE(past->empty());
    }
  }
}

TEST_P(ContentTest, ZeroSizeMembersReadEmpty) {
  auto a = OpenPath(StandardArchive("zero_size"));
  ASSERT_TRUE(a);
  Content content(*a, Defaults());
  for (const char* name : {"stored.bin", "deflated.bin"}) {
    SCOPED_TRACE(name);
    for (int k = 0; k < 2; ++k) {
      auto got = ReadRange(content, IndexOf(*a, name), 0, 10);
      ASSERT_TRUE(got) << got.error().message;
      EXPECT_TRUE(got->empty());
    }
  }
}

TEST_P(ContentTest, RandomOffsetsBackwardSeeksAndTailFirst) {
  const Big& big = BigMember();
  Content content(*big.archive, Small());
  const std::string& want = big.want;
  // The tail first: one pass over the whole member.
  auto tail = ReadRange(content, big.index, want.size() - 5000, 8192);
  ASSERT_TRUE(tail) << tail.error().message;
  EXPECT_EQ(*tail, want.substr(want.size() - 5000));
  std::mt19937_64 rng(3);
  uint64_t off = want.size() / 2;
  for (int k = 0; k < 300; ++k) {
    // Alternately far random offsets and short steps backwards.
    off = k % 2 ? rng() % want.size() : off - std::min<uint64_t>(off, rng() % 100'000);
    const size_t len = 1 + rng() % 200'000;
    auto got = ReadRange(content, big.index, off, len);
    ASSERT_TRUE(got) << got.error().message;
    ASSERT_EQ(*got, want.substr(off, len)) << "offset " << off << " length " << len;
  }
}

TEST_P(ContentTest, CacheMuchSmallerThanTheMemberStillGivesTheBytes) {
  const Big& big = BigMember();
  for (uint64_t cache : {uint64_t{0}, uint64_t{64} << 10}) {
    SCOPED_TRACE(cache);
    Content content(*big.archive, Small(cache));
    auto all = ReadAll(content, big.index, 100'000);
    ASSERT_TRUE(all) << all.error().message;
    ASSERT_TRUE(*all == big.want);
    std::mt19937_64 rng(5);
    for (int k = 0; k < 50; ++k) {
      const uint64_t off = rng() % big.want.size();
      auto got = ReadRange(content, big.index, off, 50'000);
      ASSERT_TRUE(got) << got.error().message;
      ASSERT_EQ(*got, big.want.substr(off, 50'000)) << "offset " << off;
    }
    EXPECT_LE(content.stats().cache.bytes, cache);
  }
}

// Eight threads read one member at once, each in its own pattern, with a
// cache far smaller than the member: every byte right.
TEST_P(ContentTest, ManyThreadsReadOneMember) {
  const Big& big = BigMember();
  Content content(*big.archive, Small(2 << 20));
  const std::string& want = big.want;
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(t);
      // Half read forward from different places, half jump around.
      uint64_t off = t * (want.size() / 8);
      for (int k = 0; k < 150; ++k) {
        const size_t len = 1 + rng() % 150'000;
        off = t % 2 ? rng() % want.size() : (off + len) % want.size();
        auto got = ReadRange(content, big.index, off, len);
        if (!got || *got != want.substr(off, len)) ++bad;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

// Readers of other members are not held up, and they read right while one
// member is read by many.
TEST_P(ContentTest, ManyThreadsReadManyMembers) {
  const std::string path = StandardArchive("compressed");
  const std::string dump = ZipfileDump(path);
  auto a = OpenPath(path);
  ASSERT_TRUE(a);
  ContentOptions o = Small(64 << 10);
  o.chunk_size = 4096;
  o.span = 8192;
  o.max_idle_decoders = 3;
  Content content(*a, o);
  std::vector<std::string> want(a->entries().size());
  for (size_t i = 0; i < want.size(); ++i) {
    want[i] = ReadFile(dump + "/" + std::to_string(i) + ".bin");
  }
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(100 + t);
      for (int k = 0; k < 400; ++k) {
        const size_t i = t < 3 ? IndexOf(*a, "large.npy") : rng() % want.size();
        if (want[i].empty()) continue;
        const uint64_t off = rng() % want[i].size();
        const size_t len = 1 + rng() % 20'000;
        auto got = ReadRange(content, i, off, len);
        if (!got || *got != want[i].substr(off, len)) ++bad;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_LE(content.stats().idle_decoders, 3u);
}

// Eight threads read [off, off + len) of the big member at the same moment;
// returns how many got other bytes or an error.
int ReadAllAtOnce(Content& content, const Big& big, uint64_t off, size_t len) {
  std::atomic<int> ready{0}, bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      ++ready;
      while (ready.load() < 8) std::this_thread::yield();
      auto got = ReadRange(content, big.index, off, len);
      if (!got || *got != big.want.substr(off, len)) ++bad;
    });
  }
  for (auto& th : threads) th.join();
  return bad.load();
}

// Threads that ask for one region at once, before anything is decoded:
// the member is decoded once up to the end of that region.
TEST_P(ContentTest, RegionReadConcurrentlyAtTheFrontierIsDecodedOnce) {
  const Big& big = BigMember();
  ContentOptions o = Small(64 << 20);
  o.threads = 0;  // nothing decoded ahead: exactly the region
  Content content(*big.archive, o);
  const uint64_t off = 10 << 20, len = 1 << 20;
  EXPECT_EQ(ReadAllAtOnce(content, big, off, len), 0);
  EXPECT_EQ(content.stats().bytes_decoded, off + len);
}

// Behind the frontier, with the region long evicted: threads reading it at
// once decode it once, from one access point.
TEST_P(ContentTest, RegionReadConcurrentlyBehindTheFrontierIsDecodedOnce) {
  const Big& big = BigMember();
  const ContentOptions o = Small(1 << 20);
  Content content(*big.archive, o);
  ASSERT_TRUE(ReadAll(content, big.index));
  const uint64_t max_gap = MaxGap(content.AccessPointOffsets(big.index), big.want.size());
  const uint64_t off = (20 << 20) + 1000, len = 4096;
  const ContentStats before = content.stats();
  EXPECT_EQ(ReadAllAtOnce(content, big, off, len), 0);
  const ContentStats after = content.stats();
  EXPECT_LE(after.bytes_decoded - before.bytes_decoded, max_gap + o.chunk_size);
  EXPECT_EQ(after.resumes - before.resumes, 1u);
}

// After the first pass, any read decodes at most from the access point
// before it to the end of its chunk: one span, not the member's start.
TEST_P(ContentTest, RandomReadAfterTheFirstPassDecodesAtMostOneSpan) {
  const Big& big = BigMember();
  const ContentOptions o = Small(256 << 10);
  Content content(*big.archive, o);
  ASSERT_TRUE(ReadRange(content, big.index, big.want.size() - 1, 1));
  const auto points = content.AccessPointOffsets(big.index);
  const uint64_t max_gap = MaxGap(points, big.want.size());
  EXPECT_GE(points.size(), big.want.size() / (o.span + (1 << 20)));
  EXPECT_LT(max_gap, o.span + (1 << 20));  // a span plus at most one deflate block
  std::mt19937_64 rng(11);
  for (int k = 0; k < 100; ++k) {
    const uint64_t off = rng() % big.want.size();
    const uint64_t before = content.stats().bytes_decoded;
    auto got = ReadRange(content, big.index, off, 4096);
    ASSERT_TRUE(got) << got.error().message;
    ASSERT_EQ(*got, big.want.substr(off, 4096));
    const uint64_t decoded = content.stats().bytes_decoded - before;
    // Two chunks when the 4 KiB straddle a chunk boundary.
    EXPECT_LE(decoded, max_gap + 2 * o.chunk_size) << "offset " << off;
  }
}

TEST_P(ContentTest, AccessPointBudgetThinsPointsAndReadsStayRight) {
  const Big& big = BigMember();
  ContentOptions o = Small(256 << 10);
  o.access_point_budget = 40 * (kDeflateWindow + 256);
  Content content(*big.archive, o);
  auto all = ReadAll(content, big.index);
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_TRUE(*all == big.want);
  const ContentStats s = content.stats();
  EXPECT_LE(s.access_point_bytes, o.access_point_budget);
  const auto points = content.AccessPointOffsets(big.index);
  EXPECT_GE(points.size(), 10u);
  EXPECT_GT(MaxGap(points, big.want.size()), 4 * o.span);  // thinned
  ExpectRandomRangesRight(content, big, 13, 30, 10'000);
}

// Points are paid for out of cache_size: by default they may take half of
// it (at least kMinPointBudget), and the chunks keep the rest, at least
// half. Reads stay right whatever the split.
TEST_P(ContentTest, PointsAndChunksShareTheCacheSize) {
  const Big& big = BigMember();
  for (uint64_t cache : {uint64_t{4} << 20, uint64_t{16} << 20, uint64_t{64} << 20}) {
    SCOPED_TRACE(cache);
    Content content(*big.archive, Small(cache));
    auto all = ReadAll(content, big.index);
    ASSERT_TRUE(all) << all.error().message;
    ASSERT_TRUE(*all == big.want);
    const ContentStats s = content.stats();
    const uint64_t budget = std::max(cache / 2, kMinPointBudget);
    EXPECT_LE(s.access_point_bytes, budget);
    EXPECT_GT(s.access_point_bytes, budget / 4);  // points at 64 KiB outgrow every budget here
    EXPECT_LE(s.cache.bytes, cache - std::min(s.access_point_bytes, cache / 2));
    EXPECT_GE(s.cache.bytes, cache / 2 - 2 * Small().chunk_size);  // a sequential read fills it
    ExpectRandomRangesRight(content, big, 17, 20, 5'000);
  }
}

// A CRC-32 mismatch fails the read that completes the member and every
// later read; the other members stay readable.
TEST_P(ContentTest, CrcMismatchFailsThatReadAndEveryLaterRead) {
  struct Case {
    const char* kind;
    const char* member;
  };
  for (const Case& c : {Case{"compressed", "large.npy"}, Case{"stored", "large.npy"},
                        Case{"bzip2", "x.npy"}, Case{"lzma", "x.npy"}}) {
    SCOPED_TRACE(c.kind);
    std::string bytes = ReadFile(StandardArchive(c.kind));
    testing::PatchBoth(bytes, c.member, testing::kLocalCrc, testing::kCentralCrc, 4, 0xdeadbeef);
    auto a = OpenBytes(bytes);
    ASSERT_TRUE(a);
    ContentOptions o = Small();
    o.chunk_size = 4096;
    Content content(*a, o);
    const size_t i = IndexOf(*a, c.member);
    const uint64_t size = a->entries()[i].size;
    // Every byte but the first 1000, backwards; then the rest completes it.
    for (uint64_t end = size; end > 1000; end -= std::min<uint64_t>(end - 1000, 30'000)) {
      const uint64_t begin = end - std::min<uint64_t>(end - 1000, 30'000);
      auto part = ReadRange(content, i, begin, end - begin);
      // A decoded member is checked as soon as its end is decoded.
      if (std::string(c.kind) != "stored") {
        ASSERT_FALSE(part);
        break;
      }
      ASSERT_TRUE(part) << part.error().message;
    }
    auto last = ReadRange(content, i, 0, 1000);
    ASSERT_FALSE(last);
    EXPECT_EQ(last.error().code, Errc::kCorrupt);
    EXPECT_EQ(last.error().message.rfind("'" + std::string(c.member) + "': CRC-32 mismatch", 0), 0u)
        << last.error().message;
    auto again = ReadRange(content, i, 0, 10);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, Errc::kCorrupt);
    EXPECT_EQ(again.error().message, last.error().message);
    for (size_t j = 0; j < a->entries().size(); ++j) {
      if (j != i && !a->entries()[j].is_directory) {
        auto other = ReadAll(content, j);
        EXPECT_TRUE(other) << a->entries()[j].name << ": " << other.error().message;
      }
    }
  }
}

TEST_P(ContentTest, CrcMismatchFoundOnceIsEveryLaterReadsError) {
  std::string bytes = ReadFile(StandardArchive("compressed"));
  testing::PatchBoth(bytes, "f8.npy", testing::kLocalCrc, testing::kCentralCrc, 4, 0xdeadbeef);
  auto a = OpenBytes(bytes);
  ASSERT_TRUE(a);
  Content content(*a, Defaults());
  const size_t i = IndexOf(*a, "f8.npy");
  auto first = ReadRange(content, i, 0, 100);
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error().message.rfind("'f8.npy': CRC-32 mismatch", 0), 0u);
  auto second = ReadRange(content, i, 0, 100);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().message, first.error().message);
}

// A flipped bit anywhere in a deflate member fails with kCorrupt naming the
// member (and the offset, when inflate finds it); never are other bytes
// returned. Other members still read.
TEST_P(ContentTest, CorruptStreamFailsTheMemberOnly) {
  const std::string good = ReadFile(StandardArchive("compressed"));
  auto ref = OpenBytes(good);
  ASSERT_TRUE(ref);
  const size_t i = IndexOf(*ref, "large.npy");
  const size_t other = IndexOf(*ref, "f4.npy");
  const ZipEntry& e = ref->entries()[i];
  std::mt19937 rng(1);
  int with_offset = 0;
  for (int trial = 0; trial < 30; ++trial) {
    std::string bytes = good;
    const size_t at = e.data_offset + rng() % e.compressed_size;
    bytes[at] = static_cast<char>(bytes[at] ^ (1 << (rng() % 8)));
    auto a = OpenBytes(bytes);
    ASSERT_TRUE(a);
    Content content(*a, Small());
    auto all = ReadAll(content, i, 50'000);
    ASSERT_FALSE(all) << "flip at " << at << " returned data";
    EXPECT_EQ(all.error().code, Errc::kCorrupt);
    EXPECT_EQ(all.error().message.rfind("'large.npy': ", 0), 0u) << all.error().message;
    with_offset += all.error().message.find("uncompressed offset") != std::string::npos;
    auto again = ReadRange(content, i, 0, 10);
    EXPECT_FALSE(again);
    auto fine = ReadAll(content, other);
    ASSERT_TRUE(fine) << fine.error().message;
  }
  EXPECT_GT(with_offset, 0);
}

TEST_P(ContentTest, UnsupportedMembersFailEveryRead) {
  auto a = OpenPath(StandardArchive("encrypted"));
  ASSERT_TRUE(a);
  Content content(*a, Defaults());
  for (int k = 0; k < 2; ++k) {
    auto x = ReadRange(content, IndexOf(*a, "a.npy"), 0, 10);
    ASSERT_FALSE(x);
    EXPECT_EQ(x.error().code, Errc::kUnsupported);
  }
  EXPECT_TRUE(ReadAll(content, IndexOf(*a, "b.npy")));
}

// A compressed read is replied from the cache's chunks themselves, which
// the reply keeps alive however the cache moves on; a stored one from the
// caller's buffer.
TEST_P(ContentTest, RepliesFromChunksTheReplyKeepsAlive) {
  const Big& big = BigMember();
  ContentOptions o = Small(64 << 10);  // four 16 KiB chunks
  Content content(*big.archive, o);
  std::vector<std::byte> scratch(200'000);
  auto reply = content.Read(big.index, 5000, 100'000, scratch);
  ASSERT_TRUE(reply) << reply.error().message;
  EXPECT_EQ(reply->size(), 100'000u);
  EXPECT_GE(reply->pieces().size(), 7u);
  for (const auto& piece : reply->pieces()) {
    EXPECT_TRUE(piece.data() < scratch.data() || piece.data() >= scratch.data() + scratch.size());
  }
  // Other reads evict every chunk of the first from the cache.
  ASSERT_TRUE(ReadRange(content, big.index, 10'000'000, 500'000));
  std::string copy(reply->size(), '\0');
  reply->CopyTo(std::as_writable_bytes(std::span(copy)));
  EXPECT_TRUE(copy == big.want.substr(5000, 100'000));

  // A stored member of a file: from the file's mapping; of bytes in
  // memory (no mapping): read into the scratch buffer.
  auto stored = OpenPath(StandardArchive("stored"));
  ASSERT_TRUE(stored);
  const size_t i = IndexOf(*stored, "large.npy");
  Content plain(*stored, Defaults());
  auto r = plain.Read(i, 100, 5000, scratch);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->pieces().size(), 1u);
  const auto mapped = stored->source().Mapped();
  ASSERT_FALSE(mapped.empty());
  EXPECT_EQ(r->pieces()[0].data(), mapped.data() + stored->entries()[i].data_offset + 100);
  auto in_memory = OpenBytes(ReadFile(StandardArchive("stored")));
  Content memory(*in_memory, Defaults());
  auto m = memory.Read(i, 100, 5000, scratch);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->pieces()[0].data(), scratch.data());
  EXPECT_TRUE(std::equal(r->pieces()[0].begin(), r->pieces()[0].end(), m->pieces()[0].begin()));
}

// With no decoder kept between reads, the frontier restarts at its last
// access point every time, carrying the CRC-32 from there: the bytes are
// right, a good member passes its CRC check and a bad one fails it.
TEST_P(ContentTest, FrontierRestartedAtItsLastPointStillChecksTheCrc) {
  const std::string good = ReadFile(StandardArchive("compressed"));
  std::string bad = good;
  testing::PatchBoth(bad, "large.npy", testing::kLocalCrc, testing::kCentralCrc, 4, 0xdeadbeef);
  const std::string want =
      ReadFile(ZipfileDump(StandardArchive("compressed")) + "/" +
               std::to_string(IndexOf(*OpenBytes(good), "large.npy")) + ".bin");
  for (const std::string* bytes : {&good, static_cast<const std::string*>(&bad)}) {
    auto a = OpenBytes(*bytes);
    ASSERT_TRUE(a);
    ContentOptions o = Small(0);
    o.chunk_size = 4096;
    o.span = 8192;
    o.max_idle_decoders = 0;
    Content content(*a, o);
    const size_t i = IndexOf(*a, "large.npy");
    auto all = ReadAll(content, i, 3000);
    if (bytes == &good) {
      ASSERT_TRUE(all) << all.error().message;
      EXPECT_TRUE(*all == want);
      EXPECT_GT(content.stats().resumes, 10u);
    } else {
      ASSERT_FALSE(all);
      EXPECT_EQ(all.error().message.rfind("'large.npy': CRC-32 mismatch", 0), 0u)
          << all.error().message;
    }
  }
}

TEST_P(ContentTest, SequentialReadsDecodeEachByteOnce) {
  const Big& big = BigMember();
  ContentOptions o = Small(1 << 20);
  o.threads = 0;
  Content content(*big.archive, o);
  ASSERT_TRUE(ReadAll(content, big.index));
  EXPECT_EQ(content.stats().bytes_decoded, big.want.size());
  // A second pass, the cache long evicted: one resume, then one decoder
  // goes on.
  const ContentStats before = content.stats();
  auto all = ReadAll(content, big.index, 100'000);
  ASSERT_TRUE(all);
  EXPECT_TRUE(*all == big.want);
  const ContentStats after = content.stats();
  EXPECT_LE(after.bytes_decoded - before.bytes_decoded, big.want.size());
}

// A sequential reader's next chunks are decoded ahead: the first pass by
// one worker, a later pass (access points everywhere, the cache long
// evicted) by several at once, each byte about once.
TEST_P(ContentTest, SequentialReadersAreServedFromChunksDecodedAhead) {
  const Big& big = BigMember();
  ContentOptions o = Small(4 << 20);
  o.threads = 2;
  Content content(*big.archive, o);
  auto all = ReadAll(content, big.index);
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_TRUE(*all == big.want);
  const ContentStats first = content.stats();
  EXPECT_GT(first.ahead_plans, 0u);
  // At most the window past the end, which there is none of.
  EXPECT_EQ(first.bytes_decoded, big.want.size());
  EXPECT_GT(first.cache.hits, first.cache.misses);

  all = ReadAll(content, big.index);
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_TRUE(*all == big.want);
  const ContentStats second = content.stats();
  EXPECT_GT(second.ahead_plans - first.ahead_plans, 100u);  // many stretches
  // Each stretch starts at an access point before its first chunk.
  EXPECT_LE(second.bytes_decoded - first.bytes_decoded, big.want.size() * 11 / 10);
  EXPECT_EQ(second.crc_mismatches, 0u);
}

// Readers at random places are not decoded ahead of.
TEST_P(ContentTest, RandomReadsAreNotDecodedAhead) {
  const Big& big = BigMember();
  ContentOptions o = Small(4 << 20);
  o.threads = 2;
  Content content(*big.archive, o);
  ExpectRandomRangesRight(content, big, 7, 50, 4096);
  // Only a read that lands near the end of the one before counts as
  // sequential: a few of 50 in 64 MiB.
  EXPECT_LE(content.stats().ahead_plans, 3u);
}

// Bytes the test can change behind the archive's back, as a disk that
// returns other bytes would, with nothing to tell.
class SharedSource final : public ByteSource {
 public:
  explicit SharedSource(std::shared_ptr<std::string> bytes) : bytes_(std::move(bytes)) {
    identity_.size = bytes_->size();
  }
  Result<size_t> ReadAt(uint64_t offset, std::span<std::byte> out) const override {
    if (offset >= bytes_->size()) return size_t{0};
    const size_t n = std::min<uint64_t>(out.size(), bytes_->size() - offset);
    std::memcpy(out.data(), bytes_->data() + offset, n);
    return n;
  }
  const SourceIdentity& identity() const override { return identity_; }
  const std::string& name() const override { return name_; }

 private:
  std::shared_ptr<std::string> bytes_;
  SourceIdentity identity_;
  std::string name_ = "shared";
};

// A chunk made again from an access point must be what it was the first
// time: here the archive's bytes change between the two (a byte inside a
// stored deflate block, so the stream stays valid) and the read fails.
TEST_P(ContentTest, AChunkThatDecodesDifferentlyFailsTheRead) {
  std::string content_bytes(4 << 20, '\0');
  std::mt19937 rng(3);
  for (char& c : content_bytes) c = static_cast<char>(rng() % 4);
  const std::string npy =
      testing::NpyV1("|u1", "(" + std::to_string(content_bytes.size()) + ",)", content_bytes);
  z_stream z{};
  ASSERT_EQ(deflateInit2(&z, 0, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string deflated(npy.size() + 4096, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(npy.data()));
  z.avail_in = static_cast<uInt>(npy.size());
  z.next_out = reinterpret_cast<Bytef*>(deflated.data());
  z.avail_out = static_cast<uInt>(deflated.size());
  ASSERT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  deflated.resize(z.total_out);
  deflateEnd(&z);
  testing::ZipWriter w;
  testing::ZipMember m;
  m.name = "a.npy";
  m.data = deflated;
  m.method = 8;
  m.crc32 = testing::Crc32Of(npy);
  m.size = npy.size();
  w.Add(m);
  auto bytes = std::make_shared<std::string>(w.Finish());
  auto archive = Archive::FromSource(std::make_unique<SharedSource>(bytes));
  ASSERT_TRUE(archive) << archive.error().message;
  ContentOptions o = Small(256 << 10);
  o.threads = 0;
  Content content(**archive, o);
  auto all = ReadAll(content, 0);
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_TRUE(*all == npy);
  // Flip a byte in the middle of the data (inside a stored block: its
  // header is 5 bytes every 65,535 or so).
  (*bytes)[bytes->find(deflated) + deflated.size() / 2] ^= 1;
  auto again = ReadRange(content, 0, npy.size() / 2 - 100'000, 200'000);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::kCorrupt);
  EXPECT_NE(again.error().message.find("decoded differently"), std::string::npos)
      << again.error().message;
  EXPECT_EQ(content.stats().crc_mismatches, 1u);
}

std::unique_ptr<DiskCache> TestDiskCache(uint64_t size, uint64_t chunk_size) {
  DiskCacheOptions d;
  d.dir = ::testing::TempDir();
  d.size = size;
  auto disk = DiskCache::Open(d, chunk_size);
  EXPECT_TRUE(disk) << disk.error().message;
  return disk ? std::move(*disk) : nullptr;
}

// Chunks evicted from memory are read back from the disk cache, checked,
// not decoded again.
TEST_P(ContentTest, EvictedChunksAreReadFromTheDiskCache) {
  const Big& big = BigMember();
  ContentOptions o = Small(1 << 20);
  Content content(*big.archive, o, TestDiskCache(128 << 20, o.chunk_size));
  ASSERT_TRUE(ReadAll(content, big.index));
  content.disk_cache()->Flush();
  const ContentStats first = content.stats();
  EXPECT_GT(first.disk.puts, 0u);
  EXPECT_LE(first.cache.bytes, o.cache_size);
  ExpectRandomRangesRight(content, big, 5, 200, 4096);
  const ContentStats after = content.stats();
  EXPECT_EQ(after.bytes_decoded, first.bytes_decoded);  // nothing decoded again
  EXPECT_GT(after.disk_reads, 150u);
  EXPECT_EQ(after.disk.bad_reads, 0u);
}

// A disk cache smaller than the member keeps its bound; what it dropped is
// decoded again, right.
TEST_P(ContentTest, ASmallDiskCacheKeepsItsBound) {
  const Big& big = BigMember();
  ContentOptions o = Small(1 << 20);
  Content content(*big.archive, o, TestDiskCache(4 << 20, o.chunk_size));
  ASSERT_TRUE(ReadAll(content, big.index));
  ExpectRandomRangesRight(content, big, 6, 100, 4096);
  const ContentStats s = content.stats();
  EXPECT_EQ(s.disk.capacity, uint64_t{4} << 20);
  EXPECT_LE(s.disk.bytes, s.disk.capacity);
  EXPECT_GT(s.bytes_decoded, big.want.size());
}

// A chunk whose bytes changed on disk is not served: it is decoded again.
TEST_P(ContentTest, AChunkChangedInTheDiskCacheIsDecodedAgain) {
  const Big& big = BigMember();
  ContentOptions o = Small(1 << 20);
  o.threads = 0;
  Content content(*big.archive, o, TestDiskCache(128 << 20, o.chunk_size));
  ASSERT_TRUE(ReadAll(content, big.index));
  content.disk_cache()->Flush();
  ASSERT_TRUE(content.disk_cache()->CorruptForTest({big.index, 10}, 77));
  const uint64_t decoded = content.stats().bytes_decoded;
  auto got = ReadRange(content, big.index, 10 * o.chunk_size, o.chunk_size);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(*got, big.want.substr(10 * o.chunk_size, o.chunk_size));
  const ContentStats s = content.stats();
  EXPECT_EQ(s.disk.bad_reads, 1u);
  EXPECT_GT(s.bytes_decoded, decoded);
}

// A SOZip member: a read anywhere decodes from the SOZip chunk before it,
// on a fresh mount; a sequential reader is decoded ahead on several
// threads; reading it all checks the member's CRC-32.
std::string SozipNpy(size_t bytes) {
  std::string payload(bytes, '\0');
  std::mt19937 rng(9);
  for (char& c : payload) c = static_cast<char>(rng() % 8);
  return testing::NpyV1("|u1", "(" + std::to_string(bytes) + ",)", payload);
}

TEST_P(ContentTest, SozipMembersAreReadAnywhereFromTheFirstRead) {
  const std::string npy = SozipNpy(16 << 20);
  testing::ZipWriter w;
  testing::AddSozipMember(w, "a.npy", npy, {.chunk_size = 32 << 10});
  auto archive = OpenBytes(w.Finish());
  ASSERT_TRUE(archive);
  ASSERT_TRUE(archive->entries()[0].sozip) << archive->entries()[0].sozip_note;
  ContentOptions o = Defaults();
  o.threads = 0;
  Content content(*archive, o);
  const uint64_t at = npy.size() / 10 * 9;
  auto got = ReadRange(content, 0, at, 4096);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(*got, npy.substr(at, 4096));
  // From the SOZip chunk before it to the end of its own chunk.
  EXPECT_LE(content.stats().bytes_decoded, (32u << 10) + 2 * o.chunk_size);
  std::mt19937_64 rng(13);
  for (int k = 0; k < 50; ++k) {
    const uint64_t off = rng() % npy.size();
    auto piece = ReadRange(content, 0, off, 10'000);
    ASSERT_TRUE(piece) << piece.error().message;
    ASSERT_EQ(*piece, npy.substr(off, 10'000));
  }
}

TEST_P(ContentTest, SozipMembersAreDecodedAheadOnSeveralThreads) {
  const std::string npy = SozipNpy(16 << 20);
  testing::ZipWriter w;
  testing::AddSozipMember(w, "a.npy", npy, {.chunk_size = 32 << 10});
  auto archive = OpenBytes(w.Finish());
  ASSERT_TRUE(archive);
  ContentOptions o = Defaults();
  o.threads = 2;
  Content content(*archive, o);
  auto all = ReadAll(content, 0);
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_TRUE(*all == npy);
  const ContentStats s = content.stats();
  EXPECT_GT(s.ahead_plans, 8u);  // stretches between access points, not one frontier
  EXPECT_LE(s.bytes_decoded, npy.size() * 11 / 10);
}

// SOZip chunks carry no CRC of their own: a chunk spoiled in the archive
// is caught by the member's CRC-32, once every chunk is known, before the
// last of them is served.
TEST_P(ContentTest, ASpoiledSozipChunkFailsTheReadThatCompletesTheMember) {
  const std::string npy = SozipNpy(4 << 20);
  testing::ZipWriter w;
  // The member's recorded CRC-32 is not its bytes': what a spoiled chunk
  // amounts to, and a spoil that always decodes.
  testing::AddSozipMember(w, "a.npy", npy, {.chunk_size = 32 << 10, .member_crc_xor = 1});
  auto archive = OpenBytes(w.Finish());
  ASSERT_TRUE(archive);
  ASSERT_TRUE(archive->entries()[0].sozip);
  ContentOptions o = Defaults();
  o.threads = 0;
  Content content(*archive, o);
  // Backwards, so that no decoder runs from the start to the end.
  const uint64_t c = o.chunk_size;
  const uint64_t chunks = (npy.size() + c - 1) / c;
  for (uint64_t i = chunks; i-- > 1;) {
    auto got = ReadRange(content, 0, i * c, c);
    ASSERT_TRUE(got) << i << ": " << got.error().message;
  }
  auto last = ReadRange(content, 0, 0, c);
  ASSERT_FALSE(last);
  EXPECT_NE(last.error().message.find("CRC-32 mismatch"), std::string::npos)
      << last.error().message;
}

// A Content that keeps its index at `path`, loading what is there; its
// warnings go to `warnings`.
std::unique_ptr<Content> Persisting(const Archive& archive, const ContentOptions& o,
                                    const std::string& path, std::vector<std::string>* warnings) {
  auto setup = std::make_unique<PersistSetup>();
  setup->path = path;
  setup->identity = IdentityOf(archive);
  auto loaded = IndexFile::Open(path, setup->identity);
  if (loaded) setup->loaded = std::move(*loaded);
  setup->warn = [warnings](const std::string& line) { warnings->push_back(line); };
  return std::make_unique<Content>(archive, o, nullptr, std::move(setup));
}

std::string IndexPathFor(const char* what, InflateEngine engine) {
  const std::string path = ::testing::TempDir() + "/" + what + "_" +
                           std::to_string(static_cast<int>(engine)) + ".npzidx";
  std::remove(path.c_str());
  return path;
}

// One whole pass over the big member, by a Content that writes its index
// to `path` when it goes.
void IndexByAWholePass(const Big& big, const ContentOptions& o, const std::string& path) {
  std::vector<std::string> warnings;
  auto first = Persisting(*big.archive, o, path, &warnings);
  ASSERT_TRUE(ReadAll(*first, big.index));
}

// After one whole pass the index is written; a later Content reads at 90 %
// from a persisted point, and every chunk it makes is checked.
TEST_P(ContentTest, APersistedIndexGivesRandomAccessOnTheNextMount) {
  const Big& big = BigMember();
  const std::string path = IndexPathFor("persisted", GetParam());
  std::vector<std::string> warnings;
  ContentOptions o = Defaults();
  o.threads = 0;
  IndexByAWholePass(big, o, path);
  auto file = IndexFile::Open(path, IdentityOf(*big.archive));
  ASSERT_TRUE(file) << file.error().message;
  const PersistedMember* rec = (*file)->Find(big.archive->entries()[big.index]);
  ASSERT_NE(rec, nullptr);
  EXPECT_TRUE(rec->complete);
  EXPECT_GE(rec->points.size(), big.want.size() / (kPersistedSpan + (1 << 20)));
  // At most 2 % of the member.
  EXPECT_LE(std::filesystem::file_size(path), big.want.size() / 50);

  auto second = Persisting(*big.archive, o, path, &warnings);
  const uint64_t at = big.want.size() / 10 * 9;
  auto got = ReadRange(*second, big.index, at, 4096);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(*got, big.want.substr(at, 4096));
  EXPECT_LE(second->stats().bytes_decoded, kPersistedSpan + (1 << 20) + 2 * o.chunk_size);
  ExpectRandomRangesRight(*second, big, 21, 30, 10'000);
  EXPECT_TRUE(warnings.empty()) << warnings[0];
}

// A partial pass leaves a partial index at the end; a later pass to the
// end rewrites it, the earlier points' windows copied from the file as they
// were; a third Content reads from those points, right and without a word.
TEST_P(ContentTest, AnIndexRewrittenKeepsThePointsItHad) {
  const Big& big = BigMember();
  const std::string path = IndexPathFor("rewritten", GetParam());
  std::vector<std::string> warnings;
  ContentOptions o = Defaults();
  o.threads = 0;
  const uint64_t half = big.want.size() / 2;
  {
    auto first = Persisting(*big.archive, o, path, &warnings);
    ASSERT_TRUE(ReadRange(*first, big.index, half, 4096));
  }
  const IndexIdentity id = IdentityOf(*big.archive);
  auto partial = IndexFile::Open(path, id);
  ASSERT_TRUE(partial) << partial.error().message;
  const PersistedMember partial_rec = *(*partial)->Find(big.archive->entries()[big.index]);
  EXPECT_FALSE(partial_rec.complete);
  ASSERT_GE(partial_rec.points.size(), 3u);
  {
    auto second = Persisting(*big.archive, o, path, &warnings);
    auto all = ReadAll(*second, big.index);
    ASSERT_TRUE(all);
    EXPECT_TRUE(*all == big.want);
  }
  auto whole = IndexFile::Open(path, id);
  ASSERT_TRUE(whole) << whole.error().message;
  const PersistedMember& rec = *(*whole)->Find(big.archive->entries()[big.index]);
  EXPECT_TRUE(rec.complete);
  EXPECT_GT(rec.points.size(), partial_rec.points.size());
  const PersistedPoint& early = partial_rec.points[partial_rec.points.size() / 2];
  auto third = Persisting(*big.archive, o, path, &warnings);
  const uint64_t at = (early.out / o.chunk_size + 2) * o.chunk_size;
  auto got = ReadRange(*third, big.index, at, 4096);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(*got, big.want.substr(at, 4096));
  EXPECT_LE(third->stats().bytes_decoded, kPersistedSpan + (1 << 20) + 3 * o.chunk_size);
  EXPECT_TRUE(warnings.empty()) << warnings[0];
}

// An index whose window bytes, chunk CRCs or points are wrong never yields
// a wrong byte: the member's index is discarded (said once) and the member
// is decoded from its start.
TEST_P(ContentTest, AWrongPersistedIndexIsDiscardedAndTheBytesAreRight) {
  const Big& big = BigMember();
  const std::string path = IndexPathFor("wrong", GetParam());
  std::vector<std::string> warnings;
  ContentOptions o = Defaults();
  o.threads = 0;
  IndexByAWholePass(big, o, path);
  const IndexIdentity id = IdentityOf(*big.archive);
  auto good = IndexFile::Open(path, id);
  ASSERT_TRUE(good);
  const PersistedMember& rec = *(*good)->Find(big.archive->entries()[big.index]);
  const size_t k = rec.points.size() / 2;
  // In a chunk that starts after point k: decoded from it.
  const uint64_t at = (rec.points[k].out / o.chunk_size + 2) * o.chunk_size + 1000;
  // Rewrites the index with `spoil` applied to the member.
  auto rewrite = [&](const std::function<void(MemberToWrite&)>& spoil) {
    MemberToWrite w;
    w.member = rec;
    for (const PersistedPoint& p : rec.points) w.windows.push_back(*(*good)->ReadWindow(p));
    spoil(w);
    const std::string spoiled = path + ".spoiled";
    std::vector<MemberToWrite> members;
    members.push_back(std::move(w));
    EXPECT_TRUE(WriteIndexFile(spoiled, id, std::move(members)));
    return spoiled;
  };
  const std::vector<std::pair<const char*, std::function<void(MemberToWrite&)>>> spoils = {
      {"window",
       [&](MemberToWrite& w) {
         for (std::byte& b : w.windows[k]) b ^= std::byte{0x55};
       }},
      {"chunk crc",
       [&](MemberToWrite& w) {
         w.member.complete = false;  // so that the CRCs need not combine
         w.member.chunk_crcs[at / o.chunk_size] ^= 1;
       }},
      {"point", [&](MemberToWrite& w) { w.member.points[k].in += 1; }},
  };
  for (const auto& [what, spoil] : spoils) {
    const std::string spoiled = rewrite(spoil);
    warnings.clear();
    auto content = Persisting(*big.archive, o, spoiled, &warnings);
    auto got = ReadRange(*content, big.index, at, 4096);
    ASSERT_TRUE(got) << what << ": " << got.error().message;
    EXPECT_EQ(*got, big.want.substr(at, 4096)) << what;
    ASSERT_EQ(warnings.size(), 1u) << what << " " << (warnings.empty() ? "" : warnings[0]);
    EXPECT_NE(warnings[0].find("persisted index is discarded"), std::string::npos) << warnings[0];
    // Read on anywhere: right, and said no more.
    ExpectRandomRangesRight(*content, big, 22, 10, 10'000);
    EXPECT_EQ(warnings.size(), 1u) << what;
  }
}

}  // namespace
}  // namespace npzfs::core
