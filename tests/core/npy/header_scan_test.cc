// The npy headers of archive members: one at a time (ReadNpyHeader), and
// thousands at mount time (ScanArrays), against what numpy says.
#include "core/npy/header_scan.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <nlohmann/json.hpp>
#include <set>

#include "core/base/notes.h"
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

TEST(NpyHeaderOfMemberTest, EqualsNumpysViewOfEveryArray) {
  for (const char* kind : {"stored", "compressed", "descriptor_compressed", "bzip2", "lzma"}) {
    SCOPED_TRACE(kind);
    const std::string path = StandardArchive(kind);
    auto want = nlohmann::json::parse(ReadFile(ZipfileDump(path) + "/index.json"));
    auto a = OpenPath(path);
    ASSERT_TRUE(a);
    for (size_t i = 0; i < want.size(); ++i) {
      if (!want[i].contains("npy")) continue;
      SCOPED_TRACE(want[i]["name"].get<std::string>());
      auto h = ReadNpyHeader(*a, i);
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
  auto a = OpenPath(dir.Join("scan_mix.npz"));
  ASSERT_TRUE(a);
  Notes notes(SIZE_MAX);
  const std::vector<ArrayInfo> arrays = ScanArrays(*a, notes);
  ASSERT_EQ(arrays.size(), 6000u);
  size_t not_mappable = 0;
  std::set<uint64_t> offsets;
  for (size_t i = 0; i < arrays.size(); ++i) {
    SCOPED_TRACE(a->entries()[i].name);
    auto h = ReadNpyHeader(*a, i);
    ASSERT_EQ(arrays[i].header_ok, h.has_value());
    if (!h) {
      ++not_mappable;
      continue;
    }
    offsets.insert(h->data_offset);
    EXPECT_EQ(arrays[i].data_offset, h->data_offset);
    const uint64_t after_header = a->entries()[i].size - h->data_offset;
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

}  // namespace
}  // namespace npzfs::core
