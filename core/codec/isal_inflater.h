// ISA-L's igzip inflate over one zip member: the fast engine of the read
// path (about twice zlib's speed on numpy's data here), in builds with
// ISA-L (NPZFS_HAVE_ISAL).
//
// igzip has no Z_BLOCK: it cannot be asked to stop at deflate block
// boundaries. It does say, on return, whether it is about to read a block
// header (block_state ISAL_BLOCK_NEW_HDR, or ISAL_BLOCK_HDR with the part of
// the header it has seen saved in tmp_in_buffer), and its bit buffer
// (read_in, read_in_length) is public. So where an access point is wanted,
// it is fed a few bytes of input per call until a call ends in front of a
// header: there the compressed bit position, the output offset and the last
// 32 KiB of output (its history buffer) make a zran access point, the same
// as zlib's. Decoding elsewhere gets all the input at once, and so does the
// way to a boundary whose position is predicted (zlib's blocks have nearly
// equal compressed lengths). Resuming at a
// point primes read_in with the point's bits and sets the window as the
// dictionary (the way rapidgzip's IsalInflateWrapper does).
#ifndef NPZFS_CORE_CODEC_ISAL_INFLATER_H_
#define NPZFS_CORE_CODEC_ISAL_INFLATER_H_

#include <memory>
#include <span>
#include <string>

#include "core/codec/inflater.h"

struct inflate_state;

namespace npzfs::core {

// `src` must outlive it. One per user; not thread-safe.
class IsalInflater final : public DeflateDecoder {
 public:
  // Throws std::bad_alloc.
  IsalInflater(const ByteSource& src, const DeflateSpan& span, std::string member);
  ~IsalInflater() override;
  IsalInflater(const IsalInflater&) = delete;
  IsalInflater& operator=(const IsalInflater&) = delete;

  Result<void> Seek(const AccessPoint& point) override;
  Result<size_t> Read(std::span<std::byte> out) override;

  // Compressed bytes fed per call while looking for a block boundary (the
  // start; it grows while none turns up). Tests set it.
  void set_hunt_step(size_t bytes) { hunt_step_ = bytes; }

 private:
  Result<size_t> Step(std::span<std::byte> out);
  uint64_t BitPosition() const;
  size_t InputFor(bool looking);
  void AtBoundary(bool hunting);
  void Anchor(uint64_t bit);
  Result<void> ExpectEnd();
  uint64_t Pending() const;
  uint64_t Unused() const;
  Error CorruptAt(const std::string& what) const {
    return DeflateDecoder::CorruptAt(what, Unused());
  }

  std::unique_ptr<inflate_state> state_;  // 87 KB: not on the stack
  const std::byte* in_end_ = nullptr;      // end of the fetched input
  // Looking for block boundaries (InputFor()).
  size_t hunt_step_;
  uint64_t hunted_ = 0;         // input fed in coded blocks while looking
  uint64_t anchor_bit_ = 0;     // compressed bit position of a known boundary
  uint64_t block_bits_ = 0;     // compressed length of a block; 0: unknown
  uint64_t predicted_bit_ = 0;  // where the boundary looked for is expected
  uint64_t margin_bits_ = 0;    // and how far from it it may be
  bool learning_ = false;       // looking for the boundary after anchor_bit_
  int misses_ = 0;              // predictions missed in a row
};

}  // namespace npzfs::core

#endif  // NPZFS_CORE_CODEC_ISAL_INFLATER_H_
