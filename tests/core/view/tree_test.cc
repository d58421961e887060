#include "core/view/tree.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace npzfs::core {
namespace {

// An index of members with these names, in this order.
ZipIndex IndexOf(const std::vector<std::string>& names) {
  ZipIndex index;
  for (const auto& name : names) {
    ZipEntry e;
    e.index = index.entries.size();
    e.name = name;
    e.is_directory = !name.empty() && name.back() == '/';
    if (auto p = SafeMemberPath(name)) {
      e.path = *p;
    } else {
      e.skip_reason = p.error().message;
    }
    e.size = 1000 + e.index;
    e.dos_mtime = 100 + static_cast<int64_t>(e.index);
    index.entries.push_back(e);
  }
  return index;
}

// Every member that ends in .npy is mappable with a 128-byte header.
std::vector<ArrayInfo> Arrays(const ZipIndex& index) {
  std::vector<ArrayInfo> a(index.entries.size());
  for (size_t i = 0; i < a.size(); ++i) {
    if (index.entries[i].name.ends_with(".npy")) a[i] = {true, true, 128};
  }
  return a;
}

struct Built {
  ZipIndex index;
  Tree tree;
  std::vector<std::string> warnings;
};

Built Build(const std::vector<std::string>& names, TreeOptions options = {}) {
  Built b{IndexOf(names), {}, {}};
  Notes notes;
  b.tree = Tree::Build(b.index, Arrays(b.index), 7, options, notes);
  b.warnings = notes.Lines();
  return b;
}

const Node* Find(const Tree& t, const std::string& path) {
  const Node* n = t.Get(Tree::kRootIno);
  size_t start = 0;
  while (n && start < path.size()) {
    size_t end = std::min(path.find('/', start), path.size());
    n = t.Lookup(*n, path.substr(start, end - start));
    start = end + 1;
  }
  return n;
}

// path -> kind, for every node reachable from the root.
std::map<std::string, NodeKind> Walk(const Tree& t) {
  std::map<std::string, NodeKind> out;
  std::vector<const Node*> todo = {t.Get(Tree::kRootIno)};
  while (!todo.empty()) {
    const Node* n = todo.back();
    todo.pop_back();
    for (uint32_t k : t.Children(*n)) {
      out[t.PathOf(t.At(k))] = t.At(k).kind;
      if (t.At(k).kind == NodeKind::kDir) todo.push_back(&t.At(k));
    }
  }
  return out;
}

TEST(TreeTest, NumbersNodesFromTheArchiveAlone) {
  Built b = Build({"a.npy", "dir/b.npy", "notes.txt"});
  const Tree& t = b.tree;
  EXPECT_EQ(t.Ino(*Find(t, "")), 1u);
  EXPECT_EQ(t.Ino(*Find(t, "raw")), 2u);
  EXPECT_EQ(t.Ino(*Find(t, "a.npy")), 3u);
  EXPECT_EQ(t.Ino(*Find(t, "raw/a")), 4u);
  EXPECT_EQ(t.Ino(*Find(t, "dir/b.npy")), 5u);
  EXPECT_EQ(t.Ino(*Find(t, "raw/dir/b")), 6u);
  EXPECT_EQ(t.Ino(*Find(t, "notes.txt")), 7u);
  EXPECT_EQ(t.Get(8), nullptr);  // notes.txt has no raw view: its number is unused
  // Implicit directories come after every member's numbers.
  EXPECT_GT(t.Ino(*Find(t, "dir")), 8u);
  EXPECT_GT(t.Ino(*Find(t, "raw/dir")), 8u);
  EXPECT_EQ(t.Get(0), nullptr);
  EXPECT_EQ(t.Get(100000), nullptr);
}

TEST(TreeTest, NumbersDoNotDependOnOptions) {
  Built a = Build({"x.npy", "y/z.npy"});
  Built b = Build({"x.npy", "y/z.npy"}, TreeOptions{"data", true});
  Built c = Build({"x.npy", "y/z.npy"}, TreeOptions{"raw", false});
  for (const char* p : {"x.npy", "y/z.npy", "y"}) {
    EXPECT_EQ(a.tree.Ino(*Find(a.tree, p)), b.tree.Ino(*Find(b.tree, p))) << p;
    EXPECT_EQ(a.tree.Ino(*Find(a.tree, p)), c.tree.Ino(*Find(c.tree, p))) << p;
  }
  EXPECT_EQ(Find(c.tree, "raw"), nullptr);
  EXPECT_EQ(b.tree.Ino(*Find(b.tree, "data/x")), a.tree.Ino(*Find(a.tree, "raw/x")));
}

TEST(TreeTest, SizesModesAndTimes) {
  Built b = Build({"a.npy", "dir/"});
  const Node* a = Find(b.tree, "a.npy");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->kind, NodeKind::kFile);
  EXPECT_EQ(a->size, 1000u);
  EXPECT_EQ(a->base, 0u);
  EXPECT_EQ(a->mtime, 100);
  const Node* raw = Find(b.tree, "raw/a");
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->kind, NodeKind::kRaw);
  EXPECT_EQ(raw->base, 128u);
  EXPECT_EQ(raw->size, 1000u - 128);
  EXPECT_EQ(raw->member, 0u);
  EXPECT_EQ(Find(b.tree, "dir")->mtime, 101);  // explicit entry: its own time
  EXPECT_EQ(Find(b.tree, "raw")->mtime, 7);    // the archive's
  EXPECT_EQ(Find(b.tree, "")->nlink, 4u);      // ., .., raw, dir
}

