// Faults while mounted: the archive changed under the daemon, the daemon
// killed, unmounting with readers, and many readers at once. Whatever
// happens, a read returns the member's bytes or an error, never other bytes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "core/base/unique_fd.h"
#include "tests/mount/mounted_npz.h"
#include "tests/support/test_support.h"

namespace npzfs::testing {
namespace {

namespace fsys = std::filesystem;

// The members of an archive with what zipfile reads of them.
struct Reference {
  std::vector<std::string> names;
  std::vector<std::string> bytes;
};

Reference ReferenceOf(const std::string& archive) {
  const std::string dump = ZipfileDump(archive);
  auto index = nlohmann::json::parse(ReadFile(dump + "/index.json"));
  Reference r;
  for (size_t i = 0; i < index.size(); ++i) {
    const std::string name = index[i]["name"];
    if (name.back() == '/') continue;
    r.names.push_back(name);
    r.bytes.push_back(ReadFile(dump + "/" + std::to_string(i) + ".bin"));
  }
  return r;
}

// Reads a whole file; nullopt with errno kept when a read fails.
std::optional<std::string> TryRead(const std::string& path, int* error) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) {
    *error = errno;
    return std::nullopt;
  }
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      *error = errno;
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!CanMount()) GTEST_SKIP() << "no usable /dev/fuse or fusermount3 here";
  }
};

// After the archive file changes in place, each read returns the member's
// true bytes (pages the kernel kept) or fails with EIO; the daemon stays up.
void ChangeUnderTheMount(const char* kind, void (*change)(const std::string& path)) {
  const std::string original = StandardArchive(kind);
  const Reference ref = ReferenceOf(original);
  TempDir dir;
  const std::string copy = dir.Join("a.npz");
  fsys::copy_file(original, copy);
  auto m = MountedNpz::Start(copy);
  ASSERT_TRUE(m);
  // Read a few members first: they must keep reading right from the cache
  // or fail, never change.
  for (size_t i = 0; i < ref.names.size(); i += 5) {
    EXPECT_EQ(ReadFile(m->Path(ref.names[i])), ref.bytes[i]) << ref.names[i];
  }
  change(copy);
  int eio = 0;
  for (size_t i = 0; i < ref.names.size(); ++i) {
    int error = 0;
    auto got = TryRead(m->Path(ref.names[i]), &error);
    if (got) {
      EXPECT_EQ(*got, ref.bytes[i]) << ref.names[i] << ": other bytes after the archive changed";
    } else {
      EXPECT_EQ(error, EIO) << ref.names[i] << ": " << std::strerror(error);
      ++eio;
    }
  }
  EXPECT_GT(eio, 0);
  // Still alive and answering.
  struct stat st {};
  EXPECT_EQ(::stat(m->Path(ref.names[0]).c_str(), &st), 0);
  EXPECT_NE(m->Log().find("changed"), std::string::npos) << m->Log();
}

TEST_F(FaultTest, ArchiveTruncatedWhileMounted) {
  for (const char* kind : {"stored", "compressed"}) {
    SCOPED_TRACE(kind);
    ChangeUnderTheMount(kind, [](const std::string& path) {
      ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(fsys::file_size(path) / 2)), 0);
    });
  }
}

TEST_F(FaultTest, ArchiveOverwrittenWhileMounted) {
  for (const char* kind : {"stored", "compressed"}) {
    SCOPED_TRACE(kind);
    ChangeUnderTheMount(kind, [](const std::string& path) {
      const int fd = ::open(path.c_str(), O_WRONLY);
      ASSERT_GE(fd, 0);
      const std::string junk(200000, 'J');
      const off_t at = static_cast<off_t>(fsys::file_size(path) / 3);
      ASSERT_EQ(::pwrite(fd, junk.data(), junk.size(), at), static_cast<ssize_t>(junk.size()));
      ::close(fd);
    });
  }
}

TEST_F(FaultTest, DaemonKilledMidReadGivesEnotconnAndRemountWorks) {
  const std::string archive = StandardArchive("compressed");
  const Reference ref = ReferenceOf(archive);
  TempDir dir;
  const std::string mnt = dir.Join("mnt");
  ::mkdir(mnt.c_str(), 0755);
  auto m = MountedNpz::StartAt(archive, mnt);
  ASSERT_TRUE(m);
  core::UniqueFd file(::open(m->Path("large.npy").c_str(), O_RDONLY));
  const int fd = file.get();
  ASSERT_GE(fd, 0);
  char buf[4096];
  ASSERT_EQ(::read(fd, buf, sizeof buf), 4096);
  ::kill(m->pid(), SIGKILL);
  ASSERT_EQ(WaitOrKill(m->pid(), 20), -1);  // died of the signal
  // The reader is told the connection is gone, and so is anyone else.
  EXPECT_EQ(::pread(fd, buf, sizeof buf, 1 << 20), -1);
  EXPECT_EQ(errno, ENOTCONN);
  struct stat st {};
  EXPECT_EQ(::stat(m->Path("f4.npy").c_str(), &st), -1);
  EXPECT_EQ(errno, ENOTCONN);
  file.Reset();         // closed before unmounting, as a reader would
  m->KillAndCleanUp();  // fusermount3 -u on the dead mount
  EXPECT_FALSE(IsMountpoint(mnt));
  m.reset();

  auto again = MountedNpz::StartAt(archive, mnt);
  ASSERT_TRUE(again);
  for (size_t i = 0; i < ref.names.size(); ++i) {
    EXPECT_EQ(ReadFile(again->Path(ref.names[i])), ref.bytes[i]) << ref.names[i];
  }
}

