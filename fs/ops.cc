#include "fs/ops.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>
#include <optional>

#include "core/base/text.h"
#include "core/view/attributes.h"
#include "core/view/xattrs.h"
#include "fs/errno_map.h"
#include "fs/session.h"

namespace npzfs::fs {
namespace {

using core::Node;
using core::NodeKind;

// Nothing in the tree ever changes while mounted.
constexpr double kTimeout = 86400.0;
// How far the kernel reads ahead in a file: larger requests spread each
// request's fixed cost over more bytes, and sequential reads of large
// arrays are the common case.
constexpr unsigned kReadaheadKib = 1024;

Filesystem& Fs(fuse_req_t req) { return *static_cast<Filesystem*>(fuse_req_userdata(req)); }

// Runs a handler body; an exception becomes an error reply, never an unwind
// into libfuse. Bodies reply as their last statement, so a throw means no
// reply was sent yet.
template <class Body>
void Guard(fuse_req_t req, const char* op, Body&& body) {
  try {
    body();
  } catch (const std::bad_alloc&) {
    fuse_reply_err(req, ENOMEM);
  } catch (const std::exception& e) {
    spdlog::error("{}: unexpected error: {}", op, e.what());
    fuse_reply_err(req, EIO);
  } catch (...) {
    spdlog::error("{}: unexpected error", op);
    fuse_reply_err(req, EIO);
  }
}

// What an inode number names: a node of an archive's tree (the archive
// held open for the request), or a node of a dataset's own tree.
struct Target {
  std::shared_ptr<const core::MountedArchive> hold;  // many archives: keeps it open
  const core::MountedArchive* m = nullptr;
  ArchiveLog* log = nullptr;
  const Node* node = nullptr;                   // in m's tree
  const core::DatasetNode* dnode = nullptr;     // the dataset's own (m is null)
  uint64_t base = 0;                            // added to m's tree's inode numbers
  uint64_t root_parent = core::Tree::kRootIno;  // the inode number of ".." at m's root
};

struct stat StatOf(const Filesystem& fs, const Target& t, const Node& n) {
  struct stat st = core::StatOf(t.m->tree(), n, fs.owner);
  st.st_ino += t.base;
  return st;
}

fuse_entry_param EntryOf(const Filesystem& fs, const Target& t, const Node& n) {
  fuse_entry_param e{};
  e.ino = t.base + t.m->tree().Ino(n);
  e.attr = StatOf(fs, t, n);
  e.attr_timeout = kTimeout;
  e.entry_timeout = kTimeout;
  return e;
}

fuse_entry_param EntryOf(const Filesystem& fs, const core::DatasetNode& n) {
  fuse_entry_param e{};
  e.ino = fs.dataset->tree().Ino(n);
  e.attr = core::StatOf(fs.dataset->tree(), n, fs.owner);
  e.attr_timeout = kTimeout;
  e.entry_timeout = kTimeout;
  return e;
}

// An open file of a dataset holds its archive open (fuse_file_info::fh),
// whatever max_open says, until it is released.
using Held = std::shared_ptr<const core::MountedArchive>;

// Archive k of a dataset as `hold` has it, its node not chosen yet.
Target HeldTarget(Filesystem& fs, uint32_t k, Held hold) {
  Target t;
  t.hold = std::move(hold);
  t.m = t.hold.get();
  t.log = fs.logs[k].get();
  t.log->Size(t.m->archive().entries().size());
  t.base = core::DatasetTree::InoOf(k, 0);
  const core::DatasetTree& d = fs.dataset->tree();
  t.root_parent = d.Ino(d.At(d.NodeOfArchive(k)->parent));
  return t;
}

// Archive k of a dataset, opened if it must be; nullopt after replying EIO
// (and logging why, once) when it cannot be.
std::optional<Target> ArchiveTarget(fuse_req_t req, uint32_t k) {
  Filesystem& fs = Fs(req);
  auto m = fs.dataset->Get(k);
  if (!m) {
    if (!fs.logs[k]->open_failure_logged.exchange(true)) {
      spdlog::error("{}", m.error().message);
    }
    fuse_reply_err(req, EIO);
    return std::nullopt;
  }
  return HeldTarget(fs, k, std::move(*m));
}

// The target of `ino`, or nullopt after replying. A number the kernel got
// from us is always valid; anything else is a bug, logged. `open`: false
// when an archive's root is enough as the dataset lists it (its stat),
// so that stat-ing a dataset's directories opens no archive.
std::optional<Target> Resolve(fuse_req_t req, fuse_ino_t ino, bool open = true) {
  Filesystem& fs = Fs(req);
  auto unknown = [&]() -> std::optional<Target> {
    spdlog::error("request for unknown inode {}", ino);
    fuse_reply_err(req, ENOENT);
    return std::nullopt;
  };
  if (fs.single != nullptr) {
    Target t;
    t.m = fs.single;
    t.log = fs.logs[0].get();
    t.node = t.m->tree().Get(ino);
    if (t.node == nullptr) return unknown();
    return t;
  }
  const core::DatasetTree& d = fs.dataset->tree();
  const uint32_t k = core::DatasetTree::ArchiveOf(ino);
  if (k == core::kNoArchive || k >= fs.dataset->size()) {
    Target t;
    t.dnode = d.Get(ino);
    if (t.dnode == nullptr) return unknown();
    return t;
  }
  if (d.NodeOfArchive(k) == nullptr) return unknown();
  const uint64_t in_tree = core::DatasetTree::InArchive(ino);
  if (!open && in_tree == core::Tree::kRootIno) {
    Target t;
    t.dnode = d.NodeOfArchive(k);
    return t;
  }
  auto t = ArchiveTarget(req, k);
  if (!t) return t;
  t->node = t->m->tree().Get(in_tree);
  if (t->node == nullptr) return unknown();
  return t;
}

void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Guard(req, "lookup", [&] {
    // No name in the tree is longer (core::SafeMemberPath); the kernel
    // passes names up to 1024 bytes, and a longer one deserves the errno
    // that says so.
    if (std::strlen(name) > core::kNameMax) return (void)fuse_reply_err(req, ENAMETOOLONG);
    auto t = Resolve(req, parent);
    if (!t) return;
    if (t->dnode != nullptr) {
      const core::DatasetNode* n = Fs(req).dataset->tree().Lookup(*t->dnode, name);
      if (n == nullptr) return (void)fuse_reply_err(req, ENOENT);
      fuse_entry_param e = EntryOf(Fs(req), *n);
      return (void)fuse_reply_entry(req, &e);
    }
    if (t->node->kind != NodeKind::kDir) return (void)fuse_reply_err(req, ENOTDIR);
    const Node* n = t->m->tree().Lookup(*t->node, name);
    if (n == nullptr) return (void)fuse_reply_err(req, ENOENT);
    fuse_entry_param e = EntryOf(Fs(req), *t, *n);
    fuse_reply_entry(req, &e);
  });
}

// Nodes live as long as the mount: lookup counts need no bookkeeping.
void Forget(fuse_req_t req, fuse_ino_t, uint64_t) { fuse_reply_none(req); }
void ForgetMulti(fuse_req_t req, size_t, fuse_forget_data*) { fuse_reply_none(req); }

void GetAttr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  Guard(req, "getattr", [&] {
    auto t = Resolve(req, ino, /*open=*/false);
    if (!t) return;
    struct stat st = t->dnode != nullptr
                         ? core::StatOf(Fs(req).dataset->tree(), *t->dnode, Fs(req).owner)
                         : StatOf(Fs(req), *t, *t->node);
    fuse_reply_attr(req, &st, kTimeout);
  });
}

