// Archives made to attack the people and programs around a mount: names
// that hold terminal controls or forge log lines, and archives whose
// members all share one path.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "core/base/unique_fd.h"
#include "tests/mount/mounted_npz.h"
#include "tests/support/test_support.h"
#include "tests/support/zip_writer.h"

namespace npzfs::testing {
namespace {

class HostileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!CanMount()) GTEST_SKIP() << "no usable /dev/fuse or fusermount3 here";
  }
};

// Every character that could act on a terminal or a log reader, and how
// npzfs shows it.
const std::string kEscName = "esc\x1b]0;owned\x07.npy";
const std::string kEscShown = "'esc\\x1b]0;owned\\x07.npy'";
const std::string kLineName = "cr\rlf\nnpzfs: error: forged\ttab\x7f\xe2\x80\xae.npy";
const std::string kLineShown = "'cr\\rlf\\nnpzfs: error: forged\\ttab\\x7f\\u202e.npy'";
const std::string kBadCrcName = "crc\x1b[2J.bin";
const std::string kBadCrcShown = "'crc\\x1b[2J.bin'";

// Each name twice (a duplicate warning names it), a member with a wrong
// CRC-32 (a read error names it), and a member flagged UTF-8 whose name is
// not UTF-8 (left out, named as zipfile decodes it: CP437, where 0xff is
// U+00A0, a no-break space shown as it is).
std::string HostileArchive() {
  ZipWriter w;
  const std::string npy = NpyV1("<f8", "(2,)", std::string(16, '\1'));
  ZipMember line;  // flagged UTF-8, so that U+202E is read as itself
  line.name = kLineName;
  line.flags = 0x800;
  line.data = npy;
  line.size = npy.size();
  line.crc32 = Crc32Of(npy);
  for (int i = 0; i < 2; ++i) {
    w.AddStored(kEscName, npy);
    w.Add(line);
  }
  ZipMember bad;
  bad.name = kBadCrcName;
  bad.data = "some bytes";
  bad.size = bad.data.size();
  bad.crc32 = Crc32Of(bad.data) ^ 1;
  w.Add(bad);
  ZipMember flagged;
  flagged.name = "inv\xff\x1b.npy";
  flagged.flags = 0x800;
  flagged.data = npy;
  flagged.size = npy.size();
  flagged.crc32 = Crc32Of(npy);
  w.Add(flagged);
  return w.Finish();
}

// No byte that acts on a terminal, and every line one of npzfs's own.
void ExpectOnlyEscapedLines(const std::string& text, const std::string& line_start) {
  for (char c : text) {
    const auto b = static_cast<unsigned char>(c);
    EXPECT_TRUE(b == '\n' || (b >= 0x20 && b != 0x7f)) << "raw byte " << int{b} << " in\n" << text;
  }
  EXPECT_EQ(text.find("\xe2\x80\xae"), std::string::npos) << text;
  size_t start = 0;
  while (start < text.size()) {
    EXPECT_EQ(text.compare(start, line_start.size(), line_start), 0)
        << "a line not of npzfs's own: " << text.substr(start, text.find('\n', start) - start);
    start = text.find('\n', start);
    if (start == std::string::npos) break;
    ++start;
  }
}

void ReadTheBadMember(const MountedNpz& m) {
  const core::UniqueFd fd(::open(m.Path(kBadCrcName).c_str(), O_RDONLY));
  ASSERT_TRUE(fd.valid());
  char buf[64];
  EXPECT_EQ(::read(fd.get(), buf, sizeof buf), -1);
  EXPECT_EQ(errno, EIO);
}

TEST_F(HostileTest, NamesAreQuotedAndEscapedOnStderrAndInTheLogFile) {
  TempDir dir;
  const std::string archive = dir.Join("hostile.npz");
  WriteFile(archive, HostileArchive());
  const std::string log_file = dir.Join("npzfs.log");
  auto m = MountedNpz::Start(archive, {"-o", "log_file=" + log_file});
  ASSERT_TRUE(m);
  ReadTheBadMember(*m);
  // The names are there, as they are.
  EXPECT_TRUE(std::filesystem::is_regular_file(m->Path(kEscName)));
  EXPECT_TRUE(std::filesystem::is_regular_file(m->Path(kLineName)));
  ASSERT_EQ(m->Unmount(), 0);

  const std::string err = m->Log();
  for (const std::string& line : std::vector<std::string>{
           "npzfs: warning: " + kEscShown +
               ": the name appears more than once; the last member wins",
           "npzfs: warning: " + kLineShown +
               ": the name appears more than once; the last member wins",
           "npzfs: warning: 'inv\u00a0\\x1b.npy': left out: the name is flagged UTF-8 but is not "
           "valid UTF-8",
           "npzfs: error: " + kBadCrcShown + ": read at offset 0 failed: " + kBadCrcShown +
               ": CRC-32 mismatch"}) {
    EXPECT_NE(err.find(line), std::string::npos) << line << "\nnot in\n" << err;
  }
  ExpectOnlyEscapedLines(err, "npzfs: ");

  const std::string logged = ReadFile(log_file);
  EXPECT_NE(logged.find(kEscShown + ": the name appears more than once"), std::string::npos)
      << logged;
  EXPECT_NE(logged.find(kBadCrcShown + ": read at offset 0 failed"), std::string::npos) << logged;
  ExpectOnlyEscapedLines(logged, "20");  // every line starts with its date
}

