// Logging: stderr while in the foreground; syslog or log_file= once the
// daemon is in the background. Every sink gets each message escaped
// (core::Escape) when it holds anything that could act on a terminal or
// forge a line, whatever the caller quoted: text from an archive never
// reaches a terminal or a log raw.
#ifndef NPZFS_FS_LOG_H_
#define NPZFS_FS_LOG_H_

#include <signal.h>
#include <spdlog/common.h>

#include <memory>
#include <string>
#include <thread>

#include "core/base/result.h"
#include "core/base/unique_fd.h"

namespace npzfs::fs {

// Logs to stderr (only warnings and errors when `background`), and to
// syslog when `syslog`, at `level`. Replaces whatever logging was started
// before, log file included.
void StartLogging(spdlog::level::level_enum level, bool background, bool syslog);

// Logs to the file `path` too, from now on (after StartLogging). `path` is made absolute
// against the working directory (the daemon later moves to /). The file is
// opened O_APPEND|O_NOFOLLOW|O_CLOEXEC|O_NONBLOCK|O_NOCTTY and created 0600
// if missing; no directory is ever made. A path that is a symbolic link,
// FIFO, socket, device or directory is refused before it is opened. Each
// line is one write(2), so lines never interleave, whoever else appends.
// Errors (kInvalidArgument), one line:
// "cannot use 'PATH' as log file: it is a symbolic link".
core::Result<void> OpenLogFile(const std::string& path);

// Opens the log file's path again by the same rules (logrotate has moved
// the file away) and logs there from now on. On failure the old file is
// kept and one error says why; without a log file, one info line says
// there is nothing to reopen. Thread-safe.
void ReopenLogFile();

// Stops logging to stderr (which the daemon no longer has once detached).
void StopLoggingToStderr();

// SIGHUP reopens the log file (logrotate's `postrotate kill -HUP`)
// instead of ending the session, as libfuse's handler would. Install()
// after fuse_set_signal_handlers, whose SIGHUP handler it replaces; Start()
// once the mount is live. The signal
// handler only writes a byte to a pipe; a thread reads it and calls
// ReopenLogFile(). Destroying it puts the previous SIGHUP handler back and
// stops the thread. One per process.
class HangupHandler {
 public:
  // Errors: kIo (no pipe, or sigaction failed).
  static core::Result<std::unique_ptr<HangupHandler>> Install();
  ~HangupHandler();
  HangupHandler(const HangupHandler&) = delete;
  HangupHandler& operator=(const HangupHandler&) = delete;

  // Starts the thread that reopens the log file; signals that came since
  // Install() are served then.
  void Start();

 private:
  HangupHandler(core::UniqueFd read_end, core::UniqueFd write_end, const struct sigaction& previous)
      : read_end_(std::move(read_end)), write_end_(std::move(write_end)), previous_(previous) {}
  void Serve();

  core::UniqueFd read_end_;
  core::UniqueFd write_end_;
  struct sigaction previous_;
  std::thread thread_;
};

}  // namespace npzfs::fs

#endif  // NPZFS_FS_LOG_H_
