// The daemon's conventions, on real mounts and with the real tools: what it
// refuses before mounting, its log file and signals, the mount table, the
// kernel's readahead and name limits.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "tests/mount/mounted_npz.h"
#include "tests/support/test_support.h"

namespace npzfs::testing {
namespace {

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!CanMount()) GTEST_SKIP() << "no usable /dev/fuse or fusermount3 here";
  }
};

// The kernel passes names up to 1024 bytes to FUSE; no name in the mount
// is longer than 255 (statfs says so), and the answer says which limit.
TEST_F(DaemonTest, LookupOfANameOver255BytesIsEnametoolong) {
  auto m = MountedNpz::Start(StandardArchive("stored"));
  ASSERT_TRUE(m);
  struct stat st {};
  errno = 0;
  EXPECT_EQ(::stat(m->Path(std::string(256, 'a')).c_str(), &st), -1);
  EXPECT_EQ(errno, ENAMETOOLONG);
  errno = 0;
  EXPECT_EQ(::stat(m->Path("group/" + std::string(1000, 'b')).c_str(), &st), -1);
  EXPECT_EQ(errno, ENAMETOOLONG);
  errno = 0;
  EXPECT_EQ(::stat(m->Path(std::string(255, 'a')).c_str(), &st), -1);
  EXPECT_EQ(errno, ENOENT);  // at the limit: just not there
}

}  // namespace
}  // namespace npzfs::testing
