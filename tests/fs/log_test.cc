#include "fs/log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>

#include "core/base/unique_fd.h"
#include "tests/support/test_support.h"

namespace npzfs::fs {
namespace {

using testing::ReadFile;
using testing::TempDir;

// Sends what this process writes to stderr to `path` while alive.
class StderrTo {
 public:
  explicit StderrTo(const std::string& path)
      : saved_(::dup(2)), file_(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600)) {
    std::fflush(stderr);
    ::dup2(file_.get(), 2);
  }
  ~StderrTo() {
    std::fflush(stderr);
    ::dup2(saved_.get(), 2);
  }

 private:
  core::UniqueFd saved_;
  core::UniqueFd file_;
};

// Lines written after this test's own (the logger is the process's).
class LogTest : public ::testing::Test {
 protected:
  void TearDown() override { StartLogging(spdlog::level::info, false, false); }
};

// Escaped once, in the sinks: whatever the caller passed, neither the
// terminal nor the file gets an escape sequence or a forged line.
TEST_F(LogTest, EverySinkGetsTheMessageEscaped) {
  TempDir dir;
  {
    StderrTo capture(dir.Join("stderr"));
    StartLogging(spdlog::level::info, false, false);
    ASSERT_TRUE(OpenLogFile(dir.Join("log")));
    spdlog::warn("{}: left out", "evil\x1b[2J\nnpzfs: error: forged\xff");
    spdlog::info("plain a\\b.npy");
  }
  const std::string shown = "evil\\x1b[2J\\nnpzfs: error: forged\\xff: left out";
  EXPECT_EQ(ReadFile(dir.Join("stderr")),
            "npzfs: warning: " + shown + "\nnpzfs: info: plain a\\b.npy\n");
  const std::string file = ReadFile(dir.Join("log"));
  EXPECT_NE(file.find("warning: " + shown + "\n"), std::string::npos) << file;
  EXPECT_EQ(file.find('\x1b'), std::string::npos) << file;
  EXPECT_EQ(std::count(file.begin(), file.end(), '\n'), 2) << file;
}

TEST_F(LogTest, ReopenWritesToTheNewFileAndKeepsTheOldOneOnFailure) {
  TempDir dir;
  const std::string log = dir.Join("log");
  StartLogging(spdlog::level::info, false, false);
  {
    StderrTo quiet(dir.Join("stderr"));
    ASSERT_TRUE(OpenLogFile(log));
    spdlog::info("first");
    ASSERT_EQ(::rename(log.c_str(), dir.Join("log.1").c_str()), 0);
    ReopenLogFile();
    spdlog::info("second");
    // Rotated again, and a symlink put in its place: refused, the file
    // opened before stays in use.
    ASSERT_EQ(::rename(log.c_str(), dir.Join("log.2").c_str()), 0);
    ASSERT_EQ(::symlink("elsewhere", log.c_str()), 0);
    ReopenLogFile();
    spdlog::info("third");
  }
  const std::string one = ReadFile(dir.Join("log.1"));
  const std::string two = ReadFile(dir.Join("log.2"));
  EXPECT_NE(one.find("info: first\n"), std::string::npos) << one;
  EXPECT_EQ(one.find("second"), std::string::npos) << one;
  EXPECT_NE(two.find("info: reopened log file " + log + "\n"), std::string::npos) << two;
  EXPECT_NE(two.find("info: second\n"), std::string::npos) << two;
  EXPECT_NE(two.find("error: cannot use '" + log +
                     "' as log file: it is a symbolic link; still logging to the file opened "
                     "before\n"),
            std::string::npos)
      << two;
  EXPECT_NE(two.find("info: third\n"), std::string::npos) << two;
  struct stat st {};
  EXPECT_NE(::lstat(dir.Join("elsewhere").c_str(), &st), 0);  // nothing made through the link
}

TEST_F(LogTest, RelativePathIsReopenedWhereItWasFirstOpened) {
  TempDir dir;
  const std::string cwd = std::filesystem::current_path();
  ASSERT_EQ(::chdir(dir.path().c_str()), 0);
  StartLogging(spdlog::level::info, false, false);
  const bool opened = static_cast<bool>(OpenLogFile("rel.log"));
  ASSERT_EQ(::chdir("/"), 0);  // as fuse_daemonize does
  ASSERT_EQ(::rename(dir.Join("rel.log").c_str(), dir.Join("rel.log.1").c_str()), 0);
  {
    StderrTo quiet(dir.Join("stderr"));
    ReopenLogFile();
  }
  ASSERT_EQ(::chdir(cwd.c_str()), 0);
  ASSERT_TRUE(opened);
  EXPECT_NE(ReadFile(dir.Join("rel.log")).find("reopened log file " + dir.Join("rel.log")),
            std::string::npos);
}

}  // namespace
}  // namespace npzfs::fs
