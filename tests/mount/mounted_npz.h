// A real npzfs mount for tests: spawns the daemon, waits until the kernel
// shows the mount, and tears it down in the destructor, failing the test
// if the daemon does not exit 0. A mount or daemon is never left behind:
// on any failure the mount is lazily unmounted and the daemon killed.
#ifndef NPZFS_TESTS_MOUNT_MOUNTED_NPZ_H_
#define NPZFS_TESTS_MOUNT_MOUNTED_NPZ_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/test_support.h"

namespace npzfs::testing {

// The daemon under test (the build's npzfs).
const char* NpzfsBinary();

// True when /dev/fuse and fusermount3 are usable here.
bool CanMount();

// How much longer than usual to wait for a daemon: more in sanitized builds.
inline constexpr double kTimeFactor = NPZFS_TEST_TIME_FACTOR;

// True when `path` is a mountpoint in /proc/self/mountinfo.
bool IsMountpoint(const std::string& path);

class MountedNpz {
 public:
  // Runs `npzfs -f ARGS... ARCHIVE MNT` on a fresh directory and waits up
  // to 20 s (times kTimeFactor) for the mount. Returns nullptr (after ADD_FAILURE with the
  // daemon's output) when it does not come up.
  static std::unique_ptr<MountedNpz> Start(const std::string& archive,
                                           const std::vector<std::string>& args = {});
  // The same at an existing directory `mountpoint` (not removed after).
  static std::unique_ptr<MountedNpz> StartAt(const std::string& archive,
                                             const std::string& mountpoint,
                                             const std::vector<std::string>& args = {});
  // `npzfs -f ARGS... ARCHIVES... MOUNTPOINT`: a mount of many.
  static std::unique_ptr<MountedNpz> StartMany(const std::vector<std::string>& archives,
                                               const std::string& mountpoint,
                                               const std::vector<std::string>& args = {});
  ~MountedNpz();
  MountedNpz(const MountedNpz&) = delete;
  MountedNpz& operator=(const MountedNpz&) = delete;

  const std::string& path() const { return mnt_; }
  std::string Path(std::string_view rel) const { return mnt_ + "/" + std::string(rel); }
  pid_t pid() const { return pid_; }

  // fusermount3 -u, then waits for the daemon; returns its exit status
  // (-1 when it had to be killed). Called by the destructor if not before.
  int Unmount();

  // Sends `signal` to the daemon and waits for it; returns its exit status
  // (-1 if it had to be killed). The mount must then be gone.
  int Terminate(int signal);

  // SIGKILL: the daemon dies without unmounting; the mount is left broken
  // (ENOTCONN) until fusermount3 -u, which this then runs.
  void KillAndCleanUp();

  // What the daemon wrote to stderr so far.
  std::string Log() const;

 private:
  MountedNpz() = default;

  TempDir dir_;                       // holds the daemon's log
  std::unique_ptr<TempDir> mnt_dir_;  // holds the mountpoint made by Start()
  std::string mnt_;
  std::string log_;
  pid_t pid_ = -1;
  bool unmounted_ = false;
};

// Waits for `pid` up to `seconds`; returns the exit status, or -1 after
// killing it with SIGKILL when it did not exit in time (or died of a
// signal).
int WaitOrKill(pid_t pid, double seconds);

// Polls until `path` is (or is no longer) a FUSE mount, up to `seconds`.
bool WaitForMount(const std::string& path, bool mounted, double seconds, pid_t daemon = -1);

}  // namespace npzfs::testing

#endif  // NPZFS_TESTS_MOUNT_MOUNTED_NPZ_H_
