// `npzinfo pack`, run as users run it, and what it writes read back by
// numpy, Python's zipfile, an independent SOZip checker
// (tests/support/sozip_check.py) and npzfs's core; and its parts
// (tools/pack/) where a property is easier to pin down there.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "tests/support/sozip_writer.h"
#include "tests/support/test_support.h"
#include "tests/support/zip_writer.h"
#include "tests/tools/npzinfo_command.h"
#include "tools/pack/packer.h"
#include "tools/pack/sozip_deflate.h"
#include "tools/pack/verify.h"
#include "tools/pack/zip_records.h"

extern char** environ;

namespace npzfs::testing {
namespace {

namespace pack = npzfs::tools::pack;
namespace fs = std::filesystem;

constexpr uint32_t kDefaultChunk = 32 << 10;

// npzinfo's stderr alone.
Output NpzinfoStderr(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/bin/sh", "-c", "exec \"$@\" >/dev/null", "sh", NPZINFO_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  Output o;
  o.status = RunCommand(argv, &o.text);
  return o;
}

Output Python(const char* script, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {NPZFS_PYTHON, "-c", script};
  argv.insert(argv.end(), args.begin(), args.end());
  Output o;
  o.status = RunCommand(argv, &o.text);
  return o;
}

// Packs `in` into `out` with `options`; fails the test unless it works.
void PackOk(const std::string& in, const std::string& out,
            const std::vector<std::string>& options = {}) {
  std::vector<std::string> args = {"pack", in, out};
  args.insert(args.end(), options.begin(), options.end());
  const Output o = Npzinfo(args);
  ASSERT_EQ(o.status, 0) << o.text;
}

nlohmann::json ListJson(const std::string& archive) {
  const Output o = Npzinfo({"list", archive, "--json"});
  EXPECT_EQ(o.status, 0) << o.text;
  return nlohmann::json::parse(o.text, nullptr, false)["members"];
}

// What np.load, and zipfile, read of OUT is what they read of IN: keys in
// order, every array (dtype, shape, order, bytes), allow_pickle's verdict
// on each, non-array members' bytes; names, times, attributes, flags and
// comments; and zipfile's testzip() finds no bad CRC in OUT.
constexpr char kCompareScript[] = R"py(
import sys, zipfile
import numpy as np
src, dst = sys.argv[1], sys.argv[2]
zi, zo = zipfile.ZipFile(src), zipfile.ZipFile(dst)
assert zo.testzip() is None, "testzip"
a, b = zi.infolist(), zo.infolist()
assert [i.filename for i in a] == [o.filename for o in b], "names or order"
for i, o in zip(a, b):
    for field in ("date_time", "external_attr", "internal_attr", "create_system", "comment",
                  "file_size", "CRC"):
        assert getattr(i, field) == getattr(o, field), (i.filename, field)
    assert i.flag_bits & 0x800 == o.flag_bits & 0x800, (i.filename, "UTF-8 flag")
    assert o.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED), i.filename
    assert o.flag_bits & 0x8 == 0, (i.filename, "data descriptor")
    if not i.is_dir():
        assert zi.read(i) == zo.read(o), (i.filename, "bytes")
assert zi.comment == zo.comment, "archive comment"

def load(path, pickle):
    try:
        f = np.load(path, allow_pickle=pickle)
    except Exception:
        return None
    out = []
    for k in f.files:
        try:
            out.append((k, f[k]))
        except Exception as e:
            out.append((k, type(e).__name__ + ": " + str(e)))
    return out

for pickle in (False, True):
    x, y = load(src, pickle), load(dst, pickle)
    assert y is not None, "np.load(OUT)"
    if x is None:  # not an archive np.load takes (a stub in front): bytes compared above
        continue
    assert [k for k, _ in x] == [k for k, _ in y], "keys"
    for (k, u), (_, v) in zip(x, y):
        assert type(u) == type(v), (k, u, v)
        if isinstance(u, (str, bytes)):
            assert u == v, (k, u, v)
        elif u.dtype.hasobject:
            assert u.dtype == v.dtype and u.shape == v.shape and u.tolist() == v.tolist(), k
        else:
            assert u.dtype == v.dtype and u.shape == v.shape, k
            assert u.flags.f_contiguous == v.flags.f_contiguous, k
            assert u.tobytes(order="A") == v.tobytes(order="A"), k
print("ok", len(b))
)py";

void ExpectReadsAsIn(const std::string& in, const std::string& out) {
  const Output o = Python(kCompareScript, {in, out});
  EXPECT_EQ(o.status, 0) << o.text;
}

// tests/support/sozip_check.py's verdict (every deflate member of more
// than `chunk` bytes indexed, every chunk decoding alone). Returns how
// many members it found indexed.
size_t ExpectSozipChecks(const std::string& archive, uint32_t chunk,
                         std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {NPZFS_PYTHON, NPZFS_TEST_SCRIPTS "/sozip_check.py", archive,
                                   "--chunk", std::to_string(chunk)};
  argv.insert(argv.end(), extra.begin(), extra.end());
  std::string text;
  EXPECT_EQ(RunCommand(argv, &text), 0) << text;
  const auto j = nlohmann::json::parse(text, nullptr, false);
  return j.is_discarded() ? 0 : j["members"].size();
}

