#!/bin/sh
# Writes a help2man include file with one section per subcommand, taken from
# `netlab SUB --help`, so the man page documents every option and example.
# Usage: subcommands_include.sh NETLAB OUTPUT
set -eu
netlab=$1
out=$2
subs=$("$netlab" --help | sed -n '/^Subcommands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }')
{
  echo '[SUBCOMMANDS]'
  for sub in $subs; do
    echo ".SS netlab $sub"
    echo '.nf'
    # roff: escape backslashes, and keep lines from starting with . or '
    "$netlab" "$sub" --help | sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
    echo '.fi'
    # Modes of their own (netlab bench rr ...): one section each.
    modes=$("$netlab" "$sub" --help | sed -n '/^Subcommands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }')
    for mode in $modes; do
      echo ".SS netlab $sub $mode"
      echo '.nf'
      "$netlab" "$sub" "$mode" --help | sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
      echo '.fi'
    done
  done
  echo '[EXIT STATUS]'
  echo '0 on success (servers stopped by SIGINT/SIGTERM included), 1 on a runtime failure, 2 on a usage error.'
} >"$out"
