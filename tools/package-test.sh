#!/usr/bin/env bash
# Builds the Debian package and tries it as a user would: a build in
# build-pkg/ as Debian's tools make one (dpkg-buildflags, hardening on, no
# CMake build type), cpack -G DEB, lintian (any
# error fails), dpkg -i, then `mount -t fuse.npzfs` of a generated sample
# through the system's mount.fuse3 and the installed /usr/bin/npzfs, and
# dpkg -r. The mount and the package are cleaned up on any failure.
#
#   tools/package-test.sh        (as root: it installs and removes npzfs)
#
# Exit status: 0 passed, 77 skipped (not root, or no /dev/fuse), else failed.
# A package named npzfs that was installed before is removed, not restored.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/lib.sh

[[ $(id -u) == 0 ]] || { echo "package-test: needs root (dpkg -i, mount)"; exit 77; }
[[ -w /dev/fuse ]] || { echo "package-test: no /dev/fuse"; exit 77; }

build=build-pkg
work=$(mktemp -d)
installed=0
cleanup() {
  if ((installed)); then dpkg -r npzfs >/dev/null || echo "package-test: dpkg -r npzfs failed"; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "== package: build in $build/, as Debian's tools build (dpkg-buildflags, no build type)"
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
cppflags=$(dpkg-buildflags --get CPPFLAGS)
CFLAGS="$(dpkg-buildflags --get CFLAGS) $cppflags" \
CXXFLAGS="$(dpkg-buildflags --get CXXFLAGS) $cppflags" \
LDFLAGS=$(dpkg-buildflags --get LDFLAGS) \
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=None -DCMAKE_INSTALL_PREFIX=/usr \
    -DNPZFS_BUILD_TESTS=OFF -DNPZFS_WERROR=ON >/dev/null
cmake --build "$build" -j "$(nproc)"
rm -f "$build"/npzfs_*.deb
(cd "$build" && cpack -G DEB >/dev/null)
debs=("$build"/npzfs_*.deb)
[[ ${#debs[@]} == 1 && -f ${debs[0]} ]] || { echo "expected one .deb, got: ${debs[*]}"; exit 1; }
deb=${debs[0]}
echo "built $deb"

echo "== lintian $deb"
status=0
lintian --fail-on error --pedantic --display-info "$deb" >"$work/lintian" 2>&1 || status=$?
# Its warning about running as root is this script's condition, not news.
grep -v '^running with root privileges' "$work/lintian" || echo "(nothing to report)"
((status == 0)) || { echo "lintian failed ($status)"; exit 1; }

echo "== dpkg -i"
if dpkg-query -W -f='${Status}' npzfs 2>/dev/null | grep -q "ok installed"; then
  echo "removing the npzfs package installed before"
  dpkg -r npzfs >/dev/null
fi
installed=1
dpkg -i "$deb" >/dev/null
for f in /usr/bin/npzfs /usr/bin/npzinfo /usr/share/man/man1/npzfs.1.gz \
         /usr/share/man/man1/npzinfo.1.gz /usr/share/doc/npzfs/copyright \
         /usr/share/doc/npzfs/changelog.gz /usr/share/doc/npzfs/examples/npzfs@.service; do
  [[ -f $f ]] || { echo "not installed: $f"; exit 1; }
done
[[ $(man -w npzfs) == /usr/share/man/man1/npzfs.1.gz ]] || { echo "man -w npzfs: $(man -w npzfs)"; exit 1; }

python=$(npzfs_python)
archive=$work/sample.npz
"$python" tools/make_sample.py "$archive"
"$python" -c 'import sys, zipfile
sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read("features.npy"))' \
  "$archive" >"$work/features.npy"
/usr/bin/npzinfo "$archive" >/dev/null

echo "== mount -t fuse.npzfs through the installed npzfs"
# A private mount namespace in which /usr/local/bin and /usr/local/sbin are
# empty, so that mount.fuse3 cannot find an npzfs installed there (by
# cmake --install) instead of the package's; the daemon's executable is
# checked all the same.
unshare --mount --propagation private -- bash -euo pipefail -c '
archive=$1 want=$2 work=$3
mnt=$work/mnt
mkdir "$mnt"
for dir in /usr/local/bin /usr/local/sbin; do
  if [[ -d $dir ]]; then mount -t tmpfs -o ro,mode=755 npzfs-package-test "$dir"; fi
done
daemon=""
cleanup() {
  if findmnt -n "$mnt" >/dev/null; then umount -l "$mnt" || true; fi
  if [[ -n $daemon ]]; then kill "$daemon" 2>/dev/null || true; fi
}
trap cleanup EXIT

mount -t fuse.npzfs "$archive" "$mnt" -o log_level=warn
pids=$(pgrep -f "^npzfs $archive $mnt" || true)
[[ $(wc -w <<<"$pids") == 1 ]] || { echo "expected one npzfs daemon, found: ${pids:-none}"; exit 1; }
daemon=$pids
exe=$(readlink -f "/proc/$daemon/exe")
[[ $exe == /usr/bin/npzfs ]] || { echo "the daemon runs $exe, not /usr/bin/npzfs"; exit 1; }
fstype=$(findmnt -n -o FSTYPE --mountpoint "$mnt")
[[ $fstype == fuse.npzfs ]] || { echo "findmnt: type \"$fstype\", not fuse.npzfs"; exit 1; }
cmp "$want" "$mnt/features.npy"
[[ -f $mnt/raw/features ]] || { echo "no raw/features"; ls -la "$mnt"; exit 1; }
echo "daemon $exe, type $fstype, features.npy reads as zipfile reads it"

umount "$mnt"
for _ in $(seq 500); do
  kill -0 "$daemon" 2>/dev/null || { daemon=""; break; }
  sleep 0.01
done
[[ -z $daemon ]] || { echo "npzfs still running after umount"; exit 1; }

# The shipped service example finds the package'"'"'s npzfs by its bare name.
cp /usr/share/doc/npzfs/examples/npzfs@.service "$work/npzfs@example.service"
systemd-analyze verify "$work/npzfs@example.service"
' bash "$archive" "$work/features.npy" "$work"

echo "== dpkg -r"
dpkg -r npzfs >/dev/null
installed=0
[[ ! -e /usr/bin/npzfs ]] || { echo "/usr/bin/npzfs left after dpkg -r"; exit 1; }
echo "== package test passed: $deb"
