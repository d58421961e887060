// Helpers shared by the tests: temporary directories, files, and the
// archives made by tests/support/make_npz.py with a Python that has numpy.
#ifndef NPZFS_TESTS_SUPPORT_TEST_SUPPORT_H_
#define NPZFS_TESTS_SUPPORT_TEST_SUPPORT_H_

#include <span>
#include <string>
#include <string_view>
#include <vector>

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

// The standard archives (make_npz.py STANDARD), made once per process in a
// directory removed at exit. Returns the path of `kind`.npz.
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

}  // namespace npzfs::testing

#endif  // NPZFS_TESTS_SUPPORT_TEST_SUPPORT_H_
