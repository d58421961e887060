// MemberDecoder over every engine the registry has: members read through
// equal what Python's zipfile reads, and a member's bytes are exactly its
// declared size with its CRC-32, or an error naming the member.
#include "core/codec/member_decoder.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "core/archive/archive.h"
#include "core/archive/zip_index.h"
#include "core/source/memory_source.h"
#include "tests/support/test_support.h"
#include "tests/support/zip_patch.h"

namespace npzfs::core {
namespace {

using testing::IndexOf;
using testing::OpenBytes;
using testing::OpenPath;
using testing::ReadFile;
using testing::StandardArchive;
using testing::ZipfileDump;

// Reads the whole member front to back in `piece`-sized reads, then once
// more at the end (which must give nothing).
Result<std::string> ReadAll(MemberDecoder& d, size_t piece = 100'000) {
  std::string all;
  for (;;) {
    std::string part(piece, '\0');
    auto got = d.Read(std::as_writable_bytes(std::span(part)));
    if (!got) return Fail(std::move(got).error());
    if (*got == 0) return all;
    all.append(part, 0, *got);
  }
}

Result<std::string> ReadMember(const Archive& a, size_t i, size_t piece = 100'000) {
  auto d = a.OpenDecoder(i);
  if (!d) return Fail(std::move(d).error());
  return ReadAll(**d, piece);
}

// Every byte of every member, read in pieces of several sizes, equals what
// Python's zipfile reads; members zipfile cannot read fail here too.
class DecoderVsZipfile : public ::testing::TestWithParam<const char*> {};

TEST_P(DecoderVsZipfile, EveryByteEqualsZipfile) {
  const std::string path = StandardArchive(GetParam());
  const std::string dump = ZipfileDump(path);
  auto archive = OpenPath(path);
  ASSERT_TRUE(archive);
  for (size_t i = 0; i < archive->entries().size(); ++i) {
    const ZipEntry& e = archive->entries()[i];
    SCOPED_TRACE(e.name);
    if (e.is_directory) continue;
    const std::string bin = dump + "/" + std::to_string(i) + ".bin";
    if (!std::filesystem::exists(bin)) {
      EXPECT_FALSE(ReadMember(*archive, i)) << "zipfile could not read it, we could";
      continue;
    }
    const std::string want = ReadFile(bin);
    for (size_t piece : {size_t{1} << 20, size_t{70'001}, size_t{4096}}) {
      auto all = ReadMember(*archive, i, piece);
      ASSERT_TRUE(all) << all.error().message;
      ASSERT_EQ(*all, want) << "in pieces of " << piece;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Standard, DecoderVsZipfile,
                         ::testing::Values("stored", "compressed", "descriptor_stored",
                                           "descriptor_compressed", "comment", "nonnpy", "bzip2",
                                           "lzma", "prefix", "junk_after", "cp437"));

// One decoder reset from member to member reads each right: header scans
// decode 100,000 members with one.
TEST(MemberDecoderTest, ResetGoesFromMemberToMember) {
  for (const char* kind : {"compressed", "lzma", "bzip2"}) {
    SCOPED_TRACE(kind);
    const std::string path = StandardArchive(kind);
    const std::string dump = ZipfileDump(path);
    auto archive = OpenPath(path);
    ASSERT_TRUE(archive);
    std::unique_ptr<MemberDecoder> d;
    for (size_t i = 0; i < archive->entries().size(); ++i) {
      const ZipEntry& e = archive->entries()[i];
      if (e.is_directory || !CheckReadable(e)) continue;
      if (!d) {
        auto made = MemberDecoder::Open(archive->source(), StreamOf(e));
        ASSERT_TRUE(made);
        d = std::move(*made);
      } else {
        ASSERT_TRUE(d->Reset(archive->source(), StreamOf(e)));
      }
      auto all = ReadAll(*d, 3000);
      ASSERT_TRUE(all) << all.error().message;
      EXPECT_EQ(*all, ReadFile(dump + "/" + std::to_string(i) + ".bin")) << e.name;
    }
  }
}

TEST(MemberDecoderTest, EncryptionAndUnknownMethodsSayWhy) {
  auto enc = OpenPath(StandardArchive("encrypted"));
  ASSERT_TRUE(enc);
  auto a = enc->OpenDecoder(IndexOf(*enc, "a.npy"));
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code, Errc::kUnsupported);
  EXPECT_EQ(a.error().message, "'a.npy': encrypted members are not supported");
  EXPECT_TRUE(enc->OpenDecoder(IndexOf(*enc, "b.npy")));

  std::string bytes = ReadFile(StandardArchive("stored"));
  testing::PatchBoth(bytes, "f8.npy", testing::kLocalMethod, testing::kCentralMethod, 2, 77);
  auto s = OpenBytes(bytes);
  ASSERT_TRUE(s);
  auto r = s->OpenDecoder(IndexOf(*s, "f8.npy"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kUnsupported);
  EXPECT_EQ(r.error().message, "'f8.npy': compression method unknown(77) is not supported");
}

// A member read to its end must match its CRC-32: reading part of it works,
// reading the last byte fails, for each method.
TEST(MemberDecoderTest, CrcMismatchFailsTheReadThatReachesTheEnd) {
  for (auto [kind, name] : {std::pair{"stored", "f8.npy"}, std::pair{"compressed", "f8.npy"},
                            std::pair{"bzip2", "x.npy"}, std::pair{"lzma", "x.npy"}}) {
    SCOPED_TRACE(kind);
    std::string bytes = ReadFile(StandardArchive(kind));
    testing::PatchBoth(bytes, name, testing::kLocalCrc, testing::kCentralCrc, 4, 0xdeadbeef);
    auto a = OpenBytes(bytes);
    ASSERT_TRUE(a);
    auto d = a->OpenDecoder(IndexOf(*a, name));
    ASSERT_TRUE(d);
    const uint64_t size = a->entries()[IndexOf(*a, name)].size;
    std::string buf(size, '\0');
    auto most = (*d)->Read(std::as_writable_bytes(std::span(buf).first(size - 1)));
    ASSERT_TRUE(most) << most.error().message;
    auto last = (*d)->Read(std::as_writable_bytes(std::span(buf).subspan(size - 1)));
    ASSERT_FALSE(last);
    EXPECT_EQ(last.error().code, Errc::kCorrupt);
    EXPECT_EQ(last.error().message.rfind("'" + std::string(name) + "': CRC-32 mismatch", 0), 0u)
        << last.error().message;
    EXPECT_NE(last.error().message.find("archive says deadbeef"), std::string::npos);
  }
}

TEST(MemberDecoderTest, CorruptDeflateStreamIsAnErrorNeverData) {
  const std::string good = ReadFile(StandardArchive("compressed"));
  auto ref = OpenBytes(good);
  ASSERT_TRUE(ref);
  const size_t i = IndexOf(*ref, "large.npy");
  const ZipEntry& e = ref->entries()[i];
  std::mt19937 rng(1);
  for (int trial = 0; trial < 40; ++trial) {
    std::string bytes = good;
    const size_t at = e.data_offset + rng() % e.compressed_size;
    bytes[at] = static_cast<char>(bytes[at] ^ (1 << (rng() % 8)));
    auto a = OpenBytes(bytes);
    ASSERT_TRUE(a);
    auto all = ReadMember(*a, i);
    // Every flipped bit is caught: by inflate, by the size check or by the
    // CRC. Never are different bytes returned as the member.
    ASSERT_FALSE(all) << "flip at " << at << " returned data";
    EXPECT_EQ(all.error().code, Errc::kCorrupt);
    EXPECT_EQ(all.error().message.rfind("'large.npy': ", 0), 0u) << all.error().message;
  }
}

TEST(MemberDecoderTest, DeclaredSizeIsEnforcedBothWays) {
  for (auto [kind, name] : {std::pair{"compressed", "f4.npy"}, std::pair{"bzip2", "x.npy"},
                            std::pair{"lzma", "x.npy"}}) {
    SCOPED_TRACE(kind);
    const std::string good = ReadFile(StandardArchive(kind));
    auto ref = OpenBytes(good);
    ASSERT_TRUE(ref);
    const uint64_t size = ref->entries()[IndexOf(*ref, name)].size;
    struct Case {
      uint64_t declared;
      const char* expect;
    };
    // LZMA is told the declared size: its end marker anywhere else is
    // invalid data.
    const bool lzma = std::string_view(kind) == "lzma";
    for (const Case& c :
         {Case{size - 1, lzma ? "invalid LZMA data" : "goes on past the declared size"},
          Case{size + 100, lzma ? "invalid LZMA data" : "ends before the declared size"}}) {
      std::string bytes = good;
      testing::PatchBoth(bytes, name, testing::kLocalUsize, testing::kCentralUsize, 4, c.declared);
      auto a = OpenBytes(bytes);
      ASSERT_TRUE(a);
      auto all = ReadMember(*a, IndexOf(*a, name));
      ASSERT_FALSE(all);
      EXPECT_EQ(all.error().code, Errc::kCorrupt);
      EXPECT_NE(all.error().message.find(c.expect), std::string::npos) << all.error().message;
    }
  }
}

TEST(MemberDecoderTest, ArchiveTruncatedAfterIndexingFailsStoredReads) {
  const std::string good = ReadFile(StandardArchive("stored"));
  // Index the whole archive, then read from a shorter copy: what a file
  // truncated under a mount looks like.
  auto index = ReadZipIndex(MemorySource(good));
  ASSERT_TRUE(index);
  MemorySource shorter(good.substr(0, good.size() / 2), "test.npz");
  for (const ZipEntry& e : index->entries) {
    if (e.data_offset + e.size <= shorter.size()) continue;
    auto d = MemberDecoder::Open(shorter, StreamOf(e));
    ASSERT_TRUE(d);
    auto all = ReadAll(**d);
    ASSERT_FALSE(all) << e.name;
    EXPECT_EQ(all.error().code, Errc::kCorrupt);
  }
}

TEST(MemberDecoderTest, LocalHeaderMismatchFailsOnlyThatMember) {
  std::string bytes = ReadFile(StandardArchive("compressed"));
  testing::PutLe(bytes, testing::LocalHeader(bytes, "f8.npy") + testing::kLocalMethod, 2, 0);
  auto a = OpenBytes(bytes);
  ASSERT_TRUE(a);
  auto r = a->OpenDecoder(IndexOf(*a, "f8.npy"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kCorrupt);
  EXPECT_EQ(r.error().message, "'f8.npy': local header says method 0, central directory says 8");
  EXPECT_TRUE(a->OpenDecoder(IndexOf(*a, "f4.npy")));
}

TEST(MemberDecoderTest, SequentialCodecsStartOnlyAtTheStart) {
  auto a = OpenPath(StandardArchive("lzma"));
  ASSERT_TRUE(a);
  auto d = a->OpenDecoder(IndexOf(*a, "x.npy"));
  ASSERT_TRUE(d);
  EXPECT_FALSE((*d)->codec().resumable);
  AccessPoint p;
  p.out = 100;
  auto r = (*d)->Seek(p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kUnsupported);
  EXPECT_TRUE((*d)->Seek(AccessPoint{}));
}

}  // namespace
}  // namespace npzfs::core
