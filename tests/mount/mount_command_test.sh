#!/usr/bin/env bash
# `mount -t fuse.npzfs` and an /etc/fstab line, exactly as users run them,
# through the system's mount.fuse3 helper.
#
# usage: mount_command_test.sh NPZFS_BINARY PYTHON MAKE_NPZ_PY
#
# mount(8) drops PATH before running helpers, so mount.fuse3 finds npzfs
# only in the standard directories. The test runs in a private mount
# namespace where /usr/local/bin holds the npzfs under test and /etc/fstab
# a line for it; nothing of it is seen outside, and everything is
# unmounted before the namespace ends.
set -euo pipefail
npzfs=$(readlink -f "$1")
[[ $(id -u) == 0 ]] || { echo "mount(8) needs root here"; exit 77; }
[[ -w /dev/fuse ]] || { echo "no /dev/fuse"; exit 77; }
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
"$2" "$3" "$data" stored
archive=$data/stored.npz

unshare --mount --propagation private -- bash -euo pipefail -c '
npzfs=$1 archive=$2
work=$(mktemp -d)
mnt=$work/mnt
cleanup() {
  fusermount3 -u -z "$mnt" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$mnt" "$work/bin"
ln -s "$npzfs" "$work/bin/npzfs"
mount --bind "$work/bin" /usr/local/bin

check_mounted() {
  grep -q " $mnt fuse.npzfs ro," /proc/mounts || { echo "not in /proc/mounts:"; cat /proc/mounts; exit 1; }
  [[ -f $mnt/$1/f8 ]] || { echo "no $1/f8 under $mnt"; ls -la "$mnt"; exit 1; }
  [[ $(stat -c %s "$mnt/f8.npy") == 2792 ]] || { echo "wrong size"; exit 1; }
  cmp <(head -c 2792 "$mnt/f8.npy") <(cat "$mnt/f8.npy")
}
wait_gone() {
  for _ in $(seq 500); do
    pgrep -f "npzfs $archive $mnt" >/dev/null || return 0
    sleep 0.01
  done
  echo "npzfs still running after unmount"; exit 1
}

echo "mount -t fuse.npzfs"
mount -t fuse.npzfs "$archive" "$mnt" -o raw_dir=arrays,log_level=warn
check_mounted arrays
fusermount3 -u "$mnt"
wait_gone

echo "umount as root"
mount -t fuse.npzfs "$archive" "$mnt"
check_mounted raw
umount "$mnt"
wait_gone

echo "/etc/fstab line"
cp /etc/fstab "$work/fstab" 2>/dev/null || : >"$work/fstab"
echo "$archive $mnt fuse.npzfs ro,nofail,allow_other 0 0" >>"$work/fstab"
mount --bind "$work/fstab" /etc/fstab
mount "$mnt"
check_mounted raw
umount "$mnt"
wait_gone
echo "ok"
' bash "$npzfs" "$archive"
