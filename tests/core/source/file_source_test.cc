#include "core/source/file_source.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <sstream>

#include "core/base/unique_fd.h"
#include "tests/support/test_support.h"

namespace npzfs::core {
namespace {

using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

// A unix socket bound at `path`, closed (the name stays) on destruction.
class BoundSocket {
 public:
  explicit BoundSocket(const std::string& path) : fd_(::socket(AF_UNIX, SOCK_STREAM, 0)) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    ok_ = fd_.valid() && ::bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  bool ok() const { return ok_; }

 private:
  UniqueFd fd_;
  bool ok_ = false;
};

// Each kind of file that is not a regular file, as Open() names it. The
// FIFO has a writer (this process), so that an Open() that did open it
// would fail here rather than block.
TEST(FileSourceTest, RefusesAnythingButARegularFileAndSaysWhatItIs) {
  TempDir dir;
  ASSERT_EQ(::mkfifo(dir.Join("fifo").c_str(), 0600), 0);
  const UniqueFd writer(::open(dir.Join("fifo").c_str(), O_RDWR | O_NONBLOCK));
  ASSERT_TRUE(writer.valid());
  BoundSocket sock(dir.Join("sock"));
  ASSERT_TRUE(sock.ok()) << std::strerror(errno);
  ASSERT_EQ(::mkdir(dir.Join("dir").c_str(), 0755), 0);
  // A block device node no driver answers to: stat() sees its type, and
  // the test never depends on a real disk.
  const bool have_blk = ::mknod(dir.Join("blk").c_str(), S_IFBLK | 0600, makedev(240, 0)) == 0;
  struct Case {
    std::string target;
    const char* type;
  };
  std::vector<Case> cases = {{dir.Join("fifo"), "a FIFO"},
                             {dir.Join("sock"), "a socket"},
                             {"/dev/null", "a character device"},
                             {dir.Join("dir"), "a directory"}};
  if (have_blk) cases.push_back({dir.Join("blk"), "a block device"});
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    const std::string link = dir.Join("link" + std::to_string(i));
    ASSERT_EQ(::symlink(c.target.c_str(), link.c_str()), 0);
    for (const std::string& path : {c.target, link}) {
      SCOPED_TRACE(path);
      auto src = FileSource::Open(path);
      ASSERT_FALSE(src);
      EXPECT_EQ(src.error().message, path + ": not a regular file (" + c.type + ")");
    }
  }
  // A directory keeps its errno, for callers that map errors to one.
  auto d = FileSource::Open(dir.Join("dir"));
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, Errc::kIo);
  EXPECT_EQ(d.error().sys_errno, EISDIR);
}

// The flags (as open(2) takes them) of this process's descriptor of
// `path`, from /proc/self/fdinfo.
unsigned OpenFlagsOf(const std::string& path) {
  for (const auto& fd : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    if (std::filesystem::read_symlink(fd.path(), ec) != path) continue;
    std::istringstream info(ReadFile("/proc/self/fdinfo/" + fd.path().filename().string()));
    for (std::string key; info >> key;) {
      if (key == "flags:") {
        unsigned flags = 0;
        info >> std::oct >> flags;
        return flags;
      }
    }
  }
  ADD_FAILURE() << "no descriptor of " << path;
  return 0;
}

TEST(FileSourceTest, OpensARegularFileAndASymlinkToOne) {
  TempDir dir;
  WriteFile(dir.Join("f"), "0123456789");
  ASSERT_EQ(::symlink("f", dir.Join("l").c_str()), 0);
  for (const char* name : {"f", "l"}) {
    auto src = FileSource::Open(dir.Join(name));
    ASSERT_TRUE(src) << src.error().message;
    EXPECT_EQ((*src)->size(), 10u);
    EXPECT_EQ((*src)->name(), dir.Join(name));
    // Not inherited by programs the process runs, and reads never block.
    const unsigned flags = OpenFlagsOf(dir.Join("f"));
    EXPECT_NE(flags & O_NONBLOCK, 0u);
    EXPECT_NE(flags & O_CLOEXEC, 0u);
    // Its identity: the file's device and inode, size and mtime.
    struct stat st {};
    ASSERT_EQ(::stat(dir.Join("f").c_str(), &st), 0);
    const SourceIdentity& id = (*src)->identity();
    EXPECT_EQ(id.id, "file:" + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino));
    EXPECT_EQ(id.size, 10u);
    EXPECT_EQ(id.mtime_sec, st.st_mtim.tv_sec);
    EXPECT_EQ(id.mtime_nsec, st.st_mtim.tv_nsec);
  }
}

TEST(FileSourceTest, MessagesQuotePathsOnlyWhenNeeded) {
  TempDir dir;
  auto plain = FileSource::Open(dir.Join("missing.npz"));
  ASSERT_FALSE(plain);
  EXPECT_EQ(plain.error().code, Errc::kNotFound);
  EXPECT_EQ(plain.error().message, dir.Join("missing.npz") + ": No such file or directory");
  auto odd = FileSource::Open(dir.Join("a b\x1b.npz"));
  ASSERT_FALSE(odd);
  EXPECT_EQ(odd.error().message, "'" + dir.Join("a b\\x1b.npz") + "': No such file or directory");
}

}  // namespace
}  // namespace npzfs::core