void LogReadError(const Target& t, const Node& n, uint64_t offset, const core::Error& error) {
  if (t.log->read_error_logged[n.member].exchange(true)) return;
  std::string where = core::Quote(t.m->tree().PathOf(n));
  if (t.hold) where = core::Quote(t.log->archive_path, core::Quoting::kWhenNeeded) + ": " + where;
  spdlog::error("{}: read at offset {} failed: {}", where, offset, error.message);
}

void Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Guard(req, "open", [&] {
    auto t = Resolve(req, ino);
    if (!t) return;
    if (t->dnode != nullptr || t->node->kind == NodeKind::kDir) {
      return (void)fuse_reply_err(req, EISDIR);
    }
    const Node* n = t->node;
    if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
      return (void)fuse_reply_err(req, EROFS);
    }
    // The content never changes: keep the page cache across opens, and
    // never direct_io, so mmap works.
    fi->keep_cache = 1;
    Filesystem& fs = Fs(req);
    if (core::CheckedAtOpen(*n)) {
      std::byte none;
      auto r = t->m->content().Read(n->member, n->base, std::span(&none, 0));
      if (!r) {
        LogReadError(*t, *n, 0, r.error());
        return (void)fuse_reply_err(req, ToErrno(r.error()));
      }
    }
    std::call_once(fs.readahead_raised,
                   [&fs] { RaiseReadahead(fs.mountpoint, fs.device, kReadaheadKib); });
    if (t->hold) fi->fh = reinterpret_cast<uint64_t>(new Held(t->hold));
    if (fuse_reply_open(req, fi) != 0 && t->hold) {
      delete reinterpret_cast<Held*>(fi->fh);  // the open was interrupted: no release comes
    }
  });
}

