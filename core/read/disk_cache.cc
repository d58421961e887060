#include "core/read/disk_cache.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/base/crc32.h"
#include "core/base/text.h"

namespace npzfs::core {
namespace {

std::string DirOf(const DiskCacheOptions& o) {
  if (!o.dir.empty()) return o.dir;
  const char* tmp = std::getenv("TMPDIR");
  return tmp != nullptr && tmp[0] == '/' ? tmp : "/tmp";
}

Error IoError(const std::string& dir, const std::string& what, int err) {
  return Error{Errc::kIo, err,
               "disk cache in " + Quote(dir, Quoting::kWhenNeeded) + ": " + what + ": " +
                   std::strerror(err)};
}

// An unlinked file in `dir`: O_TMPFILE, or where the filesystem lacks it,
// a named file removed at once.
Result<UniqueFd> MakeFile(const std::string& dir) {
  int fd = open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return UniqueFd(fd);
  if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
    return Fail(IoError(dir, "cannot make a file", errno));
  }
  std::string name = dir + "/.npzfs-cache-XXXXXX";
  fd = mkostemp(name.data(), O_CLOEXEC);
  if (fd < 0) return Fail(IoError(dir, "cannot make a file", errno));
  unlink(name.c_str());
  return UniqueFd(fd);
}

}  // namespace

Result<std::unique_ptr<DiskCache>> DiskCache::Open(const DiskCacheOptions& options,
                                                   uint64_t chunk_size) {
  const std::string dir = DirOf(options);
  auto fd = MakeFile(dir);
  if (!fd) return Fail(std::move(fd).error());
  struct statfs fs {};
  const bool ram =
      fstatfs(fd->get(), &fs) == 0 && (fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC);
  struct statvfs vfs {};
  uint64_t size = options.size;
  if (fstatvfs(fd->get(), &vfs) == 0) {
    size = std::min<uint64_t>(size, uint64_t{vfs.f_bavail} * vfs.f_frsize / 2);
  }
  const uint64_t slots = std::min<uint64_t>(size / chunk_size, UINT32_MAX);
  if (slots == 0) return Fail(IoError(dir, "no room", ENOSPC));
  return std::unique_ptr<DiskCache>(new DiskCache(std::move(*fd), dir, ram, chunk_size, slots));
}

DiskCache::DiskCache(UniqueFd fd, std::string dir, bool ram_backed, uint64_t chunk_size,
                     uint64_t slots)
    : fd_(std::move(fd)), dir_(std::move(dir)), ram_backed_(ram_backed), chunk_size_(chunk_size) {
  MutexLock lock(&mu_);
  slots_.resize(slots);
  free_.reserve(slots);
  for (uint64_t i = slots; i > 0; --i) free_.push_back(static_cast<uint32_t>(i - 1));
  stats_.capacity = slots * chunk_size;
}

DiskCache::~DiskCache() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  queue_cv_.NotifyAll();
  if (writer_.joinable()) writer_.join();
}

void DiskCache::PutLater(const ChunkKey& key, ChunkRef chunk) {
  if (!chunk || chunk->size() == 0) return;
  {
    MutexLock lock(&mu_);
    if (map_.count(key) != 0) return;
    if (queued_bytes_ + chunk->size() <= kMaxQueued) {
      // The writer starts with the first chunk: a cache nothing is evicted
      // to (most archives of a mount of many) costs no thread.
      if (!writer_.joinable()) writer_ = std::thread([this] { WriteLoop(); });
      queued_bytes_ += chunk->size();
      queue_.emplace_back(key, std::move(chunk));
    }
  }
  if (chunk) {
    // The writer is behind: the evicting thread writes this one itself.
    ++sync_puts_;
    Put(key, chunk->bytes());
    return;
  }
  queue_cv_.NotifyAll();
}

void DiskCache::Flush() {
  MutexLock lock(&mu_);
  while (!queue_.empty() || writing_) queue_cv_.Wait(&mu_);
}

void DiskCache::WriteLoop() {
  mu_.Lock();
  for (;;) {
    while (!stopping_ && queue_.empty()) queue_cv_.Wait(&mu_);
    if (stopping_) break;
    auto [key, chunk] = std::move(queue_.front());
    queue_.pop_front();
    queued_bytes_ -= chunk->size();
    writing_ = true;
    mu_.Unlock();
    Put(key, chunk->bytes());
    chunk.reset();
    mu_.Lock();
    writing_ = false;
    if (queue_.empty()) queue_cv_.NotifyAll();
  }
  mu_.Unlock();
}

