#include "core/read/index_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <random>
#include <string>

#include "core/read/index_store.h"
#include "tests/support/test_support.h"

namespace npzfs::core {
namespace {

using testing::ReadFile;
using testing::WriteFile;

const IndexIdentity kId{1000, 1700000000, 5, 0x1234};

std::vector<std::byte> Window(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<std::byte> w(n);
  for (auto& b : w) b = static_cast<std::byte>(rng() % 7);
  return w;
}

uint32_t Crcs(const std::vector<uint32_t>& crcs, uint64_t size, uint64_t chunk) {
  uint32_t crc = 0;
  for (size_t i = 0; i < crcs.size(); ++i) {
    crc = static_cast<uint32_t>(
        crc32_combine(crc, crcs[i], static_cast<z_off_t>(std::min(chunk, size - i * chunk))));
  }
  return crc;
}

// Two members: one complete (its chunk CRCs combine to its CRC-32), one
// partial.
std::vector<MemberToWrite> Members() {
  std::vector<MemberToWrite> out(2);
  PersistedMember& a = out[0].member;
  a.index = 0;
  a.method = 8;
  a.size = 10 * 65536 + 100;
  a.compressed_size = 200'000;
  a.data_offset = 40;
  a.chunk_size = 65536;
  for (uint32_t i = 0; i < 11; ++i) a.chunk_crcs.push_back(0x1000 + i);
  a.crc32 = Crcs(a.chunk_crcs, a.size, a.chunk_size);
  a.complete = true;
  a.points.push_back({3 * 65536 + 17, 60'000, 3, 0xabc, 0, 0, 0, 0});
  a.points.push_back({7 * 65536, 140'000, 0,
                      Crcs({a.chunk_crcs.begin(), a.chunk_crcs.begin() + 7}, a.size, a.chunk_size),
                      0, 0, 0, 0});
  out[0].windows = {Window(32768, 1), Window(32768, 2)};
  PersistedMember& b = out[1].member;
  b = a;
  b.index = 1;
  b.data_offset = 300'000;
  b.complete = false;
  b.chunk_crcs.resize(5);
  b.points.resize(1);
  out[1].windows = {Window(20000, 3)};
  return out;
}

std::string Path(const std::string& name) { return ::testing::TempDir() + "/" + name; }

TEST(IndexFileTest, WhatIsWrittenIsReadBack) {
  const std::string path = Path("round.npzidx");
  auto members = Members();
  ASSERT_TRUE(WriteIndexFile(path, kId, members));
  auto f = IndexFile::Open(path, kId);
  ASSERT_TRUE(f) << f.error().message;
  ASSERT_EQ((*f)->members().size(), 2u);
  const PersistedMember& a = (*f)->members()[0];
  EXPECT_TRUE(a.complete);
  EXPECT_EQ(a.chunk_crcs, members[0].member.chunk_crcs);
  ASSERT_EQ(a.points.size(), 2u);
  EXPECT_EQ(a.points[0].out, members[0].member.points[0].out);
  EXPECT_EQ(a.points[0].bits, 3);
  auto w = (*f)->ReadWindow(a.points[1]);
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_EQ(*w, members[0].windows[1]);
  const PersistedMember& b = (*f)->members()[1];
  EXPECT_FALSE(b.complete);
  EXPECT_EQ(b.chunk_crcs.size(), 5u);
  EXPECT_EQ(*(*f)->ReadWindow(b.points[0]), members[1].windows[0]);
  // No temporary file is left beside it.
  for (const auto& e : std::filesystem::directory_iterator(::testing::TempDir())) {
    EXPECT_EQ(e.path().string().find("round.npzidx."), std::string::npos) << e.path();
  }
}

TEST(IndexFileTest, AnotherArchivesIndexIsNotUsed) {
  const std::string path = Path("stale.npzidx");
  ASSERT_TRUE(WriteIndexFile(path, kId, Members()));
  for (IndexIdentity other :
       {IndexIdentity{1001, kId.mtime_sec, kId.mtime_nsec, kId.cd_hash},
        IndexIdentity{kId.size, kId.mtime_sec + 1, kId.mtime_nsec, kId.cd_hash},
        IndexIdentity{kId.size, kId.mtime_sec, 6, kId.cd_hash},
        IndexIdentity{kId.size, kId.mtime_sec, kId.mtime_nsec, 0x1235}}) {
    auto f = IndexFile::Open(path, other);
    ASSERT_FALSE(f);
    EXPECT_EQ(f.error().code, Errc::kNotFound);
  }
}

TEST(IndexFileTest, AMemberIsFoundOnlyWhenEveryFieldMatches) {
  const std::string path = Path("find.npzidx");
  auto members = Members();
  ASSERT_TRUE(WriteIndexFile(path, kId, members));
  auto f = IndexFile::Open(path, kId);
  ASSERT_TRUE(f);
  ZipEntry e;
  e.index = 0;
  e.method = 8;
  e.crc32 = members[0].member.crc32;
  e.size = members[0].member.size;
  e.compressed_size = members[0].member.compressed_size;
  e.data_offset = members[0].member.data_offset;
  EXPECT_NE((*f)->Find(e), nullptr);
  for (int field = 0; field < 5; ++field) {
    ZipEntry x = e;
    if (field == 0) x.crc32 ^= 1;
    if (field == 1) x.size += 1;
    if (field == 2) x.compressed_size += 1;
    if (field == 3) x.data_offset += 1;
    if (field == 4) x.index = 7;
    EXPECT_EQ((*f)->Find(x), nullptr) << field;
  }
}

// Every truncation and every single flipped byte of the header and the
// records is refused (or, for a flip in a window, caught when it is read).
TEST(IndexFileTest, TruncatedOrTamperedFilesAreRefused) {
  const std::string good_path = Path("good.npzidx");
  ASSERT_TRUE(WriteIndexFile(good_path, kId, Members()));
  const std::string good = ReadFile(good_path);
  const std::string path = Path("bad.npzidx");
  for (size_t n = 0; n < good.size(); n += (n < 2000 ? 1 : 97)) {
    auto parsed = ParseIndex(std::as_bytes(std::span(good.data(), n)), n, kId);
    EXPECT_FALSE(parsed) << "cut at " << n;
  }
  auto f = IndexFile::Open(good_path, kId);
  ASSERT_TRUE(f);
  const uint64_t windows_at = (*f)->members()[0].points[0].window_offset;
  for (size_t at = 0; at < good.size(); ++at) {
    std::string bad = good;
    bad[at] = static_cast<char>(bad[at] ^ 0x41);
    auto parsed = ParseIndex(std::as_bytes(std::span(bad)), bad.size(), kId);
    if (at < windows_at) {
      EXPECT_FALSE(parsed) << "byte " << at;
      continue;
    }
    // A window's bytes: the records still parse; reading the window fails.
    ASSERT_TRUE(parsed) << "byte " << at;
    if (at % 61 != 0) continue;  // open a few as files
    WriteFile(path, bad);
    auto g = IndexFile::Open(path, kId);
    ASSERT_TRUE(g);
    bool caught = false;
    for (const PersistedMember& m : (*g)->members()) {
      for (const PersistedPoint& p : m.points) caught |= !(*g)->ReadWindow(p);
    }
    EXPECT_TRUE(caught) << "byte " << at;
  }
}

TEST(IndexFileTest, CountsAreCheckedBeforeAnythingIsAllocated) {
  std::string header(64, '\0');
  std::memcpy(header.data(), "NPZFSIDX", 8);
  header[8] = 1;
  // A member count and record size far beyond the bytes there.
  for (int i = 48; i < 52; ++i) header[i] = '\xff';
  for (int i = 56; i < 64; ++i) header[i] = '\x7f';
  auto parsed = ParseIndex(std::as_bytes(std::span(header)), header.size(), kId);
  EXPECT_FALSE(parsed);
}

TEST(IndexFileTest, OnlyRegularFilesAreOpenedAndNothingBlocks) {
  const std::string fifo = Path("fifo.npzidx");
  ::unlink(fifo.c_str());
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto f = IndexFile::Open(fifo, kId);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code, Errc::kCorrupt);
  const std::string target = Path("target.npzidx");
  ASSERT_TRUE(WriteIndexFile(target, kId, Members()));
  const std::string link = Path("link.npzidx");
  ::unlink(link.c_str());
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  EXPECT_FALSE(IndexFile::Open(link, kId));
  EXPECT_FALSE(IndexFile::Open(::testing::TempDir(), kId));
  auto missing = IndexFile::Open(Path("missing.npzidx"), kId);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::kNotFound);
  ::unlink(fifo.c_str());
  ::unlink(link.c_str());
}

// A write that cannot finish (here the rename, over a directory) leaves
// what was there and no temporary file.
TEST(IndexFileTest, AFailedWriteLeavesNothingBehind) {
  const std::string dir = Path("failed_write");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir + "/a.npzidx");
  WriteFile(dir + "/a.npzidx/keep", "x");
  auto r = WriteIndexFile(dir + "/a.npzidx", kId, Members());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kIo);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 1);
  EXPECT_EQ(ReadFile(dir + "/a.npzidx/keep"), "x");
}

