#include "core/archive/member_reader.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "core/archive/archive.h"
#include "core/npy/header_scan.h"
#include "tests/support/test_support.h"
#include "tests/support/zip_patch.h"

namespace npzfs::core {
namespace {

using testing::AsChars;
using testing::ReadFile;
using testing::StandardArchive;
using testing::ZipfileDump;

std::unique_ptr<Archive> OpenBytes(std::string bytes) {
  auto a = Archive::FromSource(std::make_unique<MemorySource>(std::move(bytes), "test.npz"));
  EXPECT_TRUE(a) << a.error().message;
  return a ? std::move(*a) : nullptr;
}

size_t IndexOf(const Archive& a, std::string_view name) {
  for (size_t i = 0; i < a.entries().size(); ++i) {
    if (a.entries()[i].name == name) return i;
  }
  ADD_FAILURE() << "no member " << name;
  return 0;
}

// Reads [offset, offset + n) with one call.
Result<std::string> ReadRange(MemberReader& r, uint64_t offset, size_t n) {
  std::string out(n, '\0');
  auto got = r.ReadAt(offset, std::span(reinterpret_cast<std::byte*>(out.data()), n));
  if (!got) return Fail(std::move(got).error());
  out.resize(*got);
  return out;
}

// Reads the whole member front to back in `piece`-sized reads.
Result<std::string> ReadAll(MemberReader& r, size_t piece = 100'000) {
  std::string all;
  for (;;) {
    auto part = ReadRange(r, all.size(), piece);
    if (!part) return part;
    if (part->empty()) return all;
    all += *part;
  }
}

// Every byte of every member, read in several orders, equals what Python's
// zipfile reads; members zipfile cannot read fail here too.
class ReaderVsZipfile : public ::testing::TestWithParam<const char*> {};

TEST_P(ReaderVsZipfile, EveryByteEqualsZipfile) {
  const std::string path = StandardArchive(GetParam());
  const std::string dump = ZipfileDump(path);
  auto archive = Archive::Open(path);
  ASSERT_TRUE(archive) << archive.error().message;
  std::mt19937_64 rng(42);
  for (size_t i = 0; i < (*archive)->entries().size(); ++i) {
    const ZipEntry& e = (*archive)->entries()[i];
    SCOPED_TRACE(e.name);
    if (e.is_directory) continue;
    auto reader = (*archive)->OpenReader(i);
    const std::string bin = dump + "/" + std::to_string(i) + ".bin";
    if (!std::filesystem::exists(bin)) {
      EXPECT_FALSE(reader && ReadAll(**reader)) << "zipfile could not read it, we could";
      continue;
    }
    const std::string want = ReadFile(bin);
    ASSERT_TRUE(reader) << reader.error().message;
    auto all = ReadAll(**reader);
    ASSERT_TRUE(all) << all.error().message;
    ASSERT_EQ(*all, want);
    // Tail first, then random offsets and lengths, backwards and forwards.
    if (want.size() > 10) {
      auto tail = ReadRange(**reader, want.size() - 10, 100);
      ASSERT_TRUE(tail) << tail.error().message;
      EXPECT_EQ(*tail, want.substr(want.size() - 10));
    }
    for (int k = 0; k < 20; ++k) {
      const uint64_t off = want.empty() ? 0 : rng() % want.size();
      const size_t len = rng() % 70'000;
      auto got = ReadRange(**reader, off, len);
      ASSERT_TRUE(got) << got.error().message;
      ASSERT_EQ(*got, want.substr(off, len)) << "offset " << off << " length " << len;
    }
    auto past = ReadRange(**reader, want.size() + 5, 10);
    ASSERT_TRUE(past);
    EXPECT_TRUE(past->empty());
  }
}

INSTANTIATE_TEST_SUITE_P(Standard, ReaderVsZipfile,
                         ::testing::Values("stored", "compressed", "descriptor_stored",
                                           "descriptor_compressed", "comment", "nonnpy", "bzip2",
                                           "prefix", "junk_after", "cp437"));

TEST(MemberReaderTest, UnsupportedMethodsAndEncryptionSayWhy) {
  auto lzma = Archive::Open(StandardArchive("lzma"));
  ASSERT_TRUE(lzma);
  auto r = (*lzma)->OpenReader(IndexOf(**lzma, "x.npy"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kUnsupported);
  EXPECT_EQ(r.error().message, "'x.npy': compression method lzma is not supported");
  // The deflate member of the same archive still reads.
  auto y = (*lzma)->OpenReader(IndexOf(**lzma, "y.npy"));
  ASSERT_TRUE(y);
  EXPECT_TRUE(ReadAll(**y));

  auto enc = Archive::Open(StandardArchive("encrypted"));
  ASSERT_TRUE(enc);
  auto a = (*enc)->OpenReader(IndexOf(**enc, "a.npy"));
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code, Errc::kUnsupported);
  EXPECT_EQ(a.error().message, "'a.npy': encrypted members are not supported");
  EXPECT_TRUE((*enc)->OpenReader(IndexOf(**enc, "b.npy")));
}

TEST(MemberReaderTest, UnknownMethodIsUnsupported) {
  std::string bytes = ReadFile(StandardArchive("stored"));
  testing::PatchBoth(bytes, "f8.npy", testing::kLocalMethod, testing::kCentralMethod, 2, 77);
  auto a = OpenBytes(bytes);
  ASSERT_TRUE(a);
  auto r = a->OpenReader(IndexOf(*a, "f8.npy"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kUnsupported);
  EXPECT_EQ(r.error().message, "'f8.npy': compression method unknown(77) is not supported");
}

// A member read to its end must match its CRC-32: reading part of it works,
// reading the last byte fails, for each method.
TEST(MemberReaderTest, CrcMismatchFailsTheReadThatReachesTheEnd) {
  for (const char* kind : {"stored", "compressed"}) {
    SCOPED_TRACE(kind);
    std::string bytes = ReadFile(StandardArchive(kind));
    testing::PatchBoth(bytes, "f8.npy", testing::kLocalCrc, testing::kCentralCrc, 4, 0xdeadbeef);
    auto a = OpenBytes(bytes);
    ASSERT_TRUE(a);
    auto r = a->OpenReader(IndexOf(*a, "f8.npy"));
    ASSERT_TRUE(r);
    const uint64_t size = a->entries()[IndexOf(*a, "f8.npy")].size;
    EXPECT_TRUE(ReadRange(**r, 0, size - 1));
    auto last = ReadRange(**r, size - 1, 1);
    ASSERT_FALSE(last);
    EXPECT_EQ(last.error().code, Errc::kCorrupt);
    EXPECT_NE(last.error().message.find("'f8.npy': CRC-32 mismatch"), std::string::npos)
        << last.error().message;
    EXPECT_NE(last.error().message.find("archive says deadbeef"), std::string::npos);
  }
}

TEST(MemberReaderTest, CrcIsCheckedForBzip2Too) {
  std::string bytes = ReadFile(StandardArchive("bzip2"));
  testing::PatchBoth(bytes, "x.npy", testing::kLocalCrc, testing::kCentralCrc, 4, 0x12345678);
  auto a = OpenBytes(bytes);
  ASSERT_TRUE(a);
  auto r = a->OpenReader(IndexOf(*a, "x.npy"));
  ASSERT_TRUE(r);
  auto all = ReadAll(**r);
  ASSERT_FALSE(all);
  EXPECT_EQ(all.error().code, Errc::kCorrupt);
}

TEST(MemberReaderTest, CorruptDeflateStreamIsAnErrorNeverData) {
  const std::string good = ReadFile(StandardArchive("compressed"));
  auto ref = OpenBytes(good);
  ASSERT_TRUE(ref);
  const size_t i = IndexOf(*ref, "large.npy");
  const ZipEntry& e = ref->entries()[i];
  std::mt19937 rng(1);
  int errors = 0;
  for (int trial = 0; trial < 40; ++trial) {
    std::string bytes = good;
    const size_t at = e.data_offset + rng() % e.compressed_size;
    bytes[at] = static_cast<char>(bytes[at] ^ (1 << (rng() % 8)));
    auto a = OpenBytes(bytes);
    ASSERT_TRUE(a);
    auto r = a->OpenReader(i);
    ASSERT_TRUE(r);
    auto all = ReadAll(**r);
    // Every flipped bit is caught: by inflate, by the size check or by the
    // CRC. Never are different bytes returned as the member.
    ASSERT_FALSE(all) << "flip at " << at << " returned data";
    EXPECT_EQ(all.error().code, Errc::kCorrupt);
    EXPECT_EQ(all.error().message.rfind("'large.npy': ", 0), 0u) << all.error().message;
    ++errors;
  }
  EXPECT_EQ(errors, 40);
}

TEST(MemberReaderTest, DeclaredSizeIsEnforcedBothWays) {
  const std::string good = ReadFile(StandardArchive("compressed"));
  auto ref = OpenBytes(good);
  ASSERT_TRUE(ref);
  const uint64_t size = ref->entries()[IndexOf(*ref, "f4.npy")].size;
  struct Case {
    uint64_t declared;
    const char* expect;
  };
  for (const Case& c : {Case{size - 1, "goes on past the declared size"},
                        Case{size + 100, "ends before the declared size"}}) {
    std::string bytes = good;
    testing::PatchBoth(bytes, "f4.npy", testing::kLocalUsize, testing::kCentralUsize, 4,
                       c.declared);
    auto a = OpenBytes(bytes);
    ASSERT_TRUE(a);
    auto r = a->OpenReader(IndexOf(*a, "f4.npy"));
    ASSERT_TRUE(r);
    auto all = ReadAll(**r);
    ASSERT_FALSE(all);
    EXPECT_EQ(all.error().code, Errc::kCorrupt);
    EXPECT_NE(all.error().message.find(c.expect), std::string::npos) << all.error().message;
  }
}

TEST(MemberReaderTest, ArchiveTruncatedAfterIndexingFailsStoredReads) {
  const std::string good = ReadFile(StandardArchive("stored"));
  // Index the whole archive, then serve reads from a shorter copy: what a
  // file truncated under a mount looks like.
  auto index = ReadZipIndex(MemorySource(good));
  ASSERT_TRUE(index);
  MemorySource shorter(good.substr(0, good.size() / 2), "test.npz");
  for (const ZipEntry& e : index->entries) {
    if (e.data_offset + e.size <= shorter.size()) continue;
    auto r = OpenMemberReader(shorter, *index, e);
    ASSERT_TRUE(r);
    auto all = ReadAll(**r);
    ASSERT_FALSE(all) << e.name;
    EXPECT_EQ(all.error().code, Errc::kCorrupt);
  }
}

TEST(MemberReaderTest, LocalHeaderMismatchFailsOnlyThatMember) {
  std::string bytes = ReadFile(StandardArchive("compressed"));
  testing::PutLe(bytes, testing::LocalHeader(bytes, "f8.npy") + testing::kLocalMethod, 2, 0);
  auto a = OpenBytes(bytes);
  ASSERT_TRUE(a);
  auto r = a->OpenReader(IndexOf(*a, "f8.npy"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kCorrupt);
  EXPECT_EQ(r.error().message, "'f8.npy': local header says method 0, central directory says 8");
  EXPECT_TRUE(a->OpenReader(IndexOf(*a, "f4.npy")));
}

TEST(NpyHeaderOfMemberTest, EqualsNumpysViewOfEveryArray) {
  for (const char* kind : {"stored", "compressed", "descriptor_compressed", "bzip2"}) {
    SCOPED_TRACE(kind);
    const std::string path = StandardArchive(kind);
    auto want = nlohmann::json::parse(ReadFile(ZipfileDump(path) + "/index.json"));
    auto a = Archive::Open(path);
    ASSERT_TRUE(a);
    for (size_t i = 0; i < want.size(); ++i) {
      if (!want[i].contains("npy")) continue;
      SCOPED_TRACE(want[i]["name"].get<std::string>());
      auto h = ReadNpyHeader(**a, i);
      ASSERT_TRUE(h) << h.error().message;
      const auto& npy = want[i]["npy"];
      EXPECT_EQ(h->descr_repr, npy["descr"]);
      EXPECT_EQ(h->shape_repr, npy["shape"]);
      EXPECT_EQ(h->fortran_order, npy["fortran_order"]);
      EXPECT_EQ(h->data_offset, npy["data_offset"]);
      EXPECT_EQ(std::to_string(h->major) + "." + std::to_string(h->minor), npy["version"]);
      if (!h->has_object) {
        EXPECT_EQ(*h->data_size + h->data_offset, want[i]["size"].get<uint64_t>());
      }
    }
  }
}

// ScanArrays reads thousands of headers in batches, on two threads each
// over half of the archive, and leaves what it cannot read to
// ReadNpyHeader: whatever the split, each member's result is what
// ReadNpyHeader says of it alone.
TEST(ScanArraysTest, AgreesWithEachMembersOwnHeader) {
  testing::TempDir dir;
  std::string out;
  ASSERT_EQ(testing::RunMakeNpz({dir.path(), "scan_mix"}, &out), 0) << out;
  auto a = Archive::Open(dir.Join("scan_mix.npz"));
  ASSERT_TRUE(a) << a.error().message;
  Notes notes(SIZE_MAX);
  const std::vector<ArrayInfo> arrays = ScanArrays(**a, notes);
  ASSERT_EQ(arrays.size(), 6000u);
  size_t not_mappable = 0;
  std::set<uint64_t> offsets;
  for (size_t i = 0; i < arrays.size(); ++i) {
    SCOPED_TRACE((*a)->entries()[i].name);
    auto h = ReadNpyHeader(**a, i);
    ASSERT_EQ(arrays[i].header_ok, h.has_value());
    if (!h) {
      ++not_mappable;
      continue;
    }
    offsets.insert(h->data_offset);
    EXPECT_EQ(arrays[i].data_offset, h->data_offset);
    const uint64_t after_header = (*a)->entries()[i].size - h->data_offset;
    const bool mappable = !h->has_object && *h->data_size <= after_header;
    EXPECT_EQ(arrays[i].mappable, mappable);
    if (!mappable) ++not_mappable;
  }
  EXPECT_EQ(notes.count(NoteKind::kNoRawFile), not_mappable);
  EXPECT_EQ(not_mappable, 7u + 5 + 5);  // garbage, object and short members
  EXPECT_GE(offsets.size(), 2u);        // headers of more than one length
}

TEST(NpyHeaderOfMemberTest, HeaderRunningPastTheMemberIsCorrupt) {
  std::string bytes = ReadFile(StandardArchive("stored"));
  auto ref = OpenBytes(bytes);
  ASSERT_TRUE(ref);
  // HEADER_LEN of f8.npy (v1.0: 2 bytes at offset 8) made huge.
  const size_t data = testing::DataStart(bytes, "f8.npy");
  testing::PutLe(bytes, data + 8, 2, 0xfff0);
  // Keep the CRC right, so that only the header is wrong.
  const uint64_t size = ref->entries()[IndexOf(*ref, "f8.npy")].size;
  const uLong crc = crc32(0, reinterpret_cast<const Bytef*>(bytes.data() + data), size);
  testing::PatchBoth(bytes, "f8.npy", testing::kLocalCrc, testing::kCentralCrc, 4, crc);
  auto a = OpenBytes(bytes);
  ASSERT_TRUE(a);
  auto h = ReadNpyHeader(*a, IndexOf(*a, "f8.npy"));
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().code, Errc::kCorrupt);
  EXPECT_NE(h.error().message.find("runs past the member's end"), std::string::npos)
      << h.error().message;
}

TEST(SequentialCrcTest, CountsOnlyBytesThatExtendThePrefix) {
  const std::string data = "The quick brown fox jumps over the lazy dog";
  SequentialCrc crc;
  crc.Feed(10, testing::AsBytes(data).subspan(10, 5));  // a gap: ignored
  EXPECT_EQ(crc.checked(), 0u);
  crc.Feed(0, testing::AsBytes(data).first(12));
  crc.Feed(5, testing::AsBytes(data).subspan(5, 20));  // overlaps: the new part counts
  crc.Feed(25, testing::AsBytes(data).subspan(25));
  EXPECT_EQ(crc.checked(), data.size());
  EXPECT_EQ(crc.value(), 0x414fa339u);  // the well-known CRC-32 of this sentence
}

}  // namespace
}  // namespace npzfs::core
