// The daemon's conventions, on real mounts and with the real tools: what it
// refuses before mounting, its log file and signals, the mount table, the
// kernel's readahead and name limits.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "core/unique_fd.h"

#include "tests/mount/mounted_npz.h"
#include "tests/support/test_support.h"
#include "tests/support/zip_patch.h"

namespace npzfs::testing {
namespace {

extern "C" char** environ;

struct Outcome {
  int status;  // -1: killed after the time was up (or died of a signal)
  std::string output;
};

// Runs argv (stdout and stderr together) for at most `seconds`: a daemon
// that blocks where it must not fails the test instead of hanging it.
Outcome RunFor(const std::vector<std::string>& argv, double seconds) {
  TempDir dir;
  const std::string out = dir.Join("out");
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, cargv[0], &actions, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return {-1, std::string("cannot run ") + argv[0] + ": " + std::strerror(rc)};
  const int status = WaitOrKill(pid, seconds);
  return {status, ReadFile(out)};
}

// A unix socket bound at `path` (the name stays after it is closed).
bool BindSocket(const std::string& path) {
  const core::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  return fd.valid() && ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

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

// A FIFO without a writer would block an open() for good: each of these is
// refused by its type before anything is opened, by npzfs (exit 2) and by
// npzinfo (exit 1), with one line naming the path as given.
TEST_F(DaemonTest, ArchivesMustBeRegularFiles) {
  TempDir dir;
  const std::string mnt = dir.Join("mnt");
  ASSERT_EQ(::mkdir(mnt.c_str(), 0755), 0);
  ASSERT_EQ(::mkfifo(dir.Join("fifo").c_str(), 0600), 0);
  ASSERT_TRUE(BindSocket(dir.Join("sock"))) << std::strerror(errno);
  ASSERT_EQ(::mkdir(dir.Join("dir").c_str(), 0755), 0);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {dir.Join("fifo"), "a FIFO"},
      {dir.Join("sock"), "a socket"},
      {"/dev/null", "a character device"},
      {dir.Join("dir"), "a directory"}};
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& [target, type] = cases[i];
    const std::string link = dir.Join("link" + std::to_string(i) + ".npz");
    ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
    for (const std::string& path : {target, link}) {
      SCOPED_TRACE(path);
      const std::string why = path + ": not a regular file (" + type + ")\n";
      const Outcome mount = RunFor({NpzfsBinary(), path, mnt}, 10);
      EXPECT_EQ(mount.status, 2);
      EXPECT_EQ(mount.output, "npzfs: " + why);
      EXPECT_FALSE(IsMountpoint(mnt));
      const Outcome info = RunFor({NPZINFO_BIN, path}, 10);
      EXPECT_EQ(info.status, 1);
      EXPECT_EQ(info.output, "npzinfo: " + why);
    }
  }
}

// stat(1) shows what the kernel got: NTFS times to the 100 ns, the
// extended timestamp to the second.
TEST_F(DaemonTest, NtfsTimesAreTheMtimeToTheNanosecond) {
  TempDir dir;
  const std::string archive = dir.Join("t.zip");
  const uint64_t t = FileTime(1614834367, 1234567);
  WriteZipWithExtras(archive, {{"ntfs.bin", ExtendedTimestampExtra(1000) + NtfsTimesExtra(t, 0, 0)},
                               {"ut.bin", ExtendedTimestampExtra(1000)}});
  auto m = MountedNpz::Start(archive);
  ASSERT_TRUE(m);
  std::string out;
  ASSERT_EQ(RunCommand({"stat", "-c", "%.9Y", m->Path("ntfs.bin"), m->Path("ut.bin")}, &out), 0)
      << out;
  EXPECT_EQ(out, "1614834367.123456700\n1000.000000000\n");
}

// The mount table names the archive by its absolute path, symlinks
// resolved, whatever path was given; a comma in it survives libfuse's
// option parser.
TEST_F(DaemonTest, MountTableShowsTheArchivesRealPathAndType) {
  namespace fsys = std::filesystem;
  TempDir dir;
  ASSERT_EQ(::mkdir(dir.Join("real").c_str(), 0755), 0);
  const std::string real = dir.Join("real/a,b.npz");
  fsys::copy_file(StandardArchive("stored"), real);
  ASSERT_EQ(::symlink("real/a,b.npz", dir.Join("link.npz").c_str()), 0);
  const std::string relative = fsys::relative(dir.Join("link.npz"), fsys::current_path());
  ASSERT_EQ(relative.front(), '.') << relative;
  auto m = MountedNpz::Start(relative);
  ASSERT_TRUE(m);
  std::string out;
  ASSERT_EQ(RunCommand({"findmnt", "-n", "-o", "SOURCE,FSTYPE", m->path()}, &out), 0) << out;
  std::istringstream fields(out);
  std::string source, type, rest;
  fields >> source >> type >> rest;
  EXPECT_EQ(source, fsys::canonical(real).string()) << out;
  EXPECT_EQ(type, "fuse.npzfs") << out;
  EXPECT_EQ(rest, "") << out;
}

// mountinfo escapes these four in mountpoints (\040 \011 \012 \134): the
// daemon finds its mount's readahead by device number, not by name.
TEST_F(DaemonTest, ReadaheadIsRaisedWhateverTheMountpointsName) {
  TempDir dir;
  const std::string mnt = dir.Join("a b\tc\nd\\e");
  ASSERT_EQ(::mkdir(mnt.c_str(), 0755), 0);
  auto m = MountedNpz::StartAt(StandardArchive("stored"), mnt);
  ASSERT_TRUE(m);
  // The kernel sets a mount's readahead from the INIT reply; npzfs raises
  // it on the first open.
  EXPECT_FALSE(ReadFile(m->Path("f8.npy")).empty());
  struct stat st {};
  ASSERT_EQ(::stat(mnt.c_str(), &st), 0);
  const std::string bdi = "/sys/class/bdi/" + std::to_string(major(st.st_dev)) + ":" +
                          std::to_string(minor(st.st_dev)) + "/read_ahead_kb";
  EXPECT_EQ(ReadFile(bdi), "1024\n") << bdi;
}

}  // namespace
}  // namespace npzfs::testing
