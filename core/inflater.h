// Raw deflate (RFC 1951) decoding of one zip member, pulling its compressed
// bytes from the archive with pread.
#ifndef NPZFS_CORE_INFLATER_H_
#define NPZFS_CORE_INFLATER_H_

#include <zlib.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/byte_source.h"
#include "core/result.h"

namespace npzfs::core {

// Where a member's compressed stream lies and what it must inflate to.
struct DeflateSpan {
  uint64_t in_offset = 0;  // first compressed byte in the archive
  uint64_t in_size = 0;    // compressed size
  uint64_t out_size = 0;   // declared uncompressed size
};

// Inflates one member from its start, forward only. Enforces the declared
// size: a stream that ends before out_size bytes, or goes on past them, is
// kCorrupt. One per user; not thread-safe. `src` must outlive it.
class RawInflater {
 public:
  RawInflater(const ByteSource& src, DeflateSpan span, std::string member);
  ~RawInflater();
  RawInflater(const RawInflater&) = delete;
  RawInflater& operator=(const RawInflater&) = delete;

  // Back to the start of the stream.
  void Restart();

  // Uncompressed bytes produced so far.
  uint64_t position() const { return out_pos_; }

  // Produces the next min(out.size(), out_size - position()) bytes. When
  // that reaches out_size, also checks that the stream ends exactly there.
  // Errors: kCorrupt (bad data, early end, too long), kIo.
  Result<size_t> Read(std::span<std::byte> out);

 private:
  Result<void> Refill();
  Result<void> ExpectEnd();
  Result<void> Step();
  Result<void> Check(int rc);
  Error CorruptAt(const std::string& what) const;

  const ByteSource& src_;
  DeflateSpan span_;
  std::string member_;
  z_stream zs_{};
  std::vector<std::byte> in_buf_;
  uint64_t in_pos_ = 0;   // compressed bytes fetched so far
  uint64_t out_pos_ = 0;
  bool stream_end_ = false;
};

}  // namespace npzfs::core

#endif  // NPZFS_CORE_INFLATER_H_
