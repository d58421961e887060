#include "core/view/tree.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <functional>
#include <utility>

#include "core/archive/archive.h"
#include "core/base/text.h"

namespace npzfs::core {
namespace {

constexpr uint32_t kRoot = 0;
constexpr uint32_t kRawDir = 1;

uint32_t FileSlot(size_t member) { return static_cast<uint32_t>(2 + 2 * member); }
uint32_t RawSlot(size_t member) { return static_cast<uint32_t>(3 + 2 * member); }

size_t Depth(std::string_view path) { return std::count(path.begin(), path.end(), '/'); }

uint32_t HashOf(std::string_view s, uint32_t salt = 0) {
  const size_t h = std::hash<std::string_view>()(s) ^ (size_t{salt} * 0x9e3779b97f4a7c15u);
  return static_cast<uint32_t>(h ^ (h >> 32));
}

// An open-addressing set of ids whose keys the caller knows: `same(id)`
// says whether an id's key is the one looked for. One probe is one cache
// line, where a node-based map misses the cache at every step.
class IdTable {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  explicit IdTable(size_t expected)
      : mask_(std::bit_ceil(std::max<size_t>(16, expected * 2)) - 1), cells_(mask_ + 1) {}

  template <class Same>
  uint32_t Find(uint32_t hash, Same same) const {
    for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
      const Cell& c = cells_[i];
      if (c.id == kNone) return kNone;
      if (c.id != kTomb && c.hash == hash && same(c.id)) return c.id;
    }
  }

  // Adds an id whose key is not in the table.
  void Insert(uint32_t hash, uint32_t id) {
    if ((used_ + 1) * 2 > cells_.size()) Grow();
    Place(hash, id);
    ++used_;
  }

  void Erase(uint32_t hash, uint32_t id) {
    for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
      Cell& c = cells_[i];
      if (c.id == kNone) return;
      if (c.id == id && c.hash == hash) {
        c.id = kTomb;
        return;
      }
    }
  }

 private:
  static constexpr uint32_t kTomb = UINT32_MAX - 1;
  struct Cell {
    uint32_t hash = 0;
    uint32_t id = kNone;
  };

  void Place(uint32_t hash, uint32_t id) {
    size_t i = hash & mask_;
    while (cells_[i].id != kNone) i = (i + 1) & mask_;
    cells_[i] = Cell{hash, id};
  }

  // Doubles the cells and drops the tombstones.
  void Grow() {
    std::vector<Cell> old = std::move(cells_);
    mask_ = old.size() * 2 - 1;
    cells_.assign(mask_ + 1, Cell{});
    used_ = 0;
    for (const Cell& c : old) {
      if (c.id != kNone && c.id != kTomb) {
        Place(c.hash, c.id);
        ++used_;
      }
    }
  }

  size_t mask_;
  std::vector<Cell> cells_;
  size_t used_ = 0;  // ids placed, tombstones included
};

}  // namespace

// Builds the tree in passes: explicit directories (parents first), files
// (later duplicates win, directories win over files), then the raw view.
class Tree::Builder {
 public:
  Builder(const ZipIndex& index, std::span<const ArrayInfo> arrays, int64_t archive_mtime,
          const TreeOptions& options, Notes& notes)
      : index_(index),
        arrays_(arrays),
        mtime_(archive_mtime),
        options_(options),
        notes_(notes),
        by_name_(16) {}

  Tree Build() {
    const size_t slots = 2 + 2 * index_.entries.size();
    tree_.nodes_.resize(slots);
    kids_.resize(slots);
    hashed_.resize(slots);
    position_.resize(slots);
    // Every name is a component of a member's path, once in each view, or
    // the raw directory's: the arena never needs to grow, so views of it
    // stay valid.
    size_t names = options_.raw_dir.size();
    for (const ZipEntry& e : index_.entries) names += 2 * e.path.size();
    tree_.names_.reserve(names);
    MakeDir(kRoot, kRoot, "", kNoMember, mtime_);
    AddExplicitDirs();
    AddFiles();
    if (options_.raw) AddRawView();
    Finish();
    return std::move(tree_);
  }

 private:
  void Warn(NoteKind kind, std::string line) { notes_.Add(kind, std::move(line)); }

  Node& N(uint32_t i) { return tree_.nodes_[i]; }

