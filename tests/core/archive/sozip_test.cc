#include "core/archive/sozip.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <random>
#include <string>

#include "core/archive/archive.h"
#include "tests/support/sozip_writer.h"
#include "tests/support/test_support.h"
#include "tests/support/zip_writer.h"

namespace npzfs::core {
namespace {

using testing::AddSozipMember;
using testing::OpenBytes;
using testing::SozipOptions;
using testing::ZipWriter;

std::string Content(size_t n, unsigned seed = 1) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() % 16);  // compressible
  return s;
}

// Raw-inflates `deflated` from byte `at` with a fresh stream and no
// dictionary, `n` bytes of output.
std::string InflateFrom(const std::string& deflated, uint64_t at, size_t n) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, -15), Z_OK);
  std::string out(n, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(deflated.data() + at));
  z.avail_in = static_cast<uInt>(deflated.size() - at);
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(n);
  const int r = inflate(&z, Z_SYNC_FLUSH);
  EXPECT_TRUE(r == Z_OK || r == Z_STREAM_END) << r;
  out.resize(n - z.avail_out);
  inflateEnd(&z);
  return out;
}

const ZipEntry& Only(const Archive& a, std::string_view name) {
  return a.entries()[testing::IndexOf(a, name)];
}

TEST(SozipTest, IndexNameIsHiddenInTheMembersDirectory) {
  EXPECT_EQ(SozipIndexName("a.npy"), ".a.npy.sozip.idx");
  EXPECT_EQ(SozipIndexName("dir/sub/a.npy"), "dir/sub/.a.npy.sozip.idx");
}

TEST(SozipTest, ChunksDecodeAloneFromEveryStart) {
  const std::string content = Content(300'000);
  ZipWriter w;
  AddSozipMember(w, "a.npy", content, {.chunk_size = 32 << 10});
  w.AddStored("b.npy", "plain");
  auto a = OpenBytes(w.Finish());
  ASSERT_TRUE(a);
  ASSERT_EQ(a->entries().size(), 2u);  // the index entry is not a member
  const ZipEntry& e = Only(*a, "a.npy");
  ASSERT_TRUE(e.sozip) << e.sozip_note;
  EXPECT_EQ(e.sozip->chunk_size, 32u << 10);
  ASSERT_EQ(e.sozip->chunk_count(), 10u);  // ceil(300000 / 32768)
  const auto stream = testing::SozipDeflate(content, 32 << 10);
  for (size_t i = 0; i < e.sozip->chunk_count(); ++i) {
    const uint64_t begin = i * (32 << 10);
    const size_t n = std::min<size_t>(32 << 10, content.size() - begin);
    EXPECT_EQ(InflateFrom(stream.deflated, e.sozip->chunk_start(i), n), content.substr(begin, n))
        << "chunk " << i;
  }
  EXPECT_FALSE(Only(*a, "b.npy").sozip);
}

TEST(SozipTest, AnIndexThatDoesNotFitIsIgnoredWithANote) {
  const std::string content = Content(200'000);
  struct Case {
    const char* what;
    SozipOptions o;
    const char* note;  // empty: no index found at all
  };
  for (const Case& c : std::vector<Case>{
           {"version", {.version = 2}, "version 2"},
           {"offset size", {.offset_size = 4}, "offset size 4"},
           {"size", {.size_delta = 1}, "are not the member's"},
           {"compressed size", {.compressed_size_delta = -1}, "are not the member's"},
           {"order", {.swap_two_offsets = true}, "is not after the one before"},
           {"count", {.drop_last_offset = true}, "not the"},
           {"crc", {.bad_crc = true}, "fails its CRC-32"},
           {"skip bytes", {.skip_bytes = 8}, ""},
           {"name", {.name_without_dot = true}, ""},
       }) {
    ZipWriter w;
    AddSozipMember(w, "a.npy", content, c.o);
    auto a = OpenBytes(w.Finish());
    ASSERT_TRUE(a) << c.what;
    const ZipEntry& e = Only(*a, "a.npy");
    if (std::string(c.what) == "skip bytes") {
      // Skipped bytes are allowed: the index still fits.
      EXPECT_TRUE(e.sozip) << e.sozip_note;
      continue;
    }
    EXPECT_FALSE(e.sozip) << c.what;
    if (c.note[0] == '\0') {
      EXPECT_EQ(e.sozip_note, "") << c.what;
    } else {
      EXPECT_NE(e.sozip_note.find(c.note), std::string::npos) << c.what << ": " << e.sozip_note;
    }
  }
}

TEST(SozipTest, ParserIsBoundedByTheMember) {
  std::string header(32, '\0');
  header[0] = 1;                        // version
  header[9] = static_cast<char>(0x80);  // chunk size 32768
  header[12] = 8;                       // offset size
  // A member of 2^40 bytes would need 2^25 offsets: more than believed.
  auto r = ParseSozipIndex(std::as_bytes(std::span(header)), uint64_t{1} << 40, 1000);
  EXPECT_FALSE(r);
  r = ParseSozipIndex(std::as_bytes(std::span(header).first(31)), 100'000, 1000);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("shorter than its header"), std::string::npos);
}

TEST(SozipTest, AStoredMemberOrAMemberOfOneChunkHasNoIndex) {
  ZipWriter w;
  w.AddStored("s.npy", Content(100'000));
  AddSozipMember(w, "one.npy", Content(1000), {.chunk_size = 32 << 10});
  auto a = OpenBytes(w.Finish());
  ASSERT_TRUE(a);
  EXPECT_FALSE(Only(*a, "s.npy").sozip);
  EXPECT_FALSE(Only(*a, "one.npy").sozip);
  EXPECT_NE(Only(*a, "one.npy").sozip_note.find("one chunk"), std::string::npos)
      << Only(*a, "one.npy").sozip_note;
}

}  // namespace
}  // namespace npzfs::core
