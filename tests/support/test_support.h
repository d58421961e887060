// Helpers shared by the tests: temporary directories, files, and the
// archives made by tests/support/make_npz.py with a Python that has numpy.
#ifndef NPZFS_TESTS_SUPPORT_TEST_SUPPORT_H_
#define NPZFS_TESTS_SUPPORT_TEST_SUPPORT_H_

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/archive/archive.h"
#include "core/codec/registry.h"

namespace npzfs::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Join(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

// Whole-file helpers; they fail the current test (ADD_FAILURE) on error.
std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, std::string_view bytes);

// Runs argv[0] with arguments (no shell). Returns the exit status (-1 when it
// could not run or died of a signal); stdout and stderr go to *output.
int RunCommand(const std::vector<std::string>& argv, std::string* output = nullptr);

// Runs tests/support/make_npz.py with the configured Python.
int RunMakeNpz(const std::vector<std::string>& args, std::string* output = nullptr);

// Runs tests/support/break_npz.py (broken archives and their expected
// outcomes; see its --help) with the configured Python.
int RunBreakNpz(const std::vector<std::string>& args, std::string* output = nullptr);

// The archive make_npz.py makes for `kind` (the standard ones, and the
// slow ones such as "big"), made once per build directory and version of
// make_npz.py, so that every test process shares them. Returns its path.
std::string StandardArchive(std::string_view kind);

// What Python's zipfile reads of `archive`, made once per archive and
// process: the directory holding N.bin / N.err and index.json.
std::string ZipfileDump(const std::string& archive);

// The bytes as a span of std::byte.
inline std::span<const std::byte> AsBytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}
inline std::string_view AsChars(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// An archive over `bytes` in memory; fails the test (and returns nullptr)
// when it does not open.
std::unique_ptr<core::Archive> OpenBytes(std::string bytes, std::string name = "test.npz");

// The archive at `path`, or nullptr after failing the test.
std::unique_ptr<core::Archive> OpenPath(const std::string& path);

// The position of the member called `name`; fails the test when none is.
size_t IndexOf(const core::Archive& archive, std::string_view name);

// The inflate engines built in (zlib, and igzip where ISA-L is), for
// parameterised tests, and their names for the test names.
std::vector<core::InflateEngine> Engines();
std::string EngineParamName(const ::testing::TestParamInfo<core::InflateEngine>& info);

// Whether `text` says what a manifest wants: a substring, or any of a
// list of them (break_npz.py).
bool Matches(const std::string& text, const nlohmann::json& want);

}  // namespace npzfs::testing

#endif  // NPZFS_TESTS_SUPPORT_TEST_SUPPORT_H_
