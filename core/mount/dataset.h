// A mount of many archives: every *.npz under a directory, or the archives
// named. Mounting lists them (names, sizes, times) and opens none; an
// archive is opened (its central directory and npy headers read, its tree
// built) the first time something inside it is looked at, once however
// many threads ask at the same moment, and closed again when more than
// max_open archives are open and nobody uses it (reopened on the next use,
// its identity checked against what it was).
#ifndef NPZFS_CORE_MOUNT_DATASET_H_
#define NPZFS_CORE_MOUNT_DATASET_H_

#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/mutex.h"
#include "core/base/result.h"
#include "core/mount/mounted_archive.h"
#include "core/remote/open_remote.h"
#include "core/source/byte_source.h"
#include "core/view/dataset_tree.h"

namespace npzfs::core {

// True for s3://bucket/ and s3://bucket/prefix/: every archive under it.
bool IsS3Prefix(std::string_view name);

struct DatasetOptions {
  // For each archive. cache_size, disk_cache's size and remote_cache_size
  // are the mount's: each open archive gets an equal share (at least 8 MiB
  // of memory each).
  MountOptions mount;
  RemoteSettings remote;
  size_t max_open = 8;
  // Told of each archive opened (first: for the first time), outside any
  // lock: what its mount had to say is logged there.
  std::function<void(size_t k, const MountedArchive& m, bool first)> on_open;
};

class Dataset {
 public:
  // `names`: one directory, whose *.npz files (recursively; symbolic links
  // to files followed, to directories not) are the archives; one S3 prefix
  // (IsS3Prefix), whose *.npz objects are; or archives (paths or URLs).
  // Nothing is opened. Errors, naming the file:
  // kNotFound, kIo (a directory that cannot be read), kInvalidArgument (a
  // name that is neither a regular file, a directory nor a URL).
  static Result<std::unique_ptr<Dataset>> List(const std::vector<std::string>& names,
                                               const DatasetOptions& options);
  ~Dataset();
  Dataset(const Dataset&) = delete;
  Dataset& operator=(const Dataset&) = delete;

  const DatasetTree& tree() const { return tree_; }
  size_t size() const { return archives_.size(); }
  // What messages, xattrs and the log call archive k: its absolute path,
  // or its URL without secrets.
  const std::string& shown(size_t k) const { return archives_[k].shown; }
  // The mount's source for the mount table: the directory, or the first
  // archive named.
  const std::string& shown_root() const { return shown_root_; }
  // What listing had to say (names left out, clashes), capped per kind.
  const std::vector<std::string>& warnings() const { return warnings_; }

  // Archive k, opened when it is not; it stays open while the result is
  // held. Thread-safe. An archive that cannot be opened, or that changed
  // since it was first opened, fails now and on every later call, with
  // the same error.
  Result<std::shared_ptr<const MountedArchive>> Get(size_t k) EXCLUDES(mu_);

  // Closes what max_open says must be, now that something was let go (an
  // open file closed). Thread-safe.
  void Trim() EXCLUDES(mu_);

 private:
  struct Archive {
    std::string name;   // as opened: a path or a URL
    std::string shown;  // for people
  };
  struct State {
    std::shared_ptr<const MountedArchive> open;
    std::list<size_t>::iterator lru;
    bool opening = false;
    std::optional<Error> failure;
    std::optional<SourceIdentity> identity;  // when first opened
  };

  explicit Dataset(DatasetOptions options) : options_(std::move(options)) {}
  Result<std::unique_ptr<MountedArchive>> Open(size_t k,
                                               const std::optional<SourceIdentity>& identity);
  // Closes the least recently used archives nobody holds while more than
  // max_open are open; what is closed goes to `out`, to be destroyed
  // without the lock.
  void CloseIdle(std::vector<std::shared_ptr<const MountedArchive>>& out) REQUIRES(mu_);

  DatasetOptions options_;  // per archive, the shares applied
  std::vector<Archive> archives_;
  DatasetTree tree_;
  std::string shown_root_;
  std::vector<std::string> warnings_;

  mutable Mutex mu_;
  CondVar opened_;  // an archive's opening ended
  std::vector<State> states_ GUARDED_BY(mu_);
  std::list<size_t> lru_ GUARDED_BY(mu_);  // open archives, most recently used first
};

}  // namespace npzfs::core

#endif  // NPZFS_CORE_MOUNT_DATASET_H_