TEST(TreeTest, LaterDuplicateWins) {
  Built b = Build({"a.npy", "b.npy", "a.npy"});
  const Node* a = Find(b.tree, "a.npy");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->member, 2u);
  EXPECT_EQ(Find(b.tree, "raw/a")->member, 2u);
  EXPECT_EQ(b.tree.Get(3), nullptr);  // the first a.npy is left out
  ASSERT_EQ(b.warnings.size(), 1u);
  EXPECT_EQ(b.warnings[0], "'a.npy': the name appears more than once; the last member wins");
}

TEST(TreeTest, DirectoryWinsOverFileOfTheSamePath) {
  for (const auto& names : std::vector<std::vector<std::string>>{
           {"x.npy", "x.npy/y.npy"}, {"x.npy/y.npy", "x.npy"}, {"x.npy", "x.npy/"}}) {
    Built b = Build(names);
    const Node* x = Find(b.tree, "x.npy");
    ASSERT_TRUE(x);
    EXPECT_EQ(x->kind, NodeKind::kDir) << names[0] << " " << names[1];
    EXPECT_EQ(Find(b.tree, "raw/x"), nullptr);
    EXPECT_FALSE(b.warnings.empty());
  }
  // In the raw view too: keys "a" and "a/b".
  Built b = Build({"a.npy", "a/b.npy"});
  EXPECT_EQ(Find(b.tree, "a.npy")->kind, NodeKind::kFile);
  EXPECT_EQ(Find(b.tree, "raw/a")->kind, NodeKind::kDir);
  EXPECT_EQ(Find(b.tree, "raw/a/b")->kind, NodeKind::kRaw);
  ASSERT_EQ(b.warnings.size(), 1u);
  EXPECT_EQ(b.warnings[0], "'raw/a': left out: a directory has the same path");
}

