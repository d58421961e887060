// `npzinfo index ARCHIVE`: builds the persisted index a mount would build,
// ahead of the mount: every deflate member read to its end, several
// members at once (one per thread), each decoded ahead on another.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/base/text.h"
#include "core/mount/mounted_archive.h"
#include "core/read/index_store.h"
#include "tools/npzinfo.h"

namespace npzfs::tools {
namespace {

namespace core = npzfs::core;

struct IndexArgs {
  std::string archive;
  std::string index_dir;
  std::string index_file;
  unsigned threads = 0;
  core::RemoteSettings remote;
};

// "37 % (397 of 1074 MB)" on one line of a terminal, redrawn.
class Progress {
 public:
  Progress(uint64_t total) : total_(total), shown_(::isatty(2) != 0) {}
  void Add(uint64_t n) {
    const uint64_t done = done_ += n;
    if (!shown_) return;
    const int percent = total_ == 0 ? 100 : static_cast<int>(done * 100 / total_);
    std::lock_guard<std::mutex> lock(mu_);
    if (percent == last_) return;
    last_ = percent;
    std::fprintf(stderr, "\rindexing: %3d %% (%llu of %llu MB)", percent,
                 static_cast<unsigned long long>(done / 1000000),
                 static_cast<unsigned long long>(total_ / 1000000));
  }
  void Done() {
    if (shown_) std::fprintf(stderr, "\n");
  }

 private:
  const uint64_t total_;
  const bool shown_;
  std::atomic<uint64_t> done_{0};
  std::mutex mu_;
  int last_ = -1;
};

int Index(const IndexArgs& args) {
  auto fail = [](const std::string& message) {
    std::cerr << "npzinfo: " << core::EscapeMessage(message) << '\n';
    return kExitArchive;
  };
  auto source = core::OpenArchiveSource(args.archive, args.remote);
  if (!source) return fail(source.error().message);
  core::MountOptions options;
  options.index = args.index_file.empty()
                      ? core::IndexOptions{core::IndexOptions::Where::kDir, args.index_dir}
                      : core::IndexOptions{core::IndexOptions::Where::kFile, args.index_file};
  std::vector<std::string> warnings;
  std::mutex warnings_mu;
  options.warn = [&](const std::string& line) {
    std::lock_guard<std::mutex> lock(warnings_mu);
    warnings.push_back(line);
  };
  auto mounted = core::MountedArchive::Open(std::move(*source), options);
  if (!mounted) return fail(mounted.error().message);
  for (const auto& line : (*mounted)->warnings()) fail(line);
  const core::Archive& archive = (*mounted)->archive();
  core::Content& content = (*mounted)->content();

  std::vector<size_t> members;
  uint64_t total = 0;
  for (size_t i = 0; i < archive.entries().size(); ++i) {
    const core::ZipEntry& e = archive.entries()[i];
    if (e.method == core::kMethodDeflate && !e.sozip && e.size > 0 && e.local_error.empty() &&
        !e.encrypted) {
      members.push_back(i);
      total += e.size;
    }
  }
  if (members.empty()) {
    std::cout << core::Quote(ShownArchive(args.archive), core::Quoting::kWhenNeeded)
              << ": no deflate member to index\n";
    return kExitOk;
  }
  Progress progress(total);
  std::atomic<size_t> next{0};
  std::atomic<int> failed{0};
  const unsigned threads = std::max(
      1u, std::min<unsigned>(args.threads ? args.threads : std::thread::hardware_concurrency(),
                             static_cast<unsigned>(members.size())));
  auto work = [&] {
    std::vector<std::byte> buf(1 << 20);
    for (size_t k; (k = next++) < members.size();) {
      const size_t member = members[k];
      for (uint64_t at = 0;;) {
        auto got = content.Read(member, at, buf);
        if (!got) {
          fail(got.error().message);
          ++failed;
          break;
        }
        if (*got == 0) break;
        at += *got;
        progress.Add(*got);
      }
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  progress.Done();
  auto written = content.WriteIndex();
  for (const auto& line : warnings) fail(line);
  if (!written) return fail(written.error().message);
  const std::string path = core::IndexPath(*options.index, core::IdentityOf(archive));
  struct stat st {};
  ::stat(path.c_str(), &st);
  std::cout << core::Quote(path, core::Quoting::kWhenNeeded) << ": " << members.size() - failed
            << " of " << members.size() << " deflate members indexed, "
            << (st.st_size + 1023) / 1024 << " KiB\n";
  return failed > 0 ? kExitArchive : kExitOk;
}

}  // namespace

void AddIndex(CLI::App& app, Command& run) {
  auto args = std::make_shared<IndexArgs>();
  CLI::App* index = app.add_subcommand(
      "index", "Build ARCHIVE's persisted index ahead of a mount (every deflate member read once)");
  index->add_option("ARCHIVE", args->archive, "The .npz archive, or its URL")->required();
  auto* dir = index->add_option("--index-dir", args->index_dir,
                                "Where indexes live (default as npzfs's index_dir=)");
  index->add_option("--index", args->index_file, "Write this archive's index exactly here")
      ->excludes(dir);
  index->add_option("--threads", args->threads, "Members read at once (default: one per core)");
  AddRemoteOptions(index, args->remote);
  index->callback([args, &run] { run = [args] { return Index(*args); }; });
}

}  // namespace npzfs::tools
