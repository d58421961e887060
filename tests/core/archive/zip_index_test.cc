#include "core/archive/zip_index.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/archive/archive.h"
#include "core/npy/header_scan.h"
#include "core/read/content.h"
#include "core/source/file_source.h"
#include "core/source/memory_source.h"
#include "tests/support/test_support.h"
#include "tests/support/zip_patch.h"

namespace npzfs::core {
namespace {

using testing::ReadFile;
using testing::StandardArchive;
using testing::ZipfileDump;

nlohmann::json ZipfileIndex(const std::string& archive) {
  return nlohmann::json::parse(ReadFile(ZipfileDump(archive) + "/index.json"));
}

Result<ZipIndex> IndexOf(std::string bytes) {
  MemorySource src(std::move(bytes), "test.npz");
  return ReadZipIndex(src);
}

// Our index agrees with zipfile on every member of every standard archive.
class ZipIndexVsZipfile : public ::testing::TestWithParam<const char*> {};

TEST_P(ZipIndexVsZipfile, MembersEqualWhatZipfileReads) {
  const std::string path = StandardArchive(GetParam());
  auto src = FileSource::Open(path);
  ASSERT_TRUE(src) << src.error().message;
  auto index = ReadZipIndex(**src);
  ASSERT_TRUE(index) << index.error().message;
  const nlohmann::json want = ZipfileIndex(path);
  ASSERT_EQ(index->entries.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    const ZipEntry& e = index->entries[i];
    SCOPED_TRACE(e.name);
    EXPECT_EQ(e.index, i);
    EXPECT_EQ(e.name, want[i]["name"]);
    EXPECT_EQ(e.size, want[i]["size"]);
    EXPECT_EQ(e.compressed_size, want[i]["compressed_size"]);
    EXPECT_EQ(e.crc32, want[i]["crc32"]);
    EXPECT_EQ(e.method, want[i]["method"]);
    const int flags = want[i]["flags"];
    EXPECT_EQ(e.encrypted, (flags & 1) != 0);
    EXPECT_EQ(e.data_descriptor, (flags & 8) != 0);
    EXPECT_EQ(e.utf8_name, (flags & 0x800) != 0);
    EXPECT_TRUE(e.local_error.empty()) << e.local_error;
    EXPECT_EQ(e.is_directory, e.name.back() == '/');
  }
}

INSTANTIATE_TEST_SUITE_P(Standard, ZipIndexVsZipfile,
                         ::testing::Values("stored", "compressed", "descriptor_stored",
                                           "descriptor_compressed", "comment", "nonnpy", "bzip2",
                                           "lzma", "prefix", "junk_after", "encrypted", "cp437",
                                           "empty"));

TEST(ZipIndexTest, NumpyMemberDataOffsetComesFromTheLocalHeader) {
  const std::string bytes = ReadFile(StandardArchive("stored"));
  auto index = IndexOf(bytes);
  ASSERT_TRUE(index) << index.error().message;
  for (const ZipEntry& e : index->entries) {
    // numpy writes a 20-byte zip64 extra in every local header only.
    EXPECT_EQ(e.data_offset, e.local_header_offset + 30 + e.name.size() + 20) << e.name;
    EXPECT_EQ(bytes.substr(e.data_offset, 6), "\x93NUMPY") << e.name;
    EXPECT_EQ(e.unix_mode, 0600u) << e.name;  // no file-type bits: a regular file
    EXPECT_FALSE(e.is_symlink);
  }
}

TEST(ZipIndexTest, KeysWithSlashesBecomePaths) {
  auto index = IndexOf(ReadFile(StandardArchive("stored")));
  ASSERT_TRUE(index);
  std::vector<std::string> paths;
  for (const ZipEntry& e : index->entries) paths.push_back(e.path);
  EXPECT_NE(std::find(paths.begin(), paths.end(), "group/sub/deep.npy"), paths.end());
}

TEST(ZipIndexTest, ReadsTheArchiveComment) {
  auto index = IndexOf(ReadFile(StandardArchive("comment")));
  ASSERT_TRUE(index);
  EXPECT_EQ(index->comment, "made for npzfs tests");
}

TEST(ZipIndexTest, DecodesUnflaggedNamesAsCp437) {
  auto index = IndexOf(ReadFile(StandardArchive("cp437")));
  ASSERT_TRUE(index);
  ASSERT_EQ(index->entries.size(), 2u);
  EXPECT_EQ(index->entries[0].name, "caf\xc3\xa9.npy");  // 0x82 -> U+00E9
  EXPECT_FALSE(index->entries[0].utf8_name);
  EXPECT_EQ(index->entries[1].name, "\xe6\xb8\xa9\xe5\xba\xa6.npy");
  EXPECT_TRUE(index->entries[1].utf8_name);
}

TEST(ZipIndexTest, SkipsAStubInFrontOfTheZip) {
  const std::string bytes = ReadFile(StandardArchive("prefix"));
  auto index = IndexOf(bytes);
  ASSERT_TRUE(index) << index.error().message;
  EXPECT_EQ(index->prefix, 430u);
  for (const ZipEntry& e : index->entries) {
    EXPECT_TRUE(e.local_error.empty()) << e.local_error;
    EXPECT_EQ(bytes.substr(e.data_offset - e.name.size() - 20, e.name.size()), e.name);
  }
}

// 2021-03-04 05:06:07 UTC.
constexpr int64_t kSomeTime = 1614834367;

// As mount-zip: NTFS times (100 ns) are taken over the extended timestamp
// (seconds), which is taken over the DOS time, whatever their order in the
// central directory's extra field.
TEST(ZipIndexTest, NtfsTimesGiveTheMtimeWithItsFraction) {
  using testing::ExtendedTimestampExtra;
  using testing::FileTime;
  using testing::NtfsTimesExtra;
  const uint64_t ntfs = FileTime(kSomeTime, 1234567);
  const std::string ntfs_extra = NtfsTimesExtra(ntfs, FileTime(1), FileTime(2));
  // Other attributes (tag 2 here) before tag 1 are stepped over.
  std::string other_first = ntfs_extra;
  other_first.insert(8, std::string("\x02\x00\x04\x00zzzz", 8));
  other_first[2] = 40;  // the field's size
  // Tag 1 claiming 24 bytes of which the field holds 16; tag 1 of 16 bytes.
  std::string past_field = ntfs_extra.substr(0, 28);
  past_field[2] = 24;
  std::string short_attr = past_field;
  short_attr[10] = 16;
  testing::TempDir dir;
  testing::WriteZipWithExtras(
      dir.Join("t.zip"),
      {{"ntfs", ntfs_extra},
       {"ut_then_ntfs", ExtendedTimestampExtra(1000) + ntfs_extra},
       {"ntfs_then_ut", ntfs_extra + ExtendedTimestampExtra(1000)},
       {"other_tag_first", other_first},
       {"ut", ExtendedTimestampExtra(1000)},
       {"before_1970", NtfsTimesExtra(FileTime(-1), 0, 0) + ExtendedTimestampExtra(1000)},
       {"past_field", past_field},
       {"short_attr", short_attr},
       {"none", ""}});
  auto index = IndexOf(ReadFile(dir.Join("t.zip")));
  ASSERT_TRUE(index) << index.error().message;
  ASSERT_EQ(index->entries.size(), 9u);
  for (const ZipEntry& e : index->entries) {
    SCOPED_TRACE(e.name);
    int64_t want = kSomeTime;
    uint32_t want_nsec = 123456700;
    if (e.name == "ut" || e.name == "before_1970") {
      want = 1000, want_nsec = 0;
    } else if (e.name == "past_field" || e.name == "short_attr" || e.name == "none") {
      want = e.dos_mtime, want_nsec = 0;
    }
    EXPECT_EQ(e.mtime(), want);
    EXPECT_EQ(e.mtime_nsec(), want_nsec);
  }
}

TEST(ZipIndexTest, EmptyArchiveHasNoMembers) {
  auto index = IndexOf(ReadFile(StandardArchive("empty")));
  ASSERT_TRUE(index) << index.error().message;
  EXPECT_TRUE(index->entries.empty());
}

TEST(ZipIndexTest, RefusesWhatIsNotAZip) {
  for (std::string bytes : {std::string(), std::string("PK"), std::string(100, 'x'),
                            std::string("\x93NUMPY\x01\x00", 8) + std::string(200, ' ')}) {
    auto index = IndexOf(bytes);
    ASSERT_FALSE(index);
    EXPECT_EQ(index.error().code, Errc::kCorrupt);
    EXPECT_NE(index.error().message.find("test.npz: not a zip archive"), std::string::npos)
        << index.error().message;
  }
}

TEST(ZipIndexTest, OpenReportsMissingAndUnreadableFiles) {
  auto missing = FileSource::Open("/nonexistent/a.npz");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::kNotFound);
  EXPECT_EQ(missing.error().message, "/nonexistent/a.npz: No such file or directory");
  auto dir = FileSource::Open("/");
  ASSERT_FALSE(dir);
  EXPECT_EQ(dir.error().code, Errc::kIo);
  EXPECT_EQ(dir.error().sys_errno, EISDIR);
  EXPECT_EQ(dir.error().message, "/: not a regular file (a directory)");
}

// Cutting the archive anywhere loses its end record: refused, kCorrupt.
TEST(ZipIndexTest, TruncatedArchiveIsRefused) {
  const std::string full = ReadFile(StandardArchive("compressed"));
  for (size_t cut = 0; cut < full.size(); cut += full.size() / 97 + 1) {
    auto index = IndexOf(full.substr(0, cut));
    ASSERT_FALSE(index) << "truncated at " << cut << " and still read";
    EXPECT_EQ(index.error().code, Errc::kCorrupt) << cut;
  }
  // Cut inside the central directory with a valid end record put back.
  const size_t cd = testing::CentralRecord(full, "bool.npy");
  const size_t eocd = full.rfind("PK\x05\x06");
  std::string cut = full.substr(0, cd + 100) + full.substr(eocd);
  auto index = IndexOf(cut);
  ASSERT_FALSE(index);
  EXPECT_EQ(index.error().code, Errc::kCorrupt);
}

TEST(ZipIndexTest, LocalHeaderThatContradictsTheCentralDirectoryFlagsOnlyThatMember) {
  const std::string full = ReadFile(StandardArchive("stored"));
  struct Case {
    const char* what;
    size_t field;
    int width;
    uint64_t value;
    const char* expect;
  };
  for (const Case& c : {Case{"method", testing::kLocalMethod, 2, 8, "method 8"},
                        Case{"crc", testing::kLocalCrc, 4, 1234, "CRC-32 1234"},
                        Case{"size", testing::kLocalUsize, 4, 7, "size 7"},
                        Case{"csize", testing::kLocalCsize, 4, 7, "compressed size 7"}}) {
    SCOPED_TRACE(c.what);
    std::string bytes = full;
    testing::PutLe(bytes, testing::LocalHeader(bytes, "f8.npy") + c.field, c.width, c.value);
    auto index = IndexOf(bytes);
    ASSERT_TRUE(index) << index.error().message;
    for (const ZipEntry& e : index->entries) {
      if (e.name == "f8.npy") {
        EXPECT_NE(e.local_error.find(c.expect), std::string::npos) << e.local_error;
      } else {
        EXPECT_TRUE(e.local_error.empty()) << e.name << ": " << e.local_error;
      }
    }
  }
  std::string bytes = full;
  bytes[testing::LocalHeader(bytes, "f8.npy")] = 'X';
  auto index = IndexOf(bytes);
  ASSERT_TRUE(index);
  for (const ZipEntry& e : index->entries) {
    if (e.name == "f8.npy") {
      EXPECT_NE(e.local_error.find("no local header"), std::string::npos);
    }
  }
}

TEST(ZipIndexTest, MemberDataPastTheEndIsFlagged) {
  std::string bytes = ReadFile(StandardArchive("stored"));
  // Claim a compressed size running past the end in both headers.
  testing::PatchBoth(bytes, "large.npy", testing::kLocalCsize, testing::kCentralCsize, 4,
                     0x7fffffff);
  testing::PatchBoth(bytes, "large.npy", testing::kLocalUsize, testing::kCentralUsize, 4,
                     0x7fffffff);
  auto index = IndexOf(bytes);
  ASSERT_TRUE(index) << index.error().message;
  bool seen = false;
  for (const ZipEntry& e : index->entries) {
    if (e.name != "large.npy") continue;
    seen = true;
    EXPECT_NE(e.local_error.find("runs past the end of the archive"), std::string::npos)
        << e.local_error;
  }
  EXPECT_TRUE(seen);
}

TEST(ZipIndexTest, MoreThan65535MembersUseZip64) {
  testing::TempDir dir;
  std::string out;
  ASSERT_EQ(testing::RunMakeNpz({dir.path(), "many"}, &out), 0) << out;
  auto archive = testing::OpenPath(dir.Join("many.npz"));
  ASSERT_TRUE(archive);
  ASSERT_EQ(archive->entries().size(), 70000u);
  EXPECT_EQ(archive->entries()[69999].name, "m69999.npy");
  auto h = ReadNpyHeader(*archive, 69999);
  ASSERT_TRUE(h) << h.error().message;
  Content content(*archive);
  std::byte value[4];
  auto got = content.Read(69999, h->data_offset, value);
  ASSERT_TRUE(got);
  ASSERT_EQ(*got, 4u);
  int32_t v;
  std::memcpy(&v, value, 4);
  EXPECT_EQ(v, 69999);
}

TEST(ZipIndexTest, MemberOver4GiBIsReadAtAnyOffset) {
  testing::TempDir dir;
  const uint64_t size = (uint64_t{4} << 30) + 12345;
  std::string out;
  ASSERT_EQ(testing::RunMakeNpz({"--huge", dir.Join("huge.zip"), std::to_string(size)}, &out), 0)
      << out;
  auto archive = testing::OpenPath(dir.Join("huge.zip"));
  ASSERT_TRUE(archive);
  ASSERT_EQ(archive->entries().size(), 1u);
  const ZipEntry& e = archive->entries()[0];
  EXPECT_EQ(e.size, size);
  EXPECT_EQ(e.compressed_size, size);
  EXPECT_TRUE(e.local_error.empty()) << e.local_error;
  Content content(*archive);
  std::vector<std::byte> buf(8192);
  auto got = content.Read(0, size - 8192, buf);
  ASSERT_TRUE(got) << got.error().message;
  ASSERT_EQ(*got, 8192u);
  for (size_t i = 0; i < 4096; ++i) ASSERT_EQ(buf[i], std::byte{0}) << i;
  for (size_t i = 0; i < 4096; ++i) {
    ASSERT_EQ(std::to_integer<int>(buf[4096 + i]), static_cast<int>((i * 7) % 251)) << i;
  }
  EXPECT_EQ(*content.Read(0, size, buf), 0u);
}

TEST(SafeMemberPathTest, CleansOrRejectsNamesAsSpecSays) {
  EXPECT_EQ(*SafeMemberPath("a.npy"), "a.npy");
  EXPECT_EQ(*SafeMemberPath("/abs/a.npy"), "abs/a.npy");
  EXPECT_EQ(*SafeMemberPath("dir/"), "dir");
  EXPECT_EQ(*SafeMemberPath("back\\slash.npy"), "back\\slash.npy");
  EXPECT_EQ(*SafeMemberPath(std::string(255, 'n')), std::string(255, 'n'));
  for (std::string bad :
       {std::string(""), std::string("/"), std::string("a//b.npy"), std::string("../x.npy"),
        std::string("a/./b"), std::string("a/.."), std::string("nul\0x", 5), std::string(256, 'n'),
        std::string(4097, 'a')}) {
    auto r = SafeMemberPath(bad);
    EXPECT_FALSE(r) << bad.substr(0, 40);
    if (!r) {
      EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
    }
  }
  // 5,000-byte path of short components.
  std::string deep;
  while (deep.size() < 5000) deep += "d/";
  EXPECT_FALSE(SafeMemberPath(deep + "x.npy"));
}

}  // namespace
}  // namespace npzfs::core