// A directory's children are looked up in their order of arrival while it
// is name order, and in a hash table once a name comes out of order: the
// tree, its conflicts and its warnings are the same either way.
TEST(TreeTest, SameTreeWhetherNamesComeInOrderOrNot) {
  const std::vector<std::vector<std::string>> orders = {
      {"d/a.npy", "d/b.npy", "d/c.npy", "d/x", "d/x/y.npy", "d/x/z.npy", "e.npy"},
      {"d/b.npy", "d/x", "d/a.npy", "d/x/z.npy", "e.npy", "d/c.npy", "d/x/y.npy"},
      {"e.npy", "d/x/z.npy", "d/x", "d/x/y.npy", "d/c.npy", "d/b.npy", "d/a.npy"}};
  for (const auto& names : orders) {
    SCOPED_TRACE(names[0] + " " + names[1]);
    Built b = Build(names);
    const Node* d = Find(b.tree, "d");
    ASSERT_TRUE(d);
    std::vector<std::string> kids;
    for (uint32_t k : b.tree.Children(*d)) {
      kids.emplace_back(b.tree.Name(b.tree.At(k)));
      EXPECT_EQ(b.tree.Lookup(*d, kids.back()), &b.tree.At(k));
    }
    EXPECT_EQ(kids, (std::vector<std::string>{"a.npy", "b.npy", "c.npy", "x"}));
    EXPECT_EQ(Find(b.tree, "d/x")->kind, NodeKind::kDir);
    EXPECT_EQ(Find(b.tree, "d/x/y.npy")->kind, NodeKind::kFile);
    EXPECT_EQ(Find(b.tree, "d/x/z.npy")->kind, NodeKind::kFile);
    EXPECT_EQ(Find(b.tree, "raw/d/x/y")->kind, NodeKind::kRaw);
    EXPECT_EQ(Find(b.tree, "raw/d/c")->kind, NodeKind::kRaw);
    EXPECT_EQ(b.tree.Lookup(*d, "b"), nullptr);
    EXPECT_EQ(b.tree.Lookup(*d, "zz"), nullptr);
    EXPECT_EQ(b.warnings,
              std::vector<std::string>{"'d/x': left out: a directory has the same path"});
  }
}

TEST(TreeTest, TopLevelRawEntryHidesTheRawView) {
  Built b = Build({"raw/x.npy", "y.npy"});
  EXPECT_EQ(Find(b.tree, "raw")->kind, NodeKind::kDir);
  EXPECT_EQ(Find(b.tree, "raw")->member, kNoMember);
  EXPECT_NE(Find(b.tree, "raw/x.npy"), nullptr);
  EXPECT_EQ(Find(b.tree, "raw/y"), nullptr);
  ASSERT_EQ(b.warnings.size(), 1u);
  EXPECT_NE(b.warnings[0].find("use -o raw_dir=NAME"), std::string::npos);
  EXPECT_FALSE(b.tree.has_raw_view());
  // With another name for the view, both are there.
  Built c = Build({"raw/x.npy", "y.npy"}, TreeOptions{"arrays", true});
  EXPECT_NE(Find(c.tree, "arrays/y"), nullptr);
  EXPECT_NE(Find(c.tree, "arrays/raw/x"), nullptr);
}

TEST(TreeTest, UnsafeNamesAreLeftOutWithAWarning) {
  Built b = Build({"../evil.npy", "/abs.npy", "a//b.npy", "ok.npy", std::string("n\0l.npy", 7),
                   ".npy", "d/.npy"});
  auto all = Walk(b.tree);
  EXPECT_EQ(all, (std::map<std::string, NodeKind>{{"abs.npy", NodeKind::kFile},
                                                  {"ok.npy", NodeKind::kFile},
                                                  {".npy", NodeKind::kFile},
                                                  {"d", NodeKind::kDir},
                                                  {"d/.npy", NodeKind::kFile},
                                                  {"raw", NodeKind::kDir},
                                                  {"raw/abs", NodeKind::kRaw},
                                                  {"raw/ok", NodeKind::kRaw}}));
  // Left out: ../evil.npy, a//b.npy, the NUL name; no raw file for the
  // empty keys of ".npy" and "d/.npy".
  EXPECT_EQ(b.warnings.size(), 5u);
}

