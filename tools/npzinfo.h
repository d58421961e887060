// npzinfo's subcommands. Each one is a function that registers it on the
// command line (its options, its help) and, when the command line names it,
// leaves in `run` what it does; npzinfo_main.cc lists them once.
#ifndef NPZFS_TOOLS_NPZINFO_H_
#define NPZFS_TOOLS_NPZINFO_H_

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "core/remote/open_remote.h"

namespace npzfs::tools {

// Exit status, as npzinfo(1) documents it.
inline constexpr int kExitOk = 0;
inline constexpr int kExitArchive = 1;  // the archive cannot be read
inline constexpr int kExitUsage = 2;

// What the chosen subcommand does once the command line is parsed; returns
// the exit status.
using Command = std::function<int()>;

// --s3-endpoint, --s3-region and --ca-file on `sub`, for URLs (as npzfs's
// -o s3_endpoint=, s3_region=, ca_file=).
void AddRemoteOptions(CLI::App* sub, core::RemoteSettings& remote);

// What messages and JSON show of ARCHIVE: a URL without its secrets, a
// path as given.
std::string ShownArchive(const std::string& archive);

// `npzinfo list ARCHIVE [--json]` (also `npzinfo ARCHIVE [--json]`).
void AddList(CLI::App& app, Command& run);

// `npzinfo index ARCHIVE [--index-dir DIR | --index FILE] [--threads N]`.
void AddIndex(CLI::App& app, Command& run);

// `npzinfo pack IN OUT [--store] [--level N] [--chunk SIZE] [--align N]
// [--threads N] [--verify]`.
void AddPack(CLI::App& app, Command& run);

}  // namespace npzfs::tools

#endif  // NPZFS_TOOLS_NPZINFO_H_
