// The top of a mount of many archives: the directories that hold them and
// one directory per archive, named by its file name without ".npz" at its
// relative path (README, "Many archives in one mount").
//
// Built once before mounting; immutable afterwards, so every method is safe
// from any thread without locks. Inode numbers: the dataset's own nodes
// take 1 (the root) up to 2^32 - 1; archive k's nodes are
// (k + 1) << 32 | its tree's inode number, so an archive's root is
// (k + 1) << 32 | 1, and every number is a pure function of the archives
// listed.
#ifndef NPZFS_CORE_VIEW_DATASET_TREE_H_
#define NPZFS_CORE_VIEW_DATASET_TREE_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/notes.h"

namespace npzfs::core {

inline constexpr uint32_t kNoArchive = UINT32_MAX;

struct DatasetNode {
  std::string name;                // a component; "" for the root
  uint32_t parent = 0;             // node index; the root is its own parent
  uint32_t archive = kNoArchive;   // archives: their index; directories: none
  std::vector<uint32_t> children;  // directories: sorted by name (byte order)
  int64_t mtime = 0;
  uint32_t mtime_nsec = 0;
};

// What a dataset lists: an archive's place in the tree and its time.
struct DatasetItem {
  std::string path;  // relative, '/'-separated, without ".npz"
  int64_t mtime = 0;
  uint32_t mtime_nsec = 0;
};

class DatasetTree {
 public:
  // Directories are made for every path's parents. An archive whose path
  // is also a directory's (a.npz next to a/ holding shards) is left out,
  // the directory wins; of two archives with one path the later wins; each
  // with a line in `notes` (kHidden, kDuplicate). Paths must be safe
  // (SafeMemberPath). O(n log n).
  static DatasetTree Build(std::span<const DatasetItem> items, int64_t root_mtime, Notes& notes);

  static constexpr uint64_t kRootIno = 1;
  static constexpr int kArchiveShift = 32;

  // The archive an inode number belongs to, or kNoArchive for the
  // dataset's own nodes; and that number inside the archive's tree.
  static uint32_t ArchiveOf(uint64_t ino) {
    return ino >> kArchiveShift == 0 ? kNoArchive
                                     : static_cast<uint32_t>((ino >> kArchiveShift) - 1);
  }
  static uint64_t InArchive(uint64_t ino) { return ino & ((uint64_t{1} << kArchiveShift) - 1); }
  static uint64_t InoOf(uint32_t archive, uint64_t tree_ino) {
    uint64_t high = uint64_t{archive} + 1;
    high <<= kArchiveShift;
    return high | tree_ino;
  }

  // The dataset's node for an inode number below 2^32, or nullptr.
  const DatasetNode* Get(uint64_t ino) const;
  // The inode number a node is seen at: an archive's is its tree root's.
  uint64_t Ino(const DatasetNode& n) const;
  const DatasetNode& At(uint32_t index) const { return nodes_[index]; }
  // The child of `dir` called `name`, or nullptr.
  const DatasetNode* Lookup(const DatasetNode& dir, std::string_view name) const;
  // The node of archive k (its directory), or nullptr when it was left out.
  const DatasetNode* NodeOfArchive(uint32_t archive) const;
  std::string PathOf(const DatasetNode& n) const;
  size_t size() const { return nodes_.size(); }

 private:
  std::vector<DatasetNode> nodes_;      // index = ino - 1
  std::vector<uint32_t> archive_node_;  // archive -> node index, or kNoArchive
};

}  // namespace npzfs::core

#endif  // NPZFS_CORE_VIEW_DATASET_TREE_H_
