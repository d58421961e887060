#include "core/view/attributes.h"

namespace npzfs::core {

struct stat StatOf(const Tree& tree, const Node& n, const Ownership& owner) {
  struct stat st {};
  st.st_ino = tree.Ino(n);
  if (n.kind == NodeKind::kDir) {
    st.st_mode = S_IFDIR | (0555 & ~owner.umask);
  } else {
    st.st_mode = S_IFREG | (0444 & ~owner.umask);
  }
  st.st_nlink = n.nlink;
  st.st_uid = owner.uid;
  st.st_gid = owner.gid;
  st.st_size = static_cast<off_t>(n.size);
  st.st_blksize = kBlockSize;
  st.st_blocks = static_cast<blkcnt_t>((n.size + 511) / 512);
  st.st_atim.tv_sec = st.st_mtim.tv_sec = st.st_ctim.tv_sec = n.mtime;
  st.st_atim.tv_nsec = st.st_mtim.tv_nsec = st.st_ctim.tv_nsec = n.mtime_nsec;
  return st;
}

struct stat StatOf(const DatasetTree& tree, const DatasetNode& n, const Ownership& owner) {
  struct stat st {};
  st.st_ino = tree.Ino(n);
  st.st_mode = S_IFDIR | (0555 & ~owner.umask);
  st.st_nlink = n.archive != kNoArchive ? 1 : static_cast<nlink_t>(2 + n.children.size());
  st.st_uid = owner.uid;
  st.st_gid = owner.gid;
  st.st_blksize = kBlockSize;
  st.st_atim.tv_sec = st.st_mtim.tv_sec = st.st_ctim.tv_sec = n.mtime;
  st.st_atim.tv_nsec = st.st_mtim.tv_nsec = st.st_ctim.tv_nsec = n.mtime_nsec;
  return st;
}

NodeXattrs XattrsOf(const Archive& archive, const std::vector<ArrayInfo>& arrays, const Tree& tree,
                    const Node& n, std::string_view archive_path, bool with_npy) {
  NodeXattrs x;
  if (tree.Ino(n) == Tree::kRootIno) {
    x.values = RootXattrs(std::string(archive_path), archive.entries().size());
    return x;
  }
  if (n.member == kNoMember) return x;
  std::optional<NpyHeader> header;
  if (with_npy && arrays[n.member].header_ok) {
    if (auto h = ReadNpyHeader(archive, n.member)) {
      header = std::move(*h);
    } else {
      x.header_error = std::move(h).error();
    }
  }
  x.values = MemberXattrs(archive.entries()[n.member], header ? &*header : nullptr, &x.dropped);
  return x;
}

bool ListNeedsHeader(const std::vector<ArrayInfo>& arrays, const Node& n) {
  return n.member != kNoMember && arrays[n.member].header_ok &&
         arrays[n.member].data_offset > 16384;
}

std::string XattrNameList(const NodeXattrs& x, bool npy_names) {
  std::string names;
  for (const auto& [key, value] : x.values) {
    names += key;
    names += '\0';
  }
  if (npy_names) {
    for (const char* key : kNpyXattrNames) {
      names += key;
      names += '\0';
    }
  }
  return names;
}

}  // namespace npzfs::core