TEST_F(FaultTest, UnmountWhileReadersAreActive) {
  const std::string archive = StandardArchive("compressed");
  const Reference ref = ReferenceOf(archive);
  auto m = MountedNpz::Start(archive);
  ASSERT_TRUE(m);
  size_t large = 0;
  while (ref.names[large] != "large.npy") ++large;

  // A file held open makes a plain unmount fail with EBUSY, and the mount
  // goes on working.
  const int held = ::open(m->Path("large.npy").c_str(), O_RDONLY);
  ASSERT_GE(held, 0);
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      while (!stop) {
        const std::string& want = ref.bytes[large];
        const size_t off = rng() % want.size();
        char buf[8192];
        const ssize_t n = ::pread(held, buf, sizeof buf, static_cast<off_t>(off));
        if (n < 0 || std::string_view(buf, static_cast<size_t>(n)) !=
                         std::string_view(want).substr(off, sizeof buf)) {
          ++bad;
        }
      }
    });
  }
  std::string out;
  EXPECT_NE(RunCommand({"fusermount3", "-u", m->path()}, &out), 0);
  EXPECT_NE(out.find("busy"), std::string::npos) << out;
  EXPECT_TRUE(IsMountpoint(m->path()));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));

  // A lazy unmount detaches it now; open files keep reading until closed,
  // then the daemon exits 0.
  EXPECT_EQ(RunCommand({"fusermount3", "-u", "-z", m->path()}, &out), 0) << out;
  EXPECT_FALSE(IsMountpoint(m->path()));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
  ::close(held);
  EXPECT_EQ(WaitOrKill(m->pid(), 20), 0) << m->Log();
  m->Terminate(0);  // already gone: only marks it so
}

// 32 threads read random ranges of every member, on both views, for a
// bounded time; every byte is checked. Run with a tiny cache too, so that
// chunks are evicted while others read them.
void ManyReaders(const std::vector<std::string>& args) {
  const std::string archive = StandardArchive("compressed");
  const Reference ref = ReferenceOf(archive);
  auto index = nlohmann::json::parse(ReadFile(ZipfileDump(archive) + "/index.json"));
  // Raw views: path -> (member, header size).
  std::vector<std::pair<std::string, size_t>> raws;
  std::vector<size_t> raw_member;
  for (size_t i = 0, k = 0; i < index.size(); ++i) {
    const std::string name = index[i]["name"];
    if (name.back() == '/') continue;
    if (index[i].contains("npy") &&
        index[i]["npy"]["descr"].get<std::string>().find("|O") == std::string::npos) {
      raws.emplace_back("raw/" + name.substr(0, name.size() - 4),
                        index[i]["npy"]["data_offset"].get<size_t>());
      raw_member.push_back(k);
    }
    ++k;
  }
  auto m = MountedNpz::Start(archive, args);
  ASSERT_TRUE(m);
  std::atomic<int> bad{0};
  std::atomic<long> reads{0};
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  std::vector<std::thread> threads;
  for (int t = 0; t < 32; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(static_cast<uint64_t>(t) * 7919);
      std::vector<char> buf(300000);
      while (std::chrono::steady_clock::now() < until) {
        std::string path;
        std::string_view want;
        if (rng() % 2 == 0) {
          const size_t i = rng() % ref.names.size();
          path = m->Path(ref.names[i]);
          want = ref.bytes[i];
        } else {
          const size_t r = rng() % raws.size();
          path = m->Path(raws[r].first);
          want = std::string_view(ref.bytes[raw_member[r]]).substr(raws[r].second);
        }
        const int fd = ::open(path.c_str(), O_RDONLY);
        if (fd < 0) {
          ++bad;
          continue;
        }
        for (int k = 0; k < 4; ++k) {
          const size_t off = want.empty() ? 0 : rng() % want.size();
          const size_t len = rng() % 2 ? rng() % 4096 + 1 : rng() % buf.size() + 1;
          const ssize_t n = ::pread(fd, buf.data(), len, static_cast<off_t>(off));
          if (n < 0 ||
              std::string_view(buf.data(), static_cast<size_t>(n)) != want.substr(off, len)) {
            ++bad;
          }
          ++reads;
        }
        ::close(fd);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(reads.load(), 1000);
}

TEST_F(FaultTest, ThirtyTwoReadersGetEveryByteRight) { ManyReaders({}); }

TEST_F(FaultTest, ThirtyTwoReadersWithATinyCache) { ManyReaders({"-o", "cache_size=256K"}); }

}  // namespace
}  // namespace npzfs::testing