// The core finds an index of `chunk` for every deflate member of more than
// one chunk, and none for the others. Returns how many it found.
size_t ExpectCoreFindsIndexes(const std::string& archive, uint32_t chunk) {
  auto a = OpenPath(archive);
  if (!a) return 0;
  size_t found = 0;
  for (const core::ZipEntry& e : a->entries()) {
    SCOPED_TRACE(e.name);
    EXPECT_TRUE(e.local_error.empty()) << e.local_error;
    if (e.method == core::kMethodDeflate && e.size > chunk) {
      EXPECT_TRUE(e.sozip) << e.sozip_note;
      if (!e.sozip) continue;
      EXPECT_EQ(e.sozip->chunk_size, chunk);
      EXPECT_EQ(e.sozip->chunk_count(), (e.size + chunk - 1) / chunk);
      ++found;
    } else {
      EXPECT_FALSE(e.sozip);
    }
  }
  return found;
}

// Every stored array's data, and every other stored member's, starts at a
// multiple of `align` (as npzinfo list shows it). Returns how many there
// are.
size_t ExpectStoredAligned(const std::string& archive, uint64_t align) {
  size_t n = 0;
  for (const auto& m : ListJson(archive)) {
    if (m["method"] != "stored" || m["size"] == 0) continue;
    SCOPED_TRACE(m["name"].get<std::string>());
    const uint64_t at = m.contains("array_offset") ? m["array_offset"].get<uint64_t>()
                                                   : m["member_data_offset"].get<uint64_t>();
    EXPECT_EQ(at % align, 0u) << at;
    ++n;
  }
  return n;
}

std::set<std::string> Names(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& f : fs::directory_iterator(dir)) names.insert(f.path().filename());
  return names;
}

size_t Count(const nlohmann::json& members, const char* method) {
  return std::count_if(members.begin(), members.end(),
                       [&](const auto& m) { return m["method"] == method; });
}

// ---------------------------------------------------------------------------
// Round trips of the archives every other test reads: every dtype kind,
// object arrays, empty and 0-d arrays, Fortran order, nested keys, non-.npy
// members and a directory entry, CP437 and UTF-8 names, comments, bzip2 and
// LZMA members, data descriptors, a stub in front, empty members, no
// members at all.

class PackRoundTripTest : public ::testing::TestWithParam<const char*> {};

TEST_P(PackRoundTripTest, NumpyReadsOutAsInAndEveryIndexChecks) {
  TempDir dir;
  const std::string in = StandardArchive(GetParam());
  const std::string out = dir.Join("out.npz");
  PackOk(in, out);
  ExpectReadsAsIn(in, out);
  EXPECT_EQ(ExpectSozipChecks(out, kDefaultChunk), ExpectCoreFindsIndexes(out, kDefaultChunk));
  ExpectStoredAligned(out, 4096);
  EXPECT_EQ(Names(dir.path()), std::set<std::string>{"out.npz"});
}

INSTANTIATE_TEST_SUITE_P(Archives, PackRoundTripTest,
                         ::testing::Values("stored", "compressed", "nonnpy", "cp437", "comment",
                                           "bzip2", "lzma", "descriptor_stored",
                                           "descriptor_compressed", "prefix", "zero_size", "empty"),
                         [](const auto& param) { return std::string(param.param); });

TEST(PackTest, DeflatesWhatShrinksAndIndexesMembersOfMoreThanOneChunk) {
  TempDir dir;
  const std::string out = dir.Join("out.npz");
  PackOk(StandardArchive("stored"), out);  // np.savez: all stored in IN
  const auto members = ListJson(out);
  EXPECT_EQ(Count(members, "deflate"), members.size());
  for (const auto& m : members) {
    EXPECT_EQ(m["sozip"].is_null(), m["size"] <= kDefaultChunk) << m["name"];
  }
}

// np.memmap at the offset npzinfo list shows maps each stored array.
constexpr char kMemmapScript[] = R"py(
import ast, json, sys
import numpy as np
src, dst, listing = sys.argv[1:4]
ref = np.load(src, allow_pickle=True)
n = 0
for m in json.loads(listing)["members"]:
    if "array_offset" not in m:
        continue
    d = m["descr"]
    dt = np.dtype(ast.literal_eval(d) if d.startswith("[") else d)
    if dt.hasobject or 0 in m["shape"]:
        continue
    a = np.memmap(dst, dtype=dt, mode="r", offset=m["array_offset"], shape=tuple(m["shape"]),
                  order="F" if m["fortran_order"] else "C")
    want = ref[m["key"]]
    assert a.shape == want.shape and a.tobytes(order="A") == want.tobytes(order="A"), m["key"]
    n += 1
print(n)
)py";

