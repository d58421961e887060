// libFuzzer target: over an archive made of arbitrary bytes, every member
// read through its codec (MemberDecoder: stored, deflate, bzip2, LZMA,
// zstd), the filesystem's read path (Content), ReadNpyHeader, and what
// mounting does: ScanArrays and the Tree.
//
// For each member (the first kMaxMembers) the target reads the whole
// member front to back in pieces, then a few ranges at offsets derived
// from the input, each with a fresh decoder, and checks the MemberDecoder
// contract: a read returns exactly min(asked, size - position) bytes or an
// error naming the member, never more than asked or past the declared
// size; a member read through succeeds only with the declared size and
// CRC-32; stored members are the archive's bytes; any two successful
// reads agree on every byte they share.
//
// Work is bounded per input: the decoders stop at declared sizes, and the
// target asks for at most kBudget bytes of member content in all (counting
// what a decoder must produce to reach an offset), so zip bombs cost time
// proportional to kBudget, not to what they claim.
#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/archive/archive.h"
#include "core/base/text.h"
#include "core/codec/member_decoder.h"
#include "core/mount/mounted_archive.h"
#include "core/npy/header_scan.h"
#include "core/read/content.h"
#include "core/source/memory_source.h"
#include "core/view/tree.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_target.h"

namespace npzfs::core {
namespace {

constexpr size_t kMaxMembers = 16;
// Mount-time checks run on archives of up to this many members (a header
// costs at most kMaxNpyHeaderBytes of inflation).
constexpr size_t kMaxMountMembers = 64;
constexpr size_t kMaxHeaderReads = 4;
constexpr uint64_t kBudget = 8 << 20;
constexpr size_t kMaxPiece = 64 << 10;
constexpr int kRanges = 3;
// Content keeps decoders and access points between reads: more ranges, so
// that reads behind its frontier start at access points, not only at
// decoders parked nearby.
constexpr int kContentRanges = 8;

// A small deterministic generator seeded from the input, so that a crash
// replays exactly (splitmix64).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    return z ^ (z >> 31);
  }
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : Next() % n; }

 private:
  uint64_t state_;
};

