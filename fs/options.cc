#include "fs/options.h"

#include <cctype>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include "core/base/text.h"

namespace npzfs::fs {
namespace {

using core::Errc;
using core::Fail;
using core::MakeError;

// What fuse_opt_parse fills in; strings are malloc'd by libfuse.
struct RawOptions {
  char* cache_size = nullptr;
  char* raw_dir = nullptr;
  int noraw = 0;
  char* uid = nullptr;
  char* gid = nullptr;
  char* umask = nullptr;
  char* log_level = nullptr;
  char* log_file = nullptr;
  char* threads = nullptr;
  char* disk_cache = nullptr;
  char* disk_cache_size = nullptr;
  char* index_dir = nullptr;
  char* index = nullptr;
  int noindex = 0;
  char* remote_cache_size = nullptr;
  char* remote_cache_dir = nullptr;
  char* s3_endpoint = nullptr;
  char* s3_region = nullptr;
  char* ca_file = nullptr;
  char* connect_timeout = nullptr;
  char* stall_timeout = nullptr;
  char* retries = nullptr;
  char* max_open = nullptr;
  int has_fsname = 0;
  int has_subtype = 0;
  std::vector<std::string> positional;
  ~RawOptions() {
    for (char* p : {cache_size,
                    raw_dir,
                    uid,
                    gid,
                    umask,
                    log_level,
                    log_file,
                    threads,
                    disk_cache,
                    disk_cache_size,
                    index_dir,
                    index,
                    remote_cache_size,
                    remote_cache_dir,
                    s3_endpoint,
                    s3_region,
                    ca_file,
                    connect_timeout,
                    stall_timeout,
                    retries,
                    max_open}) {
      std::free(p);
    }
  }
};

enum Key { kKeyFsname, kKeySubtype };

#define NPZFS_OPT(templ, field, value) \
  fuse_opt { templ, static_cast<unsigned long>(offsetof(RawOptions, field)), value }

const fuse_opt kOptions[] = {
    NPZFS_OPT("cache_size=%s", cache_size, 0),
    NPZFS_OPT("raw_dir=%s", raw_dir, 0),
    NPZFS_OPT("noraw", noraw, 1),
    NPZFS_OPT("uid=%s", uid, 0),
    NPZFS_OPT("gid=%s", gid, 0),
    NPZFS_OPT("umask=%s", umask, 0),
    NPZFS_OPT("log_level=%s", log_level, 0),
    NPZFS_OPT("log_file=%s", log_file, 0),
    NPZFS_OPT("threads=%s", threads, 0),
    NPZFS_OPT("disk_cache=%s", disk_cache, 0),
    NPZFS_OPT("disk_cache_size=%s", disk_cache_size, 0),
    NPZFS_OPT("index_dir=%s", index_dir, 0),
    NPZFS_OPT("index=%s", index, 0),
    NPZFS_OPT("noindex", noindex, 1),
    NPZFS_OPT("remote_cache_size=%s", remote_cache_size, 0),
    NPZFS_OPT("remote_cache_dir=%s", remote_cache_dir, 0),
    NPZFS_OPT("s3_endpoint=%s", s3_endpoint, 0),
    NPZFS_OPT("s3_region=%s", s3_region, 0),
    NPZFS_OPT("ca_file=%s", ca_file, 0),
    NPZFS_OPT("connect_timeout=%s", connect_timeout, 0),
    NPZFS_OPT("stall_timeout=%s", stall_timeout, 0),
    NPZFS_OPT("retries=%s", retries, 0),
    NPZFS_OPT("max_open=%s", max_open, 0),
    FUSE_OPT_KEY("fsname=", kKeyFsname),
    FUSE_OPT_KEY("subtype=", kKeySubtype),
    FUSE_OPT_END,
};
#undef NPZFS_OPT

// Takes the two positional arguments; keeps everything else for libfuse.
int OnArg(void* data, const char* arg, int key, fuse_args*) {
  auto* raw = static_cast<RawOptions*>(data);
  switch (key) {
    case FUSE_OPT_KEY_NONOPT:
      raw->positional.emplace_back(arg);
      return 0;
    case kKeyFsname:
      raw->has_fsname = 1;
      return 1;
    case kKeySubtype:
      raw->has_subtype = 1;
      return 1;
    default:
      return 1;
  }
}

core::Error Bad(const std::string& line) { return MakeError(Errc::kInvalidArgument, line); }

core::Error BadValue(const char* what, std::string_view text) {
  return Bad(std::string("bad value for ") + what + ": " + core::Quote(text));
}

// Digits only, in `base` (8 or 10), up to `max`: strtoul would also take
// spaces, a sign (and wrap "-1" round) and a 0x prefix.
core::Result<uint64_t> ParseDigits(std::string_view text, unsigned base, uint64_t max,
                                   const char* what) {
  if (text.empty()) return Fail(BadValue(what, text));
  uint64_t v = 0;
  for (char c : text) {
    const unsigned digit = static_cast<unsigned>(c - '0');
    if (c < '0' || digit >= base || v > (max - digit) / base) return Fail(BadValue(what, text));
    v = v * base + digit;
  }
  return v;
}

// A user or group id: (uid_t)-1 is no one's (chown(2) takes it as "leave
// unchanged"), so the largest id is one less.
template <class Id>
core::Result<Id> ParseId(std::string_view text, const char* what) {
  auto v = ParseDigits(text, 10, static_cast<Id>(-1) - 1u, what);
  if (!v) return Fail(std::move(v).error());
  return static_cast<Id>(*v);
}

// Whole seconds, 1 to 3600.
core::Result<double> ParseSeconds(const char* text, const char* what) {
  auto v = ParseDigits(text, 10, 3600, what);
  if (!v || *v == 0) {
    return Fail(Bad(std::string("bad value for ") + what + ": " + core::Quote(text) +
                    " (seconds, 1 to 3600)"));
  }
  return static_cast<double>(*v);
}

core::Result<void> ApplyRemote(const RawOptions& raw, Options& o) {
  core::RemoteSettings& r = o.remote;
  if (raw.remote_cache_size) {
    auto size = ParseSize(raw.remote_cache_size);
    if (!size || *size < (uint64_t{4} << 20)) {
      return Fail(Bad(std::string("bad value for remote_cache_size: ") +
                      core::Quote(raw.remote_cache_size) + " (4M at least)"));
    }
    r.cache.cache_size = *size;
  }
  if (raw.remote_cache_dir) {
    if (raw.remote_cache_dir[0] == '\0') {
      return Fail(Bad("bad value for remote_cache_dir: '' (a directory)"));
    }
    r.cache.cache_dir = raw.remote_cache_dir;
  }
  if (raw.s3_endpoint) {
    const std::string e = raw.s3_endpoint;
    if (e.rfind("http://", 0) != 0 && e.rfind("https://", 0) != 0) {
      return Fail(Bad("bad value for s3_endpoint: " + core::Quote(e) +
                      " (http://HOST[:PORT] or https://HOST[:PORT])"));
    }
    r.s3_endpoint = e;
  }
  if (raw.s3_region) {
    if (raw.s3_region[0] == '\0') return Fail(Bad("bad value for s3_region: ''"));
    r.s3_region = raw.s3_region;
  }
  if (raw.ca_file) {
    if (raw.ca_file[0] == '\0') return Fail(Bad("bad value for ca_file: '' (a file)"));
    r.http.ca_file = raw.ca_file;
  }
  if (raw.connect_timeout) {
    auto v = ParseSeconds(raw.connect_timeout, "connect_timeout");
    if (!v) return Fail(std::move(v).error());
    r.http.connect_timeout = *v;
  }
  if (raw.stall_timeout) {
    auto v = ParseSeconds(raw.stall_timeout, "stall_timeout");
    if (!v) return Fail(std::move(v).error());
    r.http.stall_timeout = *v;
  }
  if (raw.max_open) {
    auto v = ParseDigits(raw.max_open, 10, 65536, "max_open");
    if (!v || *v == 0) {
      return Fail(Bad(std::string("bad value for max_open: ") + core::Quote(raw.max_open) +
                      " (1 to 65536)"));
    }
    o.max_open = static_cast<size_t>(*v);
  }
  if (raw.retries) {
    auto v = ParseDigits(raw.retries, 10, 100, "retries");
    if (!v) {
      return Fail(
          Bad(std::string("bad value for retries: ") + core::Quote(raw.retries) + " (0 to 100)"));
    }
    r.http.retries = static_cast<int>(*v);
  }
  return {};
}

core::Result<void> Apply(const RawOptions& raw, Options& o) {
  if (auto r = ApplyRemote(raw, o); !r) return Fail(std::move(r).error());
  if (raw.cache_size) {
    auto size = ParseSize(raw.cache_size);
    if (!size) return Fail(Bad(std::string("bad value for cache_size: '") + raw.cache_size + "'"));
    o.content.cache_size = *size;
  }
  if (raw.threads) {
    auto v = ParseDigits(raw.threads, 10, 256, "threads");
    if (!v)
      return Fail(
          Bad(std::string("bad value for threads: ") + core::Quote(raw.threads) + " (0 to 256)"));
    o.content.threads = static_cast<size_t>(*v);
  }
  if (raw.disk_cache) {
    const std::string dir = raw.disk_cache;
    if (dir.empty()) return Fail(Bad("bad value for disk_cache: '' (a directory)"));
    o.disk_cache.dir = dir;
    o.disk_cache.dir_given = true;
  }
  if (raw.disk_cache_size) {
    auto size = ParseSize(raw.disk_cache_size);
    if (!size) return Fail(BadValue("disk_cache_size", raw.disk_cache_size));
    o.disk_cache.size = *size;
  }
  if ((raw.index_dir != nullptr) + (raw.index != nullptr) + raw.noindex > 1) {
    return Fail(Bad("index_dir=, index= and noindex exclude each other"));
  }
  if (raw.index_dir) {
    if (raw.index_dir[0] == '\0') return Fail(Bad("bad value for index_dir: '' (a directory)"));
    o.index = {core::IndexOptions::Where::kDir, raw.index_dir};
  }
  if (raw.index) {
    if (raw.index[0] == '\0') return Fail(Bad("bad value for index: '' (a file)"));
    o.index = {core::IndexOptions::Where::kFile, raw.index};
  }
  if (raw.noindex) o.index = {core::IndexOptions::Where::kNone, ""};
  if (raw.raw_dir) {
    const std::string dir = raw.raw_dir;
    if (dir.empty() || dir == "." || dir == ".." || dir.find('/') != std::string::npos ||
        dir.size() > 255) {
      return Fail(Bad("bad value for raw_dir: '" + dir + "' (one file name)"));
    }
    o.tree.raw_dir = dir;
  }
  o.tree.raw = raw.noraw == 0;
  if (raw.uid) {
    auto v = ParseId<uid_t>(raw.uid, "uid");
    if (!v) return Fail(std::move(v).error());
    o.uid = *v;
  }
  if (raw.gid) {
    auto v = ParseId<gid_t>(raw.gid, "gid");
    if (!v) return Fail(std::move(v).error());
    o.gid = *v;
  }
  if (raw.umask) {
    auto v = ParseDigits(raw.umask, 8, 0777, "umask");
    if (!v) return Fail(std::move(v).error());
    o.umask = static_cast<mode_t>(*v);
  }
  if (raw.log_level) {
    const std::string level = raw.log_level;
    auto parsed = spdlog::level::from_str(level);
    if (parsed == spdlog::level::off && level != "off") {
      return Fail(
          Bad("bad value for log_level: '" + level + "' (trace, debug, info, warn, error or off)"));
    }
    o.log_level = parsed;
  }
  if (raw.log_file) o.log_file = raw.log_file;
  return {};
}

}  // namespace

core::Result<uint64_t> ParseSize(const std::string& text) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (errno != 0 || end == text.c_str() || text[0] == '-') return Fail(Bad("bad size"));
  std::string unit(end);
  for (char& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static constexpr struct {
    const char* letter;
    int shift;
  } kUnits[] = {{"", 0}, {"k", 10}, {"m", 20}, {"g", 30}, {"t", 40}};
  for (const auto& u : kUnits) {
    const std::string l = u.letter;
    if (unit == l || unit == l + "b" || (!l.empty() && unit == l + "ib")) {
      if (v > (UINT64_MAX >> u.shift)) return Fail(Bad("bad size"));
      return static_cast<uint64_t>(v) << u.shift;
    }
  }
  return Fail(Bad("bad size"));
}

core::Result<Options> ParseOptions(int argc, char** argv, fuse_args* session_args) {
  *session_args = FUSE_ARGS_INIT(argc, argv);
  RawOptions raw;
  if (fuse_opt_parse(session_args, &raw, kOptions, &OnArg) != 0) {
    return Fail(Bad("cannot parse the command line"));
  }
  Options o;
  if (auto r = Apply(raw, o); !r) return Fail(std::move(r).error());

  // libfuse's parser sees no positional argument: npzfs checks the
  // mountpoint itself, to say what is wrong in its own words.
  fuse_cmdline_opts cmd{};
  if (fuse_parse_cmdline(session_args, &cmd) != 0) {
    return Fail(Bad("cannot parse the command line"));
  }
  std::unique_ptr<char, decltype(&std::free)> mountpoint(cmd.mountpoint, &std::free);
  o.show_help = cmd.show_help;
  o.show_version = cmd.show_version;
  o.foreground = cmd.foreground;
  o.debug = cmd.debug;
  o.single_thread = cmd.singlethread;
  o.clone_fd = cmd.clone_fd;
  o.max_threads = cmd.max_threads;
  if (o.show_help || o.show_version) return o;

  constexpr const char* kUsage = " (usage: npzfs ARCHIVE|URL|DIR|ARCHIVE... MOUNTPOINT)";
  if (raw.positional.empty()) return Fail(Bad(std::string("no archive given") + kUsage));
  if (raw.positional.size() == 1) return Fail(Bad(std::string("no mountpoint given") + kUsage));
  o.archives.assign(raw.positional.begin(), raw.positional.end() - 1);
  o.archive = o.archives[0];
  o.mountpoint = raw.positional.back();

  // Read-only, and the kernel checks the modes (so uid=, gid= and umask=
  // mean what they say); -o ro also makes the kernel itself answer EROFS
  // to every write.
  fuse_opt_add_arg(session_args, "-oro,default_permissions");
  if (!raw.has_subtype) fuse_opt_add_arg(session_args, "-osubtype=npzfs");
  o.fsname_given = raw.has_fsname != 0;
  return o;
}

void AddFsname(const Options& options, const std::string& archive, fuse_args* session_args) {
  if (options.fsname_given) return;
  // libfuse's option parser splits at commas and takes a backslash as an
  // escape: both are escaped, so that the mount table shows the path whole.
  std::string fsname = "-ofsname=";
  for (char c : archive) {
    if (c == ',' || c == '\\') fsname += '\\';
    fsname += c;
  }
  fuse_opt_add_arg(session_args, fsname.c_str());
}

std::string UsageText(const char* program) {
  return std::string("usage: ") + program + " [OPTIONS] ARCHIVE|URL MOUNTPOINT\n" + "       " +
         program + " [OPTIONS] DIR|ARCHIVE... MOUNTPOINT\n\n" +
         "Mounts a NumPy .npz archive read-only as a directory of .npy files; a\n"
         "directory of archives, or several, as a directory per archive.\n\n"
         "npzfs options:\n"
         "    -o cache_size=SIZE     memory for decompressed data (K, M, G suffixes;\n"
         "                           default 32M)\n"
         "    -o raw_dir=NAME        name of the raw view directory (default raw)\n"
         "    -o noraw               no raw view\n"
         "    -o uid=N, -o gid=N     owner of every file (default: the mounting user)\n"
         "    -o umask=OOO           permission bits to clear (default 000)\n"
         "    -o log_level=LEVEL     trace, debug, info, warn, error or off (default info)\n"
         "    -o log_file=PATH       log here instead of syslog when in the background\n"
         "    -o threads=N           threads decoding ahead of readers (default: one per\n"
         "                           core; 0: none)\n"
         "    -o disk_cache=DIR      where decompressed data evicted from memory goes\n"
         "                           (default $TMPDIR, else /tmp; an unlinked file)\n"
         "    -o disk_cache_size=SIZE  its bound (default 1G, at most half the free\n"
         "                           space; 0: no disk cache)\n"
         "    -o index_dir=DIR       where persisted indexes of compressed members live\n"
         "                           (default $XDG_CACHE_HOME/npzfs, ~/.cache/npzfs;\n"
         "                           /var/cache/npzfs for root)\n"
         "    -o index=FILE          this archive's index, exactly there\n"
         "    -o noindex             no persisted index\n"
         "  Remote archives (https://, http://, s3://bucket/key):\n"
         "    -o remote_cache_size=SIZE  memory for fetched bytes (default 128M)\n"
         "    -o remote_cache_dir=DIR  keep fetched bytes here across mounts\n"
         "    -o s3_endpoint=URL     S3 service (default AWS; or AWS_ENDPOINT_URL)\n"
         "    -o s3_region=NAME      S3 region (default AWS_REGION, the profile's,\n"
         "                           else us-east-1)\n"
         "    -o ca_file=PATH        certificate authorities for TLS (default: the\n"
         "                           system's)\n"
         "    -o connect_timeout=S   seconds to connect (default 10)\n"
         "    -o stall_timeout=S     seconds without data before a request is retried\n"
         "                           (default 20)\n"
         "    -o retries=N           retries of a failed request (default 5)\n"
         "  Many archives (DIR, or ARCHIVE...):\n"
         "    -o max_open=N          archives kept open at once (default 8); memory\n"
         "                           and disk caches are shared out among them\n\n";
}

}  // namespace npzfs::fs
