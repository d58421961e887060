// npzinfo, run as users run it, against what numpy reads of the archive.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "tests/support/sozip_writer.h"
#include "tests/support/test_support.h"
#include "tests/support/zip_writer.h"
#include "tests/tools/npzinfo_command.h"

namespace npzfs::testing {
namespace {

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

// An archive written by Python's zipfile with a member of each name, in
// order: a small int32 array (140 bytes, stored) for a name ending in
// .npy, one byte otherwise.
std::string ArchiveWithNames(const TempDir& dir, const std::vector<std::string>& names) {
  static constexpr char kScript[] = R"(
import io, json, sys, zipfile
import numpy as np
with open(sys.argv[1], encoding="utf-8") as f:
    names = json.load(f)
with zipfile.ZipFile(sys.argv[2], "w") as z:
    for name in names:
        data = b"x"
        if name.endswith(".npy"):
            buf = io.BytesIO()
            np.save(buf, np.arange(3, dtype="<i4"))
            data = buf.getvalue()
        z.writestr(name, data)
)";
  WriteFile(dir.Join("names.json"), nlohmann::json(names).dump());
  const std::string archive = dir.Join("names.npz");
  std::string out;
  EXPECT_EQ(RunCommand({NPZFS_PYTHON, "-c", kScript, dir.Join("names.json"), archive}, &out), 0)
      << out;
  return archive;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  for (size_t p = 0, q; (q = text.find('\n', p)) != std::string::npos; p = q + 1) {
    lines.push_back(text.substr(p, q - p));
  }
  return lines;
}

std::string RightAligned(const std::string& text, size_t width) {
  return std::string(width - std::min(width, text.size()), ' ') + text;
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

// SOZip-indexed members are shown; Python's zipfile reads the archive as
// any other (the index entry is not a member).
TEST(NpzinfoTest, ShowsWhichMembersAreSozipIndexed) {
  TempDir dir;
  std::string payload(200'000, '\0');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i % 13);
  const std::string npy = NpyV1("|u1", "(200000,)", payload);
  ZipWriter w;
  AddSozipMember(w, "a.npy", npy, {.chunk_size = 32 << 10});
  AddSozipMember(w, "b.npy", npy, {.chunk_size = 32 << 10, .version = 9});
  w.AddStored("c.npy", npy);
  const std::string archive = dir.Join("sozip.npz");
  WriteFile(archive, w.Finish());

  const Output json = Npzinfo({archive, "--json"});
  ASSERT_EQ(json.status, 0) << json.text;
  const auto got = nlohmann::json::parse(json.text);
  ASSERT_EQ(got["members"].size(), 3u);
  EXPECT_EQ(got["members"][0]["sozip"],
            nlohmann::json({{"chunk_size", 32768}, {"chunks", 7}}));  // ceil(200128 / 32768)
  EXPECT_TRUE(got["members"][1]["sozip"].is_null());
  EXPECT_NE(got["members"][1]["sozip_note"].get<std::string>().find("version 9"),
            std::string::npos);
  EXPECT_TRUE(got["members"][2]["sozip"].is_null());

  const Output table = Npzinfo({archive});
  ASSERT_EQ(table.status, 0) << table.text;
  EXPECT_NE(table.text.find("SOZip index: 7 chunks of 32 KiB"), std::string::npos) << table.text;

  const std::string dump = ZipfileDump(archive);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(ReadFile(dump + "/" + std::to_string(i) + ".bin") == npy) << i;
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
           {dir.path(), "npzinfo: " + dir.path() + ": not a regular file (a directory)\n"},
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
           {dir.path(), dir.path() + ": not a regular file (a directory)"},
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
  // A path is the user's, but what could act on a terminal is quoted and
  // escaped in the message, and the message is exact in JSON.
  const std::string odd = dir.Join("odd\x1b[2J\nname.npz");
  const std::string said =
      "'" + dir.Join("odd\\x1b[2J\\nname.npz") + "': No such file or directory";
  const Output out = NpzinfoStream({odd, "--json"}, 1);
  EXPECT_EQ(nlohmann::json::parse(out.text), nlohmann::json({{"archive", odd}, {"error", said}}));
  EXPECT_EQ(NpzinfoStream({odd, "--json"}, 2).text, "npzinfo: " + said + "\n");
}

// Names that would act on a terminal (colour, bell, carriage return, a
// forged line, a tab, DEL, and a right-to-left override that shows
// "rlo" U+202E "txt.exe" as "rloexe.txt") are shown as escapes, quoted.
TEST(NpzinfoTest, TableEscapesWhatCameFromTheArchive) {
  TempDir dir;
  const std::vector<std::string> keys = {
      "esc\x1b[31mred", "bel\x07", "cr\rx", "lf\nx", "tab\tx", "del\x7f", "rlo\u202etxt.exe",
  };
  std::vector<std::string> names;
  for (const auto& k : keys) names.push_back(k + ".npy");
  names.push_back("notes\x1b.txt");
  const std::string archive = ArchiveWithNames(dir, names);
  const Output json = NpzinfoStream({archive, "--json"}, 1);
  ASSERT_EQ(json.status, 0) << json.text;
  const auto members = nlohmann::json::parse(json.text)["members"];
  ASSERT_EQ(members.size(), names.size());
  auto offset = [&](size_t i) {
    return RightAligned(std::to_string(members[i]["array_offset"].get<uint64_t>()), 6);
  };
  const std::string array = "<i4    (3,)   C      stored   140    140  ";
  const std::vector<std::string> want = {
      "KEY                 DTYPE  SHAPE  ORDER  METHOD  SIZE  CSIZE  OFFSET  NOTE",
      "'esc\\x1b[31mred'    " + array + offset(0),
      "'bel\\x07'           " + array + offset(1),
      "'cr\\rx'             " + array + offset(2),
      "'lf\\nx'             " + array + offset(3),
      "'tab\\tx'            " + array + offset(4),
      "'del\\x7f'           " + array + offset(5),
      "'rlo\\u202etxt.exe'  " + array + offset(6),
      "'notes\\x1b.txt'     -      -      -      stored     1      1       -  not an array",
  };
  const Output table = NpzinfoStream({archive}, 1);
  ASSERT_EQ(table.status, 0) << table.text;
  EXPECT_EQ(Lines(table.text), want) << table.text;
  for (size_t i = 0; i < table.text.size(); ++i) {
    const auto b = static_cast<unsigned char>(table.text[i]);
    EXPECT_TRUE((b >= 0x20 && b != 0x7f) || b == '\n') << "byte " << i << ": " << int{b};
  }
  EXPECT_EQ(table.text.find("\u202e"), std::string::npos);  // as UTF-8 bytes
}

TEST(NpzinfoTest, JsonKeepsExactNames) {
  TempDir dir;
  const std::vector<std::string> names = {
      "esc\x1b[31mred.npy", "bel\x07.npy",      "cr\r.npy", "lf\n.npy", "tab\t.npy",
      "del\x7f.npy",        "rlo\u202etxt.npy", "a\\b.npy", "温度.npy", "notes\x1b.txt"};
  const std::string archive = ArchiveWithNames(dir, names);
  const Output o = NpzinfoStream({archive, "--json"}, 1);
  ASSERT_EQ(o.status, 0) << o.text;
  const auto members = nlohmann::json::parse(o.text)["members"];
  ASSERT_EQ(members.size(), names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(members[i]["name"], names[i]);
    const bool npy = names[i].ends_with(".npy");
    EXPECT_EQ(members[i]["key"], npy ? names[i].substr(0, names[i].size() - 4) : names[i]);
  }
}

// Terminal columns of UTF-8 `text`, for the test's own names: CJK
// ideographs take two, every other code point one.
size_t Columns(std::string_view text) {
  size_t columns = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto b = static_cast<unsigned char>(text[i]);
    if ((b & 0xC0) == 0x80) continue;                   // continuation byte
    columns += (b == 0xE4 || b == 0xE5 || b == 0xE6 ||  // U+4000-U+6FFF
                b == 0xE7 || b == 0xE8 || b == 0xE9)    // U+7000-U+9FFF
                   ? 2
                   : 1;
  }
  return columns;
}

// Each cell's first and last terminal column on a line whose cells are
// two or more spaces apart.
std::vector<std::pair<size_t, size_t>> CellSpans(const std::string& line) {
  std::vector<std::pair<size_t, size_t>> spans;
  size_t i = 0;
  while (i < line.size()) {
    const size_t start = line.find_first_not_of(' ', i);
    if (start == std::string::npos) break;
    size_t end = line.find("  ", start);
    if (end == std::string::npos) end = line.size();
    spans.emplace_back(Columns(line.substr(0, start)), Columns(line.substr(0, end)));
    i = end;
  }
  return spans;
}

TEST(NpzinfoTest, TableColumnsAlignByDisplayWidth) {
  TempDir dir;
  const std::string archive =
      ArchiveWithNames(dir, {"温度.npy", "é.npy", "x.npy", "温度/é.npy", "ab.npy"});
  const Output o = NpzinfoStream({archive}, 1);
  ASSERT_EQ(o.status, 0) << o.text;
  const std::vector<std::string> lines = Lines(o.text);
  ASSERT_EQ(lines.size(), 6u) << o.text;
  const auto head = CellSpans(lines[0]);
  ASSERT_EQ(head.size(), 9u);
  for (size_t l = 1; l < lines.size(); ++l) {
    SCOPED_TRACE(lines[l]);
    const auto cells = CellSpans(lines[l]);
    ASSERT_EQ(cells.size(), 8u);  // no NOTE
    for (size_t c = 0; c < 5; ++c) EXPECT_EQ(cells[c].first, head[c].first) << "column " << c;
    for (size_t c = 5; c < 8; ++c) EXPECT_EQ(cells[c].second, head[c].second) << "column " << c;
  }
  EXPECT_EQ(lines[1].rfind("温度    <i4", 0), 0u) << lines[1];
  EXPECT_EQ(lines[2].rfind("é       <i4", 0), 0u) << lines[2];
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
