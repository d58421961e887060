#!/usr/bin/env bash
# Every -o option npzfs knows has its own entry in npzfs(1), so that the
# page cannot fall behind the code. The names come from fs/options.cc: the
# usage text (-h) and the fuse_opt table (NPZFS_OPT).
#
# usage: man_options_test.sh OPTIONS_CC NPZFS_1
set -euo pipefail
options_cc=$1 page=$2

names=$( {
  sed -n '/^std::string UsageText/,/^}/p' "$options_cc" | grep -o -- '-o [a-z0-9_]*' | cut -c4-
  grep -o 'NPZFS_OPT("[a-z0-9_]*' "$options_cc" | cut -d'"' -f2
} | sort -u)
count=$(wc -w <<<"$names")
# A parse that finds (almost) nothing means this script no longer reads
# options.cc right, not that the page is complete.
if ((count < 8)); then
  echo "found only $count option names in $options_cc: $names"
  exit 1
fi

# An entry: a .TP or .TQ line, then the name in bold, bare or with "=".
entries=$(grep -A1 -E '^\.(TP|TQ)$' "$page" | sed -nE 's/^\.BI? ([a-z0-9_]+)(=| |$).*/\1/p' | sort -u)
missing=$(comm -23 <(echo "$names") <(echo "$entries"))
if [[ -n $missing ]]; then
  echo "options without an entry in $page:" $missing
  exit 1
fi
echo "all $count options documented:" $names
