// Writes SOZip members (Seek-Optimized ZIP profile 0.5) for tests: the
// deflate stream flushed fully at every chunk, and the hidden index entry
// (local header only) right after the member's data. Fields of the index
// can be spoiled, to test that readers fall back.
#ifndef NPZFS_TESTS_SUPPORT_SOZIP_WRITER_H_
#define NPZFS_TESTS_SUPPORT_SOZIP_WRITER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/zip_writer.h"

namespace npzfs::testing {

// A raw deflate stream of `content`, fully flushed every `chunk_size`
// input bytes (Z_SYNC_FLUSH, then Z_FULL_FLUSH, as the profile says), and
// the offsets of chunks 1, 2, ... in it.
struct SozipStream {
  std::string deflated;
  std::vector<uint64_t> offsets;
};
SozipStream SozipDeflate(std::string_view content, uint32_t chunk_size, int level = 6);

struct SozipOptions {
  uint32_t chunk_size = 32 << 10;
  // What goes into the index; the defaults are right.
  uint32_t version = 1;
  uint32_t skip_bytes = 0;
  uint32_t offset_size = 8;
  int64_t size_delta = 0;             // added to the uncompressed size recorded
  int64_t compressed_size_delta = 0;  // added to the compressed size recorded
  bool swap_two_offsets = false;      // offsets 1 and 2 out of order
  bool drop_last_offset = false;      // one offset too few
  bool bad_crc = false;               // the entry's CRC-32 wrong
  bool name_without_dot = false;      // "a.npy.sozip.idx": not the index's name
  bool no_index = false;              // the stream only
  uint32_t member_crc_xor = 0;        // spoils the member's recorded CRC-32
};

// Adds member `name` holding `content`, SOZip-chunked, and its index entry.
void AddSozipMember(ZipWriter& w, std::string_view name, std::string_view content,
                    const SozipOptions& o = {});

}  // namespace npzfs::testing

#endif  // NPZFS_TESTS_SUPPORT_SOZIP_WRITER_H_
