#!/usr/bin/env bash
# The static checker: cppcheck over everything the build compiles (core, fs,
# tools, tests), with the checks we keep clean: warning, performance and
# portability, plus the googletest and posix libraries so that it reads the
# tests and system calls right. A finding fails the run; a deliberate
# exception is an inline `// cppcheck-suppress ID ; why` on its line.
#
#   tools/static-check.sh [BUILD_DIR]     (default build/, configured by cmake)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
[[ -f $build/compile_commands.json ]] || cmake -S . -B "$build" >/dev/null
exec cppcheck --project="$build/compile_commands.json" -i "$build" \
  --library=googletest --library=posix \
  --enable=warning,performance,portability --inline-suppr \
  --suppress=missingIncludeSystem --error-exitcode=1 --quiet
