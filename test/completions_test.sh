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
#  2. Drives each shell that is installed for a few real completions
#     (bash always, with bash-completion when present; zsh and fish when
#     installed, skipped otherwise).
# bash answers part 1 by running its completion function; zsh and fish may be
# absent, so their files are read: one spec / `complete` per line (see the
# comments at the top of those files).
set -u
export LC_ALL=C # one sort order for sort and comm

if [ $# -ne 2 ]; then
    echo "usage: completions_test.sh /path/to/netlab /path/to/completions" >&2
    exit 64
fi
NETLAB=$1
DIR=$2
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

# Option forms (-x, --xx) of `netlab [SUB] --help`, from every option group
# ("Options:" and named groups alike): the lines that start with "  -".
help_options() {
    "$NETLAB" "$@" --help | grep -E '^  -' | sed -E 's/^  ([^ ]+).*/\1/' |
        tr ',' '\n' | grep -E '^-' | sort -u
}

# "OPTION v1 v2 ..." for each option with an enumerated value ({a,b,c}).
help_enums() {
    "$NETLAB" "$@" --help | grep -E '^  -.*:\{[^}]*\}' |
        sed -E 's/^  ([^ ]+) [^{]*\{([^}]*)\}.*/\1 \2/' |
        while read -r forms values; do
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

# The spec lines of subcommand $1: the "SUB)" case in _netlab_specs, up to ";;".
zsh_spec_lines() {
    awk -v label="$1)" '
        !f { l = $0; gsub(/^[ \t]+|[ \t]+$/, "", l); if (l == label) f = 1; next }
        /^[ \t]*;;/ { exit }
        { print }' "$ZSH_FILE"
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
            "") continue ;; # e.g. `complete -c netlab -f`
            *) subs="?$cond" ;;
        esac
        printf '%s|%s\n' "$subs" "$(sed -E "s/'[^']*'//g; s/\"[^\"]*\"//g" <<<"$line")"
    done <"$FISH_FILE"
}

# The raw `complete` lines that apply to subcommand $1 ("-": before one).
fish_raw_lines_for() {
    local line cond
    while IFS= read -r line; do
        [[ $line == "complete -c netlab "* ]] || continue
        cond=""
        if [[ $line =~ -n\ \'([^\']*)\' ]]; then cond=${BASH_REMATCH[1]}
        elif [[ $line =~ -n\ ([^ ]+) ]]; then cond=${BASH_REMATCH[1]}; fi
        if [ "$1" = - ]; then
            [ "$cond" = __netlab_needs_subcommand ] && echo "$line"
        else
            [[ " ${cond#__netlab_using } " == *" $1 "* && $cond == "__netlab_using "* ]] && echo "$line"
        fi
    done <"$FISH_FILE"
}

fish_options() {
    local want=${1:--}
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
    fish_lines | while IFS='|' read -r subs rest; do
        [ "$subs" = - ] || continue
        grep -oE -- '(^| )-a [a-z][-a-z0-9]*' <<<"$rest" | sed -E 's/^ ?-a //'
    done | sort -u
}

# Every subcommand named in a condition (to catch stale names).
fish_condition_subcommands() {
    fish_lines | while IFS='|' read -r subs rest; do
        [ "$subs" = - ] && continue
        tr ' ' '\n' <<<"$subs"
    done | grep -v '^$' | sort -u
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

# netlab's own options (before a subcommand), then each subcommand's.
for sub in "" $(cat "$tmp/subs.help"); do
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
    done < <(help_enums "$sub")

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
done

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

# --- zsh: complete through a real zle in a pty (zsh/zpty), with compinit.
if command -v zsh >/dev/null 2>&1; then
    zsh -n "$ZSH_FILE" || fail "zsh -n: syntax error in $ZSH_FILE"
    # Runs a real zle (vared) in a pty with compinit and our _netlab in fpath,
    # types LINE and TAB, and records every match handed to compadd.
    cat >"$tmp/drive.zsh" <<'EOF'
zmodload zsh/zpty || exit 3
comptest() {
    fpath=("$COMPDIR" $fpath)
    autoload -Uz compinit && compinit -u -D
    typeset -ga found=()
    compadd() {
        local -a got
        builtin compadd -O got "$@"
        found+=("${got[@]}")
        builtin compadd "$@"
    }
    bindkey '^I' complete-word
    zle -C complete-word complete-word netlab-complete-word
    netlab-complete-word() {
        unset 'compstate[vared]'
        _main_complete "$@"
        print -rn -- $'\x02'
        print -rl -- "${found[@]}"
        print -rn -- $'\x03'
        exit
    }
    vared -c buffer
}
zpty -b comp comptest
zpty -n -w comp "$LINE"$'\t'
out=''
while zpty -r comp chunk; do
    out+=$chunk
    [[ $out == *$'\x03'* ]] && break
done
zpty -d comp
out=${out#*$'\x02'}
out=${out%%$'\x03'*}
print -r -- "${out//$'\r'/}"
EOF
    # zsh_complete LINE: prints what TAB at the end of LINE offers.
    zsh_complete() {
        COMPDIR=$DIR LINE=$1 timeout 20 zsh -f "$tmp/drive.zsh"
    }
    check_zsh() { # LINE WORD
        # "--model=" and "--model" are the same candidate.
        zsh_complete "$1" 2>"$tmp/err" | sed 's/=$//' >"$tmp/out" || true
        expect_has zsh "$1" "$2" "$tmp/out"
    }
    check_zsh 'netlab ts' tserv
    check_zsh 'netlab tserv --mo' --model
    check_zsh 'netlab tserv --model ' reactor
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
