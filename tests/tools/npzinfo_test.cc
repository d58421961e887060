// npzinfo, run as users run it, against what numpy reads of the archive.
#include <gtest/gtest.h>

#include <algorithm>
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

// One of npzinfo's two streams: `stream` 1 (stdout) or 2 (stderr).
Output NpzinfoStream(const std::vector<std::string>& args, int stream) {
  std::vector<std::string> argv = {
      "/bin/sh", "-c", stream == 1 ? "exec \"$@\" 2>/dev/null" : "exec \"$@\" >/dev/null", "sh",
      NPZINFO_BIN};
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
  const auto want =
      nlohmann::json::parse(ReadFile(ZipfileDump(StandardArchive("compressed")) + "/index.json"));
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
           {dir.Join("missing.npz"),
            "npzinfo: " + dir.Join("missing.npz") + ": No such file or directory\n"},
           {dir.Join("text.npz"), "npzinfo: " + dir.Join("text.npz") +
                                      ": not a zip archive (no end of central directory record)\n"},
           {dir.path(), "npzinfo: " + dir.path() + ": Is a directory\n"},
       }) {
    const Output o = Npzinfo({c.path});
    EXPECT_EQ(o.status, 1);
    EXPECT_EQ(o.text, c.line);
  }
}

TEST(NpzinfoTest, JsonFailureIsOneObjectOnStdoutAndTheLineOnStderr) {
  TempDir dir;
  WriteFile(dir.Join("text.npz"), "not a zip at all, just some words of text");
  struct Case {
    std::string path;
    std::string error;
  };
  for (const Case& c : std::vector<Case>{
           {dir.Join("missing.npz"), dir.Join("missing.npz") + ": No such file or directory"},
           {dir.Join("text.npz"),
            dir.Join("text.npz") + ": not a zip archive (no end of central directory record)"},
           {dir.path(), dir.path() + ": Is a directory"},
       }) {
    SCOPED_TRACE(c.path);
    const Output out = NpzinfoStream({c.path, "--json"}, 1);
    EXPECT_EQ(out.status, 1);
    // Exactly one object (parse() refuses anything after it), exact strings.
    EXPECT_EQ(nlohmann::json::parse(out.text),
              nlohmann::json({{"archive", c.path}, {"error", c.error}}))
        << out.text;
    const Output err = NpzinfoStream({c.path, "--json"}, 2);
    EXPECT_EQ(err.status, 1);
    EXPECT_EQ(err.text, "npzinfo: " + c.error + "\n");
  }
}

TEST(NpzinfoTest, UsageErrorsExitTwoWithOneLineAndAHint) {
  const std::string hint = "Try 'npzinfo --help' for more information.\n";
  const std::string archive = StandardArchive("stored");
  struct Case {
    std::vector<std::string> args;
    std::string text;
  };
  for (const Case& c : std::vector<Case>{
           {{}, "npzinfo: ARCHIVE is required\n" + hint},
           {{"list"}, "npzinfo: ARCHIVE is required\n" + hint},
           {{"--json"}, "npzinfo: ARCHIVE is required\n" + hint},
           {{"--bogus", archive},
            "npzinfo: The following argument was not expected: --bogus\n" + hint},
           {{"list", archive, "-x"},
            "npzinfo: The following argument was not expected: -x\n" + hint},
           {{archive, archive},
            "npzinfo: The following argument was not expected: " + archive + "\n" + hint},
       }) {
    SCOPED_TRACE(::testing::PrintToString(c.args));
    const Output o = Npzinfo(c.args);
    EXPECT_EQ(o.status, 2);
    EXPECT_EQ(o.text, c.text);
  }
}

TEST(NpzinfoTest, HelpAndVersionGoToStdoutAndExitZero) {
  for (const auto& args : std::vector<std::vector<std::string>>{{"-h"}, {"--help"}}) {
    const Output o = Npzinfo(args);
    EXPECT_EQ(o.status, 0);
    EXPECT_EQ(o.text.rfind("Shows what a NumPy .npz archive holds", 0), 0u) << o.text;
    EXPECT_NE(o.text.find("\n  list "), std::string::npos) << o.text;
  }
  // Help for list, also when asked with the subcommand left implicit.
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"list", "--help"}, {"a.npz", "--help"}}) {
    const Output o = Npzinfo(args);
    EXPECT_EQ(o.status, 0);
    EXPECT_NE(o.text.find("Usage: npzinfo list [OPTIONS] ARCHIVE\n"), std::string::npos) << o.text;
    EXPECT_NE(o.text.find("--json"), std::string::npos) << o.text;
  }
  const Output v = Npzinfo({"--version"});
  EXPECT_EQ(v.status, 0);
  EXPECT_EQ(v.text.rfind("npzinfo version ", 0), 0u) << v.text;
  EXPECT_EQ(std::count(v.text.begin(), v.text.end(), '\n'), 1) << v.text;
}

TEST(NpzinfoTest, ListIsTheDefaultSubcommand) {
  const std::string archive = StandardArchive("compressed");
  const Output table = Npzinfo({"list", archive});
  ASSERT_EQ(table.status, 0) << table.text;
  EXPECT_EQ(Npzinfo({archive}).text, table.text);
  const Output json = Npzinfo({"list", archive, "--json"});
  ASSERT_EQ(json.status, 0) << json.text;
  EXPECT_EQ(Npzinfo({archive, "--json"}).text, json.text);
  EXPECT_EQ(Npzinfo({"--json", archive}).text, json.text);
  EXPECT_EQ(Npzinfo({"list", "--json", archive}).text, json.text);
}

// npzinfo(1): a first word "list" is the subcommand; an archive of that
// name is `npzinfo list list`, `npzinfo -- list` or `npzinfo ./list`.
TEST(NpzinfoTest, AnArchiveNamedListWhereUnambiguous) {
  TempDir dir;
  WriteFile(dir.Join("list"), ReadFile(StandardArchive("stored")));
  const Output want = Npzinfo({dir.Join("list")});
  ASSERT_EQ(want.status, 0) << want.text;
  auto in_dir = [&dir](std::vector<std::string> args) {
    std::vector<std::string> argv = {"env", "-C", dir.path(), NPZINFO_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    Output o;
    o.status = RunCommand(argv, &o.text);
    return o;
  };
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"list", "list"}, {"--", "list"}, {"./list"}, {"list", "--", "list"}}) {
    SCOPED_TRACE(::testing::PrintToString(args));
    const Output o = in_dir(args);
    EXPECT_EQ(o.status, 0) << o.text;
    EXPECT_EQ(o.text, want.text);
  }
  EXPECT_EQ(in_dir({"list"}).status, 2);
}

}  // namespace
}  // namespace npzfs::testing