  uint32_t NewSlot() {
    tree_.nodes_.emplace_back();
    kids_.emplace_back();
    hashed_.push_back(false);
    position_.push_back(0);
    return static_cast<uint32_t>(tree_.nodes_.size() - 1);
  }

  // Names `slot` and makes it a child of `parent`: a new one, or, when
  // `replaced` is given, in that child's place (same name, same position,
  // so no other child moves).
  void Place(uint32_t slot, uint32_t parent, std::string_view name, uint32_t replaced = kNoMember) {
    Node& n = N(slot);
    n.name_off = static_cast<uint32_t>(tree_.names_.size());
    assert(name.size() <= UINT16_MAX);
    n.name_len = static_cast<uint16_t>(name.size());
    assert(tree_.names_.size() + name.size() <= tree_.names_.capacity());
    tree_.names_.append(name);
    n.parent = parent;
    if (slot == parent) return;
    auto& kids = kids_[parent];
    if (replaced != kNoMember) {
      position_[slot] = position_[replaced];
      kids[position_[slot]] = slot;
      if (hashed_[parent]) {
        by_name_.Erase(HashOf(name, parent), replaced);
        by_name_.Insert(HashOf(name, parent), slot);
      }
      return;
    }
    assert(Child(parent, name) == kNoMember);
    if (!hashed_[parent] && !kids.empty() && !(tree_.Name(N(kids.back())) < name)) {
      // Out of order: from now on this directory's names are looked up in
      // the table.
      hashed_[parent] = true;
      for (uint32_t k : kids) by_name_.Insert(HashOf(tree_.Name(N(k)), parent), k);
    }
    position_[slot] = static_cast<uint32_t>(kids.size());
    kids.push_back(slot);
    if (hashed_[parent]) by_name_.Insert(HashOf(name, parent), slot);
  }

  void MakeDir(uint32_t slot, uint32_t parent, std::string_view name, uint32_t member,
               int64_t mtime, uint32_t replaced = kNoMember) {
    Place(slot, parent, name, replaced);
    N(slot).kind = NodeKind::kDir;
    N(slot).member = member;
    N(slot).mtime = mtime;
    N(slot).mtime_nsec = member == kNoMember ? 0 : index_.entries[member].mtime_nsec();
  }

  // The child of `parent` called `name`, or kNoMember.
  // A directory's children are kept in the order they came while that is
  // name order (archives mostly list members sorted), and looked up there:
  // the last one first, else by binary search. A directory whose names
  // came out of order uses the hash table instead. Random probes into a
  // table of 200,000 names cost a TLB and a cache miss each; this costs
  // neither when names come in order.
  uint32_t Child(uint32_t parent, std::string_view name) const {
    static_assert(IdTable::kNone == kNoMember);
    if (hashed_[parent]) {
      return by_name_.Find(HashOf(name, parent), [&](uint32_t slot) {
        const Node& n = tree_.nodes_[slot];
        return n.parent == parent && tree_.Name(n) == name;
      });
    }
    const auto& kids = kids_[parent];
    if (kids.empty()) return kNoMember;
    const std::string_view last = tree_.Name(tree_.nodes_[kids.back()]);
    if (last < name) return kNoMember;
    if (last == name) return kids.back();
    auto it = std::lower_bound(
        kids.begin(), kids.end(), name,
        [this](uint32_t k, std::string_view n) { return tree_.Name(tree_.nodes_[k]) < n; });
    return it != kids.end() && tree_.Name(tree_.nodes_[*it]) == name ? *it : kNoMember;
  }

  // Walks `path` below `top`, making missing directories (the last one in
  // `slot` when given, else implicit ones). A file in the way is left out:
  // the directory wins. Returns the directory.
  uint32_t EnsureDir(uint32_t top, std::string_view path, uint32_t slot = kNoMember,
                     uint32_t member = kNoMember, int64_t mtime = 0) {
    uint32_t dir = top;
    size_t start = 0;
    while (start < path.size()) {
      const size_t end = std::min(path.find('/', start), path.size());
      const std::string_view part = path.substr(start, end - start);
      const bool last = end == path.size();
      uint32_t next = Child(dir, part);
      uint32_t file = kNoMember;  // a file in the way, which the directory replaces
      if (next != kNoMember && N(next).kind != NodeKind::kDir) {
        file = next;
        next = kNoMember;
        Warn(NoteKind::kHidden,
             Quote(tree_.PathOf(N(file))) + ": left out: a directory has the same path");
      }
      if (next == kNoMember) {
        next = last && slot != kNoMember ? slot : NewSlot();
        MakeDir(next, dir, part, last ? member : kNoMember,
                last && slot != kNoMember ? mtime : mtime_, file);
        if (file != kNoMember) N(file).kind = NodeKind::kNone;
      }
      dir = next;
      start = end + 1;
    }
    return dir;
  }

