#include "core/view/dataset_tree.h"

#include <algorithm>
#include <map>
#include <numeric>

#include "core/base/text.h"

namespace npzfs::core {

DatasetTree DatasetTree::Build(std::span<const DatasetItem> items, int64_t root_mtime,
                               Notes& notes) {
  DatasetTree t;
  t.archive_node_.assign(items.size(), kNoArchive);
  t.nodes_.push_back({"", 0, kNoArchive, {}, root_mtime, 0});

  // Of two archives with one path, the later one.
  std::map<std::string_view, size_t> last;
  for (size_t k = 0; k < items.size(); ++k) {
    auto [it, fresh] = last.try_emplace(items[k].path, k);
    if (!fresh) {
      notes.Add(NoteKind::kDuplicate, Quote(items[k].path) +
                                          ": more than one archive has this "
                                          "name; the last one named is shown");
      it->second = k;
    }
  }
  // Every archive's parents are directories.
  std::map<std::string, uint32_t, std::less<>> dirs{{"", 0}};
  auto dir_of = [&](std::string_view path) {
    uint32_t parent = 0;
    size_t start = 0;
    for (size_t slash; (slash = path.find('/', start)) != std::string_view::npos;
         start = slash + 1) {
      auto [it, fresh] = dirs.try_emplace(std::string(path.substr(0, slash)), 0);
      if (fresh) {
        it->second = static_cast<uint32_t>(t.nodes_.size());
        t.nodes_.push_back({std::string(path.substr(start, slash - start)),
                            parent,
                            kNoArchive,
                            {},
                            root_mtime,
                            0});
        t.nodes_[parent].children.push_back(it->second);
      }
      parent = it->second;
    }
    return std::pair(parent, path.substr(start));
  };
  for (const auto& [path, k] : last) dir_of(path);
  // Then the archives, unless a directory has their path.
  for (const auto& [path, k] : last) {
    if (dirs.count(path) != 0) {
      notes.Add(NoteKind::kHidden, Quote(path) +
                                       ": an archive left out: a directory of archives "
                                       "has the same name");
      continue;
    }
    auto [parent, name] = dir_of(path);
    const auto index = static_cast<uint32_t>(t.nodes_.size());
    t.nodes_.push_back({std::string(name),
                        parent,
                        static_cast<uint32_t>(k),
                        {},
                        items[k].mtime,
                        items[k].mtime_nsec});
    t.nodes_[parent].children.push_back(index);
    t.archive_node_[k] = index;
  }
  for (DatasetNode& n : t.nodes_) {
    std::sort(n.children.begin(), n.children.end(),
              [&t](uint32_t a, uint32_t b) { return t.nodes_[a].name < t.nodes_[b].name; });
  }
  return t;
}

const DatasetNode* DatasetTree::Get(uint64_t ino) const {
  if (ino == 0 || ino > nodes_.size()) return nullptr;
  return &nodes_[ino - 1];
}

uint64_t DatasetTree::Ino(const DatasetNode& n) const {
  if (n.archive != kNoArchive) return InoOf(n.archive, 1);
  return static_cast<uint64_t>(&n - nodes_.data()) + 1;
}

const DatasetNode* DatasetTree::Lookup(const DatasetNode& dir, std::string_view name) const {
  auto it = std::lower_bound(dir.children.begin(), dir.children.end(), name,
                             [this](uint32_t c, std::string_view n) { return nodes_[c].name < n; });
  if (it == dir.children.end() || nodes_[*it].name != name) return nullptr;
  return &nodes_[*it];
}

const DatasetNode* DatasetTree::NodeOfArchive(uint32_t archive) const {
  if (archive >= archive_node_.size() || archive_node_[archive] == kNoArchive) return nullptr;
  return &nodes_[archive_node_[archive]];
}

std::string DatasetTree::PathOf(const DatasetNode& n) const {
  std::vector<const DatasetNode*> chain;
  for (const DatasetNode* p = &n; p != &nodes_[0]; p = &nodes_[p->parent]) chain.push_back(p);
  std::string out;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    if (!out.empty()) out += '/';
    out += (*it)->name;
  }
  return out;
}

}  // namespace npzfs::core
