// FUZZ_CHECK: an invariant of a fuzz target. Unlike assert() it stays on in
// release builds (the fuzz and replay builds are RelWithDebInfo, NDEBUG),
// and it says which invariant broke before aborting, so that libFuzzer (or
// ctest) records the input as a crash.
#ifndef NPZFS_TESTS_FUZZ_FUZZ_CHECK_H_
#define NPZFS_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "core/base/text.h"

#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (false)

namespace npzfs::fuzz {

// A message as npzfs gives them: not empty, one line, valid UTF-8.
inline bool OneLine(std::string_view message) {
  return !message.empty() && message.find('\n') == std::string_view::npos &&
         core::IsValidUtf8(message);
}

}  // namespace npzfs::fuzz

#endif  // NPZFS_TESTS_FUZZ_FUZZ_CHECK_H_
