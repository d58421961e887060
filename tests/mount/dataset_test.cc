// Mounts of many archives (a directory of shards, or archives named
// together) through real mounts: the layout and names, what each archive's
// directory holds, lazy opening, max_open, concurrent first lookups and an
// archive that cannot be read.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/mount/mounted_npz.h"
#include "tests/support/test_support.h"

namespace npzfs::testing {
namespace {

namespace fsys = std::filesystem;

class DatasetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!CanMount()) GTEST_SKIP() << "no usable /dev/fuse or fusermount3 here";
  }
};

// Shards under `dir`: for each relative name (without .npz), an archive
// whose array "x" holds int32 values i*1000 .. i*1000 + n - 1, i its
// position in `names`; compressed when `compressed`.
void MakeShards(const std::string& dir, const std::vector<std::string>& names, int n,
                bool compressed = false) {
  std::string list;
  for (const auto& name : names) list += name + "\n";
  WriteFile(dir + "/.names", list);
  const std::string code =
      "import numpy as np, os, sys\n"
      "d = sys.argv[1]\n"
      "names = open(os.path.join(d, '.names')).read().split()\n"
      "for i, name in enumerate(names):\n"
      "    p = os.path.join(d, name + '.npz')\n"
      "    os.makedirs(os.path.dirname(p), exist_ok=True)\n"
      "    x = np.arange(i * 1000, i * 1000 + " +
      std::to_string(n) +
      ", dtype=np.int32)\n"
      "    (np.savez_compressed if sys.argv[2] == '1' else np.savez)(p, x=x)\n"
      "os.remove(os.path.join(d, '.names'))\n";
  std::string out;
  ASSERT_EQ(RunCommand({NPZFS_PYTHON, "-c", code, dir, compressed ? "1" : "0"}, &out), 0) << out;
}

// Checks that `raw` (a raw/x file) holds shard i's n values.
void ExpectShard(const std::string& raw, int i, int n) {
  const std::string bytes = ReadFile(raw);
  ASSERT_EQ(bytes.size(), static_cast<size_t>(n) * 4) << raw;
  for (int v = 0; v < n; ++v) {
    int32_t got;
    std::memcpy(&got, bytes.data() + 4 * v, 4);
    if (got != i * 1000 + v) {
      ADD_FAILURE() << raw << ": value " << v << " is " << got;
      return;
    }
  }
}