TEST(PackTest, StoreAlignsEveryArrayForMemmap) {
  TempDir dir;
  const std::string in = StandardArchive("compressed");
  const std::string out = dir.Join("out.npz");
  PackOk(in, out, {"--store"});
  const auto members = ListJson(out);
  EXPECT_EQ(Count(members, "stored"), members.size());
  EXPECT_EQ(ExpectStoredAligned(out, 4096), members.size());
  const Output listing = Npzinfo({"list", out, "--json"});
  const Output o = Python(kMemmapScript, {in, out, listing.text});
  ASSERT_EQ(o.status, 0) << o.text;
  EXPECT_GE(std::stoi(o.text), 25) << "arrays mapped";
  ExpectReadsAsIn(in, out);
  EXPECT_EQ(ExpectCoreFindsIndexes(out, kDefaultChunk), 0u);
}

TEST(PackTest, StoreAlignsNonArrayMembersFromTheirFirstByte) {
  TempDir dir;
  const std::string out = dir.Join("out.npz");
  PackOk(StandardArchive("nonnpy"), out, {"--store"});
  EXPECT_EQ(ExpectStoredAligned(out, 4096), 3u);  // a.npy, notes.txt, README
}

TEST(PackTest, AlignOptionSetsTheAlignment) {
  TempDir dir;
  const std::string in = StandardArchive("compressed");
  std::map<int, uint64_t> size_of;
  for (int align : {1, 64, 65536}) {
    SCOPED_TRACE(align);
    const std::string out = dir.Join(std::to_string(align) + ".npz");
    PackOk(in, out, {"--store", "--align", std::to_string(align)});
    EXPECT_EQ(ExpectStoredAligned(out, align), 35u);
    ExpectReadsAsIn(in, out);
    size_of[align] = fs::file_size(out);
  }
  EXPECT_LT(size_of[1], size_of[64]);
  EXPECT_LT(size_of[64], size_of[65536]);
  // --align 1 pads nothing: a local header is numpy's (30 bytes, the name,
  // the 20-byte zip64 extra), its data right after it.
  size_t header_bytes = 0, data_bytes = 0;
  for (const auto& m : ListJson(dir.Join("1.npz"))) {
    header_bytes += 30 + m["name"].get<std::string>().size() + 20;
    data_bytes += m["size"].get<uint64_t>();
  }
  const auto a = OpenPath(dir.Join("1.npz"));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->entries().back().data_offset + a->entries().back().compressed_size,
            header_bytes + data_bytes);
}

// Random bytes do not deflate smaller: stored (and aligned); the rest of
// the archive is deflated.
TEST(PackTest, StoresMembersThatDoNotShrink) {
  TempDir dir;
  const std::string in = dir.Join("in.npz");
  const Output made = Python(R"py(
import sys
import numpy as np
rng = np.random.default_rng(5)
np.savez_compressed(sys.argv[1], noise=rng.integers(0, 256, 300_000).astype(np.uint8),
                    smooth=np.cumsum(rng.standard_normal(100_000)).astype(np.float32),
                    tiny_noise=rng.integers(0, 256, 20).astype(np.uint8))
)py",
                             {in});
  ASSERT_EQ(made.status, 0) << made.text;
  const std::string out = dir.Join("out.npz");
  PackOk(in, out);
  const auto members = ListJson(out);
  ASSERT_EQ(members.size(), 3u);
  EXPECT_EQ(members[0]["method"], "stored");
  EXPECT_EQ(members[0]["array_offset"].get<uint64_t>() % 4096, 0u);
  EXPECT_EQ(members[1]["method"], "deflate");
  EXPECT_FALSE(members[1]["sozip"].is_null());
  ExpectReadsAsIn(in, out);
  EXPECT_EQ(ExpectSozipChecks(out, kDefaultChunk), 1u);
}

// An archive of several members, one of several groups of chunks, for the
// tests that need compression work to be done.
std::string SmoothArchive(const TempDir& dir, int mebibytes) {
  const std::string in = dir.Join("smooth.npz");
  const Output made = Python(R"py(
import sys
import numpy as np
rng = np.random.default_rng(11)
n = int(sys.argv[2]) << 18
np.savez_compressed(sys.argv[1], a=np.arange(1000), big=np.cumsum(rng.standard_normal(n)).astype(np.float32),
                    b=np.linspace(0, 1, 70_000), c=np.zeros((300, 300), dtype=np.int16, order="F"))
)py",
                             {in, std::to_string(mebibytes)});
  EXPECT_EQ(made.status, 0) << made.text;
  return in;
}

TEST(PackTest, OutputDoesNotDependOnTheNumberOfThreads) {
  TempDir dir;
  const std::string in = SmoothArchive(dir, 6);
  for (const char* chunk : {"32K", "4K"}) {
    SCOPED_TRACE(chunk);
    std::string first;
    for (const char* threads : {"1", "4", "3"}) {
      const std::string out = dir.Join(std::string("t") + threads + ".npz");
      PackOk(in, out, {"--threads", threads, "--chunk", chunk});
      if (first.empty()) {
        first = ReadFile(out);
      } else {
        EXPECT_TRUE(ReadFile(out) == first) << threads << " threads";
      }
    }
  }
}

