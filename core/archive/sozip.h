// The index of a Seek-Optimized ZIP (SOZip, profile 0.5) member: where in
// a deflate member's stream each chunk of its output starts afresh.
//
// A SOZip writer flushes deflate fully (Z_SYNC_FLUSH, then Z_FULL_FLUSH)
// after every chunk_size bytes of input, so each chunk decodes alone, with
// no window, from a byte boundary; and writes the offsets of the chunks in
// a hidden stored entry, `.NAME.sozip.idx` in the member's directory,
// whose local header comes right after the member's data and which has no
// central directory record (so zipfile, and numpy, never see it).
#ifndef NPZFS_CORE_ARCHIVE_SOZIP_H_
#define NPZFS_CORE_ARCHIVE_SOZIP_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"
#include "core/source/byte_source.h"

namespace npzfs::core {

struct SozipIndex {
  uint32_t chunk_size = 0;
  // Compressed offset, from the stream's first byte, of chunks 1, 2, ...
  // (chunk 0 starts at 0): strictly ascending, within the stream.
  std::vector<uint64_t> starts;

  size_t chunk_count() const { return starts.size() + 1; }
  // Chunk i covers uncompressed bytes [i * chunk_size, ...).
  uint64_t chunk_start(size_t i) const { return i == 0 ? 0 : starts[i - 1]; }
};

// The hidden entry's name for member `name` (raw bytes, as in the local
// header): "dir/a.npy" -> "dir/.a.npy.sozip.idx".
std::string SozipIndexName(std::string_view name);

// The index held by `content` (the hidden entry's bytes), checked against
// the member it indexes: version 1, offsets of 8 bytes, the member's two
// sizes, one offset per chunk after the first, ascending and inside the
// stream. Errors (kCorrupt) say what does not fit.
Result<SozipIndex> ParseSozipIndex(std::span<const std::byte> content, uint64_t size,
                                   uint64_t compressed_size);

// Looks for the index of a deflate member whose data ends at `data_end` in
// `src` (after its data descriptor, if it has one: `descriptor` says so)
// and whose next neighbour (a local header or the central directory)
// starts at `limit`. nullopt when there is no index entry there; an Error
// (kCorrupt) when there is one that does not fit the member, kIo when the
// source cannot be read.
Result<std::optional<SozipIndex>> FindSozipIndex(const ByteSource& src, std::string_view raw_name,
                                                 uint64_t size, uint64_t compressed_size,
                                                 uint64_t data_end, bool descriptor,
                                                 uint64_t limit);

// The least room an index entry for `raw_name` takes: its local header
// and the index header. Nothing smaller can be one.
uint64_t SozipMinEntrySize(std::string_view raw_name);

}  // namespace npzfs::core

#endif  // NPZFS_CORE_ARCHIVE_SOZIP_H_
