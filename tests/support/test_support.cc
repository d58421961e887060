#include "tests/support/test_support.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>

#include "core/source/file_source.h"
#include "core/source/memory_source.h"

extern char** environ;

namespace npzfs::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/npzfs-test-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp " << tmpl << ": " << std::strerror(errno);
  }
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "cannot read " << path;
    return {};
  }
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) ADD_FAILURE() << "cannot write " << path;
}

int RunCommand(const std::vector<std::string>& argv, std::string* output) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return -1;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipefd[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(pipefd[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) out.append(buf, static_cast<size_t>(n));
  }
  ::close(pipefd[0]);
  if (output) *output = out;
  if (rc != 0) return -1;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int RunMakeNpz(const std::vector<std::string>& args, std::string* output) {
  std::vector<std::string> argv = {NPZFS_PYTHON, NPZFS_TEST_SCRIPTS "/make_npz.py"};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, output);
}

int RunBreakNpz(const std::vector<std::string>& args, std::string* output) {
  std::vector<std::string> argv = {NPZFS_PYTHON, NPZFS_TEST_SCRIPTS "/break_npz.py"};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, output);
}

namespace {

// Directories that live until the process exits.
struct ProcessDirs {
  std::mutex mu;
  std::unique_ptr<TempDir> dumps;
  std::map<std::string, std::string> dump_of;
};

ProcessDirs& Dirs() {
  static ProcessDirs* dirs = [] {
    auto* d = new ProcessDirs;
    std::atexit([] { Dirs().dumps.reset(); });
    return d;
  }();
  return *dirs;
}

bool IsStandard(std::string_view kind) {
  // make_npz.py's STANDARD.
  for (const char* k :
       {"stored", "compressed", "descriptor_stored", "descriptor_compressed", "comment", "nonnpy",
        "bzip2", "lzma", "prefix", "junk_after", "encrypted", "cp437", "empty"}) {
    if (kind == k) return true;
  }
  return false;
}

// Makes `what` ("standard" or one kind) in `dir`, aside and renamed, so
// that test processes running at once never see half of it.
void MakeOnce(const std::string& dir, const std::string& what) {
  namespace fs = std::filesystem;
  if (fs::exists(dir)) return;
  const std::string tmp = dir + ".tmp." + std::to_string(::getpid());
  fs::create_directories(tmp);
  std::string out;
  if (RunMakeNpz({tmp, what}, &out) != 0) ADD_FAILURE() << "make_npz.py " << what << ":\n" << out;
  std::error_code ec;
  fs::rename(tmp, dir, ec);  // another process may have won: its copy is as good
  fs::remove_all(tmp, ec);
}

}  // namespace

std::string StandardArchive(std::string_view kind) {
  const std::string data = NPZFS_TEST_DATA_DIR;
  const std::string dir = data + "/" + (IsStandard(kind) ? "standard" : std::string(kind));
  MakeOnce(dir, IsStandard(kind) ? "standard" : std::string(kind));
  return dir + "/" + std::string(kind) + ".npz";
}

std::string ZipfileDump(const std::string& archive) {
  ProcessDirs& d = Dirs();
  std::lock_guard lock(d.mu);
  if (auto it = d.dump_of.find(archive); it != d.dump_of.end()) return it->second;
  if (!d.dumps) d.dumps = std::make_unique<TempDir>();
  std::string dir = d.dumps->Join(std::to_string(d.dump_of.size()));
  std::string out;
  if (RunMakeNpz({"--dump", archive, dir}, &out) != 0) {
    ADD_FAILURE() << "make_npz.py --dump " << archive << " failed:\n" << out;
  }
  d.dump_of[archive] = dir;
  return dir;
}

std::unique_ptr<core::Archive> OpenBytes(std::string bytes, std::string name) {
  auto a = core::Archive::FromSource(
      std::make_unique<core::MemorySource>(std::move(bytes), std::move(name)));
  EXPECT_TRUE(a) << a.error().message;
  return a ? std::move(*a) : nullptr;
}

std::unique_ptr<core::Archive> OpenPath(const std::string& path) {
  auto src = core::FileSource::Open(path);
  EXPECT_TRUE(src) << src.error().message;
  if (!src) return nullptr;
  auto a = core::Archive::FromSource(std::move(*src));
  EXPECT_TRUE(a) << a.error().message;
  return a ? std::move(*a) : nullptr;
}

size_t IndexOf(const core::Archive& archive, std::string_view name) {
  for (size_t i = 0; i < archive.entries().size(); ++i) {
    if (archive.entries()[i].name == name) return i;
  }
  ADD_FAILURE() << "no member " << name;
  return 0;
}

std::vector<core::InflateEngine> Engines() {
  std::vector<core::InflateEngine> e{core::InflateEngine::kZlib};
  if (core::IsalAvailable()) e.push_back(core::InflateEngine::kIsal);
  return e;
}

std::string EngineParamName(const ::testing::TestParamInfo<core::InflateEngine>& info) {
  return info.param == core::InflateEngine::kIsal ? "isal" : "zlib";
}

bool Matches(const std::string& text, const nlohmann::json& want) {
  if (want.is_string()) return text.find(want.get<std::string>()) != std::string::npos;
  return std::any_of(want.begin(), want.end(),
                     [&](const nlohmann::json& w) { return Matches(text, w); });
}

}  // namespace npzfs::testing
