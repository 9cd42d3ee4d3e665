# bash completion for netlab                               -*- shell-script -*-
#
# Install as share/bash-completion/completions/netlab, or `source` it.
# Works with the bash-completion package (host and file helpers from it) and
# without it (plain compgen).
#
# Data-driven: to add a subcommand, add it to _netlab_subcommands and give it a
# _netlab_opts entry; options that take a value go in _netlab_args (keyed
# "SUB OPTION" when the value differs between subcommands, else "OPTION").
# test/completions_test.sh fails when this drifts from `netlab SUB --help`.

_netlab_subcommands=(tserv tclnt userv uclnt cmdserv chat-server chat-client bench)

# Subcommands with modes of their own (netlab bench rr ...): a mode's options
# are keyed "SUB MODE" in _netlab_opts, _netlab_args and _netlab_positionals.
declare -gA _netlab_modes=(
    [bench]='rr udp fanout idle'
)

_netlab_global_opts='-h --help --version --trace --trace-bytes'

# Every option of each subcommand, short and long forms.
declare -gA _netlab_opts=(
    [tserv]='-h --help -H --host -p --port --unix --model --framing --max-line --one-shot
             --max-clients --idle-timeout --allow --deny -v --verbose -q --quiet --trace --trace-bytes'
    [tclnt]='-h --help -H --host -p --port --unix -m --message --one-shot --timeout --max-line
             -v --verbose -q --quiet --trace --trace-bytes'
    [userv]='-h --help -H --host -p --port --unix --allow --deny -v --verbose -q --quiet --trace --trace-bytes'
    [uclnt]='-h --help -H --host -p --port --unix -m --message --timeout --retries
             -v --verbose -q --quiet --trace --trace-bytes'
    [cmdserv]='-h --help -H --host -p --port --unix --model --framing --max-line --one-shot
               --max-clients --idle-timeout --allow --deny -v --verbose -q --quiet --trace --trace-bytes --root --max-reply'
    [chat-server]='-h --help -H --host -p --port --unix --mode --framing --history --max-queue
                   --max-clients --login-timeout --max-line --cluster --cluster-prefix --allow --deny -v --verbose -q --quiet --trace --trace-bytes'
    [chat-client]='-h --help -H --host -p --port --unix --mode -u --user -r --room --linger --timeout
                   -v --verbose -q --quiet --trace --trace-bytes'
    [bench]='-h --help'
    [bench rr]='-h --help -H --host -p --port --unix -c --connections -d --duration --warmup
                -t --threads --payload --json -v --verbose -q --quiet --trace --trace-bytes --pipeline
                --rate'
    [bench udp]='-h --help -H --host -p --port --unix -c --connections -d --duration --warmup
                 -t --threads --payload --json -v --verbose -q --quiet --trace --trace-bytes --resend-ms'
    [bench fanout]='-h --help -H --host -p --port --unix -c --connections -d --duration --warmup
                    -t --threads --payload --json -v --verbose -q --quiet --trace --trace-bytes
                    --room --window --member-port --protocol'
    [bench idle]='-h --help -H --host -p --port --unix -c --connections -d --duration --warmup
                  -t --threads --payload --json -v --verbose -q --quiet --trace --trace-bytes
                  --hold --server-pid'
)

