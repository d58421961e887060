// The deflate engines (zlib and igzip): access points, resuming at them,
// every kind of deflate block. What MemberDecoder adds over them (sizes,
// CRC) is in member_decoder_test.cc; here it checks the declared sizes of
// streams the engines were given.
#include "core/codec/deflate.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <map>
#include <random>
#include <tuple>

#include "core/archive/archive.h"
#include "core/base/crc32.h"
#include "core/codec/member_decoder.h"
#include "core/source/memory_source.h"
#include "tests/support/test_support.h"

namespace npzfs::core {
namespace {

using testing::AsBytes;
using testing::EngineParamName;
using testing::Engines;
using testing::ReadFile;
using testing::StandardArchive;
using testing::ZipfileDump;

// Takes a point at the first block boundary every `span` bytes.
class EverySpan final : public PointSink {
 public:
  explicit EverySpan(uint64_t span) : span_(span) {}
  bool WantsPoint(uint64_t out) override {
    return points.empty() ? out >= span_ : out >= points.back().out + span_;
  }
  void AddPoint(AccessPoint p) override { points.push_back(std::move(p)); }
  std::vector<AccessPoint> points;

 private:
  uint64_t span_;
};

// A member's compressed stream, its declared span and its content.
struct Member {
  std::unique_ptr<ByteSource> owned;  // synthetic streams
  std::unique_ptr<Archive> archive;   // archive members
  StreamSpan span;
  uint32_t crc32 = 0;
  std::string want;

  const ByteSource& source() const { return archive ? archive->source() : *owned; }
};

// large.npy of the standard "compressed" archive (1.6 MB, numpy's zlib).
Member Large() {
  const std::string path = StandardArchive("compressed");
  Member m;
  m.archive = testing::OpenPath(path);
  for (size_t i = 0; i < m.archive->entries().size(); ++i) {
    const ZipEntry& e = m.archive->entries()[i];
    if (e.name != "large.npy") continue;
    m.span = {e.data_offset, e.compressed_size, e.size};
    m.crc32 = e.crc32;
    m.want = ReadFile(ZipfileDump(path) + "/" + std::to_string(i) + ".bin");
  }
  EXPECT_FALSE(m.want.empty());
  return m;
}

// `data` deflated raw by zlib at `level` with `strategy`, behind 7 bytes of
// something else (a stream need not start at offset 0).
Member Deflated(std::string data, int level, int strategy = Z_DEFAULT_STRATEGY) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, level, Z_DEFLATED, -15, 8, strategy), Z_OK);
  std::string out(deflateBound(&zs, data.size()) + 7, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(data.data());
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data() + 7);
  zs.avail_out = static_cast<uInt>(out.size() - 7);
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(7 + zs.total_out);
  deflateEnd(&zs);
  Member m;
  m.span = {7, out.size() - 7, data.size()};
  m.crc32 = Crc32(0, AsBytes(data));
  m.owned = std::make_unique<MemorySource>(std::move(out), "synthetic");
  m.want = std::move(data);
  return m;
}

// Bytes like numpy's smooth floats: a slow walk with noise, deflating ~3:1.
std::string Smooth(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    v += static_cast<int>(rng() % 5) - 2;
    s[i] = static_cast<char>(v + static_cast<int>(rng() % 3));
  }
  return s;
}

