// What mounting has to say about an archive (members left out, clashes,
// arrays without a raw file), gathered before it is logged, with each kind
// capped: an archive of 400,000 duplicate names says the first few and how
// many more, not 400,000 lines.
#ifndef NPZFS_CORE_BASE_NOTES_H_
#define NPZFS_CORE_BASE_NOTES_H_

#include <array>
#include <cstddef>
#include <string>
#include <vector>

namespace npzfs::core {

enum class NoteKind {
  kBadName,    // a member left out for its name
  kDuplicate,  // a name that appears more than once (the last wins)
  kHidden,     // a file left out where a directory has the same path
  kNoRawFile,  // an array with no raw file
  kOther,
};

// Not thread-safe: one builder fills it, then its lines are logged.
class Notes {
 public:
  static constexpr size_t kDefaultCap = 10;

  explicit Notes(size_t cap_per_kind = kDefaultCap) : cap_(cap_per_kind) {}

  // Keeps `line` if fewer than the cap of its kind are kept, else counts it.
  void Add(NoteKind kind, std::string line);

  // The lines kept, in the order they came, then for every kind over its
  // cap one line saying how many more there were.
  std::vector<std::string> Lines() const;

  // All notes of `kind` added, kept or not.
  size_t count(NoteKind kind) const { return counts_[static_cast<size_t>(kind)]; }

 private:
  static constexpr size_t kKinds = static_cast<size_t>(NoteKind::kOther) + 1;

  size_t cap_;
  std::vector<std::string> kept_;
  std::array<size_t, kKinds> counts_{};
};

}  // namespace npzfs::core

#endif  // NPZFS_CORE_BASE_NOTES_H_
