#!/usr/bin/env bash
# Builds npzfs, mounts an archive and shows what it looks like.
#
#   tools/demo.sh                      # a generated sample at build/mnt
#   tools/demo.sh ARCHIVE MOUNTPOINT   # your archive, your mountpoint
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/lib.sh

tools/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target npzfs npzinfo >/dev/null
python=$(npzfs_python)

archive=${1:-}
mnt=${2:-}
if [[ -z "$archive" ]]; then
  archive=build/sample.npz
  "$python" tools/make_sample.py "$archive"
  echo "Generated a sample archive: $archive"
fi
if [[ -z "$mnt" ]]; then
  mnt=build/mnt
fi
mkdir -p "$mnt"
if mountpoint -q "$mnt"; then fusermount3 -u "$mnt"; fi

run() { echo; echo "\$ $*"; "$@"; }
run build/tools/npzinfo "$archive"
run build/fs/npzfs "$archive" "$mnt"
run ls -l "$mnt" "$mnt/raw"
first=$(cd "$mnt" && find . -name '*.npy' | sort | head -n 1)
run getfattr -d "$mnt/${first#./}"
run "$python" -c "
import numpy as np, sys
a = np.load(sys.argv[1], mmap_mode='r')
print(type(a).__name__, a.dtype, a.shape, 'first values:', a.ravel()[:4])
" "$mnt/${first#./}"
echo
echo "Mounted $archive at $mnt. Unmount with: fusermount3 -u $mnt"
