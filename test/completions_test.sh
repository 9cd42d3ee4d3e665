#!/usr/bin/env bash
# completions_test.sh /path/to/netlab /path/to/completions
#
# Keeps completions/ from drifting away from the binary:
#  1. For every subcommand `netlab --help` lists, every option (short and long)
#     of `netlab SUB --help` must be offered for that subcommand by
#     netlab.bash, _netlab (zsh) and netlab.fish, and none of them may offer an
#     option --help does not list. Same for netlab's own options and for the
#     subcommand names, and the values of enumerated options ({a,b} in --help)
#     must match exactly. --host/--port/--unix/--root must complete hosts,
#     services, files and directories.
#  2. Drives each shell that is installed for real completions (bash always,
#     with bash-completion when present; zsh and fish when installed, skipped
#     otherwise). zsh runs interactively in a pty (zsh/zpty) with compinit and
#     _netlab in $fpath, gets LINE and TAB typed, and reports the matches and
#     the resulting line; with zsh, part 1 is also checked live.
# bash answers part 1 by running its completion function; zsh and fish may be
# absent, so their files are read too: one spec / `complete` per line (see the
# comments at the top of those files).
set -u
export LC_ALL=C # one sort order for sort and comm

if [ $# -ne 2 ]; then
    echo "usage: completions_test.sh /path/to/netlab /path/to/completions" >&2
    exit 64
fi
NETLAB=$1
DIR=$(cd "$2" && pwd) || exit 1 # absolute: the zsh checks run in another directory
BASH_FILE=$DIR/netlab.bash
ZSH_FILE=$DIR/_netlab
FISH_FILE=$DIR/netlab.fish

failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}
note() { echo "completions_test: $*"; }