void Release(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  if (fi->fh != 0) {
    delete reinterpret_cast<Held*>(fi->fh);
    Fs(req).dataset->Trim();  // its archive may be one too many now
  }
  fuse_reply_err(req, 0);
}

// A page-aligned buffer per thread: reads into buffers at page offset 8 or
// 16 (where glibc's large mallocs land) copy several times slower on this
// kind of machine (measured: 1.7-2.6 GB/s against 11-13 GB/s page-aligned).
std::span<std::byte> ReadBuffer(size_t size) {
  struct Buffer {
    std::byte* data = nullptr;
    size_t size = 0;
    ~Buffer() { std::free(data); }
  };
  thread_local Buffer buf;
  if (buf.size < size) {
    void* p = nullptr;
    if (posix_memalign(&p, 4096, size) != 0) throw std::bad_alloc();
    std::free(buf.data);
    buf.data = static_cast<std::byte*>(p);
    buf.size = size;
  }
  return {buf.data, size};
}

// Replies with the pieces of `reply` (cache chunks, or the read buffer)
// where they are: the kernel copies them while this call runs, and the
// reply keeps the chunks alive until it returns.
void ReplyPieces(fuse_req_t req, const core::ReadReply& reply) {
  const auto& pieces = reply.pieces();
  if (pieces.size() == 1) {
    return (void)fuse_reply_buf(req, reinterpret_cast<const char*>(pieces[0].data()),
                                pieces[0].size());
  }
  std::vector<iovec> iov;
  iov.reserve(pieces.size());
  for (const auto& p : pieces) iov.push_back({const_cast<std::byte*>(p.data()), p.size()});
  fuse_reply_iov(req, iov.data(), static_cast<int>(iov.size()));
}

void Read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  Guard(req, "read", [&] {
    // A dataset's file holds its archive: no lookup in the dataset.
    std::optional<Target> t;
    if (fi != nullptr && fi->fh != 0) {
      t = HeldTarget(Fs(req), core::DatasetTree::ArchiveOf(ino), *reinterpret_cast<Held*>(fi->fh));
      t->node = t->m->tree().Get(core::DatasetTree::InArchive(ino));
    } else {
      t = Resolve(req, ino);
      if (!t) return;
    }
    if (t->node == nullptr || t->node->kind == NodeKind::kDir) {
      return (void)fuse_reply_err(req, EISDIR);
    }
    const Node* n = t->node;
    const uint64_t offset = static_cast<uint64_t>(off);
    if (off < 0 || offset >= n->size) return (void)fuse_reply_buf(req, nullptr, 0);
    const size_t want = std::min<uint64_t>(size, n->size - offset);
    auto reply = t->m->content().Read(n->member, n->base + offset, want, ReadBuffer(want));
    if (!reply) {
      LogReadError(*t, *n, offset, reply.error());
      return (void)fuse_reply_err(req, ToErrno(reply.error()));
    }
    ReplyPieces(req, *reply);
  });
}

void OpenDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Guard(req, "opendir", [&] {
    // ENOSYS, where the kernel can do without: it then stops asking, and
    // a listing that cannot be made fails in READDIR.
    if (Fs(req).no_opendir) return (void)fuse_reply_err(req, ENOSYS);
    // An archive of a dataset is opened here, when it is first listed: a
    // listing of one that cannot be opened fails with EIO.
    auto t = Resolve(req, ino);
    if (!t) return;
    if (t->dnode == nullptr && t->node->kind != NodeKind::kDir) {
      return (void)fuse_reply_err(req, ENOTDIR);
    }
    // No cache_readdir: listing a directory costs the daemon little (a
    // READDIR carries thousands of entries), and the kernel's cached copy
    // would hold the plain entries a `find` got, so that a later `ls -l`
    // looked every name up (100,000 members: 99,000 LOOKUPs, 2-3 s)
    // instead of getting names and attributes together (READDIRPLUS, which
    // the kernel picks when a program stats what it lists).
    fuse_reply_open(req, fi);
  });
}

// Adds one entry; false when `buf` is full.
bool AddEntry(fuse_req_t req, std::vector<char>& buf, size_t& used, const std::string& name,
              fuse_entry_param& e, off_t next, bool plus) {
  const size_t room = buf.size() - used;
  const size_t need =
      plus ? fuse_add_direntry_plus(req, buf.data() + used, room, name.c_str(), &e, next)
           : fuse_add_direntry(req, buf.data() + used, room, name.c_str(), &e.attr, next);
  if (need > room) return false;
  used += need;
  return true;
}

// readdir offsets are positions in (".", "..", children...): stable, since
// nothing changes.
void ReadDirCommon(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus) {
  auto t = Resolve(req, ino);
  if (!t) return;
  const Filesystem& fs = Fs(req);
  std::vector<char> buf(size);
  size_t used = 0;
  if (t->dnode != nullptr) {
    const core::DatasetTree& d = fs.dataset->tree();
    const auto& kids = t->dnode->children;
    for (size_t k = static_cast<size_t>(std::max<off_t>(off, 0)); k < kids.size() + 2; ++k) {
      const core::DatasetNode& n = k == 0   ? *t->dnode
                                   : k == 1 ? d.At(t->dnode->parent)
                                            : d.At(kids[k - 2]);
      fuse_entry_param e = EntryOf(fs, n);
      const std::string name = k == 0 ? "." : k == 1 ? ".." : n.name;
      if (!AddEntry(req, buf, used, name, e, static_cast<off_t>(k + 1), plus)) break;
    }
    return (void)fuse_reply_buf(req, buf.data(), used);
  }
  const Node* dir = t->node;
  if (dir->kind != NodeKind::kDir) return (void)fuse_reply_err(req, ENOTDIR);
  const core::Tree& tree = t->m->tree();
  const auto kids = tree.Children(*dir);
  const bool is_root = tree.Ino(*dir) == core::Tree::kRootIno;
  for (size_t k = static_cast<size_t>(std::max<off_t>(off, 0)); k < kids.size() + 2; ++k) {
    fuse_entry_param e;
    std::string name;
    if (k == 1 && is_root && fs.dataset != nullptr) {
      // The root of a dataset's archive: ".." is the dataset's directory.
      const core::DatasetTree& d = fs.dataset->tree();
      e = EntryOf(fs, *d.Get(t->root_parent));
      name = "..";
    } else {
      const Node& n = k == 0 ? *dir : k == 1 ? tree.At(dir->parent) : tree.At(kids[k - 2]);
      e = EntryOf(fs, *t, n);
      name = k == 0 ? "." : k == 1 ? ".." : std::string(tree.Name(n));
    }
    if (!AddEntry(req, buf, used, name, e, static_cast<off_t>(k + 1), plus)) break;
  }
  fuse_reply_buf(req, buf.data(), used);
}

void ReadDir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  Guard(req, "readdir", [&] { ReadDirCommon(req, ino, size, off, false); });
}

void ReadDirPlus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  Guard(req, "readdirplus", [&] { ReadDirCommon(req, ino, size, off, true); });
}

void StatFs(fuse_req_t req, fuse_ino_t) {
  Guard(req, "statfs", [&] {
    const Filesystem& fs = Fs(req);
    struct statvfs sv {};
    sv.f_bsize = sv.f_frsize = 4096;
    if (fs.single != nullptr) {
      sv.f_blocks = (fs.single->archive().source().size() + 4095) / 4096;
      sv.f_files = fs.single->tree().slot_count();
    } else {
      sv.f_files = fs.dataset->tree().size();
    }
    sv.f_namemax = core::kNameMax;
    sv.f_flag = ST_RDONLY;
    fuse_reply_statfs(req, &sv);
  });
}