// In the background the terminal hears only of problems, escaped too.
TEST_F(HostileTest, NamesAreEscapedOnTheTerminalOfABackgroundMount) {
  TempDir dir;
  const std::string archive = dir.Join("hostile.npz");
  WriteFile(archive, HostileArchive());
  const std::string mnt = dir.Join("mnt");
  ::mkdir(mnt.c_str(), 0755);
  std::string out;
  ASSERT_EQ(RunCommand({NpzfsBinary(), archive, mnt}, &out), 0) << out;
  EXPECT_EQ(RunCommand({"fusermount3", "-u", mnt}), 0);
  EXPECT_TRUE(WaitForMount(mnt, false, 10));
  EXPECT_NE(out.find("npzfs: warning: " + kEscShown), std::string::npos) << out;
  EXPECT_NE(out.find("npzfs: warning: " + kLineShown), std::string::npos) << out;
  ExpectOnlyEscapedLines(out, "npzfs: ");
}

// 400,000 members of one name and 400,000 entries of one directory: the
// mount comes up as fast as for any archive of that size, the last member
// wins, and the terminal gets a few lines, not 400,000.
TEST_F(HostileTest, HundredsOfThousandsOfMembersOnOnePath) {
  constexpr int kCopies = 400000;
  ZipWriter w;
  for (int i = 0; i < kCopies; ++i) {
    w.AddStored("same.bin", std::to_string(i));
    w.AddStored("dir/", "");
  }
  w.AddStored("dir/inside.bin", "in");
  TempDir dir;
  const std::string archive = dir.Join("same.npz");
  WriteFile(archive, w.Finish());
  auto m = MountedNpz::Start(archive);
  ASSERT_TRUE(m);
  EXPECT_EQ(ReadFile(m->Path("same.bin")), std::to_string(kCopies - 1));
  EXPECT_EQ(ReadFile(m->Path("dir/inside.bin")), "in");
  struct stat st {};
  ASSERT_EQ(::stat(m->Path("dir").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  // The last explicit entry is the directory: its inode is 2 + 2 * index + 1.
  EXPECT_EQ(st.st_ino, 3u + 2u * (2u * kCopies - 1));
  ASSERT_EQ(m->Unmount(), 0);
  const std::string err = m->Log();
  EXPECT_LT(std::count(err.begin(), err.end(), '\n'), 20) << err.substr(0, 2000);
  EXPECT_NE(err.find("... and " + std::to_string(kCopies - 1 - 10) +
                     " more names that appear more than once"),
            std::string::npos)
      << err;
}

// A header too large for an xattr (a structured dtype of 5,000 fields):
// every getxattr of it is refused, and the log says so once, not once per
// request.
TEST_F(HostileTest, AnXattrTooLargeIsLoggedOncePerMember) {
  std::string descr = "[";
  for (int i = 0; i < 5000; ++i) descr += "('field" + std::to_string(i) + "', '<f4'), ";
  descr += "]";
  const std::string dict = "{'descr': " + descr + ", 'fortran_order': False, 'shape': (1,), }";
  ZipWriter w;
  w.AddStored("wide.npy", Npy(2, dict, std::string(4 * 5000, '\0')));
  TempDir dir;
  const std::string archive = dir.Join("wide.npz");
  WriteFile(archive, w.Finish());
  auto m = MountedNpz::Start(archive);
  ASSERT_TRUE(m);
  char buf[256];
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(::getxattr(m->Path("wide.npy").c_str(), "user.npy.header", buf, sizeof buf), -1);
    EXPECT_EQ(errno, ENODATA);
    EXPECT_GT(::listxattr(m->Path("raw/wide").c_str(), nullptr, 0), 0);
  }
  EXPECT_GT(::getxattr(m->Path("wide.npy").c_str(), "user.npy.shape", buf, sizeof buf), 0);
  ASSERT_EQ(m->Unmount(), 0);
  const std::string log = m->Log();
  size_t lines = 0;
  for (size_t p = log.find("is longer than 64 KiB"); p != std::string::npos;
       p = log.find("is longer than 64 KiB", p + 1)) {
    ++lines;
  }
  // One line for each value left out, header and descr, logged once.
  EXPECT_EQ(lines, 2u) << log;
}

}  // namespace
}  // namespace npzfs::testing
