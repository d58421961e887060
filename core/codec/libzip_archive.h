// A libzip handle reading through a ByteSource.
//
// libzip parses the central directory (and, for methods npzfs does not
// decode itself, decompresses). Its zip_t must not be used from two threads
// at once: every user of a LibzipArchive owns it alone.
#ifndef NPZFS_CORE_CODEC_LIBZIP_ARCHIVE_H_
#define NPZFS_CORE_CODEC_LIBZIP_ARCHIVE_H_

#include <zip.h>

#include <cstdint>
#include <memory>
#include <string>

#include "core/source/byte_source.h"
#include "core/base/result.h"

namespace npzfs::core {

class LibzipArchive {
 public:
  // Opens the zip held in `src` (which must outlive the result) read-only.
  // Errors: kCorrupt with libzip's reason ("not a zip archive", ...), kIo.
  static Result<std::unique_ptr<LibzipArchive>> Open(const ByteSource& src);

  ~LibzipArchive();
  LibzipArchive(const LibzipArchive&) = delete;
  LibzipArchive& operator=(const LibzipArchive&) = delete;

  zip_t* get() const { return za_; }

 private:
  struct SourceState {
    const ByteSource* src;
    uint64_t pos = 0;
    zip_error_t error;
  };
  static zip_int64_t Callback(void* state, void* data, zip_uint64_t len, zip_source_cmd_t cmd);

  LibzipArchive() = default;

  std::unique_ptr<SourceState> state_;
  zip_t* za_ = nullptr;
};

// libzip's text for a libzip error code.
std::string LibzipErrorString(int ze, int sys_errno = 0);

}  // namespace npzfs::core

#endif  // NPZFS_CORE_CODEC_LIBZIP_ARCHIVE_H_
