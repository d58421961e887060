// End-to-end tests on real mounts: the tools users use (stat, getfattr,
// numpy, mount) against what Python's zipfile and numpy read from the
// archive itself.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <utime.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "core/base/unique_fd.h"
#include "tests/mount/mounted_npz.h"
#include "tests/support/test_support.h"

namespace npzfs::testing {
namespace {

namespace fsys = std::filesystem;

class MountTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!CanMount()) GTEST_SKIP() << "no usable /dev/fuse or fusermount3 here";
  }
};

nlohmann::json ZipfileIndex(const std::string& archive) {
  return nlohmann::json::parse(ReadFile(ZipfileDump(archive) + "/index.json"));
}

// path under the mount -> (is_dir, size), both views.
std::map<std::string, std::pair<bool, uint64_t>> Listing(const std::string& root) {
  std::map<std::string, std::pair<bool, uint64_t>> out;
  for (const auto& e : fsys::recursive_directory_iterator(root)) {
    const std::string rel = fsys::relative(e.path(), root).string();
    out[rel] = {e.is_directory(), e.is_directory() ? 0 : e.file_size()};
  }
  return out;
}

// What the listing must be, from zipfile's view of the archive.
std::map<std::string, std::pair<bool, uint64_t>> ExpectedListing(const nlohmann::json& members) {
  std::map<std::string, std::pair<bool, uint64_t>> out;
  auto add_dirs = [&out](const std::string& path) {
    for (size_t p = path.find('/'); p != std::string::npos; p = path.find('/', p + 1)) {
      out[path.substr(0, p)] = {true, 0};
    }
  };
  out["raw"] = {true, 0};
  for (const auto& m : members) {
    std::string name = m["name"];
    if (name.back() == '/') {
      name.pop_back();
      add_dirs(name + "/");
      continue;
    }
    add_dirs(name);
    out[name] = {false, m["size"].get<uint64_t>()};
    if (m.contains("npy") && m["npy"]["descr"].get<std::string>().find("|O") == std::string::npos) {
      const std::string raw = "raw/" + name.substr(0, name.size() - 4);
      add_dirs(raw);
      out[raw] = {false, m["size"].get<uint64_t>() - m["npy"]["data_offset"].get<uint64_t>()};
    }
  }
  return out;
}

class ArchiveMountTest : public MountTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(ArchiveMountTest, ListingEqualsTheMembers) {
  const std::string archive = StandardArchive(GetParam());
  auto m = MountedNpz::Start(archive);
  ASSERT_TRUE(m);
  EXPECT_EQ(Listing(m->path()), ExpectedListing(ZipfileIndex(archive)));
}

TEST_P(ArchiveMountTest, EveryFileEqualsWhatZipfileReads) {
  const std::string archive = StandardArchive(GetParam());
  const std::string dump = ZipfileDump(archive);
  const auto members = ZipfileIndex(archive);
  auto m = MountedNpz::Start(archive);
  ASSERT_TRUE(m);
  for (size_t i = 0; i < members.size(); ++i) {
    const std::string name = members[i]["name"];
    if (name.back() == '/') continue;
    SCOPED_TRACE(name);
    EXPECT_EQ(ReadFile(m->Path(name)), ReadFile(dump + "/" + std::to_string(i) + ".bin"));
  }
}

TEST_P(ArchiveMountTest, NumpyReadsEveryArrayThroughTheMount) {
  const std::string archive = StandardArchive(GetParam());
  auto m = MountedNpz::Start(archive);
  ASSERT_TRUE(m);
  std::string out;
  EXPECT_EQ(
      RunCommand({NPZFS_PYTHON, NPZFS_MOUNT_SCRIPTS "/check_mount.py", m->path(), archive}, &out),
      0)
      << out;
}

INSTANTIATE_TEST_SUITE_P(Standard, ArchiveMountTest,
                         ::testing::Values("stored", "compressed", "descriptor_stored",
                                           "descriptor_compressed", "nonnpy", "prefix", "bzip2",
                                           "lzma"));

