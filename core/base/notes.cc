#include "core/base/notes.h"

namespace npzfs::core {
namespace {

// How the count line names the notes it stands for.
const char* Describe(NoteKind kind) {
  switch (kind) {
    case NoteKind::kBadName:
      return "members left out for their names";
    case NoteKind::kDuplicate:
      return "names that appear more than once (the last member wins)";
    case NoteKind::kHidden:
      return "files left out where a directory has the same path";
    case NoteKind::kNoRawFile:
      return "arrays without a raw file";
    case NoteKind::kOther:
      break;
  }
  return "notes like these";
}

}  // namespace

void Notes::Add(NoteKind kind, std::string line) {
  if (counts_[static_cast<size_t>(kind)]++ < cap_) kept_.push_back(std::move(line));
}

std::vector<std::string> Notes::Lines() const {
  std::vector<std::string> lines = kept_;
  for (size_t k = 0; k < kKinds; ++k) {
    if (counts_[k] <= cap_) continue;
    lines.push_back("... and " + std::to_string(counts_[k] - cap_) + " more " +
                    Describe(static_cast<NoteKind>(k)));
  }
  return lines;
}

}  // namespace npzfs::core
