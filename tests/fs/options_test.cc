#include "fs/options.h"

#include <gtest/gtest.h>

#include <cerrno>

#include "core/view/xattrs.h"
#include "fs/errno_map.h"

namespace npzfs::fs {
namespace {

struct Parsed {
  explicit Parsed(const std::vector<std::string>& args_in) {
    std::vector<std::string> argv(args_in.size() + 1, "npzfs");
    std::copy(args_in.begin(), args_in.end(), argv.begin() + 1);
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    fuse_args args;
    auto o = ParseOptions(static_cast<int>(cargv.size()), cargv.data(), &args);
    for (int i = 0; i < args.argc; ++i) session_args.emplace_back(args.argv[i]);
    fuse_opt_free_args(&args);
    if (o) {
      options = std::make_unique<Options>(std::move(*o));
    } else {
      error = o.error().message;
    }
  }
  std::unique_ptr<Options> options;
  std::string error;
  std::vector<std::string> session_args;
};

Parsed Parse(const std::vector<std::string>& argv) { return Parsed(argv); }

TEST(OptionsTest, ParsesNpzfsOwnOptionsAndKeepsTheRestForLibfuse) {
  Parsed p = Parse({"-f", "-s", "-o", "cache_size=64M,allow_other,raw_dir=data,uid=7", "-o",
                    "gid=8,umask=027,log_level=debug,log_file=/tmp/l", "a.npz", "mnt"});
  ASSERT_TRUE(p.options) << p.error;
  const Options& o = *p.options;
  EXPECT_EQ(o.archive, "a.npz");
  EXPECT_EQ(o.mountpoint, "mnt");
  EXPECT_EQ(o.content.cache_size, 64u << 20);
  EXPECT_EQ(o.tree.raw_dir, "data");
  EXPECT_TRUE(o.tree.raw);
  EXPECT_EQ(o.uid, 7u);
  EXPECT_EQ(o.gid, 8u);
  EXPECT_EQ(o.umask, 027u);
  EXPECT_EQ(o.log_level, spdlog::level::debug);
  EXPECT_EQ(o.log_file, "/tmp/l");
  EXPECT_TRUE(o.foreground);
  EXPECT_TRUE(o.single_thread);
  std::string joined;
  for (const auto& a : p.session_args) joined += a + " ";
  EXPECT_NE(joined.find("allow_other"), std::string::npos) << joined;
  EXPECT_NE(joined.find("-oro,default_permissions"), std::string::npos) << joined;
  EXPECT_NE(joined.find("-osubtype=npzfs"), std::string::npos) << joined;
  EXPECT_EQ(joined.find("fsname"), std::string::npos) << joined;  // AddFsname's
  EXPECT_EQ(joined.find("cache_size"), std::string::npos) << joined;
  EXPECT_EQ(joined.find("uid="), std::string::npos) << joined;
}

// The session's arguments after AddFsname(archive).
std::vector<std::string> WithFsname(const std::vector<std::string>& argv_in,
                                    const std::string& archive) {
  std::vector<std::string> argv(argv_in.size() + 1, "npzfs");
  std::copy(argv_in.begin(), argv_in.end(), argv.begin() + 1);
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  fuse_args args;
  auto o = ParseOptions(static_cast<int>(cargv.size()), cargv.data(), &args);
  if (o) AddFsname(*o, archive, &args);
  std::vector<std::string> out(args.argv, args.argv + args.argc);
  fuse_opt_free_args(&args);
  return out;
}

TEST(OptionsTest, FsnameIsTheArchivePathEscapedForLibfuse) {
  auto args = WithFsname({"a.npz", "mnt"}, "/data/a,b\\c.npz");
  EXPECT_EQ(std::count(args.begin(), args.end(), "-ofsname=/data/a\\,b\\\\c.npz"), 1)
      << ::testing::PrintToString(args);
  // One given on the command line is kept, and no second one added.
  args = WithFsname({"-o", "fsname=mine", "a.npz", "mnt"}, "/data/a.npz");
  std::string joined;
  for (const auto& a : args) joined += a + " ";
  EXPECT_NE(joined.find("fsname=mine"), std::string::npos) << joined;
  EXPECT_EQ(joined.find("/data/a.npz"), std::string::npos) << joined;
}

TEST(OptionsTest, NorawAndDefaults) {
  Parsed p = Parse({"-o", "noraw", "a.npz", "mnt"});
  ASSERT_TRUE(p.options);
  EXPECT_FALSE(p.options->tree.raw);
  EXPECT_FALSE(p.options->foreground);
  EXPECT_FALSE(p.options->uid);
  EXPECT_EQ(p.options->umask, 0u);
  EXPECT_EQ(p.options->content.cache_size, core::ContentOptions{}.cache_size);
}

TEST(OptionsTest, ThreadsAndTheDiskCache) {
  Parsed p = Parse({"a.npz", "mnt"});
  ASSERT_TRUE(p.options) << p.error;
  EXPECT_EQ(p.options->content.threads, core::ContentOptions::kAllCores);
  EXPECT_EQ(p.options->disk_cache.size, uint64_t{1} << 30);
  EXPECT_FALSE(p.options->disk_cache.dir_given);
  p = Parse({"-o", "threads=3,disk_cache=/var/tmp/x,disk_cache_size=64M", "a.npz", "mnt"});
  ASSERT_TRUE(p.options) << p.error;
  EXPECT_EQ(p.options->content.threads, 3u);
  EXPECT_EQ(p.options->disk_cache.dir, "/var/tmp/x");
  EXPECT_TRUE(p.options->disk_cache.dir_given);
  EXPECT_EQ(p.options->disk_cache.size, uint64_t{64} << 20);
  p = Parse({"-o", "threads=0,disk_cache_size=0", "a.npz", "mnt"});
  ASSERT_TRUE(p.options) << p.error;
  EXPECT_EQ(p.options->content.threads, 0u);
  EXPECT_EQ(p.options->disk_cache.size, 0u);
  for (const char* bad : {"threads=257", "threads=-1", "threads=x", "threads="}) {
    p = Parse({"-o", bad, "a.npz", "mnt"});
    EXPECT_FALSE(p.options) << bad;
    EXPECT_EQ(p.error.rfind("bad value for threads: ", 0), 0u) << p.error;
  }
  p = Parse({"-o", "disk_cache_size=1Q", "a.npz", "mnt"});
  EXPECT_EQ(p.error, "bad value for disk_cache_size: '1Q'");
}

TEST(OptionsTest, EveryNameBeforeTheMountpointIsAnArchive) {
  Parsed p = Parse({"-o", "max_open=3", "a.npz", "b.npz", "c.npz", "mnt"});
  ASSERT_TRUE(p.options) << p.error;
  EXPECT_EQ(p.options->archives, (std::vector<std::string>{"a.npz", "b.npz", "c.npz"}));
  EXPECT_EQ(p.options->archive, "a.npz");
  EXPECT_EQ(p.options->mountpoint, "mnt");
  EXPECT_EQ(p.options->max_open, 3u);
  p = Parse({"a.npz", "mnt"});
  ASSERT_TRUE(p.options) << p.error;
  EXPECT_EQ(p.options->archives, std::vector<std::string>{"a.npz"});
  EXPECT_EQ(p.options->max_open, 8u);
}

TEST(OptionsTest, RejectsBadValuesWithOneLine) {
  struct Case {
    std::vector<std::string> argv;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{"-o", "cache_size=12X", "a", "m"}, "bad value for cache_size: '12X'"},
           {{"-o", "raw_dir=a/b", "a", "m"}, "bad value for raw_dir: 'a/b' (one file name)"},
           {{"-o", "raw_dir=..", "a", "m"}, "bad value for raw_dir: '..' (one file name)"},
           {{"-o", "uid=-1", "a", "m"}, "bad value for uid: '-1'"},
           {{"-o", "umask=999", "a", "m"}, "bad value for umask: '999'"},
           {{"a"}, "no mountpoint given (usage: npzfs ARCHIVE|URL|DIR|ARCHIVE... MOUNTPOINT)"},
           {{}, "no archive given (usage: npzfs ARCHIVE|URL|DIR|ARCHIVE... MOUNTPOINT)"},
           {{"-o", "max_open=0", "a", "m"}, "bad value for max_open: '0' (1 to 65536)"},
           {{"-o", "max_open=x", "a", "m"}, "bad value for max_open: 'x' (1 to 65536)"},
       }) {
    Parsed p = Parse(c.argv);
    ASSERT_FALSE(p.options) << c.message;
    EXPECT_EQ(p.error, c.message);
  }
}

