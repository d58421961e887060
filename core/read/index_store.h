// Where persisted indexes live, and the bound on what they take.
#ifndef NPZFS_CORE_READ_INDEX_STORE_H_
#define NPZFS_CORE_READ_INDEX_STORE_H_

#include <cstdint>
#include <string>

#include "core/base/result.h"
#include "core/read/index_file.h"

namespace npzfs::core {

struct IndexOptions {
  enum class Where {
    kDir,   // a file named by the archive's identity in `path` (empty: the default)
    kFile,  // exactly `path` (-o index=FILE), never evicted
    kNone,  // -o noindex
  };
  Where where = Where::kDir;
  std::string path;
};

// $XDG_CACHE_HOME/npzfs when that is an absolute path, else
// $HOME/.cache/npzfs; /var/cache/npzfs for root.
std::string DefaultIndexDir();

// What all index files of a directory may take: the oldest used are
// removed past it. 1 GiB: the indexes of about 50 GiB of members.
inline constexpr uint64_t kIndexDirMax = uint64_t{1} << 30;

// The index file of an archive of `identity`: the same content gives the
// same name wherever the archive lies.
std::string IndexPath(const IndexOptions& options, const IndexIdentity& identity);

// Makes the index directory (mode 0700; its parents too when it is the
// default one). Errors: kIo naming it.
Result<void> MakeIndexDir(const IndexOptions& options);

// Removes the least recently used *.npzidx files of `dir` (regular files
// only) until they take at most `max_total` bytes; `keep` stays.
void EvictIndexes(const std::string& dir, uint64_t max_total, const std::string& keep);

}  // namespace npzfs::core

#endif  // NPZFS_CORE_READ_INDEX_STORE_H_
