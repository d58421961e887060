#include "core/mount/mounted_archive.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdlib>

#include "core/base/notes.h"
#include "core/base/text.h"
#include "core/remote/url.h"
#include "core/source/file_source.h"

namespace npzfs::core {
namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

}  // namespace

Result<std::unique_ptr<ByteSource>> OpenArchiveSource(const std::string& name,
                                                      const RemoteSettings& remote) {
  if (IsRemoteName(name)) {
    auto source = OpenRemote(name, remote, ProcessEnvironment());
    if (!source) return Fail(std::move(source).error());
    return std::unique_ptr<ByteSource>(std::move(*source));
  }
  auto source = FileSource::Open(name);
  if (!source) return Fail(std::move(source).error());
  return std::unique_ptr<ByteSource>(std::move(*source));
}

std::string ShownArchiveName(const std::string& name) {
  if (IsRemoteName(name)) return RedactUrl(name);
  char buf[PATH_MAX];
  return ::realpath(name.c_str(), buf) ? std::string(buf) : name;
}

// The index of the archive's compressed members: loaded when there is one
// of this archive, written back as members are read.
std::unique_ptr<PersistSetup> MountedArchive::SetUpIndex(const Archive& archive,
                                                         const MountOptions& options,
                                                         MountedArchive& m) {
  if (!options.index || options.index->where == IndexOptions::Where::kNone) return nullptr;
  const bool indexable = std::any_of(
      archive.entries().begin(), archive.entries().end(),
      [](const ZipEntry& e) { return e.method == kMethodDeflate && !e.sozip && e.size > 0; });
  if (!indexable) return nullptr;
  auto setup = std::make_unique<PersistSetup>();
  setup->identity = IdentityOf(archive);
  setup->path = IndexPath(*options.index, setup->identity);
  setup->warn = options.warn;
  const std::string shown = Quote(setup->path, Quoting::kWhenNeeded);
  if (auto made = MakeIndexDir(*options.index); !made) {
    m.warnings_.push_back(made.error().message + "; no index is kept");
    return nullptr;
  }
  if (options.index->where == IndexOptions::Where::kDir) {
    setup->evict_dir = setup->path.substr(0, setup->path.rfind('/'));
  }
  auto loaded = IndexFile::Open(setup->path, setup->identity);
  if (loaded) {
    setup->loaded = std::move(*loaded);
    // Its time says when it was last used: the oldest are evicted first.
    ::utimensat(AT_FDCWD, setup->path.c_str(), nullptr, AT_SYMLINK_NOFOLLOW);
    m.info_.push_back("index: " + shown + " (" + std::to_string(setup->loaded->members().size()) +
                      " members)");
  } else if (loaded.error().code == Errc::kNotFound) {
    m.info_.push_back("index: " + shown + " (none yet)");
  } else {
    m.warnings_.push_back(loaded.error().message + "; not used, it will be written again");
  }
  return setup;
}

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
  m->content_ = std::make_unique<Content>(*m->archive_, options.content, std::move(disk),
                                          SetUpIndex(*m->archive_, options, *m));
  return m;
}

}  // namespace npzfs::core
