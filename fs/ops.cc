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

struct stat StatOf(const Filesystem& fs, const Node& n) {
  return core::StatOf(fs.tree, n, fs.owner);
}

fuse_entry_param EntryOf(const Filesystem& fs, const Node& n) {
  fuse_entry_param e{};
  e.ino = fs.tree.Ino(n);
  e.generation = 0;
  e.attr = StatOf(fs, n);
  e.attr_timeout = kTimeout;
  e.entry_timeout = kTimeout;
  return e;
}

// The node of `ino`, or nullptr after replying ENOENT. A number the kernel
// got from us is always valid; anything else is a bug, logged.
const Node* NodeOr404(fuse_req_t req, fuse_ino_t ino) {
  const Node* n = Fs(req).tree.Get(ino);
  if (n == nullptr) {
    spdlog::error("request for unknown inode {}", ino);
    fuse_reply_err(req, ENOENT);
  }
  return n;
}

void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Guard(req, "lookup", [&] {
    const Node* dir = NodeOr404(req, parent);
    if (dir == nullptr) return;
    if (dir->kind != NodeKind::kDir) return (void)fuse_reply_err(req, ENOTDIR);
    // No name in the tree is longer (core::SafeMemberPath); the kernel
    // passes names up to 1024 bytes, and a longer one deserves the errno
    // that says so.
    if (std::strlen(name) > core::kNameMax) return (void)fuse_reply_err(req, ENAMETOOLONG);
    const Node* n = Fs(req).tree.Lookup(*dir, name);
    if (n == nullptr) return (void)fuse_reply_err(req, ENOENT);
    fuse_entry_param e = EntryOf(Fs(req), *n);
    fuse_reply_entry(req, &e);
  });
}

// Nodes live as long as the mount: lookup counts need no bookkeeping.
void Forget(fuse_req_t req, fuse_ino_t, uint64_t) { fuse_reply_none(req); }
void ForgetMulti(fuse_req_t req, size_t, fuse_forget_data*) { fuse_reply_none(req); }

void GetAttr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  Guard(req, "getattr", [&] {
    const Node* n = NodeOr404(req, ino);
    if (n == nullptr) return;
    struct stat st = StatOf(Fs(req), *n);
    fuse_reply_attr(req, &st, kTimeout);
  });
}

void LogReadError(Filesystem& fs, const Node& n, uint64_t offset, const core::Error& error) {
  if (fs.read_error_logged[n.member].exchange(true)) return;
  spdlog::error("{}: read at offset {} failed: {}", core::Quote(fs.tree.PathOf(n)), offset,
                error.message);
}

void Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Guard(req, "open", [&] {
    const Node* n = NodeOr404(req, ino);
    if (n == nullptr) return;
    if (n->kind == NodeKind::kDir) return (void)fuse_reply_err(req, EISDIR);
    if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
      return (void)fuse_reply_err(req, EROFS);
    }
    // The content never changes: keep the page cache across opens, and
    // never direct_io, so mmap works.
    fi->keep_cache = 1;
    Filesystem& fs = Fs(req);
    if (core::CheckedAtOpen(*n)) {
      std::byte none;
      auto r = fs.mounted.content().Read(n->member, n->base, std::span(&none, 0));
      if (!r) {
        LogReadError(fs, *n, 0, r.error());
        return (void)fuse_reply_err(req, ToErrno(r.error()));
      }
    }
    std::call_once(fs.readahead_raised,
                   [&fs] { RaiseReadahead(fs.mountpoint, fs.device, kReadaheadKib); });
    fuse_reply_open(req, fi);
  });
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

void Read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  Guard(req, "read", [&] {
    const Node* n = NodeOr404(req, ino);
    if (n == nullptr) return;
    if (n->kind == NodeKind::kDir) return (void)fuse_reply_err(req, EISDIR);
    const uint64_t offset = static_cast<uint64_t>(off);
    if (off < 0 || offset >= n->size) return (void)fuse_reply_buf(req, nullptr, 0);
    const size_t want = std::min<uint64_t>(size, n->size - offset);
    auto reply =
        Fs(req).mounted.content().Read(n->member, n->base + offset, want, ReadBuffer(want));
    if (!reply) {
      LogReadError(Fs(req), *n, offset, reply.error());
      return (void)fuse_reply_err(req, ToErrno(reply.error()));
    }
    ReplyPieces(req, *reply);
  });
}

void OpenDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Guard(req, "opendir", [&] {
    const Node* n = NodeOr404(req, ino);
    if (n == nullptr) return;
    if (n->kind != NodeKind::kDir) return (void)fuse_reply_err(req, ENOTDIR);
    // No cache_readdir: listing a directory costs the daemon little (a
    // READDIR carries thousands of entries), and the kernel's cached copy
    // would hold the plain entries a `find` got, so that a later `ls -l`
    // looked every name up (100,000 members: 99,000 LOOKUPs, 2-3 s)
    // instead of getting names and attributes together (READDIRPLUS, which
    // the kernel picks when a program stats what it lists).
    fuse_reply_open(req, fi);
  });
}

// readdir offsets are positions in (".", "..", children...): stable, since
// nothing changes.
void ReadDirCommon(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus) {
  const Node* dir = NodeOr404(req, ino);
  if (dir == nullptr) return;
  if (dir->kind != NodeKind::kDir) return (void)fuse_reply_err(req, ENOTDIR);
  const Filesystem& fs = Fs(req);
  const auto kids = fs.tree.Children(*dir);
  std::vector<char> buf(size);
  size_t used = 0;
  for (size_t k = static_cast<size_t>(std::max<off_t>(off, 0)); k < kids.size() + 2; ++k) {
    const Node& n = k == 0 ? *dir : k == 1 ? fs.tree.At(dir->parent) : fs.tree.At(kids[k - 2]);
    const std::string name = k == 0 ? "." : k == 1 ? ".." : std::string(fs.tree.Name(n));
    size_t need;
    if (plus) {
      fuse_entry_param e = EntryOf(fs, n);
      need = fuse_add_direntry_plus(req, buf.data() + used, size - used, name.c_str(), &e,
                                    static_cast<off_t>(k + 1));
    } else {
      struct stat st = StatOf(fs, n);
      need = fuse_add_direntry(req, buf.data() + used, size - used, name.c_str(), &st,
                               static_cast<off_t>(k + 1));
    }
    if (need > size - used) break;
    used += need;
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
    sv.f_blocks = (fs.archive.source().size() + 4095) / 4096;
    sv.f_files = fs.tree.slot_count();
    sv.f_namemax = core::kNameMax;
    sv.f_flag = ST_RDONLY;
    fuse_reply_statfs(req, &sv);
  });
}

// The xattrs of a node (core/view/attributes.h), what is wrong with them
// logged once per member and mount: any reader can ask again and again.
core::NodeXattrs XattrsOf(const Filesystem& fs, const Node& n, bool with_npy) {
  core::NodeXattrs x =
      core::XattrsOf(fs.archive, fs.mounted.arrays(), fs.tree, n, fs.archive_path, with_npy);
  if ((!x.header_error && x.dropped.empty()) || fs.xattr_note_logged[n.member].exchange(true)) {
    return x;
  }
  const std::string path = core::Quote(fs.tree.PathOf(n));
  if (x.header_error) spdlog::warn("{}: {}", path, x.header_error->message);
  for (const auto& name : x.dropped) {
    spdlog::info("{}: {} is longer than 64 KiB, the kernel's limit, and is left out", path, name);
  }
  return x;
}

std::string XattrNames(const Filesystem& fs, const Node& n) {
  const bool read_header = core::ListNeedsHeader(fs.mounted.arrays(), n);
  const bool known = n.member != core::kNoMember && fs.mounted.arrays()[n.member].header_ok;
  return core::XattrNameList(XattrsOf(fs, n, read_header), known && !read_header);
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
    const Node* n = NodeOr404(req, ino);
    if (n == nullptr) return;
    // Every name npzfs has is user.*. The other namespaces (security labels,
    // POSIX ACLs) are not supported at all, and saying so with EOPNOTSUPP
    // rather than ENODATA lets programs stop asking: `ls -l` then asks
    // security.selinux and system.posix_acl_access once per mount instead
    // of once per file (2 requests instead of 200,000 over 100,000 files).
    const std::string_view wanted = name;
    if (!wanted.starts_with("user.")) return (void)fuse_reply_err(req, EOPNOTSUPP);
    for (const auto& [key, value] : XattrsOf(Fs(req), *n, wanted.starts_with("user.npy.")).values) {
      if (key == wanted) return ReplyXattrBytes(req, value, size);
    }
    fuse_reply_err(req, ENODATA);
  });
}

void ListXattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  Guard(req, "listxattr", [&] {
    const Node* n = NodeOr404(req, ino);
    if (n == nullptr) return;
    ReplyXattrBytes(req, XattrNames(Fs(req), *n), size);
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

void Init(void*, fuse_conn_info* conn) {
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

const fuse_lowlevel_ops& Operations() {
  static const fuse_lowlevel_ops ops = MakeOperations();
  return ops;
}

}  // namespace npzfs::fs