TEST_F(MountTest, StatShowsModesOwnerTimesAndExactSizes) {
  const std::string archive = StandardArchive("stored");
  auto m = MountedNpz::Start(archive, {"-o", "uid=1234,gid=5678,umask=027"});
  ASSERT_TRUE(m);
  struct stat st {};
  ASSERT_EQ(::stat(m->Path("f8.npy").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode, S_IFREG | 0440u);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  EXPECT_EQ(st.st_size, 333 * 8 + 128);
  ASSERT_EQ(::stat(m->Path("raw/f8").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 333 * 8);
  ASSERT_EQ(::stat(m->Path("group").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode, S_IFDIR | 0550u);
  EXPECT_EQ(st.st_nlink, 3u);  // ., .., sub
  struct stat archive_st {};
  ASSERT_EQ(::stat(archive.c_str(), &archive_st), 0);
  EXPECT_EQ(st.st_mtime, archive_st.st_mtime);  // implicit directories: the archive's
  ASSERT_EQ(::stat(m->Path("f8.npy").c_str(), &st), 0);
  struct tm tm {};
  const time_t t = st.st_mtime;
  localtime_r(&t, &tm);  // numpy's members say 1980-01-01 00:00 local time
  EXPECT_EQ(tm.tm_year, 80);
  EXPECT_EQ(tm.tm_yday, 0);
  EXPECT_EQ(tm.tm_hour, 0);
}

TEST_F(MountTest, StatToolReportsWhatTheSpecSays) {
  auto m = MountedNpz::Start(StandardArchive("compressed"));
  ASSERT_TRUE(m);
  std::string out;
  ASSERT_EQ(RunCommand({"stat", "-c", "%A %s %F", m->Path("c_order_2d.npy"),
                        m->Path("raw/c_order_2d"), m->Path("raw")},
                       &out),
            0);
  EXPECT_EQ(out,
            "-r--r--r-- 368 regular file\n-r--r--r-- 240 regular file\n"
            "dr-xr-xr-x 0 directory\n");
}

TEST_F(MountTest, XattrsFollowTheKernelProtocol) {
  auto m = MountedNpz::Start(StandardArchive("compressed"));
  ASSERT_TRUE(m);
  const std::string f = m->Path("structured.npy");
  const std::string want = "[('x', '<f4'), ('label', '<i4')]";
  EXPECT_EQ(::getxattr(f.c_str(), "user.npy.descr", nullptr, 0), static_cast<ssize_t>(want.size()));
  char buf[256];
  ssize_t n = ::getxattr(f.c_str(), "user.npy.descr", buf, sizeof buf);
  ASSERT_EQ(n, static_cast<ssize_t>(want.size()));
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), want);
  errno = 0;
  EXPECT_EQ(::getxattr(f.c_str(), "user.npy.descr", buf, 5), -1);
  EXPECT_EQ(errno, ERANGE);
  EXPECT_EQ(::getxattr(f.c_str(), "user.no.such", buf, sizeof buf), -1);
  EXPECT_EQ(errno, ENODATA);
  // No security labels or ACLs at all: the namespaces are unsupported, so
  // that `ls -l` asks once per mount rather than once per file.
  for (const char* name : {"security.selinux", "system.posix_acl_access", "trusted.x"}) {
    errno = 0;
    EXPECT_EQ(::getxattr(f.c_str(), name, buf, sizeof buf), -1) << name;
    EXPECT_EQ(errno, EOPNOTSUPP) << name;
  }

  char list[4096];
  n = ::listxattr(f.c_str(), list, sizeof list);
  ASSERT_GT(n, 0);
  std::set<std::string> names;
  for (const char* p = list; p < list + n; p += std::strlen(p) + 1) names.insert(p);
  EXPECT_EQ(names,
            (std::set<std::string>{"user.npy.data_offset", "user.npy.descr",
                                   "user.npy.fortran_order", "user.npy.header", "user.npy.shape",
                                   "user.npy.version", "user.zip.compressed_size", "user.zip.crc32",
                                   "user.zip.method", "user.zip.size"}));
  EXPECT_EQ(::listxattr(f.c_str(), nullptr, 0), n);
  EXPECT_EQ(::listxattr(f.c_str(), list, 3), -1);
  EXPECT_EQ(errno, ERANGE);

  // A directory that is not a member has none.
  EXPECT_EQ(::listxattr(m->Path("group").c_str(), list, sizeof list), 0);
}

TEST_F(MountTest, GetfattrDumpsEveryAttribute) {
  auto m = MountedNpz::Start(StandardArchive("compressed"));
  ASSERT_TRUE(m);
  std::string out;
  ASSERT_EQ(RunCommand({"getfattr", "--absolute-names", "-d", m->Path("fortran_2d.npy")}, &out), 0)
      << out;
  for (const char* line : {"user.npy.descr=\"<f4\"", "user.npy.shape=\"(6, 10)\"",
                           "user.npy.fortran_order=\"True\"", "user.npy.version=\"1.0\"",
                           "user.npy.data_offset=\"128\"", "user.zip.method=\"deflate\""}) {
    EXPECT_NE(out.find(line), std::string::npos) << line << " not in\n" << out;
  }
  ASSERT_EQ(RunCommand({"getfattr", "--absolute-names", "-d", m->path()}, &out), 0) << out;
  EXPECT_NE(out.find("user.npz.members=\""), std::string::npos) << out;
}

TEST_F(MountTest, EveryWriteFailsWithErofs) {
  auto m = MountedNpz::Start(StandardArchive("stored"));
  ASSERT_TRUE(m);
  const std::string f = m->Path("f8.npy");
  auto expect_erofs = [](int rc, const char* what) {
    EXPECT_EQ(rc, -1) << what;
    EXPECT_EQ(errno, EROFS) << what << ": " << std::strerror(errno);
  };
  expect_erofs(::open(f.c_str(), O_WRONLY), "open for writing");
  expect_erofs(::open(f.c_str(), O_RDWR), "open read-write");
  expect_erofs(::open(f.c_str(), O_RDONLY | O_TRUNC), "open with O_TRUNC");
  expect_erofs(::open(m->Path("new.npy").c_str(), O_CREAT | O_WRONLY, 0644), "create");
  expect_erofs(::mkdir(m->Path("d").c_str(), 0755), "mkdir");
  expect_erofs(::unlink(f.c_str()), "unlink");
  expect_erofs(::rmdir(m->Path("group").c_str()), "rmdir");
  expect_erofs(::rename(f.c_str(), m->Path("g.npy").c_str()), "rename");
  expect_erofs(::truncate(f.c_str(), 0), "truncate");
  expect_erofs(::chmod(f.c_str(), 0644), "chmod");
  expect_erofs(::chown(f.c_str(), 1, 1), "chown");
  expect_erofs(::symlink("x", m->Path("l").c_str()), "symlink");
  expect_erofs(::link(f.c_str(), m->Path("h").c_str()), "link");
  expect_erofs(::utime(f.c_str(), nullptr), "utime");
  expect_erofs(::setxattr(f.c_str(), "user.x", "1", 1, 0), "setxattr");
  expect_erofs(::removexattr(f.c_str(), "user.npy.descr"), "removexattr");
  // And nothing changed.
  EXPECT_TRUE(fsys::exists(f));
}

TEST_F(MountTest, InodeNumbersAreEqualAcrossMounts) {
  const std::string archive = StandardArchive("compressed");
  auto a = MountedNpz::Start(archive);
  auto b = MountedNpz::Start(archive, {"-o", "umask=077"});
  ASSERT_TRUE(a && b);
  size_t n = 0;
  std::set<ino_t> seen;
  for (const auto& e : fsys::recursive_directory_iterator(a->path())) {
    const std::string rel = fsys::relative(e.path(), a->path()).string();
    struct stat sa {
    }, sb{};
    ASSERT_EQ(::stat(a->Path(rel).c_str(), &sa), 0);
    ASSERT_EQ(::stat(b->Path(rel).c_str(), &sb), 0) << rel;
    EXPECT_EQ(sa.st_ino, sb.st_ino) << rel;
    EXPECT_TRUE(seen.insert(sa.st_ino).second) << "inode " << sa.st_ino << " twice";
    ++n;
  }
  EXPECT_GT(n, 60u);
}

TEST_F(MountTest, ReaddirGivesFileTypes) {
  const auto members = ZipfileIndex(StandardArchive("compressed"));
  auto m = MountedNpz::Start(StandardArchive("compressed"));
  ASSERT_TRUE(m);
  for (const auto& e : fsys::directory_iterator(m->path())) {
    // directory_iterator takes the type from d_type when it is set.
    const bool dir = e.path().filename() == "raw" || e.path().filename() == "group";
    EXPECT_EQ(e.is_directory(), dir) << e.path();
  }
  std::string out;
  ASSERT_EQ(RunCommand({"find", m->path(), "-type", "f", "-name", "*.npy"}, &out), 0);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), static_cast<long>(members.size()));
}

