// `npzinfo pack IN OUT`: rewrites an archive so that npzfs reads it fast
// and numpy reads it as before: deflated members SOZip-chunked with their
// index, stored members with their array data aligned for mmap, the
// members, their order, names, times and attributes as IN has them
// (tools/pack/ does the work).
#include <sys/stat.h>

#include <cctype>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "core/archive/archive.h"
#include "core/base/text.h"
#include "core/mount/mounted_archive.h"
#include "core/remote/url.h"
#include "core/source/file_source.h"
#include "tools/npzinfo.h"
#include "tools/pack/out_file.h"
#include "tools/pack/packer.h"
#include "tools/pack/verify.h"
#include "tools/pack/zip_records.h"

namespace npzfs::tools {
namespace {

namespace core = npzfs::core;

constexpr uint64_t kMinChunk = 4 << 10;
constexpr uint64_t kMaxChunk = 64 << 20;
constexpr uint32_t kMaxAlign = 1 << 16;

struct PackArgs {
  std::string in;
  std::string out;
  bool store = false;
  int level = 6;
  std::string chunk = "32K";
  uint32_t align = 4096;
  unsigned threads = 0;
  bool verify = false;
  core::RemoteSettings remote;
};

// "65536", "64K", "1M" (K and M are 1024 and 1024 * 1024).
std::optional<uint64_t> ParseSize(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0 || digits > 9 || text.size() - digits > 1) return std::nullopt;
  uint64_t value = std::stoull(text.substr(0, digits));
  if (digits < text.size()) {
    const char unit = static_cast<char>(std::toupper(static_cast<unsigned char>(text.back())));
    if (unit != 'K' && unit != 'M') return std::nullopt;
    value <<= unit == 'K' ? 10 : 20;
  }
  return value;
}

std::string CheckChunk(const std::string& text) {
  const auto size = ParseSize(text);
  if (!size || *size < kMinChunk || *size > kMaxChunk) {
    return "a size from 4K to 64M (K and M suffixes), not " + core::Quote(text);
  }
  return "";
}

std::string CheckAlign(const std::string& text) {
  const auto n = ParseSize(text);
  if (!n || *n == 0 || *n > kMaxAlign || (*n & (*n - 1)) != 0 || text.back() > '9') {
    return "a power of two from 1 to 65536, not " + core::Quote(text);
  }
  return "";
}

int Fail(const std::string& message, int status = kExitArchive) {
  std::cerr << "npzinfo: " << core::EscapeMessage(message) << '\n';
  return status;
}

std::string Shown(const std::string& path) { return core::Quote(path, core::Quoting::kWhenNeeded); }

// What stops a pack before anything is read: OUT must be a local file that
// is not IN, and may only replace a regular file. nullopt when all is
// well, else the exit status (the line printed).
std::optional<int> CheckPaths(const PackArgs& args) {
  if (core::IsRemoteName(args.out)) {
    return Fail("OUT must be a local file, not " + ShownArchive(args.out), kExitUsage);
  }
  struct stat out {};
  if (::stat(args.out.c_str(), &out) != 0) return std::nullopt;
  struct stat in {};
  if (!core::IsRemoteName(args.in) && ::stat(args.in.c_str(), &in) == 0 &&
      in.st_dev == out.st_dev && in.st_ino == out.st_ino) {
    return Fail("IN and OUT are the same file: " + Shown(args.out), kExitUsage);
  }
  if (!S_ISREG(out.st_mode)) {
    return Fail(Shown(args.out) + ": not a regular file (" +
                std::string(core::FileTypeName(out.st_mode)) + ")");
  }
  return std::nullopt;
}

// Every member IN holds must be readable, before anything is written.
core::Result<void> CheckReadable(const core::Archive& archive) {
  for (const core::ZipEntry& e : archive.entries()) {
    if (e.is_directory) continue;
    if (auto r = core::CheckReadable(e); !r) {
      return core::Fail(core::Error{r.error().code, r.error().sys_errno,
                                    archive.source().shown_name() + ": " + r.error().message});
    }
  }
  return {};
}

core::Result<void> Verify(const core::Archive& in, const pack::CentralDirectory& cd,
                          const pack::OutFile& out, const pack::PackOptions& options) {
  auto source = core::FileSource::Open(out.ReadablePath());
  if (!source) return core::Fail(std::move(source).error());
  auto packed = core::Archive::FromSource(std::move(*source));
  if (!packed) return core::Fail(std::move(packed).error());
  uint64_t total = 0;
  for (const auto& e : in.entries()) total += e.size;
  pack::Progress progress("verifying", total);
  auto r = pack::VerifyPacked(in, cd, **packed, options, progress);
  progress.Done();
  return r;
}

void PrintSummary(const PackArgs& args, const core::Archive& in, const pack::PackSummary& s) {
  const size_t n = in.entries().size();
  std::cout << Shown(args.out) << ": " << n << (n == 1 ? " member, " : " members, ") << s.deflated
            << " deflated (" << s.indexed << " with a SOZip index), " << s.stored << " stored; "
            << s.size << " bytes (IN " << in.source().size() << ")\n";
}

int Pack(const PackArgs& args) {
  if (auto status = CheckPaths(args)) return *status;
  auto source = core::OpenArchiveSource(args.in, args.remote);
  if (!source) return Fail(source.error().message);
  auto in = core::Archive::FromSource(std::move(*source));
  if (!in) return Fail(in.error().message);
  if (auto r = CheckReadable(**in); !r) return Fail(r.error().message);
  auto cd = pack::ReadCentralDirectory((*in)->source(), (*in)->entries().size());
  if (!cd) return Fail(cd.error().message);

  pack::PackOptions options;
  options.store = args.store;
  options.level = args.level;
  options.chunk_size = static_cast<uint32_t>(*ParseSize(args.chunk));
  options.align = args.align;
  options.threads = args.threads ? args.threads : std::max(1u, std::thread::hardware_concurrency());

  auto out = pack::OutFile::Create(args.out);
  if (!out) return Fail(out.error().message);
  uint64_t total = 0;
  for (const auto& e : (*in)->entries()) total += e.size;
  pack::Progress progress("packing", total);
  auto summary = pack::Pack(**in, *cd, options, **out, progress);
  progress.Done();
  if (!summary) return Fail(summary.error().message);
  if (args.verify) {
    if (auto r = Verify(**in, *cd, **out, options); !r) {
      return Fail(Shown(args.out) + ": " + r.error().message + "; " + Shown(args.out) +
                  " left as it was");
    }
  }
  if (auto r = (*out)->Commit(); !r) return Fail(r.error().message);
  PrintSummary(args, **in, *summary);
  return kExitOk;
}

}  // namespace

