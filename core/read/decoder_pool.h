// Decoders that stopped and may continue for a later read of their member.
#ifndef NPZFS_CORE_READ_DECODER_POOL_H_
#define NPZFS_CORE_READ_DECODER_POOL_H_

#include <cstdint>
#include <list>
#include <memory>
#include <vector>

#include "core/base/mutex.h"
#include "core/codec/decoder.h"
#include "core/codec/member_decoder.h"

namespace npzfs::core {

// A decoder in one member, and what else it carries.
struct Stream {
  std::unique_ptr<MemberDecoder> decoder;
  // Set on a member's first pass (its "frontier"), which makes the
  // member's access points as it goes.
  std::unique_ptr<PointSink> sink;

  bool frontier() const { return sink != nullptr; }
  uint64_t position() const { return decoder->position(); }
};

using StreamPtr = std::unique_ptr<Stream>;

// At most `max_idle` parked streams across all members, the least recently
// parked dropped first: a dropped first pass resumes later from its
// member's last access point. Memory: each stream is a decoder (about
// 110 KiB with zlib, 150 KiB with igzip).
//
// Thread-safe: one mutex, a leaf, never held while decoding. Streams come
// back from it to be freed by the caller, with no lock held.
class DecoderPool {
 public:
  explicit DecoderPool(size_t max_idle) : max_idle_(max_idle) {}
  DecoderPool(const DecoderPool&) = delete;
  DecoderPool& operator=(const DecoderPool&) = delete;

  // Parks `s` of `member` as the most recently used; returns the streams
  // dropped to stay within max_idle.
  std::vector<StreamPtr> Park(size_t member, StreamPtr s) EXCLUDES(mu_);

  // Takes out `member`'s parked first pass; nullptr when there is none.
  StreamPtr TakeFrontier(size_t member) EXCLUDES(mu_);

  // Takes out the parked stream of `member` (not its first pass) that
  // stands at or before `offset`, nearest to it, when it is at most
  // `within` bytes before it; nullptr when there is none.
  StreamPtr TakeBehind(size_t member, uint64_t offset, uint64_t within) EXCLUDES(mu_);

  // Takes out every stream of `member`.
  std::vector<StreamPtr> TakeAll(size_t member) EXCLUDES(mu_);

  size_t idle() EXCLUDES(mu_);

 private:
  struct Entry {
    size_t member;
    StreamPtr stream;
  };
  using List = std::list<Entry>;
  StreamPtr TakeLocked(List::iterator it) REQUIRES(mu_);

  const size_t max_idle_;
  Mutex mu_;
  List parked_ GUARDED_BY(mu_);  // most recently parked first
};

}  // namespace npzfs::core

#endif  // NPZFS_CORE_READ_DECODER_POOL_H_