for f in "$BASH_FILE" "$ZSH_FILE" "$FISH_FILE"; do
    [ -r "$f" ] || { echo "FAIL: missing $f" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/netlab-comp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# ---------------------------------------------------------------- the binary

# Subcommand names from `netlab --help` ("Subcommands:" section).
help_subcommands() {
    "$NETLAB" --help | awk '/^Subcommands:/ { f = 1; next } /^[^ ]/ { f = 0 } f && /^  [a-z]/ { print $1 }'
}

# Modes of subcommand $1 (`netlab bench` has rr, udp, ...): the Subcommands:
# section of `netlab SUB --help`; nothing for the others.
help_modes() {
    "$NETLAB" "$1" --help | awk '/^Subcommands:/ { f = 1; next } /^[^ ]/ { f = 0 } f && /^  [a-z]/ { print $1 }'
}

# Option forms (-x, --xx) of `netlab [SUB] --help`, from every option group
# ("Options:" and named groups alike): the lines that start with "  -". A
# flag's optional value ("--trace[=all]") is not part of its name.
help_options() {
    "$NETLAB" "$@" --help | grep -E '^  -' | sed -E 's/^  ([^ ]+).*/\1/' |
        tr ',' '\n' | sed -E 's/\[=.*//' | grep -E '^-' | sort -u
}

# "OPTION v1 v2 ..." for each option with an enumerated value: {a,b,c} in the
# option column of --help ("  --model {a,b}=a    ..." or "  --model=MODEL:{a,b}").
help_enums() {
    local line col forms values
    "$NETLAB" "$@" --help | grep -E '^  -' | while IFS= read -r line; do
        col=${line#  }
        col=${col%%  *}
        [[ $col =~ \{([^}]*)\} ]] || continue
        values=${BASH_REMATCH[1]}
        [[ $col =~ ^(-[-A-Za-z0-9,]*[A-Za-z0-9]) ]] || continue
        forms=${BASH_REMATCH[1]}
        echo "${forms##*,} ${values//,/ }"
    done
}

# ---------------------------------------------------------------- bash

# bash_complete [--bash-completion] LINE: runs the completion function as bash
# would for TAB at the end of LINE and prints the candidates, one per line.
# COMP_WORDS splits at blanks and at "=" (both in COMP_WORDBREAKS).
bash_complete() {
    local with_bc=0
    if [ "$1" = --bash-completion ]; then
        with_bc=1
        shift
    fi
    # shellcheck disable=SC2016 # expanded by the inner bash
    BC=$with_bc LINE=$1 FILE=$BASH_FILE timeout 20 bash --norc --noprofile -c '
        if [ "$BC" = 1 ]; then
            . /usr/share/bash-completion/bash_completion || exit 3
        fi
        . "$FILE" || exit 3
        COMP_LINE=$LINE
        COMP_POINT=${#LINE}
        read -ra COMP_WORDS <<<"${LINE//=/ = }"
        [[ $LINE == *" " ]] && COMP_WORDS+=("")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        COMPREPLY=()
        spec=$(complete -p netlab) || exit 4
        fn=${spec#*-F }
        fn=${fn%% *}
        "$fn" netlab "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
        ((${#COMPREPLY[@]} == 0)) || printf "%s\n" "${COMPREPLY[@]}"
    '
}

bash_subcommands() { bash_complete 'netlab ' | sort -u; }
bash_options() {
    if [ -n "$1" ]; then bash_complete "netlab $1 -"; else bash_complete 'netlab -'; fi |
        grep -E '^-' | sort -u
}
bash_values() { bash_complete "netlab $1 $2 " | sort -u; }

# ---------------------------------------------------------------- zsh (read)

# Option names in one _arguments spec line, e.g.
#   '(-H --host --unix)'{-H+,--host=}'[address]:host:_hosts'  ->  -H --host
#   '*--allow=[network]:CIDR: '                               ->  --allow
# Lines that are not option specs (positionals, code) give nothing.
zsh_spec_names() {
    local line=$1
    line=${line#"${line%%[![:space:]]*}"}
    line=${line#\'}
    [[ $line == \(* ]] && line=${line#*\)}
    line=${line#\'}
    line=${line#\*}
    line=${line#\'}
    [[ $line == -* || $line == \{* ]] || return 0
    grep -oE -- '-{1,2}[A-Za-z0-9][-A-Za-z0-9]*' <<<"${line%%\[*}"
}

# The spec lines of subcommand $1: the "SUB)" case in _netlab_specs, up to
# ";;". For a mode ("bench rr") the "rr)" case in _netlab_bench_specs.
zsh_spec_lines() {
    local fn=_netlab_specs label=$1
    if [[ $1 == *" "* ]]; then
        fn=_netlab_${1%% *}_specs
        fn=${fn//-/_}
        label=${1#* }
    fi
    awk -v fn="$fn()" -v label="$label)" '
        index($0, fn) == 1 { in_fn = 1; next }
        !in_fn { next }
        !f { l = $0; gsub(/^[ \t]+|[ \t]+$/, "", l); if (l == label) f = 1; next }
        /^[ \t]*;;/ { exit }
        { print }' "$ZSH_FILE"
}

# The 'name:description' entries of _netlab_SUB_modes.
zsh_modes() {
    awk -v fn="_netlab_${1//-/_}_modes()" 'index($0, fn) == 1 { f = 1 } f && /^}/ { exit } f' "$ZSH_FILE" |
        sed -nE "s/^[[:space:]]*'([a-z][-a-z0-9]*):.*/\\1/p" | sort -u
}

# Spec lines of netlab itself: the `_arguments -C` call in _netlab.
zsh_top_lines() {
    awk '/_arguments -C/ { f = 1; next } f && /->subcommand/ { exit } f { print }' "$ZSH_FILE"
}

zsh_options() {
    local line
    if [ -n "$1" ]; then zsh_spec_lines "$1"; else zsh_top_lines; fi |
        while IFS= read -r line; do zsh_spec_names "$line"; done | sort -u
}

# Subcommands: the 'name:description' entries of _netlab_subcommands, and the
# case labels of _netlab_specs (both must list the same names).
zsh_subcommands() {
    awk '/^_netlab_subcommands\(\)/ { f = 1 } f && /^}/ { exit } f' "$ZSH_FILE" |
        sed -nE "s/^[[:space:]]*'([a-z][-a-z0-9]*):.*/\\1/p" | sort -u
}
zsh_case_labels() {
    awk '/^_netlab_specs\(\)/ { f = 1 } f && /^}/ { exit } f' "$ZSH_FILE" |
        sed -nE 's/^    ([a-z][-a-z0-9]*)\)$/\1/p' | sort -u
}

# The spec line of option $2 in subcommand $1.
zsh_spec_of() {
    local line
    zsh_spec_lines "$1" | while IFS= read -r line; do
        if zsh_spec_names "$line" | grep -qxF -- "$2"; then
            echo "$line"
            break
        fi
    done
}

# Enumerated values of option $2 of subcommand $1: the (a b) or
# ((a\:"desc" b\:"desc")) action of its spec.
zsh_values() {
    local spec
    spec=$(zsh_spec_of "$1" "$2")
    if [[ $spec == *'(('*'))'* ]]; then
        spec=${spec#*((}
        spec=${spec%%))*}
        sed -E 's/"[^"]*"//g' <<<"$spec" | grep -oE '[^ \\:]+\\?:' | sed -E 's/\\?:$//'
    elif [[ $spec =~ :\(([^\)]*)\)\'$ ]]; then
        tr ' ' '\n' <<<"${BASH_REMATCH[1]}" | grep -v '^$'
    fi | sort -u
}

# ---------------------------------------------------------------- fish (read)

# "SUBS|LINE-WITHOUT-QUOTED-STRINGS" for every `complete -c netlab` line;
# SUBS is "-" for lines that apply before a subcommand.
fish_lines() {
    local line cond subs
    while IFS= read -r line; do
        [[ $line == "complete -c netlab "* ]] || continue
        cond=""
        if [[ $line =~ -n\ \'([^\']*)\' ]]; then
            cond=${BASH_REMATCH[1]}
        elif [[ $line =~ -n\ ([^ ]+) ]]; then
            cond=${BASH_REMATCH[1]}
        fi
        case $cond in
            __netlab_needs_subcommand) subs=- ;;
            "__netlab_using "*) subs=${cond#__netlab_using } ;;
            # Modes: __netlab_SUB_needs_mode -> "SUB/-", __netlab_SUB_using M... -> "SUB/M ...".
            __netlab_*_needs_mode) subs=${cond#__netlab_}; subs=${subs%_needs_mode}/- ;;
            "__netlab_"*"_using "*)
                local parent=${cond%%_using *} m
                parent=${parent#__netlab_}
                subs=""
                for m in ${cond#* }; do subs+="$parent/$m "; done
                subs=${subs% } ;;
            "") continue ;; # e.g. `complete -c netlab -f`
            *) subs="?$cond" ;;
        esac
        printf '%s|%s\n' "$subs" "$(sed -E "s/'[^']*'//g; s/\"[^\"]*\"//g" <<<"$line")"
    done <"$FISH_FILE"
}

# The raw `complete` lines that apply to subcommand $1 ("-": before one).
fish_raw_lines_for() {
    set -- "${1// //}" # a mode: "bench rr" -> "bench/rr"
    local line cond
    while IFS= read -r line; do
        [[ $line == "complete -c netlab "* ]] || continue
        cond=""
        if [[ $line =~ -n\ \'([^\']*)\' ]]; then cond=${BASH_REMATCH[1]}
        elif [[ $line =~ -n\ ([^ ]+) ]]; then cond=${BASH_REMATCH[1]}; fi
        if [ "$1" = - ]; then
            [ "$cond" = __netlab_needs_subcommand ] && echo "$line"
        elif [[ $1 == */* ]]; then
            [[ $cond == "__netlab_${1%%/*}_using "* && " ${cond#* } " == *" ${1#*/} "* ]] && echo "$line"
        else
            [[ " ${cond#__netlab_using } " == *" $1 "* && $cond == "__netlab_using "* ]] && echo "$line"
        fi
    done <"$FISH_FILE"
}

fish_options() {
    local want=${1:--}
    want=${want// //}
    fish_lines | while IFS='|' read -r subs rest; do
        if [ "$want" = - ]; then
            [ "$subs" = - ] || continue
        else
            [[ " $subs " == *" $want "* ]] || continue
        fi
        grep -oE -- '(^| )-s [A-Za-z0-9]( |$)' <<<"$rest" | sed -E 's/^ ?-s ([^ ]+) ?$/-\1/'
        grep -oE -- '(^| )-l [A-Za-z0-9][-A-Za-z0-9]*' <<<"$rest" | sed -E 's/^ ?-l /--/'
        grep -oE -- '(^| )-o [A-Za-z0-9][-A-Za-z0-9]*' <<<"$rest" | sed -E 's/^ ?-o /-/'
    done | sort -u
}

fish_subcommands() {
    local want=${1:--} # SUB/- for the modes of SUB
    fish_lines | while IFS='|' read -r subs rest; do
        [ "$subs" = "$want" ] || continue
        grep -oE -- '(^| )-a [a-z][-a-z0-9]*' <<<"$rest" | sed -E 's/^ ?-a //'
    done | sort -u
}

# Every subcommand named in a condition (to catch stale names).
fish_condition_subcommands() {
    fish_lines | while IFS='|' read -r subs rest; do
        [ "$subs" = - ] && continue
        tr ' ' '\n' <<<"$subs"
    done | grep -v -e '^$' -e / | sort -u
}

# The line of option $2 (long form, e.g. --model) for subcommand $1.
fish_line_of() {
    local long=${2#--}
    fish_raw_lines_for "$1" | grep -E -- "(^| )-l $long( |\$)" | head -n 1
}

# Enumerated values of option $2 of subcommand $1:
#   -a 'v1 v2'   or   -a '(printf "%s\t%s\n" v1 "desc" v2 "desc")'
fish_values() {
    local line payload
    line=$(fish_line_of "$1" "$2")
    [[ $line =~ -a\ \'([^\']*)\' ]] || return 0
    payload=${BASH_REMATCH[1]}
    if [[ $payload == '(printf '* ]]; then
        payload=${payload#(printf \"*\"}
        payload=${payload%)}
        payload=$(sed -E 's/"[^"]*"//g' <<<"$payload")
    fi
    tr ' ' '\n' <<<"$payload" | grep -v '^$' | sort -u
}

# ---------------------------------------------------------------- comparison

# compare WHAT EXPECTED-FILE GOT-FILE: fails on any difference, naming it.
compare() {
    local what=$1 missing extra
    missing=$(comm -23 "$2" "$3" | tr '\n' ' ')
    extra=$(comm -13 "$2" "$3" | tr '\n' ' ')
    [ -z "$missing" ] || fail "$what: missing ${missing% }"
    [ -z "$extra" ] || fail "$what: offers ${extra% } which --help does not list"
}

help_subcommands | sort -u >"$tmp/subs.help"
if [ ! -s "$tmp/subs.help" ]; then
    fail "no subcommands found in 'netlab --help'"
fi
bash_subcommands >"$tmp/subs.bash"
zsh_subcommands >"$tmp/subs.zsh"
zsh_case_labels >"$tmp/subs.zsh-cases"
fish_subcommands >"$tmp/subs.fish"
fish_condition_subcommands >"$tmp/subs.fish-conds"
compare "netlab.bash subcommands" "$tmp/subs.help" "$tmp/subs.bash"
compare "_netlab subcommands (_netlab_subcommands)" "$tmp/subs.help" "$tmp/subs.zsh"
compare "_netlab subcommands (_netlab_specs cases)" "$tmp/subs.help" "$tmp/subs.zsh-cases"
compare "netlab.fish subcommands" "$tmp/subs.help" "$tmp/subs.fish"
extra=$(comm -13 "$tmp/subs.help" "$tmp/subs.fish-conds" | tr '\n' ' ')
[ -z "$extra" ] || fail "netlab.fish: conditions name unknown subcommands: $extra"

# Modes of subcommands that have them (netlab bench rr ...): offered after the
# subcommand in all three files, and checked below like subcommands ("SUB MODE").
echo >"$tmp/subs.all"
while read -r sub; do
    echo "$sub"
    help_modes "$sub" | sort -u >"$tmp/modes.help"
    [ -s "$tmp/modes.help" ] || continue
    bash_complete "netlab $sub " </dev/null | grep -v '^-' | sort -u >"$tmp/modes.bash"
    zsh_modes "$sub" >"$tmp/modes.zsh"
    fish_subcommands "$sub/-" >"$tmp/modes.fish"
    compare "netlab.bash, $sub modes" "$tmp/modes.help" "$tmp/modes.bash"
    compare "_netlab, $sub modes (_netlab_${sub//-/_}_modes)" "$tmp/modes.help" "$tmp/modes.zsh"
    compare "netlab.fish, $sub modes" "$tmp/modes.help" "$tmp/modes.fish"
    sed "s/^/$sub /" "$tmp/modes.help"
done <"$tmp/subs.help" >>"$tmp/subs.all"

# Guard against a --help format change silently emptying the value checks.
while read -r sub; do help_enums $sub; done <"$tmp/subs.help" >"$tmp/enums.all"
if ! grep -q -- '^--model ' "$tmp/enums.all"; then
    fail "no enumerated values ({a,b,...}) found for --model in any 'netlab SUB --help'"
fi

# netlab's own options (before a subcommand), then each subcommand's and mode's.
# (fd 3: the shells run in the loop must not read the list.)
while IFS= read -r sub <&3; do
    name=${sub:-netlab}
    # shellcheck disable=SC2086 # no argument at all for netlab itself
    help_options $sub >"$tmp/opts.help"
    if [ ! -s "$tmp/opts.help" ]; then
        fail "$name: no options found in its --help"
        continue
    fi
    bash_options "$sub" >"$tmp/opts.bash"
    zsh_options "$sub" >"$tmp/opts.zsh"
    fish_options "$sub" >"$tmp/opts.fish"
    compare "netlab.bash, $name options" "$tmp/opts.help" "$tmp/opts.bash"
    compare "_netlab, $name options" "$tmp/opts.help" "$tmp/opts.zsh"
    compare "netlab.fish, $name options" "$tmp/opts.help" "$tmp/opts.fish"
    note "$name: $(wc -l <"$tmp/opts.help") option forms checked in all three files"

    [ -n "$sub" ] || continue

    # Enumerated values must match --help exactly.
    while read -r opt values; do
        tr ' ' '\n' <<<"$values" | sort -u >"$tmp/enum.help"
        bash_values "$sub" "$opt" >"$tmp/enum.bash"
        zsh_values "$sub" "$opt" >"$tmp/enum.zsh"
        fish_values "$sub" "$opt" >"$tmp/enum.fish"
        compare "netlab.bash, $sub $opt values" "$tmp/enum.help" "$tmp/enum.bash"
        compare "_netlab, $sub $opt values" "$tmp/enum.help" "$tmp/enum.zsh"
        compare "netlab.fish, $sub $opt values" "$tmp/enum.help" "$tmp/enum.fish"
        note "$sub $opt: values $(tr '\n' ' ' <"$tmp/enum.help")checked in all three files"
    done < <(help_enums $sub)

    # Value kinds: hosts, services, files.
    while read -r opt zsh_action fish_action; do
        grep -qxF -- "$opt" "$tmp/opts.help" || continue
        zsh_action=${zsh_action//__/ }
        zsh_spec_of "$sub" "$opt" | grep -qF -- "$zsh_action" ||
            fail "_netlab, $sub $opt: value not completed with $zsh_action"
        fish_line_of "$sub" "$opt" | grep -qF -- "$fish_action" ||
            fail "netlab.fish, $sub $opt: value not completed with $fish_action"
    done <<'EOF'
--host _hosts __fish_print_hostnames
--port _netlab_ports __netlab_services
--unix _files -F
--root _files__-/ __fish_complete_directories
EOF
done 3<"$tmp/subs.all"

# ---------------------------------------------------------------- live shells

# expect_has SHELL LINE WORD OUTPUT-FILE: WORD is among the candidates.
expect_has() {
    if grep -qxF -- "$3" "$4"; then
        note "$1: '$2<TAB>' offers $3"
    else
        fail "$1: '$2<TAB>' does not offer '$3'; got: $(tr '\n' ' ' <"$4")"
        if [ -s "$tmp/err" ]; then sed "s/^/  $1 stderr: /" "$tmp/err" >&2; fi
        return 1
    fi
}

# --- bash: the completion function through `complete -p netlab`, without and
# with bash-completion (when installed).
bash_variants=(plain)
if [ -r /usr/share/bash-completion/bash_completion ]; then
    bash_variants+=(bash-completion)
else
    note "bash-completion not installed: bash checked without it only"
fi
mkdir -p "$tmp/files"
: >"$tmp/files/ts.sock"
mkdir -p "$tmp/files/pub"
bash_flag=()
: >"$tmp/err"
check_bash() { # LABEL LINE WORD
    bash_complete "${bash_flag[@]}" "$2" | sed 's/[[:space:]]*$//' >"$tmp/out"
    expect_has "$1" "$2" "$3" "$tmp/out"
}
for variant in "${bash_variants[@]}"; do
    bash_flag=()
    [ "$variant" = bash-completion ] && bash_flag=(--bash-completion)
    sh="bash ($variant)"
    check_bash "$sh" 'netlab ts' tserv
    check_bash "$sh" 'netlab tserv --mo' --model
    check_bash "$sh" 'netlab tserv --model ' iterative
    check_bash "$sh" 'netlab tserv --model=th' thread
    check_bash "$sh" 'netlab tserv --framing ' raw
    check_bash "$sh" 'netlab tclnt -' -m
    if grep -qE '^daytime[[:space:]]+13/udp' /etc/services 2>/dev/null; then
        check_bash "$sh" 'netlab uclnt --port dayt' daytime
        check_bash "$sh" 'netlab uclnt localhost dayt' daytime
    fi
    check_bash "$sh" "netlab tclnt --unix $tmp/files/ts." "$tmp/files/ts.sock"
    if grep -qxF cmdserv "$tmp/subs.help"; then
        check_bash "$sh" "netlab cmdserv --root $tmp/files/" "$tmp/files/pub"
        if grep -qxF "$tmp/files/ts.sock" "$tmp/out"; then
            fail "$sh: 'netlab cmdserv --root DIR/<TAB>' offers a file, not only directories"
        fi
    fi
    if grep -qE '^[^#]*[[:space:]]localhost([[:space:]]|$)' /etc/hosts 2>/dev/null; then
        check_bash "$sh" 'netlab tclnt -H localh' localhost
    fi
    # A value, not options, after an option that takes one.
    bash_complete "${bash_flag[@]}" 'netlab tserv --max-line ' >"$tmp/out"
    if grep -q -- '^-' "$tmp/out"; then
        fail "$sh: 'netlab tserv --max-line <TAB>' offers options: $(tr '\n' ' ' <"$tmp/out")"
    fi
done

# --- zsh: a real interactive `zsh -f -i` in a pty (zsh/zpty) with compinit,
# typing LINE and TAB the way a user does. _netlab is loaded the two ways the
# file supports: autoloaded from $fpath by compinit (`#compdef netlab`), and
# `source`d after compinit. A compadd wrapper records the matches compadd
# accepts (after zsh's own matching); a second key then reports $BUFFER, i.e.
# what TAB inserted.
if command -v zsh >/dev/null 2>&1; then
    zsh -n "$ZSH_FILE" || fail "zsh -n: syntax error in $ZSH_FILE"

    # Sourced by the zsh in the pty. $ZSH_MODE: fpath or source.
    cat >"$tmp/zsh-setup.zsh" <<'EOF'
PS1='' RPS1='' PS2='' PROMPT_EOL_MARK='' LISTMAX=100000
unsetopt beep
bindkey -e
if [[ $ZSH_MODE == fpath ]]; then
    fpath=("$COMPDIR" $fpath)
    autoload -Uz compinit && compinit -u -D
else
    autoload -Uz compinit && compinit -u -D
    pushd -q "$COMPDIR"; source _netlab; popd -q # as a user in that directory would
fi
typeset -ga __netlab_found
# Calls with -O, -A or -D only ask compadd which words match (_describe,
# _arguments do); the others add matches: record those.
compadd() {
    local __a
    for __a in "${@[1,(i)(-|--)]}"; do
        if [[ $__a == -[[:alnum:]]#[OAD]* ]]; then
            builtin compadd "$@"
            return
        fi
    done
    local -a __hits
    builtin compadd -A __hits "$@"
    __netlab_found+=("${__hits[@]}")
    builtin compadd "$@"
}
__netlab_complete() {
    __netlab_found=()
    _main_complete
    local ret=$?
    print -rn -- $'\x02'
    print -rl -- "${__netlab_found[@]}"
    print -rn -- $'\x03'
    return ret
}
# Reports $BUFFER, then drops the line for the next one.
__netlab_buffer() {
    print -rn -- $'\x1c'"$BUFFER"$'\x1d'
    BUFFER=''
    zle .send-break
}
# zle is ready for keys (typed earlier, they would reach the tty in cooked mode).
zle-line-init() { print -rn -- $'\x01'; }
zle -C __netlab_complete complete-word __netlab_complete
zle -N __netlab_buffer
zle -N zle-line-init
bindkey '^I' __netlab_complete
bindkey '^X^B' __netlab_buffer
EOF

    # zsh -f zsh-drive.zsh: for line N of $QUERIES, types it, TAB and ^X^B,
    # and writes $OUT/N.cands (the matches), N.buffer and N.err (zsh error
    # messages printed meanwhile, e.g. "_netlab:12: command not found: x").
    cat >"$tmp/zsh-drive.zsh" <<'EOF'
setopt extendedglob
zmodload zsh/zpty || exit 3
zpty z 'zsh -f -i' || exit 3
zpty -w z ". ${(q)SETUP}"
integer n=0
local line text
local -a errs
while IFS= read -r line; do
    (( ++n ))
    zpty -r z out $'*\x01' || exit 4
    zpty -w -n z "$line"$'\t\x18\x02'
    zpty -r z out $'*\x1d' || exit 5
    out=${out//$'\r'/}
    text=${out%%$'\x02'*}
    text=${text//$'\e'\[[0-9;?]#[@-~]/}
    errs=(${(M)${(f)text}:#*[^[:space:]]##:<->: *})
    : >"$OUT/$n.err"
    (( $#errs == 0 )) || print -rl -- $errs >"$OUT/$n.err"
    text=${out#*$'\x02'}
    print -r -- "${text%%$'\x03'*}" | sed '/^$/d' >"$OUT/$n.cands"
    text=${out##*$'\x1c'}
    print -r -- "${text%$'\x1d'}" >"$OUT/$n.buffer"
done <"$QUERIES"
zpty -d z
EOF

    # zsh_run MODE: answers every line of $tmp/zsh-queries into $tmp/zsh-MODE/.
    zsh_run() {
        mkdir -p "$tmp/zsh-$1"
        # In $tmp: a fallback to file completion must not see the caller's files.
        (cd "$tmp" && ZSH_MODE=$1 COMPDIR=$DIR SETUP=$tmp/zsh-setup.zsh QUERIES=$tmp/zsh-queries \
            OUT=$tmp/zsh-$1 timeout -k 5 30 zsh -f "$tmp/zsh-drive.zsh" 2>"$tmp/zsh-$1.stderr")
        local rc=$?
        if [ "$rc" -eq 124 ]; then
            fail "zsh ($1): no answer within 30 s (a completion that hangs?)"
        elif [ "$rc" -ne 0 ]; then
            fail "zsh ($1): driving zsh in a pty failed (exit $rc): $(cat "$tmp/zsh-$1.stderr")"
        fi
    }
    # zsh_result MODE LINE EXT: prints $tmp/zsh-MODE/N.EXT for LINE.
    zsh_result() {
        local n
        n=$(grep -nxF -- "$2" "$tmp/zsh-queries" | head -n 1 | cut -d: -f1)
        cat "$tmp/zsh-$1/$n.$3" 2>/dev/null
    }
    # zsh_cands MODE LINE: the candidates ("--model=" and "--model" are one).
    zsh_cands() {
        zsh_result "$1" "$2" cands | sed 's/=$//' >"$tmp/out"
        zsh_result "$1" "$2" err >"$tmp/err"
        if [ -s "$tmp/err" ]; then
            fail "zsh ($1): '$2<TAB>' printed errors: $(tr '\n' ' ' <"$tmp/err")"
        fi
    }
    check_zsh() { # MODE LINE WORD
        zsh_cands "$1" "$2"
        expect_has "zsh ($1)" "$2" "$3" "$tmp/out"
    }
    check_zsh_inserts() { # MODE LINE BUFFER: TAB turns LINE into BUFFER.
        local got
        got=$(zsh_result "$1" "$2" buffer)
        if [ "$got" = "$3" ]; then
            note "zsh ($1): '$2<TAB>' gives '$3'"
        else
            fail "zsh ($1): '$2<TAB>' gives '$got', not '$3'"
        fi
    }

    # Everything the live checks below type (order does not matter).
    {
        echo 'netlab '
        echo 'netlab -'
        while read -r sub; do
            [ -n "$sub" ] || continue
            echo "netlab $sub -"
            help_enums $sub | while read -r opt _; do echo "netlab $sub $opt "; done
        done <"$tmp/subs.all"
        echo 'netlab ts'
        echo 'netlab tserv --mo'
        echo 'netlab tserv --model=th'
        echo 'netlab uclnt --port dayt'
        echo 'netlab uclnt localhost dayt'
        echo "netlab tclnt --unix $tmp/files/ts."
        echo "netlab cmdserv --root $tmp/files/"
        echo 'netlab tclnt -H localh'
        echo 'netlab tserv --max-line '
    } >"$tmp/zsh-queries"
    zsh_run fpath
    zsh_run source

    # fpath + compinit: subcommands, every option and enumerated values as
    # --help lists them, then the kinds of values.
    zsh_cands fpath 'netlab '
    sort -u "$tmp/out" >"$tmp/zsh.got"
    compare "zsh (fpath), 'netlab <TAB>'" "$tmp/subs.help" "$tmp/zsh.got"
    while IFS= read -r sub <&3; do
        # shellcheck disable=SC2086 # no argument at all for netlab itself
        help_options $sub >"$tmp/opts.help"
        zsh_cands fpath "netlab ${sub:+$sub }-"
        sort -u "$tmp/out" >"$tmp/zsh.got"
        compare "zsh (fpath), 'netlab ${sub:+$sub }-<TAB>'" "$tmp/opts.help" "$tmp/zsh.got"
        [ -n "$sub" ] || continue
        while read -r opt values; do
            tr ' ' '\n' <<<"$values" | sort -u >"$tmp/enum.help"
            zsh_cands fpath "netlab $sub $opt "
            sort -u "$tmp/out" >"$tmp/zsh.got"
            compare "zsh (fpath), 'netlab $sub $opt <TAB>'" "$tmp/enum.help" "$tmp/zsh.got"
        done < <(help_enums $sub)
    done 3<"$tmp/subs.all"
    note "zsh (fpath): subcommands, options and enumerated values offered as --help lists them"
    check_zsh fpath 'netlab ts' tserv
    check_zsh_inserts fpath 'netlab ts' 'netlab tserv '
    check_zsh fpath 'netlab tserv --mo' --model
    check_zsh_inserts fpath 'netlab tserv --mo' 'netlab tserv --model='
    check_zsh_inserts fpath 'netlab tserv --model=th' 'netlab tserv --model=thread '
    if grep -qE '^daytime[[:space:]]+13/udp' /etc/services 2>/dev/null; then
        check_zsh fpath 'netlab uclnt --port dayt' daytime
        check_zsh fpath 'netlab uclnt localhost dayt' daytime
    fi
    check_zsh_inserts fpath "netlab tclnt --unix $tmp/files/ts." "netlab tclnt --unix $tmp/files/ts.sock "
    if grep -qxF cmdserv "$tmp/subs.help"; then
        check_zsh fpath "netlab cmdserv --root $tmp/files/" pub
        if grep -qxF ts.sock "$tmp/out"; then
            fail "zsh (fpath): 'netlab cmdserv --root DIR/<TAB>' offers a file, not only directories"
        fi
    fi
    if grep -qE '^[^#]*[[:space:]]localhost([[:space:]]|$)' /etc/hosts 2>/dev/null; then
        check_zsh fpath 'netlab tclnt -H localh' localhost
    fi
    zsh_cands fpath 'netlab tserv --max-line '
    if grep -q -- '^-' "$tmp/out"; then
        fail "zsh (fpath): 'netlab tserv --max-line <TAB>' offers options: $(tr '\n' ' ' <"$tmp/out")"
    fi

    # `source _netlab` after compinit works the same.
    check_zsh source 'netlab ts' tserv
    check_zsh source 'netlab tserv --mo' --model
    check_zsh source 'netlab tserv --model ' reactor
else
    note "SKIP zsh: not installed"
fi

# --- fish: `complete -C`, the way fish itself asks for completions.
if command -v fish >/dev/null 2>&1; then
    fish --no-execute "$FISH_FILE" || fail "fish --no-execute: syntax error in $FISH_FILE"
    fish_flags=(--no-config)
    fish --no-config -c true 2>/dev/null || fish_flags=() # fish < 3.3
    check_fish() { # LINE WORD
        # shellcheck disable=SC2016 # expanded by fish
        FILE=$FISH_FILE LINE=$1 timeout 20 fish "${fish_flags[@]}" -c 'source $FILE; complete -C"$LINE"' \
            2>"$tmp/err" | cut -f1 >"$tmp/out" || true
        expect_has fish "$1" "$2" "$tmp/out"
    }
    check_fish 'netlab ts' tserv
    check_fish 'netlab tserv --mo' --model
    check_fish 'netlab tserv --model ' reactor
    check_fish 'netlab uclnt -' --retries
else
    note "SKIP fish: not installed"
fi

if [ "$failures" -ne 0 ]; then
    echo "completions_test: $failures failure(s)" >&2
    exit 1
fi
note "PASS"
