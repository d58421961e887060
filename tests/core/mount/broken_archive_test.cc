// The core on broken, hostile and odd archives: every case that
// tests/support/break_npz.py makes, checked against the expectation the
// generator writes next to it (its manifest):
//
//  - "refused": Archive::Open fails with kCorrupt and one line that starts
//    with the archive's path and says why;
//  - "opens": the index has the expected members; each is listed at its
//    path or left out with a skip_reason; a member whose local header or
//    data cannot be trusted carries a local_error; reading it through both
//    read paths (MemberReader and Content, which the filesystem uses)
//    gives exactly its bytes, or fails with kCorrupt / kUnsupported and a
//    message naming the member and the cause, having returned no byte that
//    is not the member's; its npy header parses or fails as stated, and
//    the raw view could serve it or not (SPEC §2).
//
// The same manifest drives the mount tests; there, kCorrupt is EIO and
// kUnsupported ENOTSUP.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "core/archive/archive.h"
#include "core/base/text.h"
#include "core/mount/mounted_archive.h"
#include "core/npy/header_scan.h"
#include "core/read/content.h"
#include "core/source/file_source.h"
#include "tests/support/test_support.h"

namespace npzfs::core {
namespace {

using nlohmann::json;

// Every case of break_npz.py, by group (GeneratorListsExactlyTheseCases
// keeps this in step with the generator).
const char* const kCases[] = {
    // truncation
    "trunc_end_record_0",
    "trunc_end_record_4",
    "trunc_end_record_14",
    "trunc_end_record_21",
    "trunc_comment",
    "trunc_central_directory_start",
    "trunc_central_directory_middle",
    "trunc_central_directory_end",
    "trunc_local_header",
    "trunc_member_data",
    "cd_cut_end_record_kept",
    "cd_cut_size_adjusted",
    "trunc_data_stored_short",
    "trunc_data_stored_past_end",
    "trunc_data_deflate_short",
    "trunc_data_deflate_past_end",
    // end record and central directory
    "eocd_cd_offset_low",
    "eocd_cd_offset_high",
    "eocd_cd_size_too_large",
    "eocd_multi_disk",
    "zip64_locator_without_record",
    "cd_bad_signature",
    "eocd_count_wrong",
    "zip64_extra_too_short",
    "zip64_everything",
    "prefix_stub",
    "stub_removed_offsets_adjusted",
    "junk_after_end",
    // local headers against the central directory
    "local_method_differs",
    "central_method_differs",
    "local_name_differs",
    "local_name_longer",
    "local_crc_differs",
    "local_size_differs",
    "local_csize_differs",
    "local_zip64_size_differs",
    "local_signature_bad",
    "local_offset_past_end",
    "local_header_past_end",
    "cd_entries_share_local_header",
    "descriptor_zero_local_sizes",
    "descriptor_local_sizes_wrong",
    // declared sizes against the data
    "size_smaller_deflate",
    "size_larger_deflate",
    "csize_smaller_deflate",
    "csize_larger_deflate",
    "size_smaller_stored",
    "size_larger_stored",
    "stored_sizes_differ",
    "bomb_declared_small",
    "size_smaller_bzip2",
    "size_larger_bzip2",
    // CRC-32
    "crc_stored",
    "crc_deflate",
    "crc_bzip2",
    "crc_empty_members",
    // npy headers
    "npy_garbage",
    "npy_truncated_prefix",
    "npy_empty_member",
    "npy_bad_version",
    "npy_header_len_past_member",
    "npy_overlong_header",
    "npy_lying_shape",
    "npy_shape_overflow",
    "npy_data_short",
    "npy_data_long",
    "npy_negative_dim",
    "npy_missing_key",
    "npy_nul_in_header",
    "npy_header_garbage",
    "npy_unknown_dtype",
    "npy_object_array",
    // names
    "name_dotdot",
    "name_dot",
    "name_absolute",
    "name_empty_component",
    "name_empty",
    "name_nul",
    "name_300_chars",
    "name_5000_chars",
    "name_deep",
    "name_backslash",
    "name_bad_utf8",
    "name_encodings",
    "name_duplicates",
    "name_file_dir_conflict",
    "name_directory_with_data",
    "name_raw_collision",
    // encryption and methods
    "encrypted_zipcrypto",
    "encrypted_deflate",
    "encrypted_strong",
    "encrypted_aes",
    "method_bzip2",
    "method_lzma",
    "method_zstd_corrupt",
    "method_deflate64",
    "method_unknown",
    "method_bzip2_corrupt",
    "method_deflate_corrupt",
    // empty and many
    "empty_numpy",
    "empty_with_comment",
    "empty_file",
    "empty_short_file",
    "many_members",
    "many_members_count_wrapped",
};

// The manifest's TEXT: a substring `text` must contain, or a list of
// substrings of which it must contain one.

// Writes one case into `dir`; returns its manifest entry.
json MakeCase(const testing::TempDir& dir, const std::string& name) {
  std::string out;
  EXPECT_EQ(testing::RunBreakNpz({"--outdir", dir.path(), name}, &out), 0) << out;
  const json manifest = json::parse(testing::ReadFile(dir.Join("manifest.json")));
  return manifest.at("cases").at(0);
}

// What reading a member through gave: the bytes before any error, and
// the error.
struct ReadOutcome {
  std::string bytes;
  std::optional<Error> error;
};

template <class ReadAt>
ReadOutcome ReadThrough(size_t piece, ReadAt read_at) {
  ReadOutcome r;
  std::string buf(piece, '\0');
  for (;;) {
    auto got = read_at(r.bytes.size(), std::span(reinterpret_cast<std::byte*>(buf.data()), piece));
    if (!got) {
      r.error = std::move(got).error();
      return r;
    }
    r.bytes.append(buf, 0, *got);
    if (*got < piece) return r;
  }
}

ReadOutcome ReadWithDecoder(const Archive& archive, size_t i) {
  auto decoder = archive.OpenDecoder(i);
  if (!decoder) return {{}, decoder.error()};
  return ReadThrough(40'000,
                     [&](uint64_t, std::span<std::byte> out) { return (*decoder)->Read(out); });
}

// The archive set up as a mount sets it up.
Result<std::unique_ptr<MountedArchive>> Mount(const std::string& path) {
  auto source = FileSource::Open(path);
  if (!source) return Fail(std::move(source).error());
  return MountedArchive::Open(std::move(*source), {});
}

ReadOutcome ReadWithContent(Content& content, size_t i) {
  return ReadThrough(
      100'000, [&](uint64_t off, std::span<std::byte> out) { return content.Read(i, off, out); });
}

class BrokenArchiveTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override { expect_ = MakeCase(dir_, GetParam()); }

  std::string ArchivePath() const { return dir_.Join(expect_.at("file").get<std::string>()); }

  // The member's true bytes, when the manifest has them.
  std::optional<std::string> TrueBytes(const json& m) const {
    if (!m.contains("content")) return std::nullopt;
    return testing::ReadFile(dir_.Join(m["content"].get<std::string>()));
  }

  void CheckRefused();
  void CheckListing(const ZipEntry& e, const json& m);
  void CheckRead(const ZipEntry& e, const json& m, const ReadOutcome& got, const char* via);
  void CheckNpy(const Archive& archive, size_t i, const json& m);

  testing::TempDir dir_;
  json expect_;
};

void BrokenArchiveTest::CheckRefused() {
  auto archive = Mount(ArchivePath());
  ASSERT_FALSE(archive) << "the archive opened";
  const Error& err = archive.error();
  EXPECT_EQ(err.code, Errc::kCorrupt);
  EXPECT_EQ(err.message.rfind(ArchivePath() + ": ", 0), 0u) << err.message;
  EXPECT_EQ(err.message.find('\n'), std::string::npos) << err.message;
  EXPECT_TRUE(testing::Matches(err.message, expect_["error"])) << err.message;
}

void BrokenArchiveTest::CheckListing(const ZipEntry& e, const json& m) {
  EXPECT_EQ(e.name, m["name"].get<std::string>());
  if (m["path"].is_null()) {
    EXPECT_EQ(e.path, "");
    EXPECT_TRUE(testing::Matches(e.skip_reason, m["skip_reason"])) << e.skip_reason;
  } else {
    EXPECT_EQ(e.path, m["path"].get<std::string>());
    EXPECT_EQ(e.skip_reason, "");
  }
  if (m.contains("local_error")) {
    EXPECT_TRUE(testing::Matches(e.local_error, m["local_error"])) << e.local_error;
  } else {
    EXPECT_EQ(e.local_error, "");
  }
}

void BrokenArchiveTest::CheckRead(const ZipEntry& e, const json& m, const ReadOutcome& got,
                                  const char* via) {
  SCOPED_TRACE(via);
  const std::string read = m["read"];
  const std::optional<std::string> content = TrueBytes(m);
  if (read == "ok") {
    ASSERT_FALSE(got.error) << got.error->message;
    ASSERT_TRUE(content);
    EXPECT_TRUE(got.bytes == *content)
        << "read " << got.bytes.size() << " bytes, want " << content->size();
    return;
  }
  ASSERT_TRUE(got.error) << "read " << got.bytes.size() << " bytes without an error";
  const Error& err = *got.error;
  const Errc want = read == "corrupt"       ? Errc::kCorrupt
                    : read == "unsupported" ? Errc::kUnsupported
                                            : Errc::kInvalidArgument;
  EXPECT_EQ(err.code, want) << err.message;
  const std::string start = Quote(e.name) + ": ";
  ASSERT_EQ(err.message.rfind(start, 0), 0u) << err.message;
  const std::string why = err.message.substr(start.size());
  EXPECT_EQ(why.find('\n'), std::string::npos) << err.message;
  if (m.contains("read_error")) {
    EXPECT_TRUE(testing::Matches(why, m["read_error"])) << err.message;
  }
  if (content) {
    const size_t n = std::min(got.bytes.size(), content->size());
    EXPECT_TRUE(got.bytes.compare(0, n, *content, 0, n) == 0)
        << "a byte that is not the member's was read";
  }
}

void BrokenArchiveTest::CheckNpy(const Archive& archive, size_t i, const json& m) {
  if (!m.contains("npy")) return;
  auto h = ReadNpyHeader(archive, i);
  const std::string npy = m["npy"];
  if (npy == "ok") {
    ASSERT_TRUE(h) << h.error().message;
    const ZipEntry& e = archive.entries()[i];
    const bool raw = !h->has_object && *h->data_size <= e.size - h->data_offset;
    EXPECT_EQ(raw, m.at("raw").get<bool>());
    return;
  }
  ASSERT_FALSE(h) << "the npy header parsed";
  EXPECT_EQ(h.error().code, npy == "corrupt" ? Errc::kCorrupt : Errc::kUnsupported)
      << h.error().message;
  if (m.contains("npy_error")) {
    EXPECT_TRUE(testing::Matches(h.error().message, m["npy_error"])) << h.error().message;
  }
}

TEST_P(BrokenArchiveTest, MeetsItsManifest) {
  SCOPED_TRACE(expect_.value("description", ""));
  if (expect_["archive"] == "refused") return CheckRefused();

  auto mounted = Mount(ArchivePath());
  ASSERT_TRUE(mounted) << mounted.error().message;
  const Archive& archive = (*mounted)->archive();
  const auto& entries = archive.entries();
  ASSERT_EQ(entries.size(), expect_["member_count"].get<size_t>());
  if (!expect_.value("some_members", false)) {
    ASSERT_EQ(expect_["members"].size(), entries.size()) << "the manifest lists every member";
  }
  Content& content = (*mounted)->content();
  for (const json& m : expect_["members"]) {
    const size_t i = m["index"];
    ASSERT_LT(i, entries.size());
    const ZipEntry& e = entries[i];
    SCOPED_TRACE("member " + std::to_string(i) + " " + e.name);
    CheckListing(e, m);
    if (m.contains("read")) {
      CheckRead(e, m, ReadWithDecoder(archive, i), "MemberDecoder");
      CheckRead(e, m, ReadWithContent(content, i), "Content");
    }
    CheckNpy(archive, i, m);
  }
}

std::string CaseName(const ::testing::TestParamInfo<const char*>& param) { return param.param; }

INSTANTIATE_TEST_SUITE_P(Cases, BrokenArchiveTest, ::testing::ValuesIn(kCases), CaseName);

TEST(BrokenArchiveGeneratorTest, ListsExactlyTheseCases) {
  std::string out;
  ASSERT_EQ(testing::RunBreakNpz({"--list"}, &out), 0) << out;
  std::vector<std::string> listed;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    listed.push_back(line.substr(0, line.find(' ')));
  }
  EXPECT_EQ(listed, std::vector<std::string>(std::begin(kCases), std::end(kCases)));
}

// A zip bomb costs what it declares, not what it holds: 64 MiB of zeros
// declared as 1 MiB inflate to little more than 1 MiB before the read fails.
TEST(BrokenArchiveGeneratorTest, BombInflatesOnlyToItsDeclaredSize) {
  testing::TempDir dir;
  const json c = MakeCase(dir, "bomb_declared_small");
  auto archive = testing::OpenPath(dir.Join(c["file"].get<std::string>()));
  ASSERT_TRUE(archive);
  core::Content content(*archive);
  const ReadOutcome got = ReadWithContent(content, 0);
  ASSERT_TRUE(got.error);
  EXPECT_LE(content.stats().bytes_decoded, (uint64_t{1} << 20) + content.options().chunk_size);
}

}  // namespace
}  // namespace npzfs::core
