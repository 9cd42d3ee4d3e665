#!/bin/sh
# Installs into a temporary prefix and checks every file lands in its
# standard place: binary, man page, and the three shell completions.
# Usage: install_test.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1
src=$2
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
fail=0
check() { [ -f "$prefix/$1" ] || { echo "install_test: missing $1"; fail=1; }; }
check bin/netlab
check share/man/man1/netlab.1
check share/bash-completion/completions/netlab
check share/zsh/site-functions/_netlab
check share/fish/vendor_completions.d/netlab.fish
[ "$fail" = 0 ] || exit 1
"$prefix/bin/netlab" --version | grep -q '^netlab [0-9]' || { echo "install_test: installed binary does not run"; exit 1; }
cmp -s "$src/completions/netlab.bash" "$prefix/share/bash-completion/completions/netlab" ||
  { echo "install_test: bash completion differs from completions/netlab.bash"; exit 1; }
# The man page documents every subcommand the binary has.
for sub in $("$prefix/bin/netlab" --help | sed -n '/^Subcommands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }'); do
  grep -q "netlab $sub" "$prefix/share/man/man1/netlab.1" || { echo "install_test: man page lacks $sub"; exit 1; }
done
echo "install_test: ok"
