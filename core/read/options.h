// What the read path is given to work with: memory, chunk and access point
// spacing, engines, idle decoders.
#ifndef NPZFS_CORE_READ_OPTIONS_H_
#define NPZFS_CORE_READ_OPTIONS_H_

#include <cstddef>
#include <cstdint>

#include "core/codec/registry.h"

namespace npzfs::core {

// Points get at least this much memory, whatever cache_size: without them
// every read behind the frontier decodes from the member's start.
inline constexpr uint64_t kMinPointBudget = uint64_t{16} << 20;

struct ContentOptions {
  // Budget for decompressed data held in memory (-o cache_size=): chunks,
  // and access points' windows (see access_point_budget). The kernel's
  // page cache keeps what programs read recently; chunks evicted from here
  // go to the disk cache (disk_cache.h), whose pages the kernel reclaims
  // as it needs, where the daemon's own memory cannot be (no swap). 32 MiB:
  // the daemon stays under 64 MiB after reading a 1 GiB member whole,
  // with room for 4 MiB windows decoded ahead.
  uint64_t cache_size = uint64_t{32} << 20;

  // Uncompressed bytes per cached chunk, aligned to multiples of it. Half
  // the kernel's usual FUSE read (128 KiB), so aligned reads never share a
  // chunk with their neighbours, and small enough that a random 4 KiB read
  // decodes little past what it needs (measured on a 1 GiB member with
  // zlib: 64 KiB chunks 1.4 ms per random read, 128 KiB 1.5-1.7 ms, 1 MiB
  // 4.2 ms, at the same sequential speed; with igzip 0.41 ms at 64 KiB,
  // 0.60 ms at 128 KiB).
  uint64_t chunk_size = uint64_t{64} << 10;

  // Uncompressed bytes between access points while the budget allows. A
  // read behind the frontier decodes on average span / 2 + chunk_size:
  // with zlib (~350 MB/s here) about 1 ms at 512 KiB, with igzip (~800
  // MB/s) about 0.4 ms. Points cost 32 KiB each: 6 % of the uncompressed
  // size at this span.
  uint64_t span = uint64_t{512} << 10;

  // Budget for all members' access points (their windows). 0 (the
  // default) is half of cache_size, at least kMinPointBudget. What points
  // hold is taken out of cache_size, down to half of it for the chunks.
  // When a new point would exceed the budget, the member with the densest
  // points loses every other one and its span doubles, until the total
  // fits: reads stay correct and cost at most one (larger) span. At the
  // default cache_size (16 MiB of points) the spacing stays 512 KiB for up
  // to 256 MiB of deflated members read, then 1 MiB up to 512 MiB, 2 MiB
  // up to 1 GiB.
  uint64_t access_point_budget = 0;

  // The engines: for deflate, ISA-L where built in (about twice zlib's
  // speed on numpy's data), else zlib. Both make and use the same access
  // points.
  CodecOptions codec;

  // Threads decoding ahead of sequential readers (-o threads=): where a
  // member has access points ahead, its window is decoded on several at
  // once. kAllCores: one per core. 0: nothing is decoded ahead; each read
  // decodes what it needs.
  static constexpr size_t kAllCores = SIZE_MAX;
  size_t threads = kAllCores;

  // Parked decoders kept across all members (least recently used dropped;
  // a dropped frontier resumes later from its last access point).
  size_t max_idle_decoders = 16;
};

}  // namespace npzfs::core

#endif  // NPZFS_CORE_READ_OPTIONS_H_
