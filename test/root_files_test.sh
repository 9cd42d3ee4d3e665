#!/bin/sh
# Keeps the repository root tidy: fails when a file or folder is committed
# (or staged) at the root that is not one of the expected entries below, so
# stray files (a cd.err left by a shell redirect, say) cannot creep back in.
# A new top-level file or folder belongs in this list, on purpose.
# Outside a git checkout (a source tarball) there is nothing to check.
# Usage: root_files_test.sh SOURCE_DIR
set -euf  # -f: no globbing of the names below
src=$1
expected='.ci .clang-format .clang-tidy .gitignore CMakeLists.txt Makefile README.md main.cpp
modes net test completions bench docs man LICENSE COPYING'

top=$(git -C "$src" rev-parse --show-toplevel 2>/dev/null) || top=
if [ -z "$top" ] || [ "$(cd "$top" && pwd -P)" != "$(cd "$src" && pwd -P)" ]; then
  echo "root_files_test: skipped: not a git checkout"
  exit 0
fi

# First path component of every tracked file: the root's entries. Read line
# by line, so a name with spaces or glob characters stays one entry.
entries=$(git -C "$src" -c core.quotePath=false ls-files | sed 's|/.*||' | sort -u)
unexpected=$(printf '%s\n' "$entries" | while IFS= read -r entry; do
  [ -n "$entry" ] || continue
  # shellcheck disable=SC2086 # $expected: one word per entry
  printf '%s\n' $expected | grep -qxF -- "$entry" || printf ' %s' "$entry"
done)
if [ -n "$unexpected" ]; then
  echo "root_files_test: unexpected at the repository root:$unexpected"
  echo "root_files_test: remove it, move it into a folder, or add it to the list in test/root_files_test.sh"
  exit 1
fi
echo "root_files_test: ok ($(printf '%s\n' "$entries" | wc -l | tr -d ' ') entries at the root, all expected)"
