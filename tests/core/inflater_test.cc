#include "core/inflater.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <random>

#include "core/archive.h"
#include "tests/support/test_support.h"

namespace npzfs::core {
namespace {

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

struct Member {
  std::unique_ptr<Archive> archive;
  DeflateSpan span;
  uint32_t crc32 = 0;
  std::string want;
};

Member Large() {
  const std::string path = StandardArchive("compressed");
  Member m;
  auto a = Archive::Open(path);
  EXPECT_TRUE(a);
  m.archive = std::move(*a);
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

Result<std::string> ReadN(Decoder& d, size_t n) {
  std::string out(n, '\0');
  auto got = d.Read(std::span(reinterpret_cast<std::byte*>(out.data()), n));
  if (!got) return Fail(std::move(got).error());
  out.resize(*got);
  return out;
}

TEST(RawInflaterTest, RecordsPointsWithWindowAndCrcWhileInflating) {
  Member m = Large();
  RawInflater inflater(m.archive->source(), m.span, "large.npy");
  EverySpan sink(50'000);
  inflater.set_point_sink(&sink);
  inflater.set_track_crc(true);
  auto all = ReadN(inflater, m.want.size() + 10);
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(*all, m.want);
  EXPECT_EQ(inflater.crc(), m.crc32);
  ASSERT_GE(sink.points.size(), 10u);
  for (const AccessPoint& p : sink.points) {
    ASSERT_LT(p.out, m.want.size());
    const size_t w = std::min<uint64_t>(p.out, kDeflateWindow);
    ASSERT_EQ(p.window.size(), w);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(p.window.data()), w),
              m.want.substr(p.out - w, w));
    EXPECT_EQ(p.crc, crc32(0, reinterpret_cast<const Bytef*>(m.want.data()),
                           static_cast<uInt>(p.out)));
  }
}

TEST(RawInflaterTest, ResumesAtEveryPointToTheEnd) {
  Member m = Large();
  std::vector<AccessPoint> points;
  {
    RawInflater inflater(m.archive->source(), m.span, "large.npy");
    EverySpan sink(30'000);
    inflater.set_point_sink(&sink);
    inflater.set_track_crc(true);
    ASSERT_TRUE(ReadN(inflater, m.want.size()));
    points = std::move(sink.points);
  }
  RawInflater inflater(m.archive->source(), m.span, "large.npy");
  inflater.set_track_crc(true);
  std::mt19937 rng(2);
  for (auto it = points.rbegin(); it != points.rend(); ++it) {
    ASSERT_TRUE(inflater.Seek(*it));
    EXPECT_EQ(inflater.position(), it->out);
    const size_t n = 1 + rng() % 40'000;
    auto got = ReadN(inflater, n);
    ASSERT_TRUE(got) << got.error().message;
    ASSERT_EQ(*got, m.want.substr(it->out, n)) << "point at " << it->out;
  }
  // From the last point to the end: the end is checked, and so is the CRC
  // carried from the point.
  ASSERT_TRUE(inflater.Seek(points.back()));
  auto rest = ReadN(inflater, m.want.size());
  ASSERT_TRUE(rest) << rest.error().message;
  EXPECT_EQ(*rest, m.want.substr(points.back().out));
  EXPECT_EQ(inflater.crc(), m.crc32);
  ASSERT_TRUE(inflater.Seek(AccessPoint{}));
  auto head = ReadN(inflater, 1000);
  ASSERT_TRUE(head);
  EXPECT_EQ(*head, m.want.substr(0, 1000));
}

TEST(RawInflaterTest, DeclaredSizeIsEnforcedAfterASeek) {
  Member m = Large();
  std::vector<AccessPoint> points;
  {
    RawInflater inflater(m.archive->source(), m.span, "large.npy");
    EverySpan sink(100'000);
    inflater.set_point_sink(&sink);
    ASSERT_TRUE(ReadN(inflater, m.want.size()));
    points = std::move(sink.points);
  }
  ASSERT_FALSE(points.empty());
  DeflateSpan shorter = m.span;
  shorter.out_size -= 1;
  RawInflater inflater(m.archive->source(), shorter, "large.npy");
  ASSERT_TRUE(inflater.Seek(points.back()));
  auto got = ReadN(inflater, m.want.size());
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, Errc::kCorrupt);
  EXPECT_NE(got.error().message.find("goes on past the declared size"), std::string::npos);
}

TEST(RawInflaterTest, PointOutsideTheStreamIsCorrupt) {
  Member m = Large();
  RawInflater inflater(m.archive->source(), m.span, "large.npy");
  AccessPoint p;
  p.out = m.span.out_size + 1;
  auto r = inflater.Seek(p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kCorrupt);
  p = AccessPoint{};
  p.bits = 3;  // bits of a byte before the stream
  EXPECT_FALSE(inflater.Seek(p));
}

}  // namespace
}  // namespace npzfs::core
