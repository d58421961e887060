// Everything a mount of one archive serves, set up in one place: the
// archive's index, what its npy headers say, its tree, its content. The
// daemon, the fuzz targets and the benchmark all set up through here.
#ifndef NPZFS_CORE_MOUNT_MOUNTED_ARCHIVE_H_
#define NPZFS_CORE_MOUNT_MOUNTED_ARCHIVE_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/archive/archive.h"
#include "core/base/result.h"
#include "core/npy/header_scan.h"
#include "core/read/content.h"
#include "core/read/disk_cache.h"
#include "core/read/index_store.h"
#include "core/read/options.h"
#include "core/remote/open_remote.h"
#include "core/source/byte_source.h"
#include "core/view/tree.h"

namespace npzfs::core {

// The archive named `name` as a source: for a URL (http://, https://,
// s3://) the remote object, its end fetched and its version pinned, else
// the local file (FileSource::Open). Errors name the file, or the URL
// without its secrets.
Result<std::unique_ptr<ByteSource>> OpenArchiveSource(const std::string& name,
                                                      const RemoteSettings& remote);

// What a user is shown of an archive's name: a URL without its secrets, a
// path made absolute with symbolic links resolved (as given when it cannot
// be).
std::string ShownArchiveName(const std::string& name);

struct MountOptions {
  TreeOptions tree;
  ContentOptions content;
  // Where chunks evicted from memory go; none when absent or of size 0.
  std::optional<DiskCacheOptions> disk_cache;
  // Where the persisted index is read from and written to; none when absent.
  std::optional<IndexOptions> index;
  // Told of problems met while reading (an index discarded, not written).
  std::function<void(const std::string&)> warn;
};

// Immutable after Open() but for content(), which is internally locked:
// safe to share among threads.
class MountedArchive {
 public:
  // Reads the index of the zip in `source`, every npy header and builds
  // the tree. Fails only when the archive as a whole cannot be read
  // (kIo, kCorrupt: not a zip, truncated central directory), naming the
  // source; what is wrong with single members is in the notes, and the
  // members are left out. A disk cache that cannot be made fails the
  // mount when its directory was asked for, else is left out (a warning).
  static Result<std::unique_ptr<MountedArchive>> Open(std::unique_ptr<ByteSource> source,
                                                      const MountOptions& options);

  const Archive& archive() const { return *archive_; }
  const std::vector<ArrayInfo>& arrays() const { return arrays_; }
  const Tree& tree() const { return tree_; }
  Content& content() const { return *content_; }

  // What mounting had to say, to be logged: arrays without a raw file
  // (info), members left out and clashes (warnings), capped per kind.
  const std::vector<std::string>& info() const { return info_; }
  const std::vector<std::string>& warnings() const { return warnings_; }

  // Milliseconds spent on the index, the npy headers and the tree.
  struct Timings {
    double index_ms = 0;
    double scan_ms = 0;
    double tree_ms = 0;
  };
  const Timings& timings() const { return timings_; }

 private:
  MountedArchive() = default;
  static std::unique_ptr<PersistSetup> SetUpIndex(const Archive& archive,
                                                  const MountOptions& options, MountedArchive& m);

  std::unique_ptr<Archive> archive_;
  std::vector<ArrayInfo> arrays_;
  Tree tree_;
  std::unique_ptr<Content> content_;
  std::vector<std::string> info_;
  std::vector<std::string> warnings_;
  Timings timings_;
};

}  // namespace npzfs::core

#endif  // NPZFS_CORE_MOUNT_MOUNTED_ARCHIVE_H_