TEST(TreeTest, ChildrenAreSortedAndLookupFindsEachOfThousands) {
  std::vector<std::string> names;
  for (int i = 4999; i >= 0; --i) names.push_back("d/m" + std::to_string(i) + ".npy");
  Built b = Build(names);
  const Node* d = Find(b.tree, "d");
  ASSERT_TRUE(d);
  auto kids = b.tree.Children(*d);
  ASSERT_EQ(kids.size(), 5000u);
  std::set<std::string> seen;
  for (size_t k = 0; k < kids.size(); ++k) {
    const std::string name(b.tree.Name(b.tree.At(kids[k])));
    if (k > 0) {
      EXPECT_LT(std::string(b.tree.Name(b.tree.At(kids[k - 1]))), name);
    }
    EXPECT_TRUE(seen.insert(name).second);
    EXPECT_EQ(b.tree.Lookup(*d, name), &b.tree.At(kids[k]));
  }
  EXPECT_EQ(b.tree.Lookup(*d, "nope"), nullptr);
}

// Members sharing one path cost O(n log n), not a comparison of every pair,
// and say so in a few lines, however many there are.
TEST(TreeTest, ManyMembersOnOnePathTheLastWinsInFewLines) {
  std::vector<std::string> names;
  for (int i = 0; i < 100000; ++i) names.push_back(i % 2 ? "d/" : "same.npy");
  names.push_back("other.npy");
  Built b = Build(names);
  const Node* same = Find(b.tree, "same.npy");
  ASSERT_TRUE(same);
  EXPECT_EQ(same->member, 99998u);
  EXPECT_EQ(Find(b.tree, "raw/same")->member, 99998u);
  EXPECT_EQ(Find(b.tree, "d")->member, 99999u);  // the last explicit entry
  EXPECT_EQ(Find(b.tree, "other.npy")->member, 100000u);
  ASSERT_EQ(b.warnings.size(), Notes::kDefaultCap + 1);
  EXPECT_EQ(b.warnings[0], "'same.npy': the name appears more than once; the last member wins");
  EXPECT_EQ(b.warnings.back(),
            "... and 49989 more names that appear more than once (the last member wins)");
}

// Files that a directory of the same path replaces, many in one directory:
// each costs a constant, and the directories keep their names' order.
TEST(TreeTest, ManyFilesReplacedByDirectories) {
  std::vector<std::string> names;
  for (int i = 0; i < 50000; ++i) {
    const std::string f = "f" + std::to_string(i);
    names.push_back(f);
    names.push_back(f + "/x.npy");
  }
  Built b = Build(names);
  const Node* root = Find(b.tree, "");
  ASSERT_EQ(b.tree.Children(*root).size(), 50001u);  // f0..f49999 and raw
  std::string previous;
  for (uint32_t k : b.tree.Children(*root)) {
    const std::string name(b.tree.Name(b.tree.At(k)));
    EXPECT_LT(previous, name);
    previous = name;
    EXPECT_EQ(b.tree.At(k).kind, NodeKind::kDir) << name;
  }
  EXPECT_EQ(Find(b.tree, "f123/x.npy")->kind, NodeKind::kFile);
  EXPECT_EQ(Find(b.tree, "raw/f123/x")->kind, NodeKind::kRaw);
  EXPECT_EQ(b.warnings.back(),
            "... and 49990 more files left out where a directory has the same path");
}

// Names are quoted and escaped in what the tree says of them.
TEST(TreeTest, WarningsQuoteAndEscapeNames) {
  Built b = Build({"a\x1b\n.npy", "a\x1b\n.npy", "../\u202e"});
  EXPECT_EQ(b.warnings,
            (std::vector<std::string>{"'../\\u202e': left out: the path has a '..' component",
                                      "'a\\x1b\\n.npy': the name appears more than once; the "
                                      "last member wins"}));
}

}  // namespace
}  // namespace npzfs::core
