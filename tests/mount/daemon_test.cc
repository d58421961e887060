// The daemon's conventions, on real mounts and with the real tools: what it
// refuses before mounting, its log file and signals, the mount table, the
// kernel's readahead and name limits.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/base/unique_fd.h"
#include "tests/mount/mounted_npz.h"
#include "tests/support/sozip_writer.h"
#include "tests/support/test_support.h"
#include "tests/support/zip_patch.h"
#include "tests/support/zip_writer.h"

extern char** environ;

namespace npzfs::testing {
namespace {

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

// Polls `done` every 10 ms for up to `seconds`.
bool WaitFor(const std::function<bool()>& done, double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

bool Exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

bool Contains(const std::string& path, const std::string& text) {
  return Exists(path) && ReadFile(path).find(text) != std::string::npos;
}

// The status flags (open(2) flags) of the daemon's descriptor for `path`,
// from /proc/PID/fdinfo; -1 when it has none.
long OpenFlagsOf(pid_t pid, const std::string& path) {
  const std::string proc = "/proc/" + std::to_string(pid);
  for (const auto& e : std::filesystem::directory_iterator(proc + "/fd")) {
    std::error_code ec;
    if (std::filesystem::read_symlink(e.path(), ec) != path) continue;
    const std::string info = ReadFile(proc + "/fdinfo/" + e.path().filename().string());
    const size_t at = info.find("flags:");
    if (at != std::string::npos) return std::stol(info.substr(at + 6), nullptr, 8);
  }
  return -1;
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
// npzinfo (exit 1), with one line naming the path as given; alone, and
// among archives named together. A directory is refused by npzinfo, and
// is a mount of the archives under it for npzfs (none here).
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
      if (type == "a directory") {
        const Outcome mount = RunFor({NpzfsBinary(), path, mnt}, 10);
        EXPECT_EQ(mount.status, 0) << mount.output;
        EXPECT_TRUE(IsMountpoint(mnt));
        EXPECT_TRUE(std::filesystem::is_empty(mnt));
        RunCommand({"fusermount3", "-u", mnt});
        EXPECT_TRUE(WaitForMount(mnt, false, 10 * kTimeFactor));
      } else {
        for (const auto& args :
             {std::vector<std::string>{NpzfsBinary(), path, mnt},
              std::vector<std::string>{NpzfsBinary(), StandardArchive("stored"), path, mnt}}) {
          const Outcome mount = RunFor(args, 10);
          EXPECT_EQ(mount.status, 2);
          EXPECT_EQ(mount.output, "npzfs: " + why);
          if (IsMountpoint(mnt)) {
            ADD_FAILURE() << "mounted";
            RunCommand({"fusermount3", "-u", mnt});
          }
        }
      }
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

// A failed mount leaves no log file behind: it is opened only once the
// archive and the mountpoint have been checked.
TEST_F(DaemonTest, LogFileIsOpenedOnlyAfterTheArchiveAndMountpointAreChecked) {
  TempDir dir;
  const std::string log = dir.Join("npzfs.log");
  ASSERT_EQ(::mkdir(dir.Join("mnt").c_str(), 0755), 0);
  Outcome o = RunFor(
      {NpzfsBinary(), "-o", "log_file=" + log, dir.Join("missing.npz"), dir.Join("mnt")}, 10);
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_FALSE(Exists(log));
  o = RunFor({NpzfsBinary(), "-o", "log_file=" + log, StandardArchive("stored"), dir.Join("nomnt")},
             10);
  EXPECT_EQ(o.status, 3) << o.output;
  EXPECT_FALSE(Exists(log));
}

// Nothing is followed, created or opened that should not be: a FIFO or a
// device is never opened (so nothing blocks), no directory is made, and
// the refusal is one line and exit status 1, with nothing mounted.
TEST_F(DaemonTest, UnsafeLogFilesAreRefusedBeforeMounting) {
  TempDir dir;
  const std::string mnt = dir.Join("mnt");
  ASSERT_EQ(::mkdir(mnt.c_str(), 0755), 0);
  WriteFile(dir.Join("real.log"), "");
  ASSERT_EQ(::symlink("real.log", dir.Join("link").c_str()), 0);
  ASSERT_EQ(::symlink("nowhere", dir.Join("dangling").c_str()), 0);
  ASSERT_EQ(::mkfifo(dir.Join("fifo").c_str(), 0600), 0);
  ASSERT_TRUE(BindSocket(dir.Join("sock")));
  ASSERT_EQ(::mkdir(dir.Join("logdir").c_str(), 0755), 0);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {dir.Join("link"), "it is a symbolic link"},
      {dir.Join("dangling"), "it is a symbolic link"},
      {dir.Join("fifo"), "it is a FIFO"},
      {dir.Join("sock"), "it is a socket"},
      {"/dev/null", "it is a character device"},
      {dir.Join("logdir"), "it is a directory"},
      {dir.Join("no/such/dir/log"), "No such file or directory"}};
  for (const auto& [log, why] : cases) {
    SCOPED_TRACE(log);
    const Outcome o =
        RunFor({NpzfsBinary(), "-o", "log_file=" + log, StandardArchive("stored"), mnt}, 10);
    EXPECT_EQ(o.status, 1);
    EXPECT_EQ(o.output, "npzfs: cannot use '" + log + "' as log file: " + why + "\n");
    if (IsMountpoint(mnt)) {
      ADD_FAILURE() << "mounted";
      RunCommand({"fusermount3", "-u", mnt});
    }
  }
  EXPECT_EQ(ReadFile(dir.Join("real.log")), "");
  EXPECT_FALSE(Exists(dir.Join("nowhere")));
  EXPECT_FALSE(Exists(dir.Join("no")));
}

// umask= is about the mount's files; the log file is the daemon's own and
// private. It is appended to, and not inherited by programs it would run.
TEST_F(DaemonTest, NewLogFileIsPrivateAppendOnlyAndCloseOnExec) {
  TempDir dir;
  const std::string log = dir.Join("npzfs.log");
  auto m = MountedNpz::Start(StandardArchive("stored"), {"-o", "umask=000,log_file=" + log});
  ASSERT_TRUE(m);
  struct stat st {};
  ASSERT_EQ(::stat(log.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode, S_IFREG | 0600u);
  EXPECT_TRUE(Contains(log, "info: " + StandardArchive("stored") + ": "));
  const long flags = OpenFlagsOf(m->pid(), log);
  ASSERT_NE(flags, -1);
  EXPECT_EQ(flags & O_ACCMODE, O_WRONLY);
  EXPECT_NE(flags & O_APPEND, 0);
  EXPECT_NE(flags & O_CLOEXEC, 0);
}

// logrotate's way: move the file away, then `kill -HUP`. The mount stays;
// the daemon makes a new file, and what it logs later goes there.
TEST_F(DaemonTest, SighupReopensTheLogFileAndTheMountStays) {
  TempDir dir;
  const std::string log = dir.Join("npzfs.log");
  auto m = MountedNpz::Start(StandardArchive("stored"), {"-o", "log_file=" + log});
  ASSERT_TRUE(m);
  ASSERT_TRUE(WaitFor([&] { return Contains(log, " members, cache "); }, 10));
  ASSERT_EQ(::rename(log.c_str(), dir.Join("npzfs.log.1").c_str()), 0);
  ASSERT_EQ(::kill(m->pid(), SIGHUP), 0);
  EXPECT_TRUE(WaitFor([&] { return Contains(log, "reopened log file " + log); }, 10));
  struct stat st {};
  ASSERT_EQ(::stat(log.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode, S_IFREG | 0600u);
  EXPECT_TRUE(IsMountpoint(m->path()));
  EXPECT_FALSE(ReadFile(m->Path("f8.npy")).empty());
  EXPECT_EQ(m->Unmount(), 0);
  EXPECT_TRUE(Contains(log, m->path() + ": unmounted"));
  EXPECT_FALSE(Contains(dir.Join("npzfs.log.1"), "unmounted"));
}

TEST_F(DaemonTest, SighupWithoutALogFileIsIgnoredAndSigintStillUnmounts) {
  auto m = MountedNpz::Start(StandardArchive("stored"));
  ASSERT_TRUE(m);
  ASSERT_EQ(::kill(m->pid(), SIGHUP), 0);
  EXPECT_TRUE(
      WaitFor([&] { return m->Log().find("no log_file= to reopen") != std::string::npos; }, 10))
      << m->Log();
  EXPECT_TRUE(IsMountpoint(m->path()));
  EXPECT_FALSE(ReadFile(m->Path("f8.npy")).empty());
  EXPECT_EQ(m->Terminate(SIGINT), 0);
}

// The tree's warning names the member quoted and escaped, for the
// terminal and the file alike.
TEST_F(DaemonTest, ArchiveTextIsEscapedInEveryLog) {
  TempDir dir;
  const std::string archive = dir.Join("evil.zip");
  WriteZipWithExtras(archive, {{"evil\x1b[2J\x07/../x.bin", ""}, {"ok.bin", ""}});
  const std::string log = dir.Join("npzfs.log");
  auto m = MountedNpz::Start(archive, {"-o", "log_file=" + log});
  ASSERT_TRUE(m);
  const std::string shown = "'evil\\x1b[2J\\x07/../x.bin': left out";
  for (const std::string& text : {m->Log(), ReadFile(log)}) {
    EXPECT_NE(text.find(shown), std::string::npos) << text;
    EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
    EXPECT_EQ(text.find('\x07'), std::string::npos) << text;
  }
}

// A disk cache asked for in a directory that cannot hold it fails the
// mount with one line naming the directory; nothing is mounted.
TEST_F(DaemonTest, ADiskCacheDirectoryThatCannotBeUsedFailsTheMount) {
  TempDir dir;
  ASSERT_EQ(::mkdir(dir.Join("mnt").c_str(), 0755), 0);
  Outcome o = RunFor({NpzfsBinary(), "-f", "-o", "disk_cache=" + dir.Join("missing"),
                      StandardArchive("big"), dir.Join("mnt")},
                     20 * kTimeFactor);
  EXPECT_NE(o.status, 0) << o.output;
  EXPECT_NE(o.output.find("disk cache in " + dir.Join("missing")), std::string::npos) << o.output;
  EXPECT_FALSE(IsMountpoint(dir.Join("mnt")));
}

// The disk cache is one unlinked file in its directory, within its bound,
// and what is read back from it is the member's bytes.
TEST_F(DaemonTest, TheDiskCacheIsAnUnlinkedFileWithinItsBound) {
  TempDir dir;
  ASSERT_EQ(::mkdir(dir.Join("cache").c_str(), 0700), 0);
  const std::string archive = StandardArchive("big");
  auto m = MountedNpz::Start(
      archive, {"-o", "cache_size=1M,disk_cache=" + dir.Join("cache") + ",disk_cache_size=16M"});
  ASSERT_TRUE(m);
  EXPECT_NE(m->Log().find("disk cache: up to 16 MiB in " + dir.Join("cache")), std::string::npos)
      << m->Log();
  const std::string want = ReadFile(ZipfileDump(archive) + "/0.bin");
  // Read twice, the second time past the kernel's page cache (O_DIRECT
  // is not offered; drop the file's pages instead).
  for (int pass = 0; pass < 2; ++pass) {
    const core::UniqueFd fd(::open(m->Path("big.npy").c_str(), O_RDONLY));
    ASSERT_TRUE(fd.valid());
    ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED);
    std::string got(want.size(), '\0');
    size_t at = 0;
    while (at < got.size()) {
      const ssize_t n = ::pread(fd.get(), got.data() + at,
                                std::min<size_t>(1 << 20, got.size() - at), static_cast<off_t>(at));
      ASSERT_GT(n, 0);
      at += static_cast<size_t>(n);
    }
    EXPECT_TRUE(got == want) << "pass " << pass;
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.Join("cache")));
  // The daemon holds it open, unlinked, no larger than its bound.
  bool found = false;
  const std::string proc = "/proc/" + std::to_string(m->pid()) + "/fd";
  for (const auto& e : std::filesystem::directory_iterator(proc)) {
    std::error_code ec;
    const std::string target = std::filesystem::read_symlink(e.path(), ec).string();
    if (target.rfind(dir.Join("cache") + "/", 0) != 0) continue;
    found = true;
    EXPECT_NE(target.find("(deleted)"), std::string::npos) << target;
    struct stat st {};
    ASSERT_EQ(::stat(e.path().c_str(), &st), 0);
    EXPECT_GT(st.st_size, 0);
    EXPECT_LE(st.st_size, 16 << 20);
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(m->Unmount(), 0);
}

// Reads `n` bytes of `path` at `offset` with the file's cached pages
// dropped first, so that the read reaches the daemon.
std::string ReadAt(const std::string& path, uint64_t offset, size_t n) {
  const core::UniqueFd fd(::open(path.c_str(), O_RDONLY));
  if (!fd.valid()) return "";
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED);
  std::string out(n, '\0');
  const ssize_t got = ::pread(fd.get(), out.data(), n, static_cast<off_t>(offset));
  out.resize(got > 0 ? static_cast<size_t>(got) : 0);
  return out;
}

std::vector<std::string> IndexFiles(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) out.push_back(e.path());
  return out;
}

// A member read whole leaves its index at unmount, private, small; the
// next mount loads it; a broken one is said once, not used, and written
// again; noindex writes nothing.
TEST_F(DaemonTest, TheIndexIsWrittenAtUnmountAndUsedByTheNextMount) {
  TempDir dir;
  const std::string index_dir = dir.Join("index");
  const std::string archive = StandardArchive("big");
  const std::string want = ReadFile(ZipfileDump(archive) + "/0.bin");
  {
    auto m = MountedNpz::Start(archive, {"-o", "index_dir=" + index_dir});
    ASSERT_TRUE(m);
    EXPECT_NE(m->Log().find("(none yet)"), std::string::npos) << m->Log();
    EXPECT_TRUE(ReadFile(m->Path("big.npy")) == want);
    EXPECT_EQ(m->Unmount(), 0);
  }
  auto files = IndexFiles(index_dir);
  ASSERT_EQ(files.size(), 1u);
  struct stat st {};
  ASSERT_EQ(::stat(files[0].c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_LE(static_cast<uint64_t>(st.st_size), want.size() / 50);
  ASSERT_EQ(::stat(index_dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  const uint64_t at = want.size() / 10 * 9;
  {
    auto m = MountedNpz::Start(archive, {"-o", "index_dir=" + index_dir});
    ASSERT_TRUE(m);
    EXPECT_NE(m->Log().find("(1 members)"), std::string::npos) << m->Log();
    EXPECT_EQ(ReadAt(m->Path("big.npy"), at, 4096), want.substr(at, 4096));
    EXPECT_EQ(m->Unmount(), 0);
  }
  // Cut short: refused with one warning, the bytes still right, and a
  // whole pass writes it again.
  const std::string whole = ReadFile(files[0]);
  WriteFile(files[0], whole.substr(0, whole.size() / 3));
  {
    auto m = MountedNpz::Start(archive, {"-o", "index_dir=" + index_dir});
    ASSERT_TRUE(m);
    EXPECT_NE(m->Log().find("not used, it will be written again"), std::string::npos) << m->Log();
    EXPECT_TRUE(ReadFile(m->Path("big.npy")) == want);
    EXPECT_EQ(m->Unmount(), 0);
  }
  EXPECT_EQ(ReadFile(files[0]).size(), whole.size());
  {
    auto m = MountedNpz::Start(archive, {"-o", "noindex"});
    ASSERT_TRUE(m);
    EXPECT_EQ(m->Log().find("index:"), std::string::npos) << m->Log();
    EXPECT_TRUE(ReadFile(m->Path("big.npy")) == want);
    EXPECT_EQ(m->Unmount(), 0);
  }
}

// Detached (no -f), the daemon's threads are its own: it forks before
// the archive's setup starts any, so decoding ahead and the index writer
// work, and the index is written when it is unmounted.
TEST_F(DaemonTest, ADetachedDaemonDecodesAheadAndWritesItsIndex) {
  TempDir dir;
  const std::string index_dir = dir.Join("index");
  const std::string mnt = dir.Join("mnt");
  ASSERT_EQ(::mkdir(mnt.c_str(), 0755), 0);
  const std::string archive = StandardArchive("big");
  const std::string want = ZipfileDump(archive) + "/0.bin";
  // Whatever fails below, no mount and no detached daemon stay behind.
  struct CleanUp {
    std::string mnt;
    ~CleanUp() {
      if (IsMountpoint(mnt)) RunCommand({"fusermount3", "-uz", mnt});
      RunCommand({"pkill", "-KILL", "-f", "npzfs .*" + mnt + "$"});
    }
  } clean_up{mnt};
  Outcome started = RunFor({NpzfsBinary(), "-o", "threads=2,index_dir=" + index_dir, archive, mnt},
                           20 * kTimeFactor);
  ASSERT_EQ(started.status, 0) << started.output;
  ASSERT_TRUE(IsMountpoint(mnt));
  Outcome read = RunFor({"/usr/bin/cmp", mnt + "/big.npy", want}, 60 * kTimeFactor);
  EXPECT_EQ(read.status, 0) << read.output;
  EXPECT_EQ(RunCommand({"fusermount3", "-u", mnt}), 0);
  EXPECT_TRUE(WaitFor([&] { return IndexFiles(index_dir).size() == 1; }, 20 * kTimeFactor));
}

// npzinfo index builds the index a mount then loads, into -o index=FILE.
TEST_F(DaemonTest, NpzinfoIndexBuildsWhatTheMountLoads) {
  TempDir dir;
  const std::string file = dir.Join("big.npzidx");
  const std::string archive = StandardArchive("big");
  Outcome o = RunFor({NPZINFO_BIN, "index", "--index", file, archive}, 120 * kTimeFactor);
  ASSERT_EQ(o.status, 0) << o.output;
  EXPECT_NE(o.output.find("2 of 2 deflate members indexed"), std::string::npos) << o.output;
  auto m = MountedNpz::Start(archive, {"-o", "index=" + file});
  ASSERT_TRUE(m);
  EXPECT_NE(m->Log().find("index: " + file + " (2 members)"), std::string::npos) << m->Log();
  const std::string want = ReadFile(ZipfileDump(archive) + "/0.bin");
  EXPECT_EQ(ReadAt(m->Path("big.npy"), want.size() / 2, 10000),
            want.substr(want.size() / 2, 10000));
  EXPECT_EQ(m->Unmount(), 0);
}

// A SOZip archive mounts like any other; its member reads right anywhere,
// backwards first (no pass from its start), and numpy reads the same file.
TEST_F(DaemonTest, ASozipMemberReadsRightAnywhereThroughTheMount) {
  TempDir dir;
  std::string payload(8 << 20, '\0');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>((i / 7) % 251);
  const std::string npy = NpyV1("|u1", "(" + std::to_string(payload.size()) + ",)", payload);
  ZipWriter w;
  AddSozipMember(w, "a.npy", npy, {.chunk_size = 32 << 10});
  const std::string archive = dir.Join("sozip.npz");
  WriteFile(archive, w.Finish());
  auto m = MountedNpz::Start(archive, {"-o", "noindex"});
  ASSERT_TRUE(m);
  for (int64_t at = static_cast<int64_t>(npy.size()) - 5000; at > 0; at -= 1'000'003) {
    const auto off = static_cast<uint64_t>(at);
    ASSERT_EQ(ReadAt(m->Path("a.npy"), off, 5000), npy.substr(off, 5000)) << at;
  }
  EXPECT_TRUE(ReadFile(m->Path("a.npy")) == npy);
  std::string out;
  ASSERT_EQ(RunCommand({NPZFS_PYTHON, "-c",
                        "import numpy as np, sys; a = np.load(sys.argv[1])['a']; "
                        "b = np.load(sys.argv[2]); print(bool((a == b).all()), a.shape)",
                        archive, m->Path("a.npy")},
                       &out),
            0)
      << out;
  EXPECT_EQ(out, "True (8388608,)\n");
  EXPECT_EQ(m->Unmount(), 0);
}

}  // namespace
}  // namespace npzfs::testing
