#include "core/mount/mounted_archive.h"

#include <chrono>

#include "core/base/notes.h"

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

  m->content_ = std::make_unique<Content>(*m->archive_, options.content);
  return m;
}

}  // namespace npzfs::core
