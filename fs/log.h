// Logging setup: stderr while in the foreground; syslog or log_file= once
// the daemon is in the background.
#ifndef NPZFS_FS_LOG_H_
#define NPZFS_FS_LOG_H_

#include <spdlog/common.h>

#include <string>

#include "core/base/result.h"

namespace npzfs::fs {

// Logs to stderr, plus `log_file` when given (or syslog when `background`
// and no file is given), at `level`. Errors: the log file cannot be opened.
core::Result<void> StartLogging(spdlog::level::level_enum level, const std::string& log_file,
                                bool background);

// Stops logging to stderr (which the daemon no longer has once detached).
void StopLoggingToStderr();

}  // namespace npzfs::fs

#endif  // NPZFS_FS_LOG_H_
