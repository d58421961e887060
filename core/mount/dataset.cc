#include "core/mount/dataset.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <system_error>

#include "core/archive/zip_index.h"
#include "core/base/notes.h"
#include "core/base/text.h"
#include "core/remote/s3_list.h"
#include "core/remote/url.h"
#include "core/source/file_source.h"

namespace npzfs::core {
namespace {

namespace stdfs = std::filesystem;

constexpr uint64_t kMinShare = uint64_t{8} << 20;
constexpr std::string_view kSuffix = ".npz";

bool HasSuffix(std::string_view name) {
  return name.size() > kSuffix.size() && name.substr(name.size() - kSuffix.size()) == kSuffix;
}

std::string WithoutSuffix(std::string_view name) {
  return std::string(HasSuffix(name) ? name.substr(0, name.size() - kSuffix.size()) : name);
}

DatasetItem ItemOf(std::string path, const struct stat& st) {
  return {std::move(path), st.st_mtim.tv_sec, static_cast<uint32_t>(st.st_mtim.tv_nsec)};
}

}  // namespace

bool IsS3Prefix(std::string_view name) {
  return StartsWithNoCase(name, "s3://") && !name.empty() && name.back() == '/';
}

namespace {

// The last component of a URL's path, without its query.
std::string UrlBaseName(std::string_view shown) {
  const size_t slash = shown.rfind('/');
  return std::string(slash == std::string_view::npos ? shown : shown.substr(slash + 1));
}

}  // namespace

Result<std::unique_ptr<Dataset>> Dataset::List(const std::vector<std::string>& names,
                                               const DatasetOptions& options) {
  std::unique_ptr<Dataset> d(new Dataset(options));
  // Each open archive gets its share of the mount's budgets.
  const uint64_t n = std::max<size_t>(options.max_open, 1);
  ContentOptions& c = d->options_.mount.content;
  c.cache_size = std::max(kMinShare, c.cache_size / n);
  if (d->options_.mount.disk_cache) d->options_.mount.disk_cache->size /= n;
  RemoteOptions& r = d->options_.remote.cache;
  r.cache_size = std::max(kMinShare, r.cache_size / n);

  std::vector<DatasetItem> items;
  Notes notes;
  int64_t root_mtime = 0;
  struct stat st {};
  const bool one_dir = names.size() == 1 && !IsRemoteName(names[0]) &&
                       ::stat(names[0].c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  if (names.size() == 1 && IsS3Prefix(names[0])) {
    auto listed = ListS3Prefix(names[0], options.remote, ProcessEnvironment());
    if (!listed) return Fail(std::move(listed).error());
    const std::string shown = RedactUrl(names[0]);
    d->shown_root_ = shown;
    const std::string_view rest = std::string_view(names[0]).substr(5);
    const std::string bucket(rest.substr(0, rest.find('/')));
    const size_t prefix_len = rest.size() - bucket.size() - 1;
    for (S3Object& o : *listed) {
      if (!HasSuffix(o.key)) continue;
      std::string rel = WithoutSuffix(std::string_view(o.key).substr(prefix_len));
      auto safe = SafeMemberPath(rel);
      if (!safe || *safe != rel) {
        notes.Add(NoteKind::kBadName, Quote(o.key) + ": left out for its name");
        continue;
      }
      root_mtime = std::max(root_mtime, o.mtime);
      items.push_back({std::move(rel), o.mtime, 0});
      const std::string url = "s3://" + bucket + "/" + o.key;
      d->archives_.push_back({url, url});
    }
  } else if (one_dir) {
    const std::string root = ShownArchiveName(names[0]);
    d->shown_root_ = root;
    root_mtime = st.st_mtim.tv_sec;
    std::error_code ec;
    stdfs::recursive_directory_iterator it(root, stdfs::directory_options::skip_permission_denied,
                                           ec);
    if (ec) return Fail(IoError(ec.value(), Quote(root, Quoting::kWhenNeeded)));
    // The listing's order is the directory's: sorted, so that inode
    // numbers do not depend on it.
    std::vector<stdfs::path> files;
    for (; it != stdfs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) return Fail(IoError(ec.value(), Quote(root, Quoting::kWhenNeeded)));
      if (HasSuffix(it->path().filename().string())) files.push_back(it->path());
    }
    std::sort(files.begin(), files.end());
    for (const stdfs::path& p : files) {
      struct stat fst {};
      if (::stat(p.c_str(), &fst) != 0 || !S_ISREG(fst.st_mode)) continue;  // links followed
      std::string rel = WithoutSuffix(p.lexically_relative(root).string());
      auto safe = SafeMemberPath(rel);
      if (!safe || *safe != rel) {
        notes.Add(NoteKind::kBadName, Quote(p.string()) + ": left out for its name");
        continue;
      }
      items.push_back(ItemOf(std::move(rel), fst));
      d->archives_.push_back({p.string(), p.string()});
    }
  } else {
    for (const std::string& name : names) {
      if (IsRemoteName(name)) {
        const std::string shown = RedactUrl(name);
        items.push_back({WithoutSuffix(UrlBaseName(shown)), 0, 0});
        d->archives_.push_back({name, shown});
        continue;
      }
      const std::string shown = Quote(name, Quoting::kWhenNeeded);
      if (::stat(name.c_str(), &st) != 0) return Fail(IoError(errno, shown));
      if (!S_ISREG(st.st_mode)) {
        return Fail(MakeError(
            Errc::kInvalidArgument,
            shown + ": not a regular file (" + std::string(FileTypeName(st.st_mode)) + ")"));
      }
      items.push_back(ItemOf(WithoutSuffix(stdfs::path(name).filename().string()), st));
      d->archives_.push_back({name, ShownArchiveName(name)});
      root_mtime = std::max<int64_t>(root_mtime, st.st_mtim.tv_sec);
    }
    d->shown_root_ = d->archives_.empty() ? "" : d->archives_[0].shown;
    for (size_t k = 0; k < items.size(); ++k) {
      auto safe = SafeMemberPath(items[k].path);
      if (!safe || *safe != items[k].path || items[k].path.find('/') != std::string::npos) {
        return Fail(MakeError(Errc::kInvalidArgument,
                              Quote(d->archives_[k].shown) + ": no directory can have its name"));
      }
    }
  }
  d->tree_ = DatasetTree::Build(items, root_mtime, notes);
  d->warnings_ = notes.Lines();
  MutexLock lock(&d->mu_);
  d->states_.resize(d->archives_.size());
  return d;
}

Dataset::~Dataset() {
  std::vector<std::shared_ptr<const MountedArchive>> open;
  MutexLock lock(&mu_);
  for (State& s : states_) open.push_back(std::move(s.open));
}

Result<std::unique_ptr<MountedArchive>> Dataset::Open(
    size_t k, const std::optional<SourceIdentity>& identity) {
  auto source = OpenArchiveSource(archives_[k].name, options_.remote);
  if (!source) return Fail(std::move(source).error());
  if (identity && !((*source)->identity() == *identity)) {
    return Fail(Corrupt(Quote(archives_[k].shown) +
                        ": the archive changed since it was first opened; it is not read again"));
  }
  return MountedArchive::Open(std::move(*source), options_.mount);
}

void Dataset::Trim() {
  std::vector<std::shared_ptr<const MountedArchive>> closed;  // destroyed without the lock
  MutexLock lock(&mu_);
  CloseIdle(closed);
}

void Dataset::CloseIdle(std::vector<std::shared_ptr<const MountedArchive>>& out) {
  for (auto it = lru_.end(); lru_.size() > options_.max_open && it != lru_.begin();) {
    --it;
    State& s = states_[*it];
    if (s.open.use_count() > 1) continue;  // in use: closed once it is not
    out.push_back(std::move(s.open));
    it = lru_.erase(it);
  }
}

Result<std::shared_ptr<const MountedArchive>> Dataset::Get(size_t k) {
  std::vector<std::shared_ptr<const MountedArchive>> closed;  // destroyed without the lock
  std::optional<SourceIdentity> identity;
  {
    MutexLock lock(&mu_);
    State& s = states_[k];
    while (s.opening) opened_.Wait(&mu_);
    if (s.failure) return Fail(*s.failure);
    if (s.open) {
      lru_.splice(lru_.begin(), lru_, s.lru);
      std::shared_ptr<const MountedArchive> m = s.open;
      CloseIdle(closed);
      return m;
    }
    s.opening = true;
    identity = s.identity;
  }
  auto opened = Open(k, identity);
  std::shared_ptr<const MountedArchive> m;
  {
    MutexLock lock(&mu_);
    State& s = states_[k];
    s.opening = false;
    if (!opened) {
      s.failure = opened.error();
    } else {
      m = std::move(*opened);
      if (!s.identity) s.identity = m->archive().source().identity();
      s.open = m;
      lru_.push_front(k);
      s.lru = lru_.begin();
      CloseIdle(closed);
    }
  }
  opened_.NotifyAll();
  if (!opened) return Fail(std::move(opened).error());
  if (options_.on_open) options_.on_open(k, *m, !identity.has_value());
  return m;
}

}  // namespace npzfs::core