// uid_t and gid_t are 32 bits here; (uid_t)-1 means "no change" to chown
// and is nobody's id.
TEST(OptionsTest, UidAndGidTakeOnlyDecimalDigitsThatFit) {
  for (const char* name : {"uid", "gid"}) {
    for (const char* bad : {"4294967296", "4294967295", "99999999999999999999999", "-1", "+1", " 1",
                            "1 ", "0x10", "1e3", "12a", ""}) {
      Parsed p = Parse({"-o", std::string(name) + "=" + bad, "a", "m"});
      ASSERT_FALSE(p.options) << name << "=" << bad;
      EXPECT_EQ(p.error, std::string("bad value for ") + name + ": '" + bad + "'");
    }
  }
  Parsed p = Parse({"-o", "uid=4294967294,gid=007", "a", "m"});
  ASSERT_TRUE(p.options) << p.error;
  EXPECT_EQ(p.options->uid, 4294967294u);
  EXPECT_EQ(p.options->gid, 7u);
  p = Parse({"-o", "uid=0,gid=0", "a", "m"});
  ASSERT_TRUE(p.options) << p.error;
  EXPECT_EQ(p.options->uid, 0u);
  EXPECT_EQ(p.options->gid, 0u);
}

TEST(OptionsTest, UmaskTakesOnlyOctalDigitsUpTo0777) {
  for (const char* bad : {"8", "0778", "1000", "07777", "-0", "+7", " 7", "7 ", "0x7", "0o7", ""}) {
    Parsed p = Parse({"-o", std::string("umask=") + bad, "a", "m"});
    ASSERT_FALSE(p.options) << bad;
    EXPECT_EQ(p.error, std::string("bad value for umask: '") + bad + "'");
  }
  for (const auto& [text, value] : std::vector<std::pair<std::string, mode_t>>{
           {"0", 0}, {"777", 0777}, {"0777", 0777}, {"022", 022}, {"00007", 07}}) {
    Parsed p = Parse({"-o", "umask=" + text, "a", "m"});
    ASSERT_TRUE(p.options) << text << ": " << p.error;
    EXPECT_EQ(p.options->umask, value) << text;
  }
}

