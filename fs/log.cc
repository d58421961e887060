#include "fs/log.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>
#include <syslog.h>

#include <algorithm>
#include <memory>

namespace npzfs::fs {
namespace {

std::shared_ptr<spdlog::sinks::dist_sink_mt>& Sinks() {
  static auto sinks = std::make_shared<spdlog::sinks::dist_sink_mt>();
  return sinks;
}
std::shared_ptr<spdlog::sinks::sink>& StderrSink() {
  static std::shared_ptr<spdlog::sinks::sink> sink;
  return sink;
}

}  // namespace

core::Result<void> StartLogging(spdlog::level::level_enum level, const std::string& log_file,
                                bool background) {
  auto& sinks = Sinks();
  StderrSink() = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  StderrSink()->set_pattern("npzfs: %l: %v");
  // In the background the terminal only hears of problems; the rest goes
  // to syslog or the log file.
  if (background) StderrSink()->set_level(std::max(level, spdlog::level::warn));
  sinks->add_sink(StderrSink());
  if (!log_file.empty()) {
    try {
      auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(log_file);
      file->set_pattern("%Y-%m-%d %H:%M:%S.%e [%P] %l: %v");
      sinks->add_sink(file);
    } catch (const spdlog::spdlog_ex& e) {
      return core::Fail(core::MakeError(core::Errc::kInvalidArgument,
                                        "cannot open log file " + log_file + ": " + e.what()));
    }
  } else if (background) {
    auto sys = std::make_shared<spdlog::sinks::syslog_sink_mt>("npzfs", LOG_PID, LOG_DAEMON, true);
    sys->set_pattern("%v");
    sinks->add_sink(sys);
  }
  auto logger = std::make_shared<spdlog::logger>("npzfs", sinks);
  logger->set_level(level);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  return {};
}

void StopLoggingToStderr() {
  if (StderrSink()) Sinks()->remove_sink(StderrSink());
}

}  // namespace npzfs::fs
