#!/usr/bin/env bash
# systemd-analyze verify on the unit files in systemd/, with the npzfs under
# test where the units expect the installed one (/usr/local/bin), in a
# private mount namespace.
#
# usage: systemd_verify_test.sh NPZFS_BINARY SYSTEMD_DIR
set -euo pipefail
npzfs=$(readlink -f "$1")
units=$(readlink -f "$2")
command -v systemd-analyze >/dev/null || { echo "systemd-analyze missing"; exit 77; }
[[ $(id -u) == 0 ]] || { echo "needs root for a private mount namespace"; exit 77; }

exec unshare --mount --propagation private -- bash -euo pipefail -c '
npzfs=$1 units=$2
work=$(mktemp -d)
trap "rm -rf $work" EXIT
mkdir "$work/bin"
ln -s "$npzfs" "$work/bin/npzfs"
mount --bind "$work/bin" /usr/local/bin
cd "$units"
for unit in *.mount; do
  echo "verify $unit"
  systemd-analyze verify "./$unit"
done
for unit in *@.service; do
  instance=${unit/@./@example.}
  cp "$unit" "$work/$instance"
  echo "verify $instance"
  systemd-analyze verify "$work/$instance"
done
echo ok
' bash "$npzfs" "$units"
