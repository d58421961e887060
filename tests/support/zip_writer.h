// A plain zip writer for tests that need archives Python's zipfile would
// take too long to make (hundreds of thousands of members) or cannot make
// (methods and extra fields of our choosing).
#ifndef NPZFS_TESTS_SUPPORT_ZIP_WRITER_H_
#define NPZFS_TESTS_SUPPORT_ZIP_WRITER_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace npzfs::testing {

// One member as it goes into the archive.
struct ZipMember {
  std::string name;
  std::string data;     // the bytes stored: compressed ones unless method 0
  uint16_t method = 0;  // 0 stored, 8 deflate, 93 zstd, ...
  uint16_t flags = 0;   // general-purpose flags (0x800: UTF-8 name)
  uint32_t crc32 = 0;   // of the uncompressed content
  uint64_t size = 0;    // uncompressed
  std::string local_extra;
  std::string central_extra;
  bool local_only = false;  // no central directory record (a hidden entry)
};

// Writes members in order, then the central directory (with zip64 end
// records when there are more than 65,535 members). Not thread-safe.
class ZipWriter {
 public:
  // A stored member holding `content`.
  void AddStored(std::string_view name, std::string_view content);
  // Any member, written as given.
  void Add(const ZipMember& m);
  // The archive; the writer is left empty.
  std::string Finish();

 private:
  std::string out_;
  std::string central_;
  uint64_t count_ = 0;
};

// A version 1.0 .npy: magic, header dict padded to 64 bytes, `payload`.
// `shape` is the tuple's text, e.g. "(3,)".
std::string NpyV1(std::string_view descr, std::string_view shape, std::string_view payload);

// A .npy of version `major`.0 with `dict` as its header text, padded to 64.
std::string Npy(int major, std::string_view dict, std::string_view payload);

// zlib's CRC-32 of `bytes`.
uint32_t Crc32Of(std::string_view bytes);

}  // namespace npzfs::testing

#endif  // NPZFS_TESTS_SUPPORT_ZIP_WRITER_H_
