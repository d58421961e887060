// npzinfo run as a command, for the tests of its subcommands.
#ifndef NPZFS_TESTS_TOOLS_NPZINFO_COMMAND_H_
#define NPZFS_TESTS_TOOLS_NPZINFO_COMMAND_H_

#include <string>
#include <vector>

#include "tests/support/test_support.h"

namespace npzfs::testing {

// What a run printed (stdout and stderr together) and its exit status.
struct Output {
  int status;
  std::string text;
};

// Runs the build's npzinfo (NPZINFO_BIN) with `args`.
inline Output Npzinfo(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {NPZINFO_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  Output o;
  o.status = RunCommand(argv, &o.text);
  return o;
}

}  // namespace npzfs::testing

#endif  // NPZFS_TESTS_TOOLS_NPZINFO_COMMAND_H_