# Options that take a value, and how to complete it:
#   host | port-tcp | port-udp | file | dir | none (free text) | "v1 v2 ..." (enumeration)
declare -gA _netlab_args=(
    [-H]=host [--host]=host
    [--unix]=file
    [--root]=dir
    [--model]='reactor thread fork iterative'
    [--framing]='line raw'
    [--mode]='room duplex half-duplex'
    [--history]=none [--max-queue]=none [--login-timeout]=none [--linger]=none
    [--cluster]=none [--cluster-prefix]=none [--member-port]=none
    [-u]=none [--user]=none [-r]=none [--room]=none
    [--max-line]=none [--max-clients]=none [--idle-timeout]=none [--max-reply]=none
    [--allow]=none [--deny]=none
    [-m]=none [--message]=none
    [--timeout]=none [--retries]=none
    [--trace-bytes]=none
    [-c]=none [--connections]=none [-d]=none [--duration]=none [--warmup]=none
    [-t]=none [--threads]=none [--payload]=none [--pipeline]=none [--rate]=none [--resend-ms]=none
    [--window]=none [--protocol]='netlab redis' [--hold]=none [--server-pid]=none
    [tserv -p]=port-tcp [tserv --port]=port-tcp
    [tclnt -p]=port-tcp [tclnt --port]=port-tcp
    [userv -p]=port-udp [userv --port]=port-udp
    [uclnt -p]=port-udp [uclnt --port]=port-udp
    [cmdserv -p]=port-tcp [cmdserv --port]=port-tcp
    [chat-server -p]=port-tcp [chat-server --port]=port-tcp
    [chat-client -p]=port-tcp [chat-client --port]=port-tcp
    [bench rr -p]=port-tcp [bench rr --port]=port-tcp
    [bench udp -p]=port-udp [bench udp --port]=port-udp
    [bench fanout -p]=port-tcp [bench fanout --port]=port-tcp
    [bench idle -p]=port-tcp [bench idle --port]=port-tcp
)

# Positional arguments of clients ([HOST] [PORT]), in order.
declare -gA _netlab_positionals=(
    [tclnt]='host port-tcp'
    [uclnt]='host port-udp'
    [chat-client]='host port-tcp'
    [bench rr]='host port-tcp'
    [bench udp]='host port-udp'
    [bench fanout]='host port-tcp'
    [bench idle]='host port-tcp'
)

# Service names for PROTO (tcp/udp) from /etc/services, aliases included.
_netlab_services() {
    local proto=$1
    [[ -r /etc/services ]] || return 0
    awk -v proto="$proto" '
        /^[ \t]*#/ || NF < 2 { next }
        { split($2, pp, "/"); if (pp[2] != proto) next
          print $1
          for (i = 3; i <= NF && $i !~ /^#/; i++) print $i }' /etc/services
}

# Completes the value of kind $1 for the current word $cur.
_netlab_complete_value() {
    local kind=$1
    case $kind in
        host)
            if declare -F _known_hosts_real >/dev/null; then
                _known_hosts_real -- "$cur"
            else
                mapfile -t COMPREPLY < <(compgen -A hostname -- "$cur")
            fi
            ;;
        port-tcp | port-udp)
            mapfile -t COMPREPLY < <(compgen -W "$(_netlab_services "${kind#port-}")" -- "$cur")
            ;;
        file)
            if declare -F _filedir >/dev/null; then
                _filedir
            else
                compopt -o filenames 2>/dev/null
                mapfile -t COMPREPLY < <(compgen -f -- "$cur")
            fi
            ;;
        dir)
            if declare -F _filedir >/dev/null; then
                _filedir -d
            else
                compopt -o filenames 2>/dev/null
                mapfile -t COMPREPLY < <(compgen -d -- "$cur")
            fi
            ;;
        none) COMPREPLY=() ;;
        *) mapfile -t COMPREPLY < <(compgen -W "$kind" -- "$cur") ;;
    esac
}

# Kind of value option $2 of subcommand $1 takes; empty when it is a flag.
_netlab_arg_kind() {
    local key="$1 $2"
    if [[ -n ${_netlab_args[$key]+set} ]]; then
        echo "${_netlab_args[$key]}"
    elif [[ -n ${_netlab_args[$2]+set} ]]; then
        echo "${_netlab_args[$2]}"
    fi
}