  static std::pair<std::string_view, std::string_view> Split(std::string_view path) {
    const size_t slash = path.rfind('/');
    if (slash == std::string_view::npos) return {"", path};
    return {path.substr(0, slash), path.substr(slash + 1)};
  }

  // For each path among the members of one kind (directories or not),
  // whether member i wins it: the last one does, as in zipfile. Left-out
  // members are noted here. O(n log n) however many members share a path.
  std::vector<bool> Winners(bool dirs) {
    const auto& entries = index_.entries;
    std::vector<bool> wins(entries.size());
    // Members by the hash of their path: equal paths end up side by side,
    // found with one sort instead of 100,000 random probes.
    std::vector<std::pair<uint32_t, uint32_t>> keyed;  // (hash, member)
    for (const ZipEntry& e : entries) {
      if (e.is_directory != dirs) continue;
      if (!e.skip_reason.empty()) {
        Warn(NoteKind::kBadName, Quote(e.name) + ": left out: " + e.skip_reason);
        continue;
      }
      keyed.emplace_back(HashOf(e.path), static_cast<uint32_t>(e.index));
      wins[e.index] = true;
    }
    std::sort(keyed.begin(), keyed.end());
    std::vector<uint32_t> later;  // members that replaced an earlier one
    for (size_t a = 0; a < keyed.size();) {
      size_t b = a + 1;
      while (b < keyed.size() && keyed[b].first == keyed[a].first) ++b;
      // A run of equal hashes (nearly always one member; all of one path
      // when names repeat): by path, then archive order, each member loses
      // to the next one with its path.
      if (b - a > 1) {
        std::sort(keyed.begin() + static_cast<ptrdiff_t>(a),
                  keyed.begin() + static_cast<ptrdiff_t>(b), [&](const auto& x, const auto& y) {
                    const int c = entries[x.second].path.compare(entries[y.second].path);
                    return c != 0 ? c < 0 : x.second < y.second;
                  });
      }
      for (size_t x = a; x + 1 < b; ++x) {
        const uint32_t i = keyed[x].second, j = keyed[x + 1].second;
        if (entries[i].path != entries[j].path) continue;
        wins[i] = false;
        later.push_back(j);
      }
      a = b;
    }
    if (!dirs) {
      std::sort(later.begin(), later.end());
      for (uint32_t j : later) {
        Warn(NoteKind::kDuplicate,
             Quote(entries[j].path) + ": the name appears more than once; the last member wins");
      }
    }
    return wins;
  }

  void AddExplicitDirs() {
    const std::vector<bool> wins = Winners(true);
    // Parents first, then archive order: the numbering stays a function
    // of the archive.
    std::vector<std::pair<size_t, size_t>> order;  // (depth, member)
    for (size_t i = 0; i < wins.size(); ++i) {
      if (wins[i]) order.emplace_back(Depth(index_.entries[i].path), i);
    }
    std::sort(order.begin(), order.end());
    for (const auto& [depth, i] : order) {
      const ZipEntry& e = index_.entries[i];
      EnsureDir(kRoot, e.path, FileSlot(i), static_cast<uint32_t>(i), e.mtime());
    }
  }

  void AddFiles() {
    const std::vector<bool> wins = Winners(false);
    // In archive order, each winner where it stands.
    for (const ZipEntry& e : index_.entries) {
      if (!wins[e.index]) continue;
      AddLeaf(kRoot, e.path, FileSlot(e.index), NodeKind::kFile, e.index, 0, e.size);
    }
  }

