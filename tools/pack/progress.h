// "packing: 37 % (397 of 1074 MB)" on one line of stderr, redrawn, when
// stderr is a terminal; nothing otherwise. Thread-safe.
#ifndef NPZFS_TOOLS_PACK_PROGRESS_H_
#define NPZFS_TOOLS_PACK_PROGRESS_H_

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>

namespace npzfs::tools::pack {

class Progress {
 public:
  Progress(std::string label, uint64_t total)
      : label_(std::move(label)), total_(total), shown_(::isatty(2) != 0) {}

  void Add(uint64_t n) {
    const uint64_t done = done_ += n;
    if (!shown_) return;
    const int percent = total_ == 0 ? 100 : static_cast<int>(std::min(done, total_) * 100 / total_);
    std::lock_guard<std::mutex> lock(mu_);
    if (percent == last_) return;
    last_ = percent;
    std::fprintf(stderr, "\r%s: %3d %% (%llu of %llu MB)", label_.c_str(), percent,
                 static_cast<unsigned long long>(done / 1000000),
                 static_cast<unsigned long long>(total_ / 1000000));
  }

  // Ends the line, if one was drawn.
  void Done() {
    std::lock_guard<std::mutex> lock(mu_);
    if (shown_ && last_ >= 0) std::fprintf(stderr, "\n");
    last_ = -1;
  }

 private:
  const std::string label_;
  const uint64_t total_;
  const bool shown_;
  std::atomic<uint64_t> done_{0};
  std::mutex mu_;
  int last_ = -1;
};

}  // namespace npzfs::tools::pack

#endif  // NPZFS_TOOLS_PACK_PROGRESS_H_