# Without bash-completion: sets words/cword/cur/prev like `_init_completion -s`.
# COMP_WORDBREAKS splits "--port=80" into "--port" "=" "80"; glue those back
# into one word, then split the current word at "=" into prev/cur.
_netlab_words_by_ref() {
    words=()
    cword=0
    local j w
    for ((j = 0; j < ${#COMP_WORDS[@]}; j++)); do
        w=${COMP_WORDS[j]}
        if [[ $w == = && ${#words[@]} -gt 0 && ${words[-1]} == -* && ${words[-1]} != *=* ]]; then
            words[-1]+="="
            ((j == COMP_CWORD)) && cword=$((${#words[@]} - 1))
            if ((j + 1 <= COMP_CWORD)); then
                ((j++))
                words[-1]+=${COMP_WORDS[j]}
                ((j == COMP_CWORD)) && cword=$((${#words[@]} - 1))
            fi
            continue
        fi
        words+=("$w")
        ((j == COMP_CWORD)) && cword=$((${#words[@]} - 1))
    done
    cur=${words[cword]-}
    prev=${words[cword - 1]-}
    if [[ $cur == -*=* ]]; then
        prev=${cur%%=*}
        cur=${cur#*=}
    fi
}

_netlab() {
    # shellcheck disable=SC2034 # split is set by _init_completion -s
    local cur prev words cword split
    if declare -F _init_completion >/dev/null; then
        _init_completion -s || return
    else
        _netlab_words_by_ref
    fi

    # The subcommand is the first word that is not an option (or the value of
    # --trace-bytes, the one global option that takes one).
    local sub="" sub_index=0 i
    for ((i = 1; i < cword; i++)); do
        if [[ ${words[i]} == --trace-bytes ]]; then
            ((i++))
        elif [[ ${words[i]} != -* ]]; then
            sub=${words[i]}
            sub_index=$i
            break
        fi
    done

    if [[ -z $sub ]]; then
        if [[ $prev == --trace-bytes ]]; then
            COMPREPLY=()
        elif [[ $cur == -* ]]; then
            mapfile -t COMPREPLY < <(compgen -W "$_netlab_global_opts" -- "$cur")
        else
            mapfile -t COMPREPLY < <(compgen -W "${_netlab_subcommands[*]}" -- "$cur")
        fi
        return
    fi
    # A subcommand with modes: the mode is the next word that is not an
    # option; until it is typed, complete it (or the subcommand's own options).
    if [[ -n ${_netlab_modes[$sub]+set} ]]; then
        local mode=""
        for ((i = sub_index + 1; i < cword; i++)); do
            if [[ ${words[i]} != -* ]]; then
                mode=${words[i]}
                sub_index=$i
                break
            fi
        done
        if [[ -z $mode ]]; then
            if [[ $cur == -* ]]; then
                mapfile -t COMPREPLY < <(compgen -W "${_netlab_opts[$sub]}" -- "$cur")
            else
                mapfile -t COMPREPLY < <(compgen -W "${_netlab_modes[$sub]}" -- "$cur")
            fi
            return
        fi
        sub="$sub $mode"
    fi
    [[ -n ${_netlab_opts[$sub]+set} ]] || return

    # Value of an option (the previous word, or --opt=value in this word).
    if [[ $prev == -* ]]; then
        local kind
        kind=$(_netlab_arg_kind "$sub" "$prev")
        if [[ -n $kind ]]; then
            _netlab_complete_value "$kind"
            return
        fi
    fi

    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "${_netlab_opts[$sub]}" -- "$cur")
        return
    fi

    # Positionals: count the non-option words after the subcommand, skipping
    # option values.
    local -a pos
    read -ra pos <<<"${_netlab_positionals[$sub]-}"
    ((${#pos[@]})) || return
    local n=0
    for ((i = sub_index + 1; i < cword; i++)); do
        if [[ ${words[i]} == -* ]]; then
            [[ ${words[i]} != *=* && -n $(_netlab_arg_kind "$sub" "${words[i]}") ]] && ((i++))
        else
            ((n++))
        fi
    done
    ((n < ${#pos[@]})) && _netlab_complete_value "${pos[n]}"
} &&
    complete -F _netlab netlab

# ex: filetype=sh