void AddPack(CLI::App& app, Command& run) {
  auto args = std::make_shared<PackArgs>();
  CLI::App* pack = app.add_subcommand(
      "pack",
      "Rewrite IN as OUT for fast reads: deflated members SOZip-indexed, stored data "
      "aligned; numpy reads OUT as IN");
  pack->add_option("IN", args->in, "The .npz archive to read, or its URL")->required();
  pack->add_option("OUT", args->out, "The archive to write (replaced when complete)")->required();
  pack->add_flag("--store", args->store, "Store every member (no compression)");
  pack->add_option("--level", args->level, "zlib compression level, 0-9 (default 6)")
      ->check(CLI::Range(0, 9));
  pack->add_option("--chunk", args->chunk, "SOZip chunk size, 4K-64M (default 32K)")
      ->check(CLI::Validator(CheckChunk, "SIZE"));
  pack->add_option("--align", args->align,
                   "Align stored array data to N bytes, a power of two (default 4096)")
      ->check(CLI::Validator(CheckAlign, "N"));
  pack->add_option("--threads", args->threads, "Threads compressing (default: one per core)")
      ->check(CLI::Range(1, 1024));
  pack->add_flag("--verify", args->verify,
                 "Read OUT back and compare it with IN before putting it in place");
  AddRemoteOptions(pack, args->remote);
  pack->callback([args, &run] { run = [args] { return Pack(*args); }; });
}

}  // namespace npzfs::tools
