// Bytes of one remote object kept on disk across mounts: each piece the
// source fetched is a file of its own, named by where it lies, checked
// against its CRC-32 when read back.
#ifndef NPZFS_CORE_REMOTE_PIECE_FILES_H_
#define NPZFS_CORE_REMOTE_PIECE_FILES_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "core/base/result.h"

namespace npzfs::core {

// Thread-safe. Files are DIR/KEY/START-LENGTH (hexadecimal): the piece's
// bytes, then its CRC-32 (4 bytes, little-endian) and the 8 bytes
// "NPZFSRC1". They are written to a temporary name and renamed, so a file
// is whole or absent; a file whose length, CRC-32 or tag is wrong is
// removed when met. The directory belongs to the user (0700).
class PieceFiles {
 public:
  // Opens DIR/KEY (making DIR and it, 0700). Keeps DIR's files within
  // `limit` bytes: the directories of other objects are removed, least
  // recently mounted first, until what is left fits. Errors: kIo naming
  // the directory.
  static Result<std::unique_ptr<PieceFiles>> Open(const std::string& dir, const std::string& key,
                                                  uint64_t limit);

  // True when a file holds exactly the piece [start, start + out.size())
  // and its CRC-32 holds; its bytes are then in `out`.
  bool Load(uint64_t start, std::span<std::byte> out) const;

  // Writes the piece at `start`, unless that would pass the limit. Best
  // effort: a failure only means the next mount fetches it again.
  void Store(uint64_t start, std::span<const std::byte> data) const;

  const std::string& dir() const { return dir_; }
  uint64_t used() const { return used_.load(std::memory_order_relaxed); }

 private:
  PieceFiles(std::string dir, uint64_t used, uint64_t limit)
      : dir_(std::move(dir)), used_(used), limit_(limit) {}
  std::string PathOf(uint64_t start, uint64_t length) const;

  std::string dir_;  // DIR/KEY
  mutable std::atomic<uint64_t> used_;
  uint64_t limit_;
};

// The key of an object version: a hash of its URL as shown, ETag, size
// and Last-Modified; "" when the object has neither an ETag nor a
// Last-Modified (its versions cannot be told apart: nothing is kept).
std::string PieceKey(const std::string& shown_url, const std::string& etag, uint64_t size,
                     const std::string& last_modified);

}  // namespace npzfs::core

#endif  // NPZFS_CORE_REMOTE_PIECE_FILES_H_