  void AddLeaf(uint32_t top, std::string_view path, uint32_t slot, NodeKind kind, size_t i,
               uint64_t base, uint64_t size) {
    const auto [dir_path, name] = Split(path);
    const uint32_t dir = EnsureDir(top, dir_path);
    if (Child(dir, name) != kNoMember) {
      Warn(NoteKind::kHidden,
           Quote(tree_.PathOf(N(dir)) + (dir == kRoot ? "" : "/") + std::string(name)) +
               ": left out: a directory has the same path");
      return;
    }
    Place(slot, dir, name);
    Node& n = N(slot);
    n.kind = kind;
    n.member = static_cast<uint32_t>(i);
    n.base = base;
    n.size = size;
    n.mtime = index_.entries[i].mtime();
    n.mtime_nsec = index_.entries[i].mtime_nsec();
  }

  void AddRawView() {
    if (Child(kRoot, options_.raw_dir) != kNoMember) {
      Warn(NoteKind::kOther, "the archive has a top-level entry " + Quote(options_.raw_dir) +
                                 ", so the raw view is left out; use -o raw_dir=NAME to place "
                                 "it elsewhere");
      return;
    }
    MakeDir(kRawDir, kRoot, options_.raw_dir, kNoMember, mtime_);
    for (size_t i = 0; i < index_.entries.size(); ++i) {
      const Node& file = N(FileSlot(i));
      if (file.kind != NodeKind::kFile || i >= arrays_.size() || !arrays_[i].mappable) continue;
      const ZipEntry& e = index_.entries[i];
      if (!IsNpyName(e.path)) continue;
      const std::string key = NpzKey(e.path);
      if (key.empty() || key.back() == '/' || !SafeMemberPath(key)) {
        Warn(NoteKind::kNoRawFile,
             Quote(e.path) + ": no raw file: the key " + Quote(key) + " is not a usable path");
        continue;
      }
      const uint64_t base = arrays_[i].data_offset;
      AddLeaf(kRawDir, key, RawSlot(i), NodeKind::kRaw, i, base, e.size - base);
    }
  }

  void Finish() {
    for (size_t d = 0; d < tree_.nodes_.size(); ++d) {
      Node& dir = tree_.nodes_[d];
      if (dir.kind != NodeKind::kDir) continue;
      auto& kids = kids_[d];
      auto by_name = [this](uint32_t a, uint32_t b) { return tree_.Name(N(a)) < tree_.Name(N(b)); };
      // Directories not hashed are in name order already.
      if (hashed_[d] && !std::is_sorted(kids.begin(), kids.end(), by_name)) {
        std::sort(kids.begin(), kids.end(), by_name);
      }
      dir.first_child = static_cast<uint32_t>(tree_.children_.size());
      dir.child_count = static_cast<uint32_t>(kids.size());
      dir.nlink = 2;
      for (uint32_t k : kids) {
        tree_.children_.push_back(k);
        if (N(k).kind == NodeKind::kDir) ++dir.nlink;
      }
    }
  }

  const ZipIndex& index_;
  std::span<const ArrayInfo> arrays_;
  int64_t mtime_;
  const TreeOptions& options_;
  Notes& notes_;
  Tree tree_;
  std::vector<std::vector<uint32_t>> kids_;
  std::vector<bool> hashed_;        // per directory: its children are in by_name_
  std::vector<uint32_t> position_;  // per node: where it is in its parent's kids_
  IdTable by_name_;                 // children of hashed directories, by (parent, name)
};

Tree Tree::Build(const ZipIndex& index, std::span<const ArrayInfo> arrays, int64_t archive_mtime,
                 const TreeOptions& options, Notes& notes) {
  return Builder(index, arrays, archive_mtime, options, notes).Build();
}

const Node* Tree::Get(uint64_t ino) const {
  if (ino == 0 || ino > nodes_.size()) return nullptr;
  const Node& n = nodes_[ino - 1];
  return n.kind == NodeKind::kNone ? nullptr : &n;
}

const Node* Tree::Lookup(const Node& dir, std::string_view name) const {
  auto kids = Children(dir);
  auto it =
      std::lower_bound(kids.begin(), kids.end(), name,
                       [this](uint32_t k, std::string_view n) { return Name(nodes_[k]) < n; });
  if (it == kids.end() || Name(nodes_[*it]) != name) return nullptr;
  return &nodes_[*it];
}

std::string Tree::PathOf(const Node& n) const {
  std::vector<std::string_view> parts;
  for (const Node* p = &n; p != &nodes_[0]; p = &nodes_[p->parent]) parts.push_back(Name(*p));
  std::string path;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    if (!path.empty()) path += '/';
    path += *it;
  }
  return path;
}

}  // namespace npzfs::core
