#!/usr/bin/env bash
# `cmake --install` puts exactly what npzfs ships, and every installed
# program runs: the two commands, their man pages, the documents and the
# systemd examples; nothing of the build (libraries, tests) besides.
#
# usage: install_test.sh BUILD_DIR
set -euo pipefail
build=$1
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
got=$(cd "$prefix" && find . -type f | sort)
want=$(sort <<'LIST'
./bin/npzfs
./bin/npzinfo
./share/doc/npzfs/README.md.gz
./share/doc/npzfs/changelog.gz
./share/doc/npzfs/copyright
./share/doc/npzfs/examples/mnt-data.mount
./share/doc/npzfs/examples/npzfs@.service
./share/man/man1/npzfs.1.gz
./share/man/man1/npzinfo.1.gz
LIST
)
if [[ "$got" != "$want" ]]; then
  echo "installed files differ from what npzfs ships:"
  diff <(echo "$want") <(echo "$got") || true
  exit 1
fi
"$prefix/bin/npzfs" --version | grep -q '^npzfs version'
"$prefix/bin/npzinfo" --version | grep -q '^npzinfo version'
gzip -t "$prefix"/share/man/man1/*.gz
echo "installed: $(wc -l <<<"$got") files"
