// npzinfo, run as users run it, against what numpy reads of the archive.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/test_support.h"

namespace npzfs::testing {
namespace {

struct Output {
  int status;
  std::string text;
};

Output Npzinfo(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {NPZINFO_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  Output o;
  o.status = RunCommand(argv, &o.text);
  return o;
}

TEST(NpzinfoTest, JsonReportsWhatNumpyReads) {
  for (const char* kind : {"stored", "compressed", "descriptor_compressed", "nonnpy"}) {
    SCOPED_TRACE(kind);
    const std::string archive = StandardArchive(kind);
    const Output o = Npzinfo({archive, "--json"});
    ASSERT_EQ(o.status, 0) << o.text;
    const auto got = nlohmann::json::parse(o.text);
    const auto want = nlohmann::json::parse(ReadFile(ZipfileDump(archive) + "/index.json"));
    ASSERT_EQ(got["members"].size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      const auto& g = got["members"][i];
      const auto& w = want[i];
      SCOPED_TRACE(w["name"].get<std::string>());
      EXPECT_EQ(g["name"], w["name"]);
      EXPECT_EQ(g["size"], w["size"]);
      EXPECT_EQ(g["compressed_size"], w["compressed_size"]);
      EXPECT_EQ(g["method"], w["method"] == 0 ? "stored" : "deflate");
      if (w.contains("npy")) {
        EXPECT_EQ(g["descr"], w["npy"]["descr"]);
        // numpy's shape, e.g. "(6, 10)", against npzinfo's list [6, 10].
        std::string shape = "(";
        for (size_t k = 0; k < g["shape"].size(); ++k) {
          shape += (k ? ", " : "") + std::to_string(g["shape"][k].get<uint64_t>());
        }
        shape += g["shape"].size() == 1 ? ",)" : ")";
        EXPECT_EQ(shape, w["npy"]["shape"]);
        EXPECT_EQ(g["fortran_order"], w["npy"]["fortran_order"]);
        EXPECT_EQ(g["npy_data_offset"], w["npy"]["data_offset"]);
      } else {
        EXPECT_FALSE(g.contains("descr"));
        EXPECT_TRUE(g.contains("note"));
      }
    }
  }
}

TEST(NpzinfoTest, TableHasOneAlignedRowPerMember) {
  const Output o = Npzinfo({StandardArchive("compressed")});
  ASSERT_EQ(o.status, 0) << o.text;
  std::vector<std::string> lines;
  for (size_t p = 0, q; (q = o.text.find('\n', p)) != std::string::npos; p = q + 1) {
    lines.push_back(o.text.substr(p, q - p));
  }
  const auto want = nlohmann::json::parse(
      ReadFile(ZipfileDump(StandardArchive("compressed")) + "/index.json"));
  ASSERT_EQ(lines.size(), want.size() + 1);
  EXPECT_EQ(lines[0].rfind("KEY ", 0), 0u) << lines[0];
  // Columns line up: each value starts under its heading.
  const std::string& head = lines[0];
  auto cell = [&head](const std::string& line, const char* column) {
    const size_t at = head.find(column);
    const size_t end = line.find("  ", at);
    return line.substr(at, end == std::string::npos ? std::string::npos : end - at);
  };
  bool saw_structured = false, saw_fortran = false;
  for (const auto& line : lines) {
    if (line.rfind("structured ", 0) == 0) {
      saw_structured = true;
      EXPECT_EQ(cell(line, "DTYPE"), "[('x', '<f4'), ('label', '<i4')]") << line;
      EXPECT_EQ(cell(line, "SHAPE"), "(2,)") << line;
      EXPECT_EQ(cell(line, "ORDER"), "C") << line;
    }
    if (line.rfind("fortran_2d ", 0) == 0) {
      saw_fortran = true;
      EXPECT_EQ(cell(line, "DTYPE"), "<f4") << line;
      EXPECT_EQ(cell(line, "SHAPE"), "(6, 10)") << line;
      EXPECT_EQ(cell(line, "ORDER"), "F") << line;
      EXPECT_EQ(cell(line, "METHOD"), "deflate") << line;
    }
  }
  EXPECT_TRUE(saw_structured && saw_fortran) << o.text;
}

TEST(NpzinfoTest, StoredArrayOffsetPointsAtTheDataInTheArchive) {
  const std::string archive = StandardArchive("stored");
  const Output o = Npzinfo({archive, "--json"});
  ASSERT_EQ(o.status, 0);
  const std::string bytes = ReadFile(archive);
  const std::string dump = ZipfileDump(archive);
  const auto got = nlohmann::json::parse(o.text);
  for (size_t i = 0; i < got["members"].size(); ++i) {
    const auto& g = got["members"][i];
    if (!g.contains("array_offset")) continue;
    const std::string member = ReadFile(dump + "/" + std::to_string(i) + ".bin");
    const size_t header = g["npy_data_offset"];
    EXPECT_EQ(bytes.substr(g["array_offset"].get<size_t>(), member.size() - header),
              member.substr(header))
        << g["name"];
  }
}

TEST(NpzinfoTest, UnreadableArchivesGiveOneLineAndExitOne) {
  TempDir dir;
  WriteFile(dir.Join("text.npz"), "not a zip at all, just some words of text");
  struct Case {
    std::string path;
    std::string line;
  };
  for (const Case& c : std::vector<Case>{
           {dir.Join("missing.npz"), "npzinfo: " + dir.Join("missing.npz") +
                                         ": No such file or directory\n"},
           {dir.Join("text.npz"), "npzinfo: " + dir.Join("text.npz") +
                                      ": not a zip archive (no end of central directory record)\n"},
           {dir.path(), "npzinfo: " + dir.path() + ": not a regular file (a directory)\n"},
       }) {
    const Output o = Npzinfo({c.path});
    EXPECT_EQ(o.status, 1);
    EXPECT_EQ(o.text, c.line);
  }
  EXPECT_EQ(Npzinfo({}).status, 2);
  EXPECT_EQ(Npzinfo({"--bogus", "a.npz"}).status, 2);
}

}  // namespace
}  // namespace npzfs::testing