TEST(OptionsTest, ParseSizeTakesSuffixes) {
  EXPECT_EQ(*ParseSize("0"), 0u);
  EXPECT_EQ(*ParseSize("4096"), 4096u);
  EXPECT_EQ(*ParseSize("1k"), 1024u);
  EXPECT_EQ(*ParseSize("64M"), 64u << 20);
  EXPECT_EQ(*ParseSize("2GiB"), 2ull << 30);
  EXPECT_EQ(*ParseSize("1TB"), 1ull << 40);
  for (const char* bad : {"", "M", "-1", "1Q", "1MM", "99999999999999999999", "20000000T"}) {
    EXPECT_FALSE(ParseSize(bad)) << bad;
  }
}

TEST(ErrnoMapTest, OneErrnoPerErrorKind) {
  EXPECT_EQ(ToErrno(core::MakeError(core::Errc::kNotFound, "")), ENOENT);
  EXPECT_EQ(ToErrno(core::Corrupt("")), EIO);
  EXPECT_EQ(ToErrno(core::Unsupported("")), ENOTSUP);
  EXPECT_EQ(ToErrno(core::MakeError(core::Errc::kInvalidArgument, "")), EINVAL);
  EXPECT_EQ(ToErrno(core::IoError(EACCES, "x")), EACCES);
  EXPECT_EQ(ToErrno(core::Error{core::Errc::kIo, 0, ""}), EIO);
}

TEST(XattrsTest, LeavesOutValuesOverTheKernelLimit) {
  core::ZipEntry e;
  e.method = 8;
  e.size = 10;
  e.compressed_size = 5;
  e.crc32 = 0xabc;
  core::NpyHeader h;
  h.major = 2;
  h.descr_repr = std::string(70000, 'x');
  h.shape_repr = "(3,)";
  h.data_offset = 70016;
  h.header_text = std::string(69990, 'y');
  std::vector<std::string> dropped;
  auto x = core::MemberXattrs(e, &h, &dropped);
  EXPECT_EQ(dropped, (std::vector<std::string>{"user.npy.descr", "user.npy.header"}));
  std::map<std::string, std::string> m(x.begin(), x.end());
  EXPECT_EQ(m.count("user.npy.descr"), 0u);
  EXPECT_EQ(m["user.npy.shape"], "(3,)");
  EXPECT_EQ(m["user.npy.version"], "2.0");
  EXPECT_EQ(m["user.zip.crc32"], "00000abc");
  EXPECT_EQ(m["user.zip.method"], "deflate");
}

}  // namespace
}  // namespace npzfs::fs