uint64_t Fnv1a(const uint8_t* data, size_t size) {
  uint64_t h = 0xcbf29ce484222325;
  for (size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 0x100000001b3;
  return h;
}

using fuzz::OneLine;

// A member's error starts with the member's name, quoted and escaped
// (names may hold any character, a newline too), and says why, all on one
// line that needs no escaping.
bool NamesMember(const Error& err, const ZipEntry& e) {
  return err.message.rfind(Quote(e.name) + ": ", 0) == 0 && OneLine(err.message) &&
         !NeedsEscape(err.message);
}

// Errors a reader over memory may give: never kIo (memory cannot fail).
void CheckReadError(const Error& err, const ZipEntry& e) {
  FUZZ_CHECK(err.code == Errc::kCorrupt);
  FUZZ_CHECK(NamesMember(err, e));
}

// What one member's read through MemberDecoder has shown.
struct Seen {
  std::optional<Errc> open_error;  // OpenDecoder failed with this
  std::string prefix;              // bytes [0, prefix.size()) as read front to back
  bool complete = false;           // prefix is the whole member
  bool failed = false;             // the read-through stopped at an error
};

// Bytes read at `offset` agree with those read front to back.
void CheckAgrees(const Seen& seen, uint64_t offset, const std::string& got) {
  if (offset >= seen.prefix.size()) return;
  const size_t n = std::min<uint64_t>(got.size(), seen.prefix.size() - offset);
  FUZZ_CHECK(got.compare(0, n, seen.prefix, offset, n) == 0);
  if (seen.complete) FUZZ_CHECK(got.size() == n);
}

size_t PieceSize(Rng& rng, uint64_t budget) {
  // Mostly large pieces, sometimes tiny ones (every boundary matters).
  const size_t piece = rng.Below(4) == 0 ? 1 + rng.Below(17) : 1 + rng.Below(kMaxPiece);
  return static_cast<size_t>(std::min<uint64_t>(piece, budget));
}

class MemberChecker {
 public:
  MemberChecker(const Archive& archive, std::string_view bytes, Rng& rng, uint64_t& budget)
      : archive_(archive), bytes_(bytes), rng_(rng), budget_(budget) {}

  Seen Check(size_t i) {
    const ZipEntry& e = archive_.entries()[i];
    auto decoder = archive_.OpenDecoder(i);
    if (!decoder) {
      const Error& err = decoder.error();
      FUZZ_CHECK(err.code == Errc::kCorrupt || err.code == Errc::kUnsupported ||
                 err.code == Errc::kInvalidArgument);
      FUZZ_CHECK(NamesMember(err, e));
      FUZZ_CHECK(err.code != Errc::kInvalidArgument || e.is_directory);
      Seen seen;
      seen.open_error = err.code;
      return seen;
    }
    FUZZ_CHECK(e.local_error.empty() && !e.encrypted);
    Seen seen = ReadThrough(e, **decoder);
    for (int k = 0; k < kRanges && budget_ > 0; ++k) ReadRange(i, e, seen);
    if (headers_ < kMaxHeaderReads) {
      ++headers_;
      CheckHeader(i, e, seen);
    }
    return seen;
  }

 private:
  size_t Piece() { return PieceSize(rng_, budget_); }

  // Reads the next n bytes; checks the count contract.
  Result<std::string> Read(MemberDecoder& d, const ZipEntry& e, size_t n) {
    std::string out(n, '\xa5');
    const uint64_t at = d.position();
    auto got = d.Read(std::span(reinterpret_cast<std::byte*>(out.data()), n));
    if (!got) {
      CheckReadError(got.error(), e);
      return Fail(std::move(got).error());
    }
    const uint64_t left = at >= e.size ? 0 : e.size - at;
    FUZZ_CHECK(*got == std::min<uint64_t>(n, left));
    FUZZ_CHECK(d.position() == at + *got);
    out.resize(*got);
    return out;
  }

  Seen ReadThrough(const ZipEntry& e, MemberDecoder& d) {
    Seen seen;
    while (budget_ > 0) {
      const size_t piece = Piece();
      budget_ -= piece;
      auto got = Read(d, e, piece);
      if (!got) {
        seen.failed = true;
        return seen;
      }
      seen.prefix += *got;
      if (got->size() < piece) {
        seen.complete = true;
        break;
      }
    }
    if (seen.complete) {
      FUZZ_CHECK(seen.prefix.size() == e.size);
      const uLong crc = crc32(0, reinterpret_cast<const Bytef*>(seen.prefix.data()),
                              static_cast<uInt>(seen.prefix.size()));
      FUZZ_CHECK(crc == e.crc32);
      if (e.method == kMethodStored) {
        FUZZ_CHECK(bytes_.substr(e.data_offset, e.size) == seen.prefix);
      }
    }
    return seen;
  }

  // A fresh decoder, forward to `offset`, then n bytes: the same as the
  // read through, and the same twice.
  void ReadRange(size_t i, const ZipEntry& e, const Seen& seen) {
    const uint64_t offset = rng_.Below(std::min<uint64_t>(e.size, budget_) + 2);
    const size_t n = Piece();
    const uint64_t cost = offset + n;
    if (budget_ < 2 * cost) {
      budget_ = 0;
      return;
    }
    budget_ -= 2 * cost;
    std::optional<std::string> first;
    for (int pass = 0; pass < 2; ++pass) {
      auto d = archive_.OpenDecoder(i);
      FUZZ_CHECK(d);
      auto skipped = Read(**d, e, static_cast<size_t>(std::min<uint64_t>(offset, e.size)));
      if (!skipped) return;
      auto got = Read(**d, e, n);
      if (!got) return;
      CheckAgrees(seen, std::min<uint64_t>(offset, e.size), *got);
      if (first) FUZZ_CHECK(*first == *got);
      first = std::move(*got);
    }
  }

  // ReadNpyHeader agrees with parsing the bytes read front to back.
  void CheckHeader(size_t i, const ZipEntry& e, const Seen& seen) {
    auto h = ReadNpyHeader(archive_, i);
    if (h) {
      FUZZ_CHECK(h->data_offset <= e.size && h->data_offset <= kMaxNpyHeaderBytes);
    } else {
      FUZZ_CHECK(h.error().code == Errc::kCorrupt || h.error().code == Errc::kUnsupported);
      FUZZ_CHECK(NamesMember(h.error(), e));
    }
    if (!seen.complete) return;
    const std::span<const std::byte> whole(reinterpret_cast<const std::byte*>(seen.prefix.data()),
                                           seen.prefix.size());
    auto direct = ParseNpyHeader(whole);
    if (h) {
      FUZZ_CHECK(direct && direct->data_offset == h->data_offset &&
                 direct->descr_repr == h->descr_repr && direct->shape == h->shape);
    } else {
      // ReadNpyHeader must not fail on a header ParseNpyHeader accepts.
      FUZZ_CHECK(!direct || direct->data_offset > kMaxNpyHeaderBytes);
    }
  }

  const Archive& archive_;
  std::string_view bytes_;
  Rng& rng_;
  uint64_t& budget_;
  size_t headers_ = 0;
};

// The filesystem's read path, Content, agrees with MemberDecoder: the same
// count contract, the same bytes, and a member reads through in one exactly
// when it reads through in the other.
class ContentChecker {
 public:
  ContentChecker(const Archive& archive, Content& content, Rng& rng, uint64_t& budget)
      : content_(content), archive_(archive), rng_(rng), budget_(budget) {}

  // Tiny, so that small inputs reach chunk boundaries, access points,
  // their thinning and cache eviction.
  static ContentOptions Options() {
    ContentOptions o;
    o.cache_size = 64 << 10;
    o.chunk_size = 4 << 10;
    o.span = 16 << 10;
    o.access_point_budget = 100 << 10;
    o.max_idle_decoders = 2;
    return o;
  }

  void Check(size_t i, const Seen& seen) {
    const ZipEntry& e = archive_.entries()[i];
    if (seen.open_error) {
      std::byte b[1];
      auto got = content_.Read(i, 0, b);
      FUZZ_CHECK(!got && got.error().code == *seen.open_error && NamesMember(got.error(), e));
      return;
    }
    Seen mine = ReadThrough(i, e);
    if (seen.complete) FUZZ_CHECK(mine.complete && mine.prefix == seen.prefix);
    if (mine.complete && (seen.failed || seen.complete)) FUZZ_CHECK(seen.complete);
    for (int k = 0; k < kContentRanges && budget_ > 0; ++k) {
      const uint64_t offset = rng_.Below(std::min<uint64_t>(e.size, budget_) + 2);
      const size_t n = PieceSize(rng_, budget_);
      budget_ -= std::min<uint64_t>(budget_, n + Options().span + Options().chunk_size);
      auto got = Read(i, e, offset, n);
      if (!got) continue;
      CheckAgrees(seen, offset, *got);
      CheckAgrees(mine, offset, *got);
    }
  }

 private:
  Result<std::string> Read(size_t i, const ZipEntry& e, uint64_t offset, size_t n) {
    std::string out(n, '\x5a');
    auto got = content_.Read(i, offset, std::span(reinterpret_cast<std::byte*>(out.data()), n));
    if (!got) {
      CheckReadError(got.error(), e);
      return Fail(std::move(got).error());
    }
    const uint64_t left = offset >= e.size ? 0 : e.size - offset;
    FUZZ_CHECK(*got == std::min<uint64_t>(n, left));
    out.resize(*got);
    return out;
  }

  Seen ReadThrough(size_t i, const ZipEntry& e) {
    Seen seen;
    while (budget_ > 0) {
      const size_t piece = PieceSize(rng_, budget_);
      budget_ -= piece;
      auto got = Read(i, e, seen.prefix.size(), piece);
      if (!got) {
        seen.failed = true;
        break;
      }
      seen.prefix += *got;
      if (got->size() < piece) {
        seen.complete = true;
        break;
      }
    }
    return seen;
  }

  Content& content_;
  const Archive& archive_;
  Rng& rng_;
  uint64_t& budget_;
};

// Mount time: the headers ScanArrays reads agree with ReadNpyHeader (which
// it falls back to), and the tree built from them is a well-formed
// namespace: every name a safe path component, every node reachable by
// Lookup from its parent, sorted children, files at their members' paths,
// raw files only for mappable arrays.
class MountChecker {
 public:
  MountChecker(const MountedArchive& mounted, const std::vector<Seen>& seen)
      : archive_(mounted.archive()), mounted_(mounted), seen_(seen) {}

  void Check() {
    const std::vector<ArrayInfo>& arrays = mounted_.arrays();
    FUZZ_CHECK(arrays.size() == archive_.entries().size());
    for (size_t i = 0; i < arrays.size(); ++i) CheckArray(i, arrays[i]);
    for (const auto& line : mounted_.info()) FUZZ_CHECK(OneLine(line) && !NeedsEscape(line));
    for (const auto& line : mounted_.warnings()) FUZZ_CHECK(OneLine(line) && !NeedsEscape(line));
    CheckTree(mounted_.tree(), arrays);
  }

 private:
  void CheckArray(size_t i, const ArrayInfo& a) {
    const ZipEntry& e = archive_.entries()[i];
    const bool scanned = !e.is_directory && e.skip_reason.empty() && IsNpyName(e.path);
    FUZZ_CHECK(scanned || (!a.header_ok && !a.mappable));
    FUZZ_CHECK(a.header_ok || !a.mappable);
    if (!scanned) return;
    auto h = ReadNpyHeader(archive_, i);
    if (h) {
      FUZZ_CHECK(a.header_ok && a.data_offset == h->data_offset);
      const bool mappable = !h->has_object && *h->data_size <= e.size - h->data_offset;
      FUZZ_CHECK(a.mappable == mappable);
    } else if (a.header_ok) {
      // The scan reads a header's bytes without the CRC-32 or size checks
      // of a whole member: it may take one ReadNpyHeader refuses only when
      // the member itself is bad.
      FUZZ_CHECK(i >= seen_.size() || !seen_[i].complete);
    }
    if (a.header_ok) FUZZ_CHECK(a.data_offset <= e.size);
  }

  static bool GoodName(std::string_view name) {
    return !name.empty() && name.size() <= 255 && name != "." && name != ".." &&
           name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
  }

  void CheckTree(const Tree& tree, const std::vector<ArrayInfo>& arrays) {
    const Node* root = tree.Get(Tree::kRootIno);
    FUZZ_CHECK(root && root->kind == NodeKind::kDir);
    for (uint64_t ino = 1; ino <= tree.slot_count(); ++ino) {
      const Node* n = tree.Get(ino);
      if (n == nullptr) continue;
      FUZZ_CHECK(n->kind != NodeKind::kNone && tree.Ino(*n) == ino);
      if (n->kind == NodeKind::kDir) CheckDir(tree, *n);
      if (ino == Tree::kRootIno) continue;
      FUZZ_CHECK(GoodName(tree.Name(*n)));
      const Node& parent = tree.At(n->parent);
      FUZZ_CHECK(parent.kind == NodeKind::kDir);
      FUZZ_CHECK(tree.Lookup(parent, tree.Name(*n)) == n);
    }
    FUZZ_CHECK(tree.Get(0) == nullptr && tree.Get(tree.slot_count() + 1) == nullptr);
    for (size_t i = 0; i < archive_.entries().size(); ++i) CheckMember(tree, arrays, i);
  }

  static void CheckDir(const Tree& tree, const Node& dir) {
    const auto kids = tree.Children(dir);
    uint32_t subdirs = 0;
    for (size_t k = 0; k < kids.size(); ++k) {
      if (k > 0) FUZZ_CHECK(tree.Name(tree.At(kids[k - 1])) < tree.Name(tree.At(kids[k])));
      FUZZ_CHECK(&tree.At(tree.At(kids[k]).parent) == &dir);
      subdirs += tree.At(kids[k]).kind == NodeKind::kDir;
    }
    FUZZ_CHECK(dir.nlink == 2 + subdirs);
  }

  void CheckMember(const Tree& tree, const std::vector<ArrayInfo>& arrays, size_t i) {
    const ZipEntry& e = archive_.entries()[i];
    const Node* file = tree.Get(3 + 2 * uint64_t{i});
    const Node* raw = tree.Get(4 + 2 * uint64_t{i});
    if (file != nullptr) {
      FUZZ_CHECK(!e.path.empty() && file->member == i && tree.PathOf(*file) == e.path);
      FUZZ_CHECK(file->kind == (e.is_directory ? NodeKind::kDir : NodeKind::kFile));
      if (file->kind == NodeKind::kFile) FUZZ_CHECK(file->size == e.size && file->base == 0);
    }
    if (raw != nullptr) {
      FUZZ_CHECK(raw->kind == NodeKind::kRaw && file != nullptr && arrays[i].mappable);
      FUZZ_CHECK(raw->base == arrays[i].data_offset && raw->size == e.size - raw->base);
    }
  }

  const Archive& archive_;
  const MountedArchive& mounted_;
  const std::vector<Seen>& seen_;
};

}  // namespace
}  // namespace npzfs::core

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace npzfs::core;
  std::string bytes(reinterpret_cast<const char*>(data), size);
  // Set up as a mount sets up (every npy header read), but on archives
  // whose headers are few: each may cost kMaxNpyHeaderBytes of decoding.
  auto index = ReadZipIndex(MemorySource(bytes, "fuzz.npz"));
  if (!index) {
    FUZZ_CHECK(index.error().code == Errc::kCorrupt);
    return 0;
  }
  std::unique_ptr<MountedArchive> mounted;
  std::unique_ptr<Archive> plain;
  if (index->entries.size() <= kMaxMountMembers) {
    auto m =
        MountedArchive::Open(std::make_unique<MemorySource>(bytes, "fuzz.npz"),
                             {{}, ContentChecker::Options(), std::nullopt, std::nullopt, nullptr});
    FUZZ_CHECK(m);
    mounted = std::move(*m);
  } else {
    auto a = Archive::FromSource(std::make_unique<MemorySource>(bytes, "fuzz.npz"));
    FUZZ_CHECK(a);
    plain = std::move(*a);
  }
  const Archive& archive = mounted ? mounted->archive() : *plain;
  std::optional<Content> own_content;
  if (!mounted) own_content.emplace(archive, ContentChecker::Options());
  Content& content_reader = mounted ? mounted->content() : *own_content;

  Rng rng(Fnv1a(data, size));
  uint64_t budget = kBudget;
  uint64_t content_budget = kBudget;
  MemberChecker readers(archive, bytes, rng, budget);
  ContentChecker content(archive, content_reader, rng, content_budget);
  const size_t members = std::min(archive.entries().size(), kMaxMembers);
  std::vector<Seen> seen;
  for (size_t i = 0; i < members && budget > 0 && content_budget > 0; ++i) {
    seen.push_back(readers.Check(i));
    content.Check(i, seen.back());
  }
  if (mounted) MountChecker(*mounted, seen).Check();
  return 0;
}
