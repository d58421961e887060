// Every broken, hostile or odd archive that tests/support/break_npz.py
// makes, mounted for real: the mount is refused with one line naming the
// file, or it comes up and each member reads as the generator's manifest
// says (its bytes, EIO, ENOTSUP, or not there at all), and the daemon is
// alive and answering afterwards, and exits 0 when unmounted.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "tests/mount/mounted_npz.h"
#include "tests/support/test_support.h"

namespace npzfs::testing {
namespace {

using nlohmann::json;
namespace fsys = std::filesystem;

// The generator's cases, asked of it once per process.
std::vector<std::string> CaseNames() {
  std::string out;
  if (RunCommand({NPZFS_PYTHON, NPZFS_TEST_SCRIPTS "/break_npz.py", "--list"}, &out) != 0) {
    return {"break_npz_py_failed"};
  }
  std::vector<std::string> names;
  for (size_t p = 0, q; (q = out.find('\n', p)) != std::string::npos; p = q + 1) {
    const std::string line = out.substr(p, q - p);
    if (!line.empty()) names.push_back(line.substr(0, line.find(' ')));
  }
  return names;
}

// What reading a whole file gave: the bytes before any error, and errno.
struct Outcome {
  std::string bytes;
  int error = 0;
};

// Opens `rel` below `root` one component at a time: paths deeper than
// PATH_MAX (a 4,096-byte member path under a mountpoint) cannot be opened
// whole.
int OpenBelow(const std::string& root, const std::string& rel, int flags) {
  int dir = ::open(root.c_str(), O_PATH | O_DIRECTORY);
  size_t start = 0;
  while (dir >= 0) {
    const size_t end = rel.find('/', start);
    const std::string part = rel.substr(start, end == std::string::npos ? end : end - start);
    const int next =
        ::openat(dir, part.c_str(), end == std::string::npos ? flags : O_PATH | O_DIRECTORY);
    const int saved = errno;
    ::close(dir);
    errno = saved;
    if (end == std::string::npos) return next;
    dir = next;
    start = end + 1;
  }
  return -1;
}

Outcome ReadWhole(const std::string& root, const std::string& rel) {
  Outcome o;
  const int fd = OpenBelow(root, rel, O_RDONLY);
  if (fd < 0) {
    o.error = errno;
    return o;
  }
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      o.error = errno;
      break;
    }
    if (n == 0) break;
    o.bytes.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return o;
}

class BrokenMountTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!CanMount()) GTEST_SKIP() << "no usable /dev/fuse or fusermount3 here";
  }
};

// The manifest's texts: one that the message must contain, or a list of
// which it must contain one.
bool Matches(const std::string& text, const json& want) {
  if (want.is_string()) return text.find(want.get<std::string>()) != std::string::npos;
  return std::any_of(want.begin(), want.end(), [&](const json& w) { return Matches(text, w); });
}

void CheckRefused(const json& c, const std::string& archive) {
  TempDir dir;
  const std::string mnt = dir.Join("mnt");
  ::mkdir(mnt.c_str(), 0755);
  std::string out;
  const int status = RunCommand({NpzfsBinary(), archive, mnt}, &out);
  EXPECT_EQ(status, 2) << out;
  // One line, naming the file and saying why, as the manifest says.
  const std::string start = "npzfs: " + archive + ": ";
  EXPECT_EQ(out.rfind(start, 0), 0u) << out;
  EXPECT_TRUE(Matches(out, c["error"])) << out << " does not say " << c["error"];
  EXPECT_EQ(out.find('\n'), out.size() - 1) << out;
  EXPECT_FALSE(IsMountpoint(mnt));
}

bool Flag(const json& j, const char* key, bool otherwise) {
  return j.contains(key) ? j[key].get<bool>() : otherwise;
}

void CheckMember(const MountedNpz& m, const json& member, const std::string& dir, bool raw_view) {
  const std::string name = member["name"];
  SCOPED_TRACE(name);
  if (member["path"].is_null() || !Flag(member, "visible", true)) return;
  const std::string rel = member["path"];
  const std::string read = member["read"];
  struct stat st {};
  const int fd = OpenBelow(m.path(), rel, O_PATH);
  ASSERT_GE(fd, 0) << rel << ": " << std::strerror(errno);
  ASSERT_EQ(::fstat(fd, &st), 0);
  ::close(fd);
  if (read == "directory") {
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    return;
  }
  const std::optional<std::string> content =
      member.contains("content")
          ? std::optional(ReadFile(dir + "/" + member["content"].get<std::string>()))
          : std::nullopt;
  const Outcome got = ReadWhole(m.path(), rel);
  if (read == "ok") {
    EXPECT_EQ(got.error, 0) << std::strerror(got.error);
    ASSERT_TRUE(content);
    EXPECT_EQ(got.bytes, *content);
    EXPECT_EQ(static_cast<size_t>(st.st_size), content->size());
  } else {
    // An empty member fails at open (reading an empty file never reaches
    // the daemon), any other at its first bad read.
    EXPECT_EQ(got.error, read == "corrupt" ? EIO : ENOTSUP) << std::strerror(got.error);
    if (content) {
      EXPECT_EQ(got.bytes, content->substr(0, got.bytes.size())) << "bytes not the member's";
    }
    // The log names the member and the cause.
    if (member.contains("read_error")) {
      EXPECT_TRUE(Matches(m.Log(), member["read_error"])) << m.Log();
    }
  }
  if (raw_view && Flag(member, "raw", false) && read == "ok") {
    std::string key = member["path"];
    key.resize(key.size() - 4);
    const Outcome raw = ReadWhole(m.Path("raw"), key);
    if (raw.error == 0) {
      EXPECT_EQ(raw.bytes, content->substr(content->size() - raw.bytes.size())) << key;
    }
  }
}

TEST_P(BrokenMountTest, MountBehavesAsTheManifestSays) {
  TempDir dir;
  const std::string archive = dir.Join(GetParam() + ".npz");
  std::string out;
  ASSERT_EQ(RunCommand({NPZFS_PYTHON, NPZFS_TEST_SCRIPTS "/break_npz.py", "--case", GetParam(),
                        "--output", archive},
                       &out),
            0)
      << out;
  const json c = json::parse(out);
  if (c["archive"] == "refused") return CheckRefused(c, archive);

  auto m = MountedNpz::Start(archive);
  ASSERT_TRUE(m);
  bool archive_has_raw = false;
  for (const auto& member : c["members"]) {
    const auto& p = member["path"];
    if (p.is_string() && (p == "raw" || p.get<std::string>().rfind("raw/", 0) == 0)) {
      archive_has_raw = true;
    }
  }
  // The raw view, or the archive's own raw entry, is always at the root.
  EXPECT_TRUE(fsys::exists(m->Path("raw")));
  for (const auto& member : c["members"]) CheckMember(*m, member, dir.path(), !archive_has_raw);
  // Still alive and answering.
  struct stat st {};
  EXPECT_EQ(::stat(m->path().c_str(), &st), 0);
  EXPECT_EQ(::getxattr(m->path().c_str(), "user.npz.members", nullptr, 0) > 0, true);
  EXPECT_EQ(m->Unmount(), 0) << m->Log();
}

INSTANTIATE_TEST_SUITE_P(Generated, BrokenMountTest, ::testing::ValuesIn(CaseNames()),
                         [](const auto& test) { return test.param; });

}  // namespace
}  // namespace npzfs::testing
