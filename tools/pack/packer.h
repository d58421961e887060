// `npzinfo pack`'s work: every member of IN, in IN's order, decompressed
// and written again to OUT, deflated SOZip-chunked or stored with its
// data aligned; then OUT's central directory.
//
// Three kinds of thread share the work. The calling thread reads IN's
// members and cuts them into groups of chunks (sozip_deflate.h); worker
// threads deflate groups, any number at once; one writer thread writes
// them to OUT in order, and copies stored members itself. At most a
// bounded number of groups is under way, so that a member of any size
// packs in bounded memory.
#ifndef NPZFS_TOOLS_PACK_PACKER_H_
#define NPZFS_TOOLS_PACK_PACKER_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "core/archive/archive.h"
#include "core/base/result.h"
#include "tools/pack/out_file.h"
#include "tools/pack/progress.h"
#include "tools/pack/zip_records.h"

namespace npzfs::tools::pack {

struct PackOptions {
  bool store = false;  // every member stored, none deflated
  int level = 6;       // zlib's, 0-9
  uint32_t chunk_size = 32 << 10;
  uint32_t align = 4096;  // a power of two, 1 to 65536
  unsigned threads = 1;   // deflating at once
};

struct PackSummary {
  size_t deflated = 0;
  size_t indexed = 0;  // deflated, with a SOZip index
  size_t stored = 0;
  uint64_t size = 0;  // OUT's
};

// Where the data of a stored member is aligned from: for a member named
// *.npy that starts with a valid npy prefix, the first byte after the npy
// header; else the member's first byte (0). `head`: the member's first
// bytes, `size` its size.
uint64_t PayloadOffset(const core::ZipEntry& e, std::span<const std::byte> head);

// Writes IN's members, the central directory and the end records to
// `out`, and Finish()es it. A member is stored when `options.store` says
// so, when it is empty or a directory, or when deflating it does not make
// it smaller; every other member is deflated SOZip-chunked, with an index
// when it holds more than one chunk. `cd` is IN's central directory
// (ReadCentralDirectory); `progress` counts IN's uncompressed bytes.
// Errors: those of reading IN (naming IN and the member), of writing OUT
// (naming OUT); kIo ENOMEM when memory runs out.
core::Result<PackSummary> Pack(const core::Archive& in, const CentralDirectory& cd,
                               const PackOptions& options, OutFile& out, Progress& progress);

}  // namespace npzfs::tools::pack

#endif  // NPZFS_TOOLS_PACK_PACKER_H_
