// Micro-benchmark of the read path (core::Content), no FUSE involved.
//
//   content_bench ARCHIVE MEMBER [--runs=N] [--reads=N] [--cache_size=BYTES]
//                 [--chunk_size=BYTES] [--span=BYTES] [--budget=BYTES]
//                 [--engine=zlib|isal] [--threads=N]
//
// For each run, a fresh Content: reads the member front to back in 128 KiB
// reads (what the kernel asks of a FUSE file), then --reads random 4 KiB
// reads. Prints the median and range over the runs of the sequential MB/s
// (10^6 bytes of the member per second) and of the random reads' median
// and p99, the first run's first 4 KiB read at 90 % of the member before
// anything else was read, the access points, and the process's peak
// resident memory (VmHWM). Makes no data itself: see make_smooth_npz.py.
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/archive/archive.h"
#include "core/mount/mounted_archive.h"
#include "core/read/content.h"
#include "core/source/file_source.h"

namespace {

using npzfs::core::Archive;
using npzfs::core::Content;
using npzfs::core::ContentOptions;
using Clock = std::chrono::steady_clock;

struct Args {
  std::string archive;
  std::string member;
  int runs = 5;
  int reads = 100;
  ContentOptions options;
};

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// CPU time of this thread: on a loaded machine wall time also counts the
// time others ran, so both are shown.
double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

// VmHWM from /proc/self/status, in MiB.
double PeakRssMib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024;
  }
  return 0;
}

bool ParseArgs(int argc, char** argv, Args& a) {
  if (argc < 3) return false;
  a.archive = argv[1];
  a.member = argv[2];
  for (int i = 3; i < argc; ++i) {
    const char* eq = std::strchr(argv[i], '=');
    if (eq == nullptr) return false;
    const std::string key(argv[i], static_cast<size_t>(eq - argv[i]));
    if (key == "--engine") {
      const std::string name = eq + 1;
      if (name != "zlib" && name != "isal") return false;
      a.options.codec.deflate =
          name == "isal" ? npzfs::core::InflateEngine::kIsal : npzfs::core::InflateEngine::kZlib;
      continue;
    }
    const unsigned long long v = std::strtoull(eq + 1, nullptr, 10);
    if (key == "--runs")
      a.runs = static_cast<int>(v);
    else if (key == "--reads")
      a.reads = static_cast<int>(v);
    else if (key == "--cache_size")
      a.options.cache_size = v;
    else if (key == "--chunk_size")
      a.options.chunk_size = v;
    else if (key == "--span")
      a.options.span = v;
    else if (key == "--budget")
      a.options.access_point_budget = v;
    else if (key == "--threads")
      a.options.threads = v;
    else
      return false;
  }
  return a.runs > 0 && a.reads > 0;
}

struct Run {
  double first_read_ms = 0;  // 4 KiB at 90 %, fresh
  double mb_per_s = 0;
  double mb_per_cpu_s = 0;
  double random_median_ms = 0;
  double random_p99_ms = 0;
  double random_cpu_median_ms = 0;
  uint64_t points = 0;
  uint64_t point_bytes = 0;
};

bool ReadOrSay(Content& c, size_t member, uint64_t offset, std::span<std::byte> buf, size_t* got) {
  auto r = c.Read(member, offset, buf);
  if (!r) {
    std::fprintf(stderr, "read at %llu: %s\n", static_cast<unsigned long long>(offset),
                 r.error().message.c_str());
    return false;
  }
  *got = *r;
  return true;
}

// The archive set up as the daemon sets it up, with a fresh cache.
std::unique_ptr<npzfs::core::MountedArchive> Mount(const Args& a) {
  auto source = npzfs::core::FileSource::Open(a.archive);
  if (!source) return nullptr;
  auto m = npzfs::core::MountedArchive::Open(std::move(*source),
                                             {{}, a.options, std::nullopt, std::nullopt, nullptr});
  return m ? std::move(*m) : nullptr;
}

