#include "tests/mount/mounted_npz.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <signal.h>
#include <spawn.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace npzfs::testing {
namespace {

constexpr long kFuseSuperMagic = 0x65735546;

double Now() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

// mountinfo escapes spaces and the like as \ooo.
std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

const char* NpzfsBinary() { return NPZFS_BIN; }

bool CanMount() {
  return ::access("/dev/fuse", R_OK | W_OK) == 0 &&
         (::access("/usr/bin/fusermount3", X_OK) == 0 || ::access("/bin/fusermount3", X_OK) == 0);
}

bool IsMountpoint(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, mountpoint;
    fields >> id >> parent >> dev >> root >> mountpoint;
    if (Unescape(mountpoint) == path) return true;
  }
  return false;
}

bool WaitForMount(const std::string& path, bool mounted, double seconds, pid_t daemon) {
  const double deadline = Now() + seconds;
  while (Now() < deadline) {
    struct statfs sf {};
    const bool is_fuse = ::statfs(path.c_str(), &sf) == 0 && sf.f_type == kFuseSuperMagic;
    if (is_fuse == mounted && IsMountpoint(path) == mounted) return true;
    if (daemon > 0 && mounted && ::waitpid(daemon, nullptr, WNOHANG) == daemon) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

int WaitOrKill(pid_t pid, double seconds) {
  const double deadline = Now() + seconds;
  int status = 0;
  while (Now() < deadline) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (r < 0 && errno != EINTR) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return -1;
}

std::unique_ptr<MountedNpz> MountedNpz::Start(const std::string& archive,
                                              const std::vector<std::string>& args) {
  auto dir = std::make_unique<TempDir>();
  const std::string mnt = dir->Join("mnt");
  ::mkdir(mnt.c_str(), 0755);
  auto m = StartAt(archive, mnt, args);
  if (m) m->mnt_dir_ = std::move(dir);  // the mountpoint goes when the mount does
  return m;
}

std::unique_ptr<MountedNpz> MountedNpz::StartAt(const std::string& archive,
                                                const std::string& mountpoint,
                                                const std::vector<std::string>& args) {
  return StartMany({archive}, mountpoint, args);
}

std::unique_ptr<MountedNpz> MountedNpz::StartMany(const std::vector<std::string>& archives,
                                                  const std::string& mountpoint,
                                                  const std::vector<std::string>& args) {
  const std::string& archive = archives.front();
  std::unique_ptr<MountedNpz> m(new MountedNpz);
  m->mnt_ = mountpoint;
  m->log_ = m->dir_.Join("npzfs.log");

  std::vector<std::string> argv = {NpzfsBinary(), "-f"};
  // Indexes go to the test's own directory, not the user's cache, unless
  // the test says where.
  const bool index_given = std::any_of(args.begin(), args.end(), [](const std::string& a) {
    return a.find("index") != std::string::npos;
  });
  if (!index_given) argv.insert(argv.end(), {"-o", "index_dir=" + m->dir_.Join("index")});
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), archives.begin(), archives.end());
  argv.push_back(m->mnt_);
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, m->log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  const int rc = posix_spawn(&m->pid_, cargv[0], &actions, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    ADD_FAILURE() << "cannot run " << NpzfsBinary() << ": " << std::strerror(rc);
    m->unmounted_ = true;
    return nullptr;
  }
  if (!WaitForMount(m->mnt_, true, 20 * kTimeFactor, m->pid_)) {
    ADD_FAILURE() << "npzfs did not mount " << archive << "; its output:\n" << m->Log();
    return nullptr;  // the destructor cleans up
  }
  return m;
}

int MountedNpz::Unmount() {
  if (unmounted_) return -1;
  unmounted_ = true;
  std::string out;
  const int rc = RunCommand({"fusermount3", "-u", mnt_}, &out);
  int status = WaitOrKill(pid_, 20 * kTimeFactor);
  if (rc != 0 || IsMountpoint(mnt_)) {
    ADD_FAILURE() << "fusermount3 -u " << mnt_ << " failed: " << out;
    RunCommand({"fusermount3", "-u", "-z", mnt_});
    status = -1;
  }
  return status;
}

int MountedNpz::Terminate(int signal) {
  unmounted_ = true;
  ::kill(pid_, signal);
  const int status = WaitOrKill(pid_, 20 * kTimeFactor);
  if (!WaitForMount(mnt_, false, 10)) {
    ADD_FAILURE() << "still mounted after the daemon ended";
    RunCommand({"fusermount3", "-u", "-z", mnt_});
  }
  return status;
}

void MountedNpz::KillAndCleanUp() {
  unmounted_ = true;
  ::kill(pid_, SIGKILL);
  WaitOrKill(pid_, 20 * kTimeFactor);
  std::string out;
  if (RunCommand({"fusermount3", "-u", mnt_}, &out) != 0) {
    ADD_FAILURE() << "fusermount3 -u after SIGKILL: " << out;
    RunCommand({"fusermount3", "-u", "-z", mnt_});
  }
}

MountedNpz::~MountedNpz() {
  if (!unmounted_) {
    const int status = Unmount();
    EXPECT_EQ(status, 0) << "npzfs did not exit 0 after unmount; its output:\n" << Log();
  }
  if (IsMountpoint(mnt_)) {
    ADD_FAILURE() << "mount left behind at " << mnt_;
    RunCommand({"fusermount3", "-u", "-z", mnt_});
  }
}

std::string MountedNpz::Log() const {
  std::ifstream in(log_);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace npzfs::testing
