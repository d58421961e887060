#!/usr/bin/env bash
# Builds npzfs and runs every test: a warning-free (-Werror) build, the
# Debian package test (tools/package-test.sh), the static checker
# (tools/static-check.sh: cppcheck and clang-format), a clang build that
# checks the locking (-Wthread-safety -Werror), then the same tests under
# ASan+UBSan. Installs missing Debian packages first.
#
#   tools/test.sh            # both builds
#   NPZFS_TEST_SANITIZE=0 tools/test.sh   # skip the sanitizer build
set -euo pipefail
cd "$(dirname "$0")/.."

tools/deps.sh

jobs=$(nproc)
run_build() {
  local dir=$1; shift
  cmake -S . -B "$dir" -DNPZFS_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
  (cd "$dir" && ctest --output-on-failure -j "$jobs")
}

echo "== build and test: build/"
run_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "== Debian package: build-pkg/"
tools/package-test.sh || { rc=$?; [[ $rc == 77 ]] || exit "$rc"; }
echo "== static check (cppcheck, clang-format)"
tools/static-check.sh build
echo "== thread-safety analysis (clang): build-tsa/"
CC=clang CXX=clang++ cmake -S . -B build-tsa -DNPZFS_WERROR=ON -DNPZFS_BUILD_TESTS=OFF \
  -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-tsa -j "$jobs"
if [[ "${NPZFS_TEST_SANITIZE:-1}" != 0 ]]; then
  echo "== build and test under ASan+UBSan: build-asan/"
  ASAN_OPTIONS=detect_leaks=1 run_build build-asan -DCMAKE_BUILD_TYPE=Debug \
    "-DNPZFS_SANITIZE=address;undefined"
fi
echo "== all tests passed"