bool OneRun(const Archive& archive, size_t member, const Args& a, bool first, Run& run) {
  const uint64_t size = archive.entries()[member].size;
  // Page-aligned, as the daemon's read buffers are: a copy into a buffer at
  // page offset 16 (where glibc puts large mallocs) runs several times
  // slower on this machine (INFLATE.md).
  std::unique_ptr<std::byte[], decltype(&std::free)> mem(
      static_cast<std::byte*>(std::aligned_alloc(4096, 128 << 10)), &std::free);
  const std::span<std::byte> buf(mem.get(), 128 << 10);
  size_t got = 0;
  if (first) {
    auto fresh = Mount(a);
    if (!fresh) return false;
    const auto t = Clock::now();
    if (!ReadOrSay(fresh->content(), member, size / 10 * 9, std::span(buf).first(4096), &got)) {
      return false;
    }
    run.first_read_ms = Seconds(t) * 1e3;
  }
  auto mounted = Mount(a);
  if (!mounted) return false;
  Content& content = mounted->content();
  const auto t = Clock::now();
  const double cpu = ThreadCpuSeconds();
  for (uint64_t off = 0; off < size; off += got) {
    if (!ReadOrSay(content, member, off, buf, &got)) return false;
  }
  run.mb_per_s = static_cast<double>(size) / Seconds(t) / 1e6;
  run.mb_per_cpu_s = static_cast<double>(size) / (ThreadCpuSeconds() - cpu) / 1e6;
  {
    const auto s = content.stats();
    std::printf(
        "sequential pass: %llu waits, %llu decoded ahead plans, cache %llu hits %llu misses\n",
        static_cast<unsigned long long>(s.waits), static_cast<unsigned long long>(s.ahead_plans),
        static_cast<unsigned long long>(s.cache.hits),
        static_cast<unsigned long long>(s.cache.misses));
  }
  std::mt19937_64 rng(42);
  std::vector<double> ms, cpu_ms;
  for (int i = 0; i < a.reads; ++i) {
    const uint64_t off = rng() % (size - std::min<uint64_t>(size, 4096) + 1);
    const auto r = Clock::now();
    const double c = ThreadCpuSeconds();
    if (!ReadOrSay(content, member, off, std::span(buf).first(4096), &got)) return false;
    ms.push_back(Seconds(r) * 1e3);
    cpu_ms.push_back((ThreadCpuSeconds() - c) * 1e3);
  }
  run.random_median_ms = Percentile(ms, 0.5);
  run.random_p99_ms = Percentile(ms, 0.99);
  run.random_cpu_median_ms = Percentile(cpu_ms, 0.5);
  const auto s = content.stats();
  run.points = s.access_points;
  run.point_bytes = s.access_point_bytes;
  return true;
}

void Report(const char* what, std::vector<double> v, const char* unit) {
  std::printf("%-32s median %9.3f %s  (min %.3f, max %.3f)\n", what, Percentile(v, 0.5), unit,
              *std::min_element(v.begin(), v.end()), *std::max_element(v.begin(), v.end()));
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (!ParseArgs(argc, argv, a)) {
    std::fprintf(stderr,
                 "usage: %s ARCHIVE MEMBER [--runs=N] [--reads=N] [--cache_size=BYTES]\n"
                 "       [--chunk_size=BYTES] [--span=BYTES] [--budget=BYTES]\n"
                 "       [--engine=zlib|isal] [--threads=N]\n",
                 argv[0]);
    return 2;
  }
  auto source = npzfs::core::FileSource::Open(a.archive);
  if (!source) {
    std::fprintf(stderr, "%s\n", source.error().message.c_str());
    return 1;
  }
  auto archive = Archive::FromSource(std::move(*source));
  if (!archive) {
    std::fprintf(stderr, "%s\n", archive.error().message.c_str());
    return 1;
  }
  size_t member = 0;
  while (member < (*archive)->entries().size() && (*archive)->entries()[member].name != a.member) {
    ++member;
  }
  if (member == (*archive)->entries().size()) {
    std::fprintf(stderr, "%s: no member %s\n", a.archive.c_str(), a.member.c_str());
    return 1;
  }
  const auto& e = (*archive)->entries()[member];
  std::printf(
      "%s: %llu bytes, %llu compressed (%.2f:1); %s; cache %llu MiB, chunk %llu KiB, "
      "span %llu KiB, point budget %llu MiB (0: automatic), %d runs\n",
      a.member.c_str(), static_cast<unsigned long long>(e.size),
      static_cast<unsigned long long>(e.compressed_size),
      static_cast<double>(e.size) / static_cast<double>(e.compressed_size),
      npzfs::core::EngineName(a.options.codec.deflate),
      static_cast<unsigned long long>(a.options.cache_size >> 20),
      static_cast<unsigned long long>(a.options.chunk_size >> 10),
      static_cast<unsigned long long>(a.options.span >> 10),
      static_cast<unsigned long long>(a.options.access_point_budget >> 20), a.runs);
  std::vector<double> seq, seq_cpu, med, p99, med_cpu;
  Run run;
  for (int i = 0; i < a.runs; ++i) {
    if (!OneRun(**archive, member, a, i == 0, run)) return 1;
    if (i == 0) std::printf("%-32s %9.3f ms\n", "first 4 KiB at 90 %, fresh", run.first_read_ms);
    seq.push_back(run.mb_per_s);
    seq_cpu.push_back(run.mb_per_cpu_s);
    med.push_back(run.random_median_ms);
    p99.push_back(run.random_p99_ms);
    med_cpu.push_back(run.random_cpu_median_ms);
  }
  Report("sequential read", seq, "MB/s");
  Report("sequential read, per CPU second", seq_cpu, "MB/s");
  Report("random 4 KiB read, median", med, "ms");
  Report("random 4 KiB read, p99", p99, "ms");
  Report("random 4 KiB read, CPU median", med_cpu, "ms");
  std::printf("%-32s %llu points, %.1f MiB\n", "access points",
              static_cast<unsigned long long>(run.points),
              static_cast<double>(run.point_bytes) / (1 << 20));
  std::printf("%-32s %.1f MiB\n", "peak RSS (VmHWM)", PeakRssMib());
  return 0;
}