TEST(IndexStoreTest, EvictionKeepsTheTotalUnderItsBoundAndTheNewest) {
  const std::string dir = Path("evict");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  for (int i = 0; i < 5; ++i) {
    const std::string p = dir + "/" + std::to_string(i) + ".npzidx";
    WriteFile(p, std::string(1000, 'x'));
    struct timespec t[2] = {{1000 + i, 0}, {1000 + i, 0}};
    ::utimensat(AT_FDCWD, p.c_str(), t, 0);
  }
  WriteFile(dir + "/other.txt", std::string(5000, 'y'));  // not an index: never counted
  EvictIndexes(dir, 2500, dir + "/0.npzidx");
  EXPECT_TRUE(std::filesystem::exists(dir + "/0.npzidx"));  // kept, though oldest
  EXPECT_FALSE(std::filesystem::exists(dir + "/1.npzidx"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/2.npzidx"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/3.npzidx"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/4.npzidx"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/other.txt"));
}

TEST(IndexStoreTest, TheDefaultDirectoryFollowsXdg) {
  if (::geteuid() == 0) {
    EXPECT_EQ(DefaultIndexDir(), "/var/cache/npzfs");
    return;
  }
  setenv("XDG_CACHE_HOME", "/x/cache", 1);
  EXPECT_EQ(DefaultIndexDir(), "/x/cache/npzfs");
  setenv("XDG_CACHE_HOME", "relative", 1);
  setenv("HOME", "/home/u", 1);
  EXPECT_EQ(DefaultIndexDir(), "/home/u/.cache/npzfs");
}

