#!/usr/bin/env bash
# The man pages format without a single warning: groff with every warning
# on (-ww), then man(1) as users (and lintian) run it, at 80 columns; and
# lexgrog(1) finds the "name - description" line that whatis and apropos
# show (lintian's bad-whatis-entry check).
#
# usage: man_lint_test.sh PAGE...
set -euo pipefail
command -v groff >/dev/null || { echo "groff missing (apt-get install groff-base)"; exit 77; }
status=0
for page in "$@"; do
  # groff exits 0 after warnings; any output at all is a finding.
  out=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
  if command -v man >/dev/null; then
    out+=${out:+$'\n'}$(MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null)
  fi
  if command -v lexgrog >/dev/null && ! whatis=$(lexgrog "$page" 2>&1); then
    out+=${out:+$'\n'}"lexgrog: $whatis"
  fi
  if [[ -n $out ]]; then
    echo "$page:"
    echo "$out"
    status=1
  else
    echo "$page: ok"
  fi
done
exit $status