TEST(PackTest, ChunkOptionSetsTheIndexChunk) {
  TempDir dir;
  const std::string in = SmoothArchive(dir, 2);
  for (uint32_t chunk : {4u << 10, 64u << 10, 1u << 20}) {
    SCOPED_TRACE(chunk);
    const std::string out = dir.Join(std::to_string(chunk) + ".npz");
    PackOk(in, out, {"--chunk", chunk == (1u << 20) ? "1M" : std::to_string(chunk >> 10) + "k"});
    const size_t indexed = ExpectCoreFindsIndexes(out, chunk);
    EXPECT_EQ(ExpectSozipChecks(out, chunk), indexed);
    // a (8 KB), b (560 KB), c (180 KB), big (2 MiB): all past 4K, three
    // past 64K, big alone past 1M.
    EXPECT_EQ(indexed, chunk == (4u << 10) ? 4u : chunk == (64u << 10) ? 3u : 1u);
    ExpectReadsAsIn(in, out);
  }
}

TEST(PackTest, VerifyPassesAndProgressStaysOffWithoutATerminal) {
  TempDir dir;
  const std::string in = StandardArchive("compressed");
  for (const char* mode : {"--level=6", "--store"}) {
    SCOPED_TRACE(mode);
    const std::string out = dir.Join("out.npz");
    const Output o = NpzinfoStderr({"pack", in, out, "--verify", mode});
    EXPECT_EQ(o.status, 0) << o.text;
    EXPECT_EQ(o.text, "");
    ExpectReadsAsIn(in, out);
  }
}

TEST(PackTest, LevelZeroStoresEverything) {
  TempDir dir;
  const std::string out = dir.Join("out.npz");
  PackOk(StandardArchive("compressed"), out, {"--level", "0", "--verify"});
  const auto members = ListJson(out);
  EXPECT_EQ(Count(members, "stored"), members.size());
}

TEST(PackTest, ReplacesAnExistingOut) {
  TempDir dir;
  const std::string out = dir.Join("out.npz");
  WriteFile(out, "an older file");
  PackOk(StandardArchive("nonnpy"), out);
  ExpectReadsAsIn(StandardArchive("nonnpy"), out);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

// More than 65,535 members: zip64 end records for the count.
TEST(PackTest, ManyMembersGetZip64EndRecords) {
  TempDir dir;
  const std::string in = dir.Join("many.npz");
  const Output made = Python(R"py(
import io, sys, zipfile
import numpy as np
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    for i in range(70_000):
        b = io.BytesIO()
        np.save(b, np.array([i], dtype="<i4"))
        z.writestr("m%05d.npy" % i, b.getvalue())
)py",
                             {in});
  ASSERT_EQ(made.status, 0) << made.text;
  const std::string out = dir.Join("out.npz");
  PackOk(in, out, {"--verify"});
  const Output o = Python(R"py(
import sys, zipfile
import numpy as np
with zipfile.ZipFile(sys.argv[1]) as z:
    assert len(z.infolist()) == 70_000 and z.testzip() is None
f = np.load(sys.argv[1])
assert f.files == ["m%05d" % i for i in range(70_000)]
assert f["m69999"].tolist() == [69999]
print("ok")
)py",
                          {out});
  EXPECT_EQ(o.status, 0) << o.text;
  // The end record says 0xffff members; a zip64 locator comes before it.
  const std::string bytes = ReadFile(out);
  ASSERT_GT(bytes.size(), 42u);
  const std::string end = bytes.substr(bytes.size() - 22);
  EXPECT_EQ(end.substr(0, 4), std::string("PK\x05\x06"));
  EXPECT_EQ(end.substr(8, 4), std::string("\xff\xff\xff\xff"));
  EXPECT_EQ(bytes.substr(bytes.size() - 42, 4), std::string("PK\x06\x07"));
}

// ---------------------------------------------------------------------------
// Refusals.

TEST(PackTest, RefusesInAsOut) {
  TempDir dir;
  const std::string in = dir.Join("in.npz");
  fs::copy_file(StandardArchive("compressed"), in);
  const std::string before = ReadFile(in);
  ASSERT_EQ(::link(in.c_str(), dir.Join("hard.npz").c_str()), 0);
  for (const std::string& out : {in, dir.path() + "/./in.npz", dir.Join("hard.npz")}) {
    SCOPED_TRACE(out);
    const Output o = Npzinfo({"pack", in, out});
    EXPECT_EQ(o.status, 2) << o.text;
    EXPECT_NE(o.text.find("npzinfo: IN and OUT are the same file"), std::string::npos) << o.text;
  }
  EXPECT_TRUE(ReadFile(in) == before);
}