TEST(IndexStoreTest, TheSameArchiveHasTheSameFileName) {
  IndexOptions o{IndexOptions::Where::kDir, "/d"};
  EXPECT_EQ(IndexPath(o, kId), IndexPath(o, kId));
  EXPECT_NE(IndexPath(o, kId), IndexPath(o, {1, 2, 3, 4}));
  EXPECT_EQ(IndexPath(o, kId).rfind("/d/", 0), 0u);
  EXPECT_EQ(IndexPath({IndexOptions::Where::kFile, "/f.idx"}, kId), "/f.idx");
}

// The fuzzer's seeds are written by tests/fuzz/make_seeds.py from the
// format as documented, not by WriteIndexFile: each parses, so the code
// and its documentation agree.
TEST(IndexFileTest, IndexesWrittenFromTheDocumentedFormatParse) {
  const std::string dir = std::string(NPZFS_TEST_SCRIPTS) + "/../fuzz/corpus/index_file_fuzzer";
  int seen = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().filename().string().rfind("seed-", 0) != 0) continue;
    const std::string bytes = ReadFile(e.path());
    ASSERT_GE(bytes.size(), 64u);
    auto le = [&](size_t at, int width) {
      uint64_t v = 0;
      for (int i = 0; i < width; ++i) v |= uint64_t{static_cast<uint8_t>(bytes[at + i])} << (8 * i);
      return v;
    };
    const IndexIdentity id{le(16, 8), static_cast<int64_t>(le(24, 8)),
                           static_cast<int32_t>(le(32, 4)), le(40, 8)};
    auto parsed = ParseIndex(std::as_bytes(std::span(bytes)), bytes.size(), id);
    EXPECT_TRUE(parsed) << e.path() << ": " << parsed.error().message;
    ++seen;
  }
  EXPECT_GE(seen, 5);
}

}  // namespace
}  // namespace npzfs::core
