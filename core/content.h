// Serves members' uncompressed bytes to many threads at once: the read path
// of the filesystem.
//
// Thread-safe: any number of threads may call Read() on any members.
#ifndef NPZFS_CORE_CONTENT_H_
#define NPZFS_CORE_CONTENT_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "core/archive.h"
#include "core/result.h"

namespace npzfs::core {

struct ContentOptions {
  // Budget for decompressed data held in memory (-o cache_size=).
  uint64_t cache_size = uint64_t{256} << 20;
};

class Content {
 public:
  // `archive` must outlive the Content.
  Content(const Archive& archive, ContentOptions options);
  ~Content();

  // Reads bytes [offset, offset + out.size()) of member i's content into
  // `out`; returns the count, smaller only at the member's end. Errors as
  // MemberReader::ReadAt (kCorrupt, kUnsupported, kIo), with the member's
  // name in the message.
  Result<size_t> Read(size_t member, uint64_t offset, std::span<std::byte> out);

 private:
  struct MemberState;
  MemberState& StateOf(size_t member);

  const Archive& archive_;
  ContentOptions options_;
  std::mutex states_mu_;
  std::vector<std::unique_ptr<MemberState>> states_;  // by member, made on first read
};

}  // namespace npzfs::core

#endif  // NPZFS_CORE_CONTENT_H_
