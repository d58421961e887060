#include "core/base/notes.h"

#include <gtest/gtest.h>

namespace npzfs::core {
namespace {

TEST(NotesTest, KeepsTheFirstOfEachKindAndCountsTheRest) {
  Notes notes(2);
  for (int i = 0; i < 5; ++i) notes.Add(NoteKind::kDuplicate, "dup " + std::to_string(i));
  notes.Add(NoteKind::kBadName, "bad 0");
  notes.Add(NoteKind::kHidden, "hidden 0");
  notes.Add(NoteKind::kHidden, "hidden 1");
  notes.Add(NoteKind::kHidden, "hidden 2");
  EXPECT_EQ(notes.count(NoteKind::kDuplicate), 5u);
  EXPECT_EQ(notes.Lines(),
            (std::vector<std::string>{
                "dup 0", "dup 1", "bad 0", "hidden 0", "hidden 1",
                "... and 3 more names that appear more than once (the last member wins)",
                "... and 1 more files left out where a directory has the same path"}));
}

}  // namespace
}  // namespace npzfs::core
