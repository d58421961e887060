#!/usr/bin/env bash
# The benchmark: npzfs against numpy, plain .npy files, fuse-zip and
# archivemount, as ratios measured in one run (medians of several runs).
#
#   tools/bench.sh [--runs N] [--mib SIZE] [--only a,b,c,d,e,f,g,h,r,s,p]
#
# Builds npzfs as distributions do (RelWithDebInfo: -O2, where -O3 can hide
# a quadratic loop) in build-release/, installs fuse-zip, archivemount and
# isal (igzip, which part h compares with) if missing, makes its data once in build-release/bench-data
# (about 4 GiB; set NPZFS_BENCH_DATA to put it elsewhere) and prints the
# figures. See tools/bench/bench.py for what each part measures.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/lib.sh

NPZFS_DEPS_EXTRA="fuse-zip archivemount isal python3-fsspec python3-aiohttp" tools/deps.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNPZFS_BUILD_TESTS=OFF >/dev/null
cmake --build build-release -j "$(nproc)" --target npzfs npzinfo >/dev/null
exec "$(npzfs_python)" tools/bench/bench.py --npzfs build-release/fs/npzfs \
  --data "${NPZFS_BENCH_DATA:-build-release/bench-data}" "$@"
