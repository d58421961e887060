#include "core/remote/piece_files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <vector>

#include "tests/support/test_support.h"

namespace npzfs::core {
namespace {

using testing::AsBytes;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

std::vector<std::byte> Bytes(size_t n, int seed) {
  std::vector<std::byte> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>((i * 31 + seed) & 0xff);
  return v;
}

std::vector<std::string> FilesIn(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& f : std::filesystem::directory_iterator(dir)) out.push_back(f.path());
  return out;
}

TEST(PieceFilesTest, APieceStoredIsLoadedByWhereItLies) {
  TempDir dir;
  auto files = PieceFiles::Open(dir.Join("cache"), "0123abcd", 1 << 20);
  ASSERT_TRUE(files) << files.error().message;
  const auto data = Bytes(5000, 1);
  (*files)->Store(4096, data);
  std::vector<std::byte> out(5000);
  ASSERT_TRUE((*files)->Load(4096, out));
  EXPECT_EQ(out, data);
  std::vector<std::byte> other(4999);
  EXPECT_FALSE((*files)->Load(4096, other));  // another length: another piece
  EXPECT_FALSE((*files)->Load(0, out));
  struct stat st {};
  ASSERT_EQ(::stat(dir.Join("cache").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat((*files)->dir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST(PieceFilesTest, ADamagedFileIsNotUsedAndIsRemoved) {
  TempDir dir;
  auto files = PieceFiles::Open(dir.path(), "k", 1 << 20);
  ASSERT_TRUE(files);
  (*files)->Store(0, Bytes(1000, 2));
  const auto paths = FilesIn((*files)->dir());
  ASSERT_EQ(paths.size(), 1u);
  std::string bytes = ReadFile(paths[0]);
  bytes[500] ^= 1;
  WriteFile(paths[0], bytes);
  std::vector<std::byte> out(1000);
  EXPECT_FALSE((*files)->Load(0, out));
  EXPECT_TRUE(FilesIn((*files)->dir()).empty());

  (*files)->Store(0, Bytes(1000, 2));
  bytes = ReadFile(FilesIn((*files)->dir())[0]);
  WriteFile(FilesIn((*files)->dir())[0], bytes.substr(0, bytes.size() - 1));  // cut
  EXPECT_FALSE((*files)->Load(0, out));
  EXPECT_TRUE(FilesIn((*files)->dir()).empty());
}

TEST(PieceFilesTest, TheLimitHoldsAndOlderObjectsMakeRoom) {
  TempDir dir;
  {
    auto old = PieceFiles::Open(dir.path(), "old", 10000);
    ASSERT_TRUE(old);
    (*old)->Store(0, Bytes(6000, 3));
    EXPECT_EQ(FilesIn((*old)->dir()).size(), 1u);
    (*old)->Store(6000, Bytes(6000, 3));  // past the limit: not written
    EXPECT_EQ(FilesIn((*old)->dir()).size(), 1u);
  }
  ::sleep(1);  // directory times in whole seconds on some file systems
  auto fresh = PieceFiles::Open(dir.path(), "new", 10000);
  ASSERT_TRUE(fresh);
  (*fresh)->Store(0, Bytes(3000, 4));
  EXPECT_TRUE(std::filesystem::exists(dir.Join("old")));  // 9,000 bytes fit
  // A third object over the limit: the least recently opened goes.
  auto third = PieceFiles::Open(dir.path(), "third", 8000);
  ASSERT_TRUE(third);
  EXPECT_FALSE(std::filesystem::exists(dir.Join("old")));
  EXPECT_TRUE(std::filesystem::exists(dir.Join("new")));
}

TEST(PieceFilesTest, KeysDependOnEveryPartOfTheVersion) {
  const std::string k = PieceKey("https://h/a.npz", "\"e1\"", 100, "Mon");
  EXPECT_EQ(k.size(), 16u);
  EXPECT_EQ(k, PieceKey("https://h/a.npz", "\"e1\"", 100, "Mon"));
  EXPECT_NE(k, PieceKey("https://h/b.npz", "\"e1\"", 100, "Mon"));
  EXPECT_NE(k, PieceKey("https://h/a.npz", "\"e2\"", 100, "Mon"));
  EXPECT_NE(k, PieceKey("https://h/a.npz", "\"e1\"", 101, "Mon"));
  EXPECT_NE(k, PieceKey("https://h/a.npz", "\"e1\"", 100, "Tue"));
  EXPECT_EQ(PieceKey("https://h/a.npz", "", 100, ""), "");
}

TEST(PieceFilesTest, ADirectoryThatCannotBeMadeIsAnError) {
  TempDir dir;
  WriteFile(dir.Join("file"), "x");
  auto files = PieceFiles::Open(dir.Join("file"), "k", 1 << 20);
  ASSERT_FALSE(files);
  EXPECT_EQ(files.error().code, Errc::kIo);
}

}  // namespace
}  // namespace npzfs::core
