#include "core/mount/mounted_archive.h"

#include <chrono>

#include "core/base/notes.h"
#include "core/base/text.h"

namespace npzfs::core {
namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

}  // namespace

Result<std::unique_ptr<MountedArchive>> MountedArchive::Open(std::unique_ptr<ByteSource> source,
                                                             const MountOptions& options) {
  std::unique_ptr<MountedArchive> m(new MountedArchive);
  auto t = Clock::now();
  const int64_t mtime = source->identity().mtime_sec;
  auto archive = Archive::FromSource(std::move(source));
  if (!archive) return Fail(std::move(archive).error());
  m->archive_ = std::move(*archive);
  m->timings_.index_ms = MsSince(t);

  t = Clock::now();
  Notes info;
  m->arrays_ = ScanArrays(*m->archive_, info);
  m->info_ = info.Lines();
  m->timings_.scan_ms = MsSince(t);

  t = Clock::now();
  Notes warnings;
  m->tree_ = Tree::Build(m->archive_->index(), m->arrays_, mtime, options.tree, warnings);
  m->warnings_ = warnings.Lines();
  m->timings_.tree_ms = MsSince(t);

  std::unique_ptr<DiskCache> disk;
  if (options.disk_cache && options.disk_cache->size > 0) {
    auto opened = DiskCache::Open(*options.disk_cache, options.content.chunk_size);
    if (!opened && options.disk_cache->dir_given) return Fail(std::move(opened).error());
    if (!opened) {
      m->warnings_.push_back(opened.error().message + "; going on without a disk cache");
    } else if ((*opened)->ram_backed() && !options.disk_cache->dir_given) {
      m->info_.push_back("no disk cache: " + Quote((*opened)->dir(), Quoting::kWhenNeeded) +
                         " is in memory (tmpfs); -o disk_cache=DIR names another place");
    } else {
      disk = std::move(*opened);
      const DiskCacheStats s = disk->stats();
      m->info_.push_back("disk cache: up to " + std::to_string(s.capacity >> 20) + " MiB in " +
                         Quote(disk->dir(), Quoting::kWhenNeeded));
      if (disk->ram_backed()) {
        m->warnings_.push_back("the disk cache in " + Quote(disk->dir(), Quoting::kWhenNeeded) +
                               " is in memory (tmpfs): its pages cannot be reclaimed");
      }
    }
  }
  m->content_ = std::make_unique<Content>(*m->archive_, options.content, std::move(disk));
  return m;
}

}  // namespace npzfs::core