// READ requests the daemon has had so far, as its -d trace shows them.
size_t ReadRequests(const MountedNpz& m) {
  const std::string log = m.Log();
  size_t n = 0;
  for (size_t at = log.find("opcode: READ ("); at != std::string::npos;
       at = log.find("opcode: READ (", at + 1)) {
    ++n;
  }
  return n;
}

// Content never changes, so the kernel keeps a file's pages across opens:
// a second read of a file never reaches the daemon.
TEST_F(MountTest, SecondReadComesFromThePageCache) {
  for (const char* kind : {"stored", "compressed"}) {
    SCOPED_TRACE(kind);
    auto m = MountedNpz::Start(StandardArchive(kind), {"-d"});
    ASSERT_TRUE(m);
    const std::string first = ReadFile(m->Path("large.npy"));
    const size_t after_first = ReadRequests(*m);
    EXPECT_GT(after_first, 0u);  // the member was read from the daemon
    const std::string second = ReadFile(m->Path("large.npy"));
    EXPECT_EQ(second, first);
    EXPECT_EQ(ReadRequests(*m), after_first);
  }
}

TEST_F(MountTest, RawViewCanBeRenamedOrHidden) {
  const std::string archive = StandardArchive("stored");
  {
    auto m = MountedNpz::Start(archive, {"-o", "raw_dir=data"});
    ASSERT_TRUE(m);
    EXPECT_TRUE(fsys::is_regular_file(m->Path("data/f8")));
    EXPECT_FALSE(fsys::exists(m->Path("raw")));
  }
  auto m = MountedNpz::Start(archive, {"-o", "noraw"});
  ASSERT_TRUE(m);
  EXPECT_FALSE(fsys::exists(m->Path("raw")));
  EXPECT_TRUE(fsys::exists(m->Path("f8.npy")));
}

