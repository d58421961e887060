// Deflating a member SOZip-chunked (profile 0.5, FORMAT.md 5.3), in
// groups of chunks that threads deflate independently.
//
// A member's stream is the concatenation of its groups' streams. Each
// group starts a fresh deflate stream (no history from before it) and
// ends every chunk but the member's last with Z_SYNC_FLUSH then
// Z_FULL_FLUSH, as GDAL does, so that each chunk decodes alone from a
// byte boundary; the member's last chunk ends with Z_FINISH (its final
// block). The groups are fixed by the member's size and the chunk size
// alone, so the bytes do not depend on how many threads deflate them.
#ifndef NPZFS_TOOLS_PACK_SOZIP_DEFLATE_H_
#define NPZFS_TOOLS_PACK_SOZIP_DEFLATE_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/base/result.h"

struct z_stream_s;

namespace npzfs::tools::pack {

// The uncompressed bytes one group covers: about 1 MiB, a whole number of
// chunks (at least one).
uint64_t GroupSize(uint32_t chunk_size);

struct DeflatedGroup {
  std::vector<std::byte> bytes;
  // Where chunks 2, 3, ... of the group start in `bytes` (chunk 1 at 0).
  std::vector<uint64_t> chunk_starts;
};

// A deflate stream reused for group after group. One per thread.
class ChunkDeflater {
 public:
  // zlib level 0-9, raw deflate, window 2^15, memLevel 8 (numpy's
  // settings). Throws std::bad_alloc when zlib cannot allocate.
  explicit ChunkDeflater(int level);
  ~ChunkDeflater();
  ChunkDeflater(const ChunkDeflater&) = delete;
  ChunkDeflater& operator=(const ChunkDeflater&) = delete;

  // Deflates `input` (whole chunks of `chunk_size`; only a member's last
  // group may end with a shorter one) into `out`, replacing what it held.
  // `last`: this is the member's last group, ended by the final block.
  // Errors: kCorrupt when zlib reports a failure (a zlib bug).
  core::Result<void> Deflate(std::span<const std::byte> input, uint32_t chunk_size, bool last,
                             DeflatedGroup& out);

 private:
  core::Result<void> Run(std::span<const std::byte> in, int flush, std::vector<std::byte>& out,
                         size_t& used);

  z_stream_s* z_;
};

// The content of a member's hidden index entry: the 32-byte header
// (version 1, no skipped bytes, offsets of 8 bytes, the member's sizes)
// and the offsets of chunks 1, 2, ... from the member's first data byte.
std::string SozipIndexContent(uint32_t chunk_size, uint64_t size, uint64_t compressed_size,
                              std::span<const uint64_t> starts);

}  // namespace npzfs::tools::pack

#endif  // NPZFS_TOOLS_PACK_SOZIP_DEFLATE_H_