std::string Random(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

class InflaterTest : public ::testing::TestWithParam<InflateEngine> {
 protected:
  std::unique_ptr<DeflateDecoder> Make(const Member& m, InflateEngine engine) const {
    auto d = MakeInflater(engine);
    d->Reset(m.source(), m.span);
    return d;
  }
  std::unique_ptr<DeflateDecoder> Make(const Member& m) const { return Make(m, GetParam()); }

  // The member as MemberDecoder checks it, with its declared sizes `span`.
  std::unique_ptr<MemberDecoder> Checked(const Member& m, const StreamSpan& span) const {
    auto d = MemberDecoder::Open(m.source(), {kMethodDeflate, span, m.crc32, "'x.npy'"},
                                 CodecOptions{GetParam()});
    EXPECT_TRUE(d);
    return std::move(*d);
  }
};

INSTANTIATE_TEST_SUITE_P(Engines, InflaterTest, ::testing::ValuesIn(Engines()), EngineParamName);

template <class D>
Result<std::string> ReadN(D& d, size_t n) {
  std::string out(n, '\0');
  auto got = d.Read(std::span(reinterpret_cast<std::byte*>(out.data()), n));
  if (!got) return Fail(std::move(got).error());
  out.resize(*got);
  return out;
}

// Inflates the whole member in pieces of `piece` bytes with a sink taking
// points every `span`; checks the bytes and the CRC-32.
std::vector<AccessPoint> PointsOf(DeflateDecoder& d, const Member& m, uint64_t span,
                                  size_t piece = 50'000) {
  EverySpan sink(span);
  d.set_point_sink(&sink);
  std::string all;
  while (all.size() < m.want.size()) {
    auto part = ReadN(d, piece);
    EXPECT_TRUE(part) << part.error().message;
    if (!part || part->empty()) break;
    all += *part;
  }
  EXPECT_TRUE(all == m.want);
  EXPECT_EQ(d.crc(), m.crc32);
  d.set_point_sink(nullptr);
  return std::move(sink.points);
}

// Every point's window is the output before it and its CRC-32 that of the
// output before it.
void ExpectPointsMatch(const std::vector<AccessPoint>& points, const Member& m) {
  for (const AccessPoint& p : points) {
    ASSERT_LT(p.out, m.want.size() + 1);
    const size_t w = std::min<uint64_t>(p.out, kDeflateWindow);
    ASSERT_EQ(p.window.size(), w) << "point at " << p.out;
    EXPECT_EQ(testing::AsChars(p.window), std::string_view(m.want).substr(p.out - w, w))
        << "point at " << p.out;
    EXPECT_EQ(p.crc, Crc32(0, AsBytes(std::string_view(m.want).substr(0, p.out))))
        << "point at " << p.out;
  }
}

TEST_P(InflaterTest, RecordsPointsWithWindowAndCrcWhileInflating) {
  const Member m = Large();
  auto d = Make(m);
  const auto points = PointsOf(*d, m, 50'000, m.want.size() + 10);
  ASSERT_GE(points.size(), 10u);
  ExpectPointsMatch(points, m);
}

TEST_P(InflaterTest, ResumesAtEveryPointToTheEnd) {
  const Member m = Large();
  const auto points = PointsOf(*Make(m), m, 30'000);
  ASSERT_FALSE(points.empty());
  auto d = Make(m);
  std::mt19937 rng(2);
  for (auto it = points.rbegin(); it != points.rend(); ++it) {
    ASSERT_TRUE(d->Seek(*it));
    EXPECT_EQ(d->position(), it->out);
    const size_t n = 1 + rng() % 40'000;
    auto got = ReadN(*d, n);
    ASSERT_TRUE(got) << got.error().message;
    ASSERT_EQ(*got, m.want.substr(it->out, n)) << "point at " << it->out;
  }
  // From the last point to the end: the end is checked, and so is the CRC
  // carried from the point.
  ASSERT_TRUE(d->Seek(points.back()));
  auto rest = ReadN(*d, m.want.size());
  ASSERT_TRUE(rest) << rest.error().message;
  EXPECT_EQ(*rest, m.want.substr(points.back().out));
  EXPECT_EQ(d->crc(), m.crc32);
  ASSERT_TRUE(d->Seek(AccessPoint{}));
  auto head = ReadN(*d, 1000);
  ASSERT_TRUE(head);
  EXPECT_EQ(*head, m.want.substr(0, 1000));
}

// Points are interchangeable: either engine resumes at the other's.
TEST_P(InflaterTest, EitherEngineResumesAtThesePoints) {
  const Member m = Large();
  const auto points = PointsOf(*Make(m), m, 40'000);
  ASSERT_GE(points.size(), 10u);
  for (InflateEngine engine : Engines()) {
    SCOPED_TRACE(EngineName(engine));
    auto d = Make(m, engine);
    for (const AccessPoint& p : points) {
      ASSERT_TRUE(d->Seek(p));
      auto got = ReadN(*d, 5000);
      ASSERT_TRUE(got) << got.error().message;
      ASSERT_EQ(*got, m.want.substr(p.out, 5000)) << "point at " << p.out;
    }
  }
}

TEST_P(InflaterTest, DeclaredSizeIsEnforcedAfterASeek) {
  const Member m = Large();
  const auto points = PointsOf(*Make(m), m, 100'000);
  ASSERT_FALSE(points.empty());
  StreamSpan span = m.span;
  span.size -= 1;
  auto d = Checked(m, span);
  ASSERT_TRUE(d->Seek(points.back()));
  auto got = ReadN(*d, m.want.size());
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, Errc::kCorrupt);
  EXPECT_NE(got.error().message.find("goes on past the declared size"), std::string::npos);
}

TEST_P(InflaterTest, PointOutsideTheStreamIsCorrupt) {
  const Member m = Large();
  auto d = Make(m);
  AccessPoint p;
  p.out = m.span.size + 1;
  auto r = d->Seek(p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kCorrupt);
  p = AccessPoint{};
  p.bits = 3;  // bits of a byte before the stream
  EXPECT_FALSE(d->Seek(p));
}

// Streams of every kind of block: dynamic Huffman (numpy's), fixed Huffman,
// stored (incompressible data, level 0 and 6), and blocks of megabytes
// (zeros). All inflate right, in pieces of any size, and every point found
// resumes to the right bytes.
TEST_P(InflaterTest, EveryKindOfBlock) {
  struct Case {
    const char* name;
    std::string data;
    int level;
    int strategy;
  };
  std::vector<Case> cases;
  cases.push_back({"dynamic", Smooth(3 << 20, 1), 6, Z_DEFAULT_STRATEGY});
  cases.push_back({"fixed", Smooth(1 << 20, 2), 6, Z_FIXED});
  cases.push_back({"stored", Random(1 << 20, 3), 0, Z_DEFAULT_STRATEGY});
  cases.push_back({"incompressible", Random(1 << 20, 4), 6, Z_DEFAULT_STRATEGY});
  cases.push_back({"zeros", std::string(20 << 20, '\0'), 9, Z_DEFAULT_STRATEGY});
  for (Case& c : cases) {
    SCOPED_TRACE(c.name);
    const Member m = Deflated(std::move(c.data), c.level, c.strategy);
    for (size_t piece : {size_t{1000}, size_t{65536}, size_t{1} << 20}) {
      SCOPED_TRACE(piece);
      auto d = Make(m);
      const auto points = PointsOf(*d, m, 100'000, piece);
      ExpectPointsMatch(points, m);
      auto r = Make(m);
      for (const AccessPoint& p : points) {
        ASSERT_TRUE(r->Seek(p));
        auto got = ReadN(*r, 3000);
        ASSERT_TRUE(got) << got.error().message;
        ASSERT_EQ(*got, m.want.substr(p.out, 3000)) << "point at " << p.out;
      }
    }
  }
}

// The stream must end exactly at the declared size, within the compressed
// size: a stream cut short, a declared size one too large or too small are
// kCorrupt, never fewer or more bytes.
TEST_P(InflaterTest, StreamNotMatchingTheDeclaredSizesIsCorrupt) {
  const Member m = Deflated(Smooth(300'000, 5), 6);
  struct Case {
    const char* name;
    int64_t in_delta;
    int64_t out_delta;
    const char* says;
  };
  for (const Case& c : {Case{"cut by 1", -1, 0, "ends before the deflate stream does"},
                        Case{"cut by 1000", -1000, 0, "ends before the deflate stream does"},
                        Case{"declared 1 more", 0, 1, "ends before the declared size 300001"},
                        Case{"declared 1 less", 0, -1, "goes on past the declared size"}}) {
    SCOPED_TRACE(c.name);
    StreamSpan span = m.span;
    span.compressed_size =
        static_cast<uint64_t>(static_cast<int64_t>(span.compressed_size) + c.in_delta);
    span.size = static_cast<uint64_t>(static_cast<int64_t>(span.size) + c.out_delta);
    auto d = Checked(m, span);
    Result<size_t> got = size_t{0};
    uint64_t total = 0;
    std::vector<std::byte> buf(64 << 10);
    while (got && total < span.size) {
      got = d->Read(buf);
      if (got) total += *got;
    }
    ASSERT_FALSE(got) << "read " << total << " bytes";
    EXPECT_EQ(got.error().code, Errc::kCorrupt);
    EXPECT_EQ(got.error().message.rfind("'x.npy': ", 0), 0u) << got.error().message;
    EXPECT_NE(got.error().message.find(c.says), std::string::npos) << got.error().message;
  }
}

// A flipped bit either fails with kCorrupt or yields bytes whose CRC-32
// differs: the caller's CRC check then catches it.
TEST_P(InflaterTest, FlippedBitIsCorruptOrChangesTheCrc) {
  const Member good = Large();
  const std::string bytes = ReadFile(StandardArchive("compressed"));
  std::mt19937 rng(9);
  int failed = 0;
  for (int trial = 0; trial < 40; ++trial) {
    std::string bad = bytes;
    const size_t at = good.span.offset + rng() % good.span.compressed_size;
    bad[at] = static_cast<char>(bad[at] ^ (1 << (rng() % 8)));
    MemorySource src(std::move(bad));
    auto d = MakeInflater(GetParam());
    d->Reset(src, good.span);
    auto all = ReadN(*d, good.want.size());
    if (!all) {
      EXPECT_EQ(all.error().code, Errc::kCorrupt) << all.error().message;
      ++failed;
    } else if (*all != good.want) {
      EXPECT_NE(d->crc(), good.crc32) << "flip at " << at;
    }
  }
  EXPECT_GT(failed, 0);
}

#if NPZFS_HAVE_ISAL

// ISA-L's points sit exactly where zlib (Z_BLOCK) sees block boundaries,
// and it finds nearly all of those zlib would take at the same spacing,
// whether it predicts boundaries or looks for them step by step.
TEST(IsalInflaterTest, PointsAreZlibBlockBoundaries) {
  const Member m = Deflated(Smooth(8 << 20, 7), 6);
  std::map<uint64_t, std::tuple<uint64_t, int>> boundaries;  // out -> (in, bits)
  ZlibInflater zlib;
  zlib.Reset(m.source(), m.span);
  for (const AccessPoint& p : PointsOf(zlib, m, 1)) boundaries[p.out] = {p.in, p.bits};
  ASSERT_GT(boundaries.size(), 50u);
  ZlibInflater zlib_spaced;
  zlib_spaced.Reset(m.source(), m.span);
  const size_t zlib_count = PointsOf(zlib_spaced, m, 200'000).size();
  for (size_t step : {size_t{16}, size_t{32}, size_t{64}}) {
    SCOPED_TRACE(step);
    IsalInflater isal;
    isal.Reset(m.source(), m.span);
    isal.set_hunt_step(step);
    const auto points = PointsOf(isal, m, 200'000);
    for (const AccessPoint& p : points) {
      auto it = boundaries.find(p.out);
      ASSERT_NE(it, boundaries.end()) << "no block boundary at " << p.out;
      EXPECT_EQ(it->second, std::make_tuple(p.in, p.bits)) << "point at " << p.out;
    }
    EXPECT_GE(points.size() * 10, zlib_count * 9);
  }
}

#endif  // NPZFS_HAVE_ISAL

}  // namespace
}  // namespace npzfs::core