TEST_F(MountTest, ConcurrentReadersGetTheRightBytes) {
  const std::string archive = StandardArchive("compressed");
  const auto members = ZipfileIndex(archive);
  const std::string dump = ZipfileDump(archive);
  auto m = MountedNpz::Start(archive);
  ASSERT_TRUE(m);
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = static_cast<size_t>(t); i < members.size(); i += 3) {
        const std::string name = members[i]["name"];
        if (ReadFile(m->Path(name)) != ReadFile(dump + "/" + std::to_string(i) + ".bin")) ++bad;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST_F(MountTest, UnsupportedMembersAreListedAndFailWithEnotsup) {
  auto m = MountedNpz::Start(StandardArchive("encrypted"));
  ASSERT_TRUE(m);
  struct stat st {};
  ASSERT_EQ(::stat(m->Path("a.npy").c_str(), &st), 0);
  {
    const core::UniqueFd fd(::open(m->Path("a.npy").c_str(), O_RDONLY));
    ASSERT_TRUE(fd.valid());
    char buf[16];
    EXPECT_EQ(::read(fd.get(), buf, sizeof buf), -1);
    EXPECT_EQ(errno, ENOTSUP);
  }
  EXPECT_FALSE(ReadFile(m->Path("b.npy")).empty());
  m.reset();
}

// Runs npzfs in the background, as users do, and checks what it prints.
struct Outcome {
  int status;
  std::string output;
};
Outcome RunNpzfs(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {NpzfsBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  Outcome o;
  o.status = RunCommand(argv, &o.output);
  return o;
}

TEST_F(MountTest, FailuresBeforeMountingSayWhatAndLeaveNothingMounted) {
  TempDir dir;
  const std::string mnt = dir.Join("mnt");
  ::mkdir(mnt.c_str(), 0755);
  WriteFile(dir.Join("not.npz"), "this is not a zip archive, just text");
  WriteFile(dir.Join("file"), "x");
  struct Case {
    std::vector<std::string> args;
    int status;
    std::string line;
  };
  const std::vector<Case> cases = {
      {{dir.Join("missing.npz"), mnt},
       2,
       "npzfs: " + dir.Join("missing.npz") + ": No such file or directory\n"},
      {{dir.Join("not.npz"), mnt},
       2,
       "npzfs: " + dir.Join("not.npz") +
           ": not a zip archive (no end of central directory record)\n"},
      {{StandardArchive("stored"), dir.Join("nomnt")},
       3,
       "npzfs: " + dir.Join("nomnt") + ": No such file or directory\n"},
      {{StandardArchive("stored"), dir.Join("file")},
       3,
       "npzfs: " + dir.Join("file") + ": Not a directory\n"},
      {{"-o", "cache_size=lots", StandardArchive("stored"), mnt},
       1,
       "npzfs: bad value for cache_size: 'lots'\n"},
      {{"-o", "log_level=loud", StandardArchive("stored"), mnt},
       1,
       "npzfs: bad value for log_level: 'loud' (trace, debug, info, warn, error or off)\n"},
      {{StandardArchive("stored")},
       1,
       "npzfs: no mountpoint given (usage: npzfs ARCHIVE|URL|DIR|ARCHIVE... MOUNTPOINT)\n"},
  };
  for (const Case& c : cases) {
    Outcome o = RunNpzfs(c.args);
    EXPECT_EQ(o.status, c.status) << c.line;
    EXPECT_EQ(o.output, c.line);
    EXPECT_FALSE(IsMountpoint(mnt));
  }
}

TEST_F(MountTest, BackgroundMountIsLiveWhenTheCommandReturns) {
  TempDir dir;
  const std::string mnt = dir.Join("mnt");
  ::mkdir(mnt.c_str(), 0755);
  Outcome o = RunNpzfs({StandardArchive("stored"), mnt});
  ASSERT_EQ(o.status, 0) << o.output;
  EXPECT_EQ(o.output, "");  // nothing on the terminal when all is well
  // No waiting: the mount must already be there.
  EXPECT_TRUE(IsMountpoint(mnt));
  EXPECT_TRUE(fsys::is_regular_file(mnt + "/f8.npy"));
  std::string out;
  EXPECT_EQ(RunCommand({"fusermount3", "-u", mnt}, &out), 0) << out;
  EXPECT_TRUE(WaitForMount(mnt, false, 10));
  // The daemon is gone: nothing holds the mountpoint's name any more.
  for (int i = 0; i < 500; ++i) {
    if (RunCommand({"pgrep", "-f", mnt}) != 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_NE(RunCommand({"pgrep", "-f", mnt}), 0) << "npzfs still running after unmount";
}

TEST_F(MountTest, DaemonExitsZeroOnSigterm) {
  auto m = MountedNpz::Start(StandardArchive("stored"));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->Terminate(SIGTERM), 0);
  EXPECT_FALSE(IsMountpoint(m->path()));
}

}  // namespace
}  // namespace npzfs::testing