TEST(PackTest, RefusesBadOptionsWithUsageStatus) {
  TempDir dir;
  const std::string in = StandardArchive("compressed");
  const std::string out = dir.Join("out.npz");
  const std::vector<std::vector<std::string>> bad = {
      {"--level", "10"},   {"--level", "-1"},   {"--level", "x"},      {"--chunk", "1K"},
      {"--chunk", "4095"}, {"--chunk", "65M"},  {"--chunk", "32X"},    {"--chunk", ""},
      {"--align", "3"},    {"--align", "0"},    {"--align", "131072"}, {"--align", "4K"},
      {"--threads", "0"},  {"--threads", "-2"}, {"--nonsense"},        {"extra-argument"},
  };
  for (const auto& options : bad) {
    std::vector<std::string> args = {"pack", in, out};
    args.insert(args.end(), options.begin(), options.end());
    const Output o = Npzinfo(args);
    EXPECT_EQ(o.status, 2) << options[0] << ": " << o.text;
    EXPECT_EQ(o.text.rfind("npzinfo: ", 0), 0u) << o.text;
  }
  EXPECT_EQ(Npzinfo({"pack", in}).status, 2);
  EXPECT_EQ(Npzinfo({"pack", in, "https://example.invalid/out.npz"}).status, 2);
  EXPECT_FALSE(fs::exists(out));
}

TEST(PackTest, UnreadableInputFailsWithOneLine) {
  TempDir dir;
  const std::string text = dir.Join("text.npz");
  WriteFile(text, "not a zip at all\n");
  const std::string out = dir.Join("out.npz");
  for (const std::string& in :
       {dir.Join("missing.npz"), text, StandardArchive("encrypted"), dir.path()}) {
    SCOPED_TRACE(in);
    const Output o = Npzinfo({"pack", in, out});
    EXPECT_EQ(o.status, 1) << o.text;
    EXPECT_EQ(o.text.rfind("npzinfo: ", 0), 0u) << o.text;
    EXPECT_EQ(std::count(o.text.begin(), o.text.end(), '\n'), 1) << o.text;
  }
  EXPECT_NE(Npzinfo({"pack", StandardArchive("encrypted"), out}).text.find("'a.npy'"),
            std::string::npos);
  EXPECT_EQ(Npzinfo({"pack", StandardArchive("compressed"), dir.path()}).status, 1);
  EXPECT_EQ(Npzinfo({"pack", StandardArchive("compressed"), dir.Join("no/such/dir.npz")}).status,
            1);
  std::vector<std::string> left;
  for (const auto& f : fs::directory_iterator(dir.path())) left.push_back(f.path().filename());
  EXPECT_EQ(left, std::vector<std::string>{"text.npz"});
}

// ---------------------------------------------------------------------------
// A pack killed part way leaves nothing: no OUT, no temporary file, an
// older OUT as it was.

pid_t Spawn(const std::vector<std::string>& argv) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

// Bytes process `pid` has written so far (/proc/PID/io's wchar).
uint64_t BytesWritten(pid_t pid) {
  std::ifstream io("/proc/" + std::to_string(pid) + "/io");
  std::string key;
  uint64_t value;
  while (io >> key >> value) {
    if (key == "wchar:") return value;
  }
  return 0;
}

void KillPackPartWay(const std::string& in, const std::string& out) {
  const pid_t pid = Spawn({NPZINFO_BIN, "pack", in, out, "--threads", "1"});
  ASSERT_GT(pid, 0);
  // The first write comes once a MiB of OUT is ready, a few seconds before
  // the end.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (BytesWritten(pid) == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, WNOHANG), 0) << "the pack ended before it was killed";
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
}

TEST(PackTest, KilledPackLeavesNothingBehind) {
  TempDir dir;
  const std::string in = dir.Join("in.npz");
  fs::copy_file(StandardArchive("big"), in);
  KillPackPartWay(in, dir.Join("out.npz"));
  EXPECT_EQ(Names(dir.path()), std::set<std::string>{"in.npz"});
}

TEST(PackTest, KilledPackLeavesAnOlderOutAsItWas) {
  TempDir dir;
  const std::string in = dir.Join("in.npz");
  fs::copy_file(StandardArchive("big"), in);
  const std::string out = dir.Join("out.npz");
  WriteFile(out, "the archive packed yesterday");
  KillPackPartWay(in, out);
  EXPECT_EQ(ReadFile(out), "the archive packed yesterday");
  EXPECT_EQ(Names(dir.path()), (std::set<std::string>{"in.npz", "out.npz"}));
}

// ---------------------------------------------------------------------------
// A member of more than 4 GiB, zeros with a marked last MiB, deflated in
// IN by Python's zipfile in a stream (a few MB on disk), followed by a
// small one: zip64 sizes in OUT's headers; packed stored, zip64 offsets
// and end records too.

constexpr uint64_t kHugeSize = 4402341478;  // 4.1 GiB

constexpr char kHugeScript[] = R"py(
import io, sys, zipfile
import numpy as np
path, size = sys.argv[1], int(sys.argv[2])
tail = bytes((i * 7) % 251 for i in range(1 << 20))
def header(n):
    b = io.BytesIO()
    np.lib.format.write_array_header_1_0(b, {"descr": "|u1", "fortran_order": False, "shape": (n,)})
    return b.getvalue()
n = size - len(header(0))
head = header(n)
assert len(head) + n == size
zeros = bytes(16 << 20)
with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
    with z.open("huge.npy", "w", force_zip64=True) as f:
        f.write(head)
        left = n - len(tail)
        while left:
            k = min(left, len(zeros))
            f.write(zeros if k == len(zeros) else zeros[:k])
            left -= k
        f.write(tail)
    buf = io.BytesIO()
    np.save(buf, np.arange(10))
    z.writestr("small.npy", buf.getvalue())
)py";

