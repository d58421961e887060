#include "fs/log.h"

#include <fcntl.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <mutex>
#include <string_view>

#include "core/base/text.h"
#include "core/source/file_source.h"

namespace npzfs::fs {
namespace {

// Forwards each line to every sink, its message escaped first when it
// needs it: done once here, so that no sink ever gets archive text raw,
// even from a caller that forgot to quote it.
class EscapingSink final : public spdlog::sinks::dist_sink_mt {
 protected:
  using Base = spdlog::sinks::dist_sink_mt;

  void sink_it_(const spdlog::details::log_msg& msg) override {
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    if (!core::NeedsEscape(payload)) return Base::sink_it_(msg);
    const std::string escaped = core::Escape(payload);
    spdlog::details::log_msg copy(msg);
    copy.payload = spdlog::string_view_t(escaped.data(), escaped.size());
    Base::sink_it_(copy);
  }
};

// Appends each formatted line to the log file with a single write(2):
// with O_APPEND the kernel puts each line whole at the end, so lines from
// several threads or processes never interleave.
class FileSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  FileSink(std::string path, core::UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}

  const std::string& path() const { return path_; }

  // Writes to `fd` from now on; the old descriptor is closed.
  void Replace(core::UniqueFd fd) {
    std::lock_guard lock(mutex_);
    fd_ = std::move(fd);
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    size_t done = 0;
    while (done < line.size()) {
      const ssize_t n = ::write(fd_.get(), line.data() + done, line.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;  // a full disk loses the line; nothing better to do
      done += static_cast<size_t>(n);
    }
  }
  void flush_() override {}  // nothing is buffered

 private:
  const std::string path_;  // absolute
  core::UniqueFd fd_;
};

core::Error CannotUse(const std::string& shown, const std::string& why) {
  return core::MakeError(core::Errc::kInvalidArgument,
                         "cannot use " + core::Quote(shown) + " as log file: " + why);
}

std::string ItIs(mode_t mode) { return "it is " + std::string(core::FileTypeName(mode)); }

// Opens `path` for appending, creating it 0600, if it is (or will be) a
// regular file. lstat first, so that a FIFO (the open would wait for a
// reader) or a device (opening it acts on it) is never opened; fstat
// after, in case the name was pointed elsewhere in between. Messages name
// `shown`.
core::Result<core::UniqueFd> OpenSafely(const std::string& path, const std::string& shown) {
  struct stat seen {};
  const bool existed = ::lstat(path.c_str(), &seen) == 0;
  if (!existed && errno != ENOENT) return core::Fail(CannotUse(shown, std::strerror(errno)));
  if (existed && !S_ISREG(seen.st_mode)) return core::Fail(CannotUse(shown, ItIs(seen.st_mode)));
  core::UniqueFd fd(
      ::open(path.c_str(),
             O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0600));
  if (!fd.valid()) {
    const int e = errno;
    return core::Fail(CannotUse(shown, e == ELOOP ? ItIs(S_IFLNK) : std::strerror(e)));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return core::Fail(CannotUse(shown, std::strerror(errno)));
  if (!S_ISREG(st.st_mode)) return core::Fail(CannotUse(shown, ItIs(st.st_mode)));
  if (existed && (st.st_dev != seen.st_dev || st.st_ino != seen.st_ino)) {
    return core::Fail(CannotUse(shown, "it was replaced while being opened"));
  }
  return fd;
}

// The daemon moves to / once mounted: a relative path would name
// another file when it is reopened.
std::string Absolute(const std::string& path) {
  if (path.starts_with('/')) return path;
  char cwd[PATH_MAX];
  if (::getcwd(cwd, sizeof cwd) == nullptr) return path;
  return std::string(cwd) + "/" + path;
}

// The sinks in use. `mu` guards the members (the SIGHUP thread reads
// `file`); the sinks themselves are thread-safe.
struct Sinks {
  std::mutex mu;
  std::shared_ptr<EscapingSink> all;
  std::shared_ptr<spdlog::sinks::sink> stderr_sink;
  std::shared_ptr<FileSink> file;
};

Sinks& State() {
  static Sinks sinks;
  return sinks;
}

// The write end of the SIGHUP pipe, for the signal handler.
std::atomic<int> g_hangup_fd{-1};
static_assert(std::atomic<int>::is_always_lock_free);  // async-signal-safe

void OnHangup(int) {
  const int saved = errno;
  const char byte = 'h';
  // A full pipe already holds a pending reopen: the byte is not needed.
  if (::write(g_hangup_fd.load(), &byte, 1) < 0) {
  }
  errno = saved;
}

}  // namespace

void StartLogging(spdlog::level::level_enum level, bool background, bool syslog) {
  auto all = std::make_shared<EscapingSink>();
  auto err = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  err->set_pattern("npzfs: %l: %v");
  // In the background the terminal only hears of problems; the rest goes
  // to syslog or the log file.
  if (background) err->set_level(std::max(level, spdlog::level::warn));
  all->add_sink(err);
  if (syslog) {
    auto sys = std::make_shared<spdlog::sinks::syslog_sink_mt>("npzfs", LOG_PID, LOG_DAEMON, true);
    sys->set_pattern("%v");
    all->add_sink(sys);
  }
  auto logger = std::make_shared<spdlog::logger>("npzfs", all);
  logger->set_level(level);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  Sinks& state = State();
  std::lock_guard lock(state.mu);
  state.all = all;
  state.stderr_sink = err;
  state.file.reset();
}

core::Result<void> OpenLogFile(const std::string& path) {
  const std::string absolute = Absolute(path);
  auto fd = OpenSafely(absolute, path);
  if (!fd) return core::Fail(std::move(fd).error());
  auto file = std::make_shared<FileSink>(absolute, std::move(*fd));
  file->set_pattern("%Y-%m-%d %H:%M:%S.%e [%P] %l: %v");
  Sinks& state = State();
  std::lock_guard lock(state.mu);
  if (state.file) state.all->remove_sink(state.file);
  state.file = file;
  state.all->add_sink(file);
  return {};
}

void ReopenLogFile() {
  std::shared_ptr<FileSink> file;
  {
    std::lock_guard lock(State().mu);
    file = State().file;
  }
  if (!file) return spdlog::info("no log_file= to reopen: nothing done");
  auto fd = OpenSafely(file->path(), file->path());
  if (!fd) {
    return spdlog::error("{}; still logging to the file opened before", fd.error().message);
  }
  file->Replace(std::move(*fd));
  spdlog::info("reopened log file {}", core::Quote(file->path(), core::Quoting::kWhenNeeded));
}

void StopLoggingToStderr() {
  Sinks& state = State();
  std::lock_guard lock(state.mu);
  if (state.all && state.stderr_sink) state.all->remove_sink(state.stderr_sink);
}

core::Result<std::unique_ptr<HangupHandler>> HangupHandler::Install() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return core::Fail(core::IoError(errno, "SIGHUP: pipe"));
  core::UniqueFd read_end(fds[0]), write_end(fds[1]);
  // The handler must never block.
  if (::fcntl(write_end.get(), F_SETFL, O_NONBLOCK) != 0) {
    return core::Fail(core::IoError(errno, "SIGHUP: fcntl"));
  }
  g_hangup_fd.store(write_end.get());
  struct sigaction sa {};
  sa.sa_handler = OnHangup;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // the loop's reads go on as if nothing happened
  struct sigaction previous {};
  if (::sigaction(SIGHUP, &sa, &previous) != 0) {
    const int e = errno;
    g_hangup_fd.store(-1);
    return core::Fail(core::IoError(e, "SIGHUP: sigaction"));
  }
  return std::unique_ptr<HangupHandler>(
      new HangupHandler(std::move(read_end), std::move(write_end), previous));
}

void HangupHandler::Start() {
  // Signals go to the other threads, as libfuse's workers block them too:
  // SIGINT and SIGTERM must interrupt the thread that runs the loop.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  thread_ = std::thread([this] { Serve(); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

void HangupHandler::Serve() {
  char byte = 0;
  for (;;) {
    const ssize_t n = ::read(read_end_.get(), &byte, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the write end is closed: time to stop
    ReopenLogFile();
  }
}

// Signals are handled by the thread running this (the main thread), so no
// handler can be writing to the pipe while it is closed.
HangupHandler::~HangupHandler() {
  ::sigaction(SIGHUP, &previous_, nullptr);
  g_hangup_fd.store(-1);
  write_end_.Reset();
  if (thread_.joinable()) thread_.join();
}

}  // namespace npzfs::fs