// Descriptors of `pid` open on regular files (the archives it holds).
int FilesOpen(pid_t pid) {
  int count = 0;
  const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  for (const auto& e : fsys::directory_iterator(dir)) {
    std::error_code ec;
    const auto target = fsys::read_symlink(e.path(), ec);
    if (!ec && target.string().ends_with(".npz")) ++count;
  }
  return count;
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

TEST_F(DatasetTest, ADirectoryOfShardsIsADirectoryPerArchiveAtItsPath) {
  TempDir data;
  MakeShards(data.path(), {"s0", "a/s1", "a/b/s2", "c/s3"}, 100);
  WriteFile(data.Join("notes.txt"), "not an archive");
  WriteFile(data.Join("a/readme.md"), "nor this");
  fsys::create_directories(data.Join("empty/dir"));
  auto m = MountedNpz::Start(data.path(), {"-o", "log_level=debug"});
  ASSERT_TRUE(m);
  std::set<std::string> listed;
  for (const auto& e : fsys::recursive_directory_iterator(m->path())) {
    listed.insert(fsys::relative(e.path(), m->path()).string());
  }
  const std::set<std::string> want = {"s0",     "s0/x.npy",     "s0/raw",     "s0/raw/x",     "a",
                                      "a/s1",   "a/s1/x.npy",   "a/s1/raw",   "a/s1/raw/x",   "a/b",
                                      "a/b/s2", "a/b/s2/x.npy", "a/b/s2/raw", "a/b/s2/raw/x", "c",
                                      "c/s3",   "c/s3/x.npy",   "c/s3/raw",   "c/s3/raw/x"};
  EXPECT_EQ(listed, want);
  ExpectShard(m->Path("s0/raw/x"), 0, 100);
  ExpectShard(m->Path("a/s1/raw/x"), 1, 100);
  ExpectShard(m->Path("a/b/s2/raw/x"), 2, 100);
  ExpectShard(m->Path("c/s3/raw/x"), 3, 100);
  // What a mount of the archive alone shows: the npy view, xattrs.
  const std::string npy = ReadFile(m->Path("a/s1/x.npy"));
  EXPECT_EQ(npy.substr(0, 6), "\x93NUMPY");
  EXPECT_EQ(npy.substr(npy.size() - 400), ReadFile(m->Path("a/s1/raw/x")));
  char value[4096];
  ssize_t n = ::getxattr(m->Path("a/s1").c_str(), "user.npz.archive", value, sizeof value);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(value, n), fsys::canonical(data.Join("a/s1.npz")).string());
  n = ::getxattr(m->Path("a/s1/x.npy").c_str(), "user.npy.shape", value, sizeof value);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(value, n), "(100,)");
  // The dataset's own directories: r-xr-xr-x, ".." right at an archive's root.
  struct stat st {
  }, up{};
  ASSERT_EQ(::stat(m->Path("a/b").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0555u);
  ASSERT_EQ(::stat(m->Path("a/b/s2/..").c_str(), &up), 0);
  EXPECT_EQ(up.st_ino, st.st_ino);
  // An archive's directory has its file's mtime.
  struct stat file {};
  ASSERT_EQ(::stat(data.Join("a/b/s2.npz").c_str(), &file), 0);
  ASSERT_EQ(::stat(m->Path("a/b/s2").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, file.st_mtim.tv_sec);
  EXPECT_EQ(m->Unmount(), 0);
  EXPECT_EQ(Count(m->Log(), "opened ("), 4u) << m->Log();
}

TEST_F(DatasetTest, ListingAndStattingOpensNoArchive) {
  TempDir data;
  std::vector<std::string> names;
  for (int i = 0; i < 50; ++i)
    names.push_back("d" + std::to_string(i % 5) + "/s" + std::to_string(i));
  MakeShards(data.path(), names, 10);
  auto m = MountedNpz::Start(data.path(), {"-o", "log_level=debug"});
  ASSERT_TRUE(m);
  size_t dirs = 0;
  for (const auto& d : fsys::directory_iterator(m->path())) {
    for (const auto& shard : fsys::directory_iterator(d.path())) {
      struct stat st {};
      ASSERT_EQ(::stat(shard.path().c_str(), &st), 0);
      EXPECT_TRUE(S_ISDIR(st.st_mode));
      ++dirs;
    }
  }
  EXPECT_EQ(dirs, 50u);
  EXPECT_EQ(FilesOpen(m->pid()), 0);
  EXPECT_EQ(Count(m->Log(), "opened"), 0u) << m->Log();
  ExpectShard(m->Path("d3/s13/raw/x"), 13, 10);
  EXPECT_EQ(FilesOpen(m->pid()), 1);
  EXPECT_EQ(m->Unmount(), 0);
}

TEST_F(DatasetTest, ADirectoryOfArchivesWinsOverAnArchiveOfItsName) {
  TempDir data;
  MakeShards(data.path(), {"a", "a/inner", "b"}, 10);
  auto m = MountedNpz::Start(data.path());
  ASSERT_TRUE(m);
  EXPECT_TRUE(fsys::is_directory(m->Path("a/inner")));
  ExpectShard(m->Path("a/inner/raw/x"), 1, 10);
  EXPECT_FALSE(fsys::exists(m->Path("a/x.npy")));
  ExpectShard(m->Path("b/raw/x"), 2, 10);
  EXPECT_EQ(m->Unmount(), 0);
  EXPECT_NE(m->Log().find("'a': an archive left out"), std::string::npos) << m->Log();
}

TEST_F(DatasetTest, ArchivesNamedTogether) {
  TempDir data;
  MakeShards(data.path(), {"one", "two", "sub/two"}, 20);
  const std::string mnt = data.Join("mnt");
  fsys::create_directory(mnt);
  auto m = MountedNpz::StartMany(
      {data.Join("one.npz"), data.Join("two.npz"), data.Join("sub/two.npz")}, mnt, {});
  ASSERT_TRUE(m);
  std::set<std::string> top;
  for (const auto& e : fsys::directory_iterator(mnt)) top.insert(e.path().filename());
  EXPECT_EQ(top, (std::set<std::string>{"one", "two"}));
  ExpectShard(m->Path("one/raw/x"), 0, 20);
  ExpectShard(m->Path("two/raw/x"), 2, 20);  // the later of the two named "two"
  EXPECT_EQ(m->Unmount(), 0);
  EXPECT_NE(m->Log().find("'two': more than one archive has this name"), std::string::npos)
      << m->Log();
}

TEST_F(DatasetTest, AnArchiveThatCannotBeReadFailsAloneWithOneLogLine) {
  TempDir data;
  MakeShards(data.path(), {"good", "also_good"}, 30);
  WriteFile(data.Join("bad.npz"), "this is not a zip archive");
  auto m = MountedNpz::Start(data.path());
  ASSERT_TRUE(m);
  EXPECT_TRUE(fsys::is_directory(m->Path("bad")));
  for (int i = 0; i < 3; ++i) {
    // Opening the directory may succeed (the kernel opens directories by
    // itself where it can); listing it fails.
    std::error_code ec;
    for (fsys::directory_iterator it(m->Path("bad"), ec); !ec && it != fsys::directory_iterator();
         it.increment(ec)) {
    }
    EXPECT_EQ(ec.value(), EIO) << ec.message();
    struct stat st {};
    EXPECT_EQ(::stat(m->Path("bad/x.npy").c_str(), &st), -1);
    EXPECT_EQ(errno, EIO);
  }
  ExpectShard(m->Path("good/raw/x"), 0, 30);
  ExpectShard(m->Path("also_good/raw/x"), 1, 30);
  EXPECT_EQ(m->Unmount(), 0);
  EXPECT_EQ(Count(m->Log(), "bad.npz"), 1u) << m->Log();
  EXPECT_NE(m->Log().find("not a zip archive"), std::string::npos) << m->Log();
}

TEST_F(DatasetTest, TenThousandShardsListAtOnceAndOpenOnlyWhatIsRead) {
  TempDir data;
  // Written with zipfile (numpy's layout: an .npy member, stored), faster
  // than 10,000 np.savez calls.
  const std::string code =
      "import io, sys, zipfile, numpy as np\n"
      "for i in range(10000):\n"
      "    b = io.BytesIO(); np.save(b, np.arange(i * 1000, i * 1000 + 8, dtype=np.int32))\n"
      "    with zipfile.ZipFile('%s/shard-%05d.npz' % (sys.argv[1], i), 'w') as z:\n"
      "        z.writestr('x.npy', b.getvalue())\n";
  std::string out;
  ASSERT_EQ(RunCommand({NPZFS_PYTHON, "-c", code, data.path()}, &out), 0) << out;
  auto m = MountedNpz::Start(data.path(), {"-o", "log_level=debug"});
  ASSERT_TRUE(m);
  std::vector<std::string> names;
  for (const auto& e : fsys::directory_iterator(m->path())) names.push_back(e.path().filename());
  ASSERT_EQ(names.size(), 10000u);
  EXPECT_EQ(FilesOpen(m->pid()), 0);
  for (int i : {0, 1, 4999, 9998, 9999}) {
    char name[32];
    std::snprintf(name, sizeof name, "shard-%05d/raw/x", i);
    ExpectShard(m->Path(name), i, 8);
  }
  EXPECT_LE(FilesOpen(m->pid()), 5);
  EXPECT_EQ(m->Unmount(), 0);
  EXPECT_EQ(Count(m->Log(), "opened ("), 5u);
}

TEST_F(DatasetTest, ConcurrentFirstLookupsOpenTheArchiveOnce) {
  TempDir data;
  MakeShards(data.path(), {"only"}, 5000, /*compressed=*/true);
  auto m = MountedNpz::Start(data.path(), {"-o", "log_level=debug"});
  ASSERT_TRUE(m);
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 32; ++t) {
    threads.emplace_back([&] {
      struct stat st {};
      if (::stat(m->Path("only/raw/x").c_str(), &st) == 0 && st.st_size == 20000) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 32);
  ExpectShard(m->Path("only/raw/x"), 0, 5000);
  EXPECT_EQ(m->Unmount(), 0);
  EXPECT_EQ(Count(m->Log(), "opened ("), 1u) << m->Log();
  EXPECT_EQ(Count(m->Log(), "opened again"), 0u) << m->Log();
}

TEST_F(DatasetTest, MaxOpenBoundsTheArchivesHeldUnder32Readers) {
  TempDir data;
  std::vector<std::string> names;
  for (int i = 0; i < 64; ++i) names.push_back("s" + std::to_string(i));
  MakeShards(data.path(), names, 20000, /*compressed=*/true);
  auto m = MountedNpz::Start(data.path(), {"-o", "max_open=4,log_level=debug"});
  ASSERT_TRUE(m);
  std::atomic<int> wrong{0}, most_open{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 32; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      for (int round = 0; round < 8; ++round) {
        const int i = static_cast<int>(rng() % 64);
        const std::string bytes = ReadFile(m->Path("s" + std::to_string(i) + "/raw/x"));
        for (int v = 0; v < 20000; v += 997) {
          int32_t got;
          std::memcpy(&got, bytes.data() + 4 * v, 4);
          if (bytes.size() != 80000 || got != i * 1000 + v) ++wrong;
        }
      }
    });
  }
  std::thread sampler([&] {
    for (int k = 0; k < 200 && most_open.load() >= 0; ++k) {
      most_open = std::max(most_open.load(), FilesOpen(m->pid()));
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  for (auto& t : threads) t.join();
  sampler.join();
  EXPECT_EQ(wrong.load(), 0);
  // Each reader holds one file open at most: 4 idle + 32 in use.
  EXPECT_LE(most_open.load(), 4 + 32);
  // Once nobody reads (the kernel sends its last releases a little after
  // the closes), at most max_open stay open.
  ExpectShard(m->Path("s1/raw/x"), 1, 20000);
  int open = FilesOpen(m->pid());
  for (int i = 0; i < 500 && open > 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    open = FilesOpen(m->pid());
  }
  EXPECT_LE(open, 4);
  EXPECT_EQ(m->Unmount(), 0);
  EXPECT_GT(Count(m->Log(), "opened again"), 0u);  // closed and reopened
}

}  // namespace
}  // namespace npzfs::testing