// The xattrs of a node (core/view/attributes.h), what is wrong with them
// logged once per member and mount: any reader can ask again and again.
core::NodeXattrs XattrsOf(const Target& t, const Node& n, bool with_npy) {
  const core::MountedArchive& m = *t.m;
  core::NodeXattrs x =
      core::XattrsOf(m.archive(), m.arrays(), m.tree(), n, t.log->archive_path, with_npy);
  if ((!x.header_error && x.dropped.empty()) || n.member == core::kNoMember ||
      t.log->xattr_note_logged[n.member].exchange(true)) {
    return x;
  }
  const std::string path = core::Quote(m.tree().PathOf(n));
  if (x.header_error) spdlog::warn("{}: {}", path, x.header_error->message);
  for (const auto& name : x.dropped) {
    spdlog::info("{}: {} is longer than 64 KiB, the kernel's limit, and is left out", path, name);
  }
  return x;
}

std::string XattrNames(const Target& t, const Node& n) {
  const auto& arrays = t.m->arrays();
  const bool read_header = core::ListNeedsHeader(arrays, n);
  const bool known = n.member != core::kNoMember && arrays[n.member].header_ok;
  return core::XattrNameList(XattrsOf(t, n, read_header), known && !read_header);
}

// The kernel's protocol: size 0 asks for the length, a short buffer is
// ERANGE.
void ReplyXattrBytes(fuse_req_t req, const std::string& bytes, size_t size) {
  if (size == 0) return (void)fuse_reply_xattr(req, bytes.size());
  if (bytes.size() > size) return (void)fuse_reply_err(req, ERANGE);
  fuse_reply_buf(req, bytes.data(), bytes.size());
}

void GetXattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  Guard(req, "getxattr", [&] {
    // Every name npzfs has is user.*. The other namespaces (security labels,
    // POSIX ACLs) are not supported at all, and saying so with EOPNOTSUPP
    // rather than ENODATA lets programs stop asking: `ls -l` then asks
    // security.selinux and system.posix_acl_access once per mount instead
    // of once per file (2 requests instead of 200,000 over 100,000 files).
    const std::string_view wanted = name;
    if (!wanted.starts_with("user.")) return (void)fuse_reply_err(req, EOPNOTSUPP);
    auto t = Resolve(req, ino);
    if (!t) return;
    if (t->dnode != nullptr) return (void)fuse_reply_err(req, ENODATA);
    for (const auto& [key, value] :
         XattrsOf(*t, *t->node, wanted.starts_with("user.npy.")).values) {
      if (key == wanted) return ReplyXattrBytes(req, value, size);
    }
    fuse_reply_err(req, ENODATA);
  });
}

void ListXattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  Guard(req, "listxattr", [&] {
    auto t = Resolve(req, ino);
    if (!t) return;
    if (t->dnode != nullptr) return ReplyXattrBytes(req, "", size);
    ReplyXattrBytes(req, XattrNames(*t, *t->node), size);
  });
}