// zipfile's CRC check of every member, the marked last MiB read through
// zipfile, the small array through numpy.
constexpr char kHugeCheckScript[] = R"py(
import sys, zipfile
import numpy as np
path, size = sys.argv[1], int(sys.argv[2])
with zipfile.ZipFile(path) as z:
    assert z.testzip() is None, "testzip"
    huge, small = z.infolist()
    assert huge.file_size == size, huge.file_size
    with z.open("huge.npy") as f:
        f.seek(size - (1 << 20))
        assert f.read() == bytes((i * 7) % 251 for i in range(1 << 20)), "last MiB"
assert np.load(path)["small"].tolist() == list(range(10))
print(huge.compress_type, small.header_offset)
)py";

// IN, made once per build directory (as StandardArchive's are), aside and
// renamed so that test processes running at once never see half of it.
std::string HugeIn() {
  const std::string path = NPZFS_TEST_DATA_DIR "/pack_huge_1.npz";
  if (fs::exists(path)) return path;
  fs::create_directories(NPZFS_TEST_DATA_DIR);
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const Output o = Python(kHugeScript, {tmp, std::to_string(kHugeSize)});
  EXPECT_EQ(o.status, 0) << o.text;
  std::error_code ec;
  fs::rename(tmp, path, ec);
  return path;
}

class PackHugeTest : public ::testing::Test {
 protected:
  TempDir dir_;
};

TEST_F(PackHugeTest, DeflatedWithZip64SizesAndAnIndex) {
  const std::string out = dir_.Join("deflated.npz");
  PackOk(HugeIn(), out, {"--level", "1"});
  const Output o = Python(kHugeCheckScript, {out, std::to_string(kHugeSize)});
  ASSERT_EQ(o.status, 0) << o.text;
  EXPECT_EQ(o.text.substr(0, 2), "8 ");
  EXPECT_EQ(ExpectSozipChecks(out, kDefaultChunk, {"--max-chunks", "64"}), 1u);
  EXPECT_EQ(ExpectCoreFindsIndexes(out, kDefaultChunk), 1u);
}

TEST_F(PackHugeTest, StoredWithZip64OffsetsAndEndRecords) {
  const std::string out = dir_.Join("stored.npz");
  PackOk(HugeIn(), out, {"--store"});
  const Output o = Python(kHugeCheckScript, {out, std::to_string(kHugeSize)});
  ASSERT_EQ(o.status, 0) << o.text;
  EXPECT_EQ(o.text.substr(0, 2), "0 ");
  EXPECT_GT(std::stoull(o.text.substr(2)), uint64_t{1} << 32) << "small.npy's header offset";
  EXPECT_EQ(ExpectStoredAligned(out, 4096), 2u);
}

// ---------------------------------------------------------------------------
// --verify's comparisons, on archives that do not match.

struct Opened {
  std::unique_ptr<core::Archive> archive;
  pack::CentralDirectory cd;
};

Opened OpenWithRecords(const std::string& path) {
  Opened o{OpenPath(path), {}};
  if (!o.archive) return o;
  auto cd = pack::ReadCentralDirectory(o.archive->source(), o.archive->entries().size());
  EXPECT_TRUE(cd) << cd.error().message;
  if (cd) o.cd = std::move(*cd);
  return o;
}

std::string VerifyError(const std::string& in, const std::string& out,
                        const pack::PackOptions& options = {}) {
  Opened a = OpenWithRecords(in), b = OpenWithRecords(out);
  if (!a.archive || !b.archive) return "cannot open";
  pack::Progress progress("verifying", 0);
  auto r = pack::VerifyPacked(*a.archive, a.cd, *b.archive, options, progress);
  return r ? "" : r.error().message;
}

// Two archives alike but for the third value of b.
std::pair<std::string, std::string> TwoArchives(const TempDir& dir) {
  const Output o = Python(R"py(
import sys
import numpy as np
b = np.arange(50_000)
np.savez_compressed(sys.argv[1], a=np.arange(10), b=b)
b[2] = -1
np.savez_compressed(sys.argv[2], a=np.arange(10), b=b)
)py",
                          {dir.Join("one.npz"), dir.Join("two.npz")});
  EXPECT_EQ(o.status, 0) << o.text;
  return {dir.Join("one.npz"), dir.Join("two.npz")};
}

TEST(VerifyTest, PassesOnAPack) {
  TempDir dir;
  auto [one, two] = TwoArchives(dir);
  PackOk(one, dir.Join("out.npz"));
  EXPECT_EQ(VerifyError(one, dir.Join("out.npz")), "");
}

TEST(VerifyTest, NamesTheMemberThatDiffers) {
  TempDir dir;
  auto [one, two] = TwoArchives(dir);
  PackOk(one, dir.Join("out.npz"));
  // b.npy: 128 bytes of header, then int64 values: the third's first byte.
  EXPECT_EQ(VerifyError(two, dir.Join("out.npz")), "'b.npy': differs from IN's at byte 144");
}

