// The mounted namespace (README, "What the mount shows"): directories, the
// npy view of every member at its own path, and the raw/ view of every
// array whose data can be mapped.
//
// Built once before mounting; immutable afterwards, so every method is safe
// from any thread without locks.
//
// Inode numbers are a pure function of the archive (mount-zip's idea):
// 1 the root, 2 the raw directory, 3 + 2i the member at central directory
// position i, 4 + 2i its raw file, then implicit directories in the order
// the archive's names create them. Members that are left out keep their
// numbers unused, so numbers stay the same across mounts and options.
#ifndef NPZFS_CORE_VIEW_TREE_H_
#define NPZFS_CORE_VIEW_TREE_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/archive/archive.h"
#include "core/archive/zip_index.h"
#include "core/base/notes.h"
#include "core/npy/header_scan.h"

namespace npzfs::core {

enum class NodeKind : uint8_t {
  kNone,  // an unused inode number (member left out, no raw view)
  kDir,
  kFile,  // a member's bytes: the npy view of an array, or any other member
  kRaw,   // an array's bytes after its npy header
};

inline constexpr uint32_t kNoMember = UINT32_MAX;

struct Node {
  uint32_t name_off = 0;  // into the tree's name arena
  uint16_t name_len = 0;  // a component: at most 255 bytes
  NodeKind kind = NodeKind::kNone;
  uint32_t parent = 0;          // node index; the root is its own parent
  uint32_t member = kNoMember;  // central directory index (files, explicit dirs)
  uint32_t first_child = 0;     // into the tree's child list (dirs)
  uint32_t child_count = 0;
  uint32_t nlink = 1;
  uint32_t mtime_nsec = 0;  // NTFS times have 100 ns steps
  uint64_t base = 0;        // where the content starts inside the member
  uint64_t size = 0;
  int64_t mtime = 0;
};
// Two per member: the nanoseconds fit where the name length was wider.
static_assert(sizeof(Node) == 56);

struct TreeOptions {
  std::string raw_dir = "raw";  // -o raw_dir=
  bool raw = true;              // false with -o noraw
};

class Tree {
 public:
  // arrays[i] says whether member i gets a raw file (Archive::ScanArrays).
  // `notes` receives one line for each member left out and each conflict
  // resolved (names quoted). O(n log n) in the members, whatever their
  // names.
  static Tree Build(const ZipIndex& index, std::span<const ArrayInfo> arrays, int64_t archive_mtime,
                    const TreeOptions& options, Notes& notes);

  static constexpr uint64_t kRootIno = 1;

  // The node for an inode number, or nullptr for a number not in use.
  const Node* Get(uint64_t ino) const;
  uint64_t Ino(const Node& n) const { return static_cast<uint64_t>(&n - nodes_.data()) + 1; }

  std::string_view Name(const Node& n) const {
    return std::string_view(names_).substr(n.name_off, n.name_len);
  }
  // Children of a directory, sorted by name (byte order).
  std::span<const uint32_t> Children(const Node& dir) const {
    return std::span(children_).subspan(dir.first_child, dir.child_count);
  }
  const Node& At(uint32_t index) const { return nodes_[index]; }
  // The child of `dir` called `name`, or nullptr.
  const Node* Lookup(const Node& dir, std::string_view name) const;
  // The path of a node from the root, for messages ("a/b.npy").
  std::string PathOf(const Node& n) const;

  bool has_raw_view() const { return nodes_.size() > 1 && nodes_[1].kind == NodeKind::kDir; }
  size_t slot_count() const { return nodes_.size(); }

 private:
  class Builder;

  std::vector<Node> nodes_;  // index = ino - 1
  std::vector<uint32_t> children_;
  std::string names_;
};

}  // namespace npzfs::core

#endif  // NPZFS_CORE_VIEW_TREE_H_
