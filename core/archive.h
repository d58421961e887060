// An opened .npz: the archive file, its member index, and access to each
// member's bytes and npy header. The one core API the tools and fs use.
//
// Immutable after Open(); every const method is safe from any thread.
#ifndef NPZFS_CORE_ARCHIVE_H_
#define NPZFS_CORE_ARCHIVE_H_

#include <memory>
#include <string>
#include <string_view>

#include "core/byte_source.h"
#include "core/member_reader.h"
#include "core/notes.h"
#include "core/npy_header.h"
#include "core/result.h"
#include "core/zip_index.h"

namespace npzfs::core {

// numpy's rule: a member is an array when its name ends in ".npy".
bool IsNpyName(std::string_view name);

// The npz key of a member: its name without ".npy", as np.load().files
// lists it; other names unchanged.
std::string NpzKey(std::string_view name);

// npy headers larger than this are not read (a v2.0 header is at most
// 4 GiB; numpy itself refuses more than 10,000 characters by default).
inline constexpr uint64_t kMaxNpyHeaderBytes = 1 << 20;

// A member's npy header as far as the tree and the xattrs need it.
struct ArrayInfo {
  bool header_ok = false;  // a .npy member whose header numpy would accept
  // A valid header, no Python objects in the dtype, and at least
  // shape x itemsize bytes after the header: the raw view can serve it.
  bool mappable = false;
  uint64_t data_offset = 0;  // the header's size, when header_ok
};

class Archive {
 public:
  // Opens the file and reads its index. Errors: kNotFound, kIo (unreadable),
  // kCorrupt (not a zip, truncated central directory), each naming the
  // file.
  static Result<std::unique_ptr<Archive>> Open(const std::string& path);
  static Result<std::unique_ptr<Archive>> FromSource(std::unique_ptr<ByteSource> src);

  const ByteSource& source() const { return *source_; }
  const ZipIndex& index() const { return index_; }
  const std::vector<ZipEntry>& entries() const { return index_.entries; }

  // A reader for member i (see OpenMemberReader).
  Result<std::unique_ptr<MemberReader>> OpenReader(size_t i) const;

  // The npy header of member i, decompressing only as much of the member
  // as the header takes. Errors: those of OpenReader and ParseNpyHeader;
  // kCorrupt when the header runs past the member's end; kUnsupported for
  // a header over kMaxNpyHeaderBytes.
  Result<NpyHeader> ReadNpyHeader(size_t i) const;

  // What the headers of the .npy members say, read once at mount time:
  // element i for member i. `notes` gets one line per .npy member that
  // gets no raw file, saying why.
  std::vector<ArrayInfo> ScanArrays(Notes& notes) const;

 private:
  Archive(std::unique_ptr<ByteSource> src, ZipIndex index)
      : source_(std::move(src)), index_(std::move(index)) {}

  std::unique_ptr<ByteSource> source_;
  ZipIndex index_;
};

}  // namespace npzfs::core

#endif  // NPZFS_CORE_ARCHIVE_H_
