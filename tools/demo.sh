#!/usr/bin/env bash
# Builds npzfs and shows what it sees in an archive.
#
#   tools/demo.sh [ARCHIVE]
#
# Without ARCHIVE, a sample archive is generated in build/sample.npz.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/lib.sh

tools/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target npzinfo >/dev/null

archive=${1:-}
if [[ -z "$archive" ]]; then
  archive=build/sample.npz
  "$(npzfs_python)" tools/make_sample.py "$archive"
  echo "Generated sample archive: $archive"
fi
echo "\$ npzinfo $archive"
build/tools/npzinfo "$archive"
