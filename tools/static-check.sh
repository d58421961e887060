#!/usr/bin/env bash
# The static checker: cppcheck over everything the build compiles (core, fs,
# tools, tests), with the checks we keep clean: warning, performance and
# portability, plus the googletest and posix libraries so that it reads the
# tests and system calls right. A finding fails the run; a deliberate
# exception is an inline `// cppcheck-suppress ID ; why` on its line.
# Then clang-format: every C++ file of the repository must be as
# .clang-format lays it out (`clang-format -i FILE` fixes one).
#
#   tools/static-check.sh [BUILD_DIR]     (default build/, configured by cmake)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
[[ -f $build/compile_commands.json ]] || cmake -S . -B "$build" >/dev/null
cppcheck --project="$build/compile_commands.json" -i "$build" \
  --library=googletest --library=posix \
  --enable=warning,performance,portability --inline-suppr \
  --suppress=missingIncludeSystem --error-exitcode=1 --quiet

unformatted=$(git ls-files '*.cc' '*.h' | while read -r f; do
  clang-format "$f" | cmp -s - "$f" || echo "$f"
done)
if [[ -n "$unformatted" ]]; then
  echo "not formatted as .clang-format says (clang-format -i FILE):" >&2
  echo "$unformatted" >&2
  exit 1
fi