TEST(VerifyTest, NamesTheMemberThatDoesNotDecode) {
  TempDir dir;
  auto [one, two] = TwoArchives(dir);
  const std::string out = dir.Join("out.npz");
  PackOk(one, out);
  const auto b = ListJson(out)[1];
  std::string bytes = ReadFile(out);
  bytes[b["member_data_offset"].get<size_t>() + 100] ^= 0x55;
  WriteFile(out, bytes);
  const std::string error = VerifyError(one, out);
  EXPECT_EQ(error.rfind("'b.npy': ", 0), 0u) << error;
}

TEST(VerifyTest, ChecksTheIndexAndTheAlignmentAsAsked) {
  TempDir dir;
  auto [one, two] = TwoArchives(dir);
  const std::string out = dir.Join("out.npz");
  PackOk(one, out);
  pack::PackOptions other_chunk;
  other_chunk.chunk_size = 64 << 10;
  EXPECT_EQ(VerifyError(one, out, other_chunk),
            "'b.npy': no SOZip index of 65536-byte chunks found");
  pack::PackOptions stored;
  stored.store = true;
  EXPECT_EQ(VerifyError(one, out, stored), "'a.npy': compressed with deflate");

  PackOk(one, out, {"--store", "--align", "64"});
  pack::PackOptions aligned;
  aligned.store = true;
  aligned.align = 1 << 16;
  EXPECT_NE(VerifyError(one, out, aligned).find("is not aligned to 65536 bytes"),
            std::string::npos);
}

TEST(VerifyTest, ChecksNamesAndTimes) {
  TempDir dir;
  auto [one, two] = TwoArchives(dir);
  const std::string out = dir.Join("out.npz");
  PackOk(one, out);
  const Output o = Python(R"py(
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as src, zipfile.ZipFile(sys.argv[2], "w") as dst:
    for i in src.infolist():
        i.date_time = (2001, 2, 3, 4, 5, 6)
        dst.writestr(i, src.read(i))
)py",
                          {one, dir.Join("later.npz")});
  ASSERT_EQ(o.status, 0) << o.text;
  EXPECT_EQ(VerifyError(dir.Join("later.npz"), out), "'a.npy': its time differs from IN's");
}

// ---------------------------------------------------------------------------
// The parts.

TEST(PlaceStoredTest, AlignsThePayloadWithAnExtraFieldOrAGap) {
  const std::string name = "a.npy";
  for (uint32_t align : {1u, 2u, 4u, 8u, 64u, 4096u, 65536u}) {
    for (uint64_t at = 0; at < 70'000; at += (align < 64 ? 1 : 7)) {
      const uint64_t payload = at % 3 == 0 ? 0 : 128;
      const pack::Placement p = pack::PlaceStored(at, name, payload, align);
      ASSERT_EQ((at + p.gap + pack::LocalHeaderSize(name, p.padding) + payload) % align, 0u)
          << align << " " << at;
      ASSERT_TRUE(p.padding == 0 || (p.padding >= 6 && p.padding <= 65515)) << align << " " << at;
      ASSERT_TRUE(p.gap == 0 || p.padding == 0) << align << " " << at;
      if (align <= 4096) {
        ASSERT_EQ(p.gap, 0u) << align << " " << at;
      }
    }
  }
  // Already aligned: nothing; one byte short: the smallest extra field
  // that gets there.
  const uint64_t header = pack::LocalHeaderSize(name);
  EXPECT_EQ(pack::PlaceStored(4096 - header, name, 0, 4096).padding, 0u);
  EXPECT_EQ(pack::PlaceStored(4096 - header - 1, name, 0, 4096).padding, 4097u);
  EXPECT_EQ(pack::PlaceStored(4096 - header - 6, name, 0, 4096).padding, 6u);
  // 65536 bytes short of nothing but 3: no extra field of 3 or 65539.
  EXPECT_EQ(pack::PlaceStored(65536 - header - 3, name, 0, 65536).gap, 3u);
}

TEST(LocalHeaderTest, WritesZip64SizesPastTheLimitAndPadding) {
  pack::MemberRecord r;
  r.raw_name = "x.npy";
  r.flags = 0x0808;  // UTF-8 name, and a data descriptor OUT has not
  pack::WrittenMember m{&r, pack::kMethodStored, 0x12345678, uint64_t{5} << 30, uint64_t{5} << 30};
  const std::string h = pack::LocalHeader(m, 10, 4096);
  ASSERT_EQ(h.size(), pack::LocalHeaderSize("x.npy", 10));
  auto le = [&](size_t at, int width) {
    uint64_t v = 0;
    for (int i = width; i-- > 0;) v = v << 8 | static_cast<uint8_t>(h[at + i]);
    return v;
  };
  EXPECT_EQ(le(4, 2), 45u);
  EXPECT_EQ(le(6, 2), 0x0800u);
  EXPECT_EQ(le(18, 4), 0xffffffffu);
  EXPECT_EQ(le(22, 4), 0xffffffffu);
  EXPECT_EQ(le(28, 2), 30u);
  EXPECT_EQ(le(35, 2), 1u);  // zip64 extra: id, 16 bytes, the two sizes
  EXPECT_EQ(le(39, 8), uint64_t{5} << 30);
  EXPECT_EQ(le(55, 2), 0xd935u);
  EXPECT_EQ(le(57, 2), 6u);
  EXPECT_EQ(le(59, 2), 4096u);
}