// A slot for a new chunk: a free one, else the least recently used one
// nobody reads or writes.
std::optional<uint32_t> DiskCache::TakeSlotLocked() {
  if (!free_.empty()) {
    const uint32_t slot = free_.back();
    free_.pop_back();
    return slot;
  }
  for (auto it = lru_.rbegin(); it != lru_.rend(); ++it) {
    if (slots_[*it].pins == 0) {
      const uint32_t slot = *it;
      DropLocked(slot);
      free_.pop_back();  // DropLocked freed it
      return slot;
    }
  }
  return std::nullopt;
}

void DiskCache::DropLocked(uint32_t slot) {
  Slot& s = slots_[slot];
  if (!s.held) return;
  map_.erase(s.key);
  lru_.erase(s.lru);
  stats_.bytes -= s.length;
  s.held = false;
  free_.push_back(slot);
}

void DiskCache::Put(const ChunkKey& key, std::span<const std::byte> bytes) {
  if (bytes.empty() || bytes.size() > chunk_size_) return;
  uint32_t slot;
  {
    MutexLock lock(&mu_);
    if (map_.count(key) != 0) return;
    auto taken = TakeSlotLocked();
    if (!taken) return;
    slot = *taken;
    ++slots_[slot].pins;
  }
  const uint32_t crc = Crc32(0, bytes);
  const ssize_t wrote = pwrite(fd_.get(), bytes.data(), bytes.size(),
                               static_cast<off_t>(uint64_t{slot} * chunk_size_));
  MutexLock lock(&mu_);
  Slot& s = slots_[slot];
  --s.pins;
  if (wrote != static_cast<ssize_t>(bytes.size()) || map_.count(key) != 0) {
    if (wrote != static_cast<ssize_t>(bytes.size())) ++stats_.write_errors;
    free_.push_back(slot);
    return;
  }
  s.key = key;
  s.crc = crc;
  s.length = static_cast<uint32_t>(bytes.size());
  s.held = true;
  lru_.push_front(slot);
  s.lru = lru_.begin();
  map_.emplace(key, slot);
  stats_.bytes += s.length;
  ++stats_.puts;
}

ChunkRef DiskCache::Get(const ChunkKey& key) {
  uint32_t slot, crc, length;
  {
    MutexLock lock(&mu_);
    auto it = map_.find(key);
    if (it == map_.end()) {
      ++stats_.misses;
      return nullptr;
    }
    slot = it->second;
    Slot& s = slots_[slot];
    lru_.splice(lru_.begin(), lru_, s.lru);
    ++s.pins;
    crc = s.crc;
    length = s.length;
  }
  auto chunk = std::make_shared<Chunk>(length);
  const ssize_t got = pread(fd_.get(), chunk->mutable_bytes().data(), length,
                            static_cast<off_t>(uint64_t{slot} * chunk_size_));
  const bool good = got == static_cast<ssize_t>(length) && Crc32(0, chunk->bytes()) == crc;
  MutexLock lock(&mu_);
  Slot& s = slots_[slot];
  --s.pins;
  if (!good) {
    ++stats_.bad_reads;
    DropLocked(slot);
    return nullptr;
  }
  ++stats_.hits;
  return chunk;
}

bool DiskCache::Contains(const ChunkKey& key) {
  MutexLock lock(&mu_);
  return map_.count(key) != 0;
}

void DiskCache::EraseMember(uint64_t member) {
  MutexLock lock(&mu_);
  for (uint32_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].held && slots_[i].key.member == member && slots_[i].pins == 0) DropLocked(i);
  }
}

DiskCacheStats DiskCache::stats() {
  MutexLock lock(&mu_);
  DiskCacheStats s = stats_;
  s.caller_writes = sync_puts_.load();
  return s;
}

bool DiskCache::CorruptForTest(const ChunkKey& key, uint64_t offset) {
  uint32_t slot;
  {
    MutexLock lock(&mu_);
    auto it = map_.find(key);
    if (it == map_.end() || offset >= slots_[it->second].length) return false;
    slot = it->second;
  }
  const off_t at = static_cast<off_t>(uint64_t{slot} * chunk_size_ + offset);
  std::byte b{};
  if (pread(fd_.get(), &b, 1, at) != 1) return false;
  b ^= std::byte{0x5a};
  return pwrite(fd_.get(), &b, 1, at) == 1;
}

}  // namespace npzfs::core
