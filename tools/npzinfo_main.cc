// npzinfo: what a NumPy .npz archive holds, without mounting it.
//
//   npzinfo [list] ARCHIVE [--json]
//   npzinfo index ARCHIVE [--index-dir DIR | --index FILE] [--threads N]
//   npzinfo pack IN OUT [--store] [--level N] [--chunk SIZE] [--align N]
//                [--threads N] [--verify]
//
// Exit status: 0 done; 1 the archive cannot be read (one line on stderr
// naming the file and the reason); 2 usage error (one line and a hint on
// stderr). npzinfo(1) is the reference.
#include <algorithm>
#include <cassert>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/text.h"
#include "core/remote/url.h"
#include "tools/npzinfo.h"

#ifndef NPZFS_VERSION
#define NPZFS_VERSION "unknown"
#endif

namespace npzfs::tools {

void AddRemoteOptions(CLI::App* sub, core::RemoteSettings& remote) {
  sub->add_option("--s3-endpoint", remote.s3_endpoint,
                  "S3 service for s3:// URLs (default AWS, or AWS_ENDPOINT_URL)");
  sub->add_option("--s3-region", remote.s3_region,
                  "S3 region (default AWS_REGION, the profile's, else us-east-1)");
  sub->add_option("--ca-file", remote.http.ca_file,
                  "Certificate authorities for https:// (default: the system's)");
}

std::string ShownArchive(const std::string& archive) {
  return core::IsRemoteName(archive) ? core::RedactUrl(archive) : archive;
}
namespace {

// Every subcommand, in the order --help lists them.
constexpr void (*kSubcommands[])(CLI::App&, Command&) = {AddList, AddIndex, AddPack};

// What a command line that names no subcommand means.
constexpr std::string_view kDefaultSubcommand = "list";

bool IsSubcommand(const CLI::App& app, const std::string& word) {
  return !app.get_subcommands([&](const CLI::App* sub) { return sub->check_name(word); }).empty();
}

bool IsOwnOption(const CLI::App& app, const std::string& arg) {
  return arg.size() > 1 && arg[0] == '-' && app.get_option_no_throw(arg) != nullptr;
}

// `npzinfo ARCHIVE` is `npzinfo list ARCHIVE`. The first word (an argument
// not starting with '-'; npzinfo's own options take no value, so it is not
// one's value) names the subcommand when it is one's name. Otherwise the
// default subcommand goes in front, unless the line only asks for
// npzinfo's own help or version. A word after "--" never names a
// subcommand, so `npzinfo -- list`, like `npzinfo list list` and
// `npzinfo ./list`, lists an archive named "list".
std::vector<std::string> WithDefaultSubcommand(const CLI::App& app, std::vector<std::string> args) {
  const auto word = std::find_if(args.begin(), args.end(), [](const std::string& a) {
    return a == "--" || a == "-" || a.empty() || a[0] != '-';
  });
  if (word != args.end() && *word != "--" && IsSubcommand(app, *word)) {
    return args;
  }
  const bool own_only = !args.empty() && std::all_of(args.begin(), args.end(),
                                                     [&](auto& a) { return IsOwnOption(app, a); });
  if (!own_only) args.insert(args.begin(), std::string(kDefaultSubcommand));
  return args;
}

// Help and version go to stdout with status 0, as CLI11 does them; every
// other parse error is one line and a hint on stderr.
int ParseFailure(const CLI::App& app, const CLI::ParseError& e) {
  if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
  std::cerr << "npzinfo: " << core::Escape(e.what()) << '\n'
            << "Try 'npzinfo --help' for more information.\n";
  return kExitUsage;
}

int Main(int argc, char** argv) {
  CLI::App app("Shows what a NumPy .npz archive holds, without mounting it.", "npzinfo");
  app.set_version_flag("--version", "npzinfo version " NPZFS_VERSION);
  app.require_subcommand(1);
  app.footer(std::string("Without a subcommand, npzinfo ARCHIVE means npzinfo ") +
             std::string(kDefaultSubcommand) + " ARCHIVE. See npzinfo(1).");
  Command run;
  for (auto add : kSubcommands) add(app, run);

  std::vector<std::string> args = WithDefaultSubcommand(app, {argv + 1, argv + argc});
  std::reverse(args.begin(), args.end());  // CLI11 takes the arguments last first
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return ParseFailure(app, e);
  }
  assert(run);  // require_subcommand(1), and every subcommand sets it
  return run();
}

}  // namespace
}  // namespace npzfs::tools

int main(int argc, char** argv) { return npzfs::tools::Main(argc, argv); }