std::string Inflate(std::string_view deflated, bool* ended) {
  z_stream z{};
  inflateInit2(&z, -15);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(deflated.data()));
  z.avail_in = static_cast<uInt>(deflated.size());
  std::string out;
  char buf[1 << 16];
  int r;
  do {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    r = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
  } while (r == Z_OK && (z.avail_in > 0 || z.avail_out == 0));
  *ended = r == Z_STREAM_END;
  inflateEnd(&z);
  return out;
}

std::string SomeData(size_t size) {
  std::mt19937 rng(3);
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>(i / 1000 % 7 * 31 + rng() % 4);
  return s;
}

// What makes the output the same whatever the threads: a group's bytes
// depend on nothing but its input, not on what the deflater did before.
TEST(ChunkDeflaterTest, AGroupsBytesDependOnItsInputAlone) {
  const std::string data = SomeData(3 << 20);
  const auto bytes = AsBytes(data);
  const uint32_t chunk = 32 << 10;
  const uint64_t group = pack::GroupSize(chunk);
  EXPECT_EQ(group, 1u << 20);
  pack::ChunkDeflater used(6);
  pack::DeflatedGroup a, b;
  ASSERT_TRUE(used.Deflate(bytes.subspan(0, group), chunk, false, a));
  ASSERT_TRUE(used.Deflate(bytes.subspan(group, group), chunk, false, a));
  pack::ChunkDeflater fresh(6);
  ASSERT_TRUE(fresh.Deflate(bytes.subspan(group, group), chunk, false, b));
  EXPECT_TRUE(a.bytes == b.bytes);
  EXPECT_EQ(a.chunk_starts, b.chunk_starts);
}

// Groups concatenated make one deflate stream of the member, ended once;
// every chunk decodes alone from its start.
TEST(ChunkDeflaterTest, GroupsMakeOneStreamOfChunksThatDecodeAlone) {
  const std::string data = SomeData((5 << 20) / 2 + 1234);
  const auto bytes = AsBytes(data);
  const uint32_t chunk = 16 << 10;
  const uint64_t group = pack::GroupSize(chunk);
  std::string stream;
  std::vector<uint64_t> starts{0};
  pack::ChunkDeflater deflater(6);
  for (uint64_t at = 0; at < bytes.size(); at += group) {
    pack::DeflatedGroup g;
    const bool last = bytes.size() - at <= group;
    ASSERT_TRUE(
        deflater.Deflate(bytes.subspan(at, std::min(group, bytes.size() - at)), chunk, last, g));
    if (at > 0) starts.push_back(stream.size());
    for (uint64_t s : g.chunk_starts) starts.push_back(stream.size() + s);
    stream += AsChars(g.bytes);
  }
  ASSERT_EQ(starts.size(), (data.size() + chunk - 1) / chunk);
  bool ended = false;
  EXPECT_TRUE(Inflate(stream, &ended) == data);
  EXPECT_TRUE(ended);
  for (size_t k = 0; k < starts.size(); ++k) {
    const uint64_t end = k + 1 < starts.size() ? starts[k + 1] : stream.size();
    const std::string got =
        Inflate(std::string_view(stream).substr(starts[k], end - starts[k]), &ended);
    ASSERT_TRUE(got == data.substr(k * chunk, chunk)) << "chunk " << k;
    EXPECT_EQ(ended, k + 1 == starts.size()) << "chunk " << k;
  }
}

// The checker is a real one: what the tests' own SOZip writer makes passes,
// an index spoiled in any of these ways fails.
TEST(SozipCheckTest, RejectsSpoiledIndexes) {
  TempDir dir;
  const std::string content = SomeData(200'000);
  auto check = [&](const SozipOptions& o) {
    ZipWriter w;
    AddSozipMember(w, "d/a.npy", content, o);
    const std::string path = dir.Join("x.zip");
    WriteFile(path, w.Finish());
    std::string text;
    return RunCommand({NPZFS_PYTHON, NPZFS_TEST_SCRIPTS "/sozip_check.py", path, "--chunk",
                       std::to_string(o.chunk_size)},
                      &text);
  };
  EXPECT_EQ(check({}), 0);
  EXPECT_EQ(check({.swap_two_offsets = true}), 1);
  EXPECT_EQ(check({.drop_last_offset = true}), 1);
  EXPECT_EQ(check({.version = 2}), 1);
  EXPECT_EQ(check({.size_delta = 1}), 1);
  EXPECT_EQ(check({.bad_crc = true}), 1);
  EXPECT_EQ(check({.name_without_dot = true}), 1);
  EXPECT_EQ(check({.no_index = true}), 1);
  SozipOptions other_chunk;
  other_chunk.chunk_size = 64 << 10;
  EXPECT_EQ(check(other_chunk), 0);
}

}  // namespace
}  // namespace npzfs::testing
