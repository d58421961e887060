// OUT while `npzinfo pack` writes it: a new file in OUT's directory that
// takes OUT's name only once it is complete and on disk (Commit), so that
// a pack that fails or is killed leaves OUT as it was.
//
// The file has no name at all while it is written (O_TMPFILE), so that
// nothing is left behind even by SIGKILL. Where the file system cannot
// make such files, it is a hidden named one, ".OUT.npzinfo-pack-XXXXXX",
// removed on failure and on SIGINT, SIGTERM or SIGHUP (only SIGKILL or a
// crash can leave it).
//
// Writes are buffered and positional: position() is OUT's offset of the
// next appended byte. One user; not thread-safe.
#ifndef NPZFS_TOOLS_PACK_OUT_FILE_H_
#define NPZFS_TOOLS_PACK_OUT_FILE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"
#include "core/base/unique_fd.h"

namespace npzfs::tools::pack {

class OutFile {
 public:
  // Creates the new file in `path`'s directory, readable and writable as
  // the umask allows. Errors: kIo naming `path`.
  static core::Result<std::unique_ptr<OutFile>> Create(const std::string& path);
  ~OutFile();  // removes a named file that was not committed
  OutFile(const OutFile&) = delete;
  OutFile& operator=(const OutFile&) = delete;

  uint64_t position() const { return position_; }
  core::Result<void> Append(std::span<const std::byte> bytes);
  core::Result<void> Append(std::string_view bytes);
  // Overwrites bytes written before, at `offset` (before position()).
  core::Result<void> WriteAt(uint64_t offset, std::string_view bytes);
  // Goes on writing at `offset`, before position(): what was written
  // from there is overwritten, and what is left of it is cut by Finish.
  core::Result<void> Rewind(uint64_t offset);

  // Writes what is buffered, ends the file at position() and syncs it to
  // disk. After it, ReadablePath() opens the finished file.
  core::Result<void> Finish();
  std::string ReadablePath() const;
  // Puts the finished file in place of OUT (replacing it atomically) and
  // syncs the directory.
  core::Result<void> Commit();

 private:
  OutFile(core::UniqueFd fd, std::string path, std::string dir, std::string named);
  core::Result<void> Flush();
  core::Result<void> WriteFully(uint64_t offset, std::span<const std::byte> bytes);
  core::Result<void> LinkUnnamed(std::string& link);
  core::Error Failed(const std::string& what) const;

  core::UniqueFd fd_;
  std::string path_;   // OUT
  std::string dir_;    // OUT's directory
  std::string named_;  // the named file, when O_TMPFILE could not be used
  bool committed_ = false;
  uint64_t position_ = 0;
  std::vector<std::byte> buffer_;  // bytes from position_ - buffer_.size()
};

}  // namespace npzfs::tools::pack

#endif  // NPZFS_TOOLS_PACK_OUT_FILE_H_