// Every change fails: the mount is read-only (the kernel already refuses
// most of these on an ro mount; these answer whatever gets through).
void SetAttr(fuse_req_t req, fuse_ino_t, struct stat*, int, fuse_file_info*) {
  fuse_reply_err(req, EROFS);
}
void MkNod(fuse_req_t req, fuse_ino_t, const char*, mode_t, dev_t) { fuse_reply_err(req, EROFS); }
void MkDir(fuse_req_t req, fuse_ino_t, const char*, mode_t) { fuse_reply_err(req, EROFS); }
void Unlink(fuse_req_t req, fuse_ino_t, const char*) { fuse_reply_err(req, EROFS); }
void RmDir(fuse_req_t req, fuse_ino_t, const char*) { fuse_reply_err(req, EROFS); }
void SymLink(fuse_req_t req, const char*, fuse_ino_t, const char*) { fuse_reply_err(req, EROFS); }
void Rename(fuse_req_t req, fuse_ino_t, const char*, fuse_ino_t, const char*, unsigned) {
  fuse_reply_err(req, EROFS);
}
void Link(fuse_req_t req, fuse_ino_t, fuse_ino_t, const char*) { fuse_reply_err(req, EROFS); }
void Write(fuse_req_t req, fuse_ino_t, const char*, size_t, off_t, fuse_file_info*) {
  fuse_reply_err(req, EROFS);
}
void SetXattr(fuse_req_t req, fuse_ino_t, const char*, const char*, size_t, int) {
  fuse_reply_err(req, EROFS);
}
void RemoveXattr(fuse_req_t req, fuse_ino_t, const char*) { fuse_reply_err(req, EROFS); }
void Create(fuse_req_t req, fuse_ino_t, const char*, mode_t, fuse_file_info*) {
  fuse_reply_err(req, EROFS);
}
void Fallocate(fuse_req_t req, fuse_ino_t, int, off_t, off_t, fuse_file_info*) {
  fuse_reply_err(req, EROFS);
}

void Init(void* userdata, fuse_conn_info* conn) {
  // A mount of many archives: opening a directory needs nothing of the
  // daemon, so where the kernel can skip OPENDIR and RELEASEDIR (Linux
  // 5.1) two round trips per directory listed go (a find over 10,000
  // archives lists 20,000), and the kernel then keeps listings it read
  // (a second find asks nothing). Not for one archive: there a cached
  // listing made `ls -l` after `find` look up every name (see OpenDir).
  auto* fs = static_cast<Filesystem*>(userdata);
  fs->no_opendir = fs->dataset != nullptr && (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) != 0;
  // The content never changes, so the kernel need not compare mtimes to
  // drop cached pages.
  conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
  // No POSIX ACLs: permissions are the modes alone, and the ACL names get
  // EOPNOTSUPP (GetXattr). With FUSE_CAP_POSIX_ACL the kernel would ask
  // for every inode's ACL, and an error there would fail permission checks.
  conn->want &= ~FUSE_CAP_POSIX_ACL;
}

fuse_lowlevel_ops MakeOperations() {
  fuse_lowlevel_ops ops{};
  ops.init = Init;
  ops.lookup = Lookup;
  ops.forget = Forget;
  ops.getattr = GetAttr;
  ops.setattr = SetAttr;
  ops.mknod = MkNod;
  ops.mkdir = MkDir;
  ops.unlink = Unlink;
  ops.rmdir = RmDir;
  ops.symlink = SymLink;
  ops.rename = Rename;
  ops.link = Link;
  ops.open = Open;
  ops.read = Read;
  ops.release = Release;
  ops.write = Write;
  ops.opendir = OpenDir;
  ops.readdir = ReadDir;
  ops.statfs = StatFs;
  ops.setxattr = SetXattr;
  ops.getxattr = GetXattr;
  ops.listxattr = ListXattr;
  ops.removexattr = RemoveXattr;
  ops.create = Create;
  ops.forget_multi = ForgetMulti;
  ops.fallocate = Fallocate;
  ops.readdirplus = ReadDirPlus;
  return ops;
}

}  // namespace

void ArchiveLog::Size(size_t members) {
  std::call_once(sized, [&] {
    read_error_logged = std::make_unique<std::atomic<bool>[]>(members);
    xattr_note_logged = std::make_unique<std::atomic<bool>[]>(members);
  });
}

Filesystem::Filesystem(const core::MountedArchive& m, std::string archive_path)
    : single(&m), shown_source(archive_path) {
  logs.push_back(std::make_unique<ArchiveLog>());
  logs[0]->archive_path = std::move(archive_path);
  logs[0]->Size(m.archive().entries().size());
}

Filesystem::Filesystem(core::Dataset& d) : dataset(&d), shown_source(d.shown_root()) {
  logs.reserve(d.size());
  for (size_t k = 0; k < d.size(); ++k) {
    logs.push_back(std::make_unique<ArchiveLog>());
    logs[k]->archive_path = d.shown(k);
  }
}

const fuse_lowlevel_ops& Operations() {
  static const fuse_lowlevel_ops ops = MakeOperations();
  return ops;
}

}  // namespace npzfs::fs
