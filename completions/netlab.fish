# fish completion for netlab.
#
# Install as share/fish/vendor_completions.d/netlab.fish (or copy it to
# ~/.config/fish/completions/).
#
# Data-driven: every `complete` line below names the subcommands it applies
# to in its condition (`__netlab_using SUB...`), so an option shared by many
# subcommands is one line, and a new subcommand is one more name on those
# lines plus lines for its own options. Keep one `complete` per line:
# test/completions_test.sh reads them and fails when they drift from
# `netlab SUB --help`.

# Prints the subcommand on the command line so far (the first word after
# `netlab` that is not an option, nor the value of --trace-bytes, the one
# global option that takes one); fails when there is none yet.
function __netlab_subcommand
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l skip 0
    for t in $tokens
        if test $skip = 1
            set skip 0
        else if test "$t" = --trace-bytes
            set skip 1
        else if not string match -q -- '-*' $t
            echo $t
            return 0
        end
    end
    return 1
end

# True while no subcommand has been typed (silent; usable as a condition).
function __netlab_needs_subcommand
    not __netlab_subcommand >/dev/null
end

# True when the subcommand on the command line is one of $argv.
function __netlab_using
    set -l sub (__netlab_subcommand); or return 1
    contains -- $sub $argv
end

# Prints the mode of `netlab bench` (the first word after `bench` that is
# not an option); fails when there is none yet.
function __netlab_bench_mode
    test "$(__netlab_subcommand)" = bench; or return 1
    set -l tokens (commandline -opc)
    set -l after 0
    for t in $tokens
        if test $after = 1
            if not string match -q -- '-*' $t
                echo $t
                return 0
            end
        else if test "$t" = bench
            set after 1
        end
    end
    return 1
end

# True after `netlab bench` while no mode has been typed.
function __netlab_bench_needs_mode
    __netlab_using bench; and not __netlab_bench_mode >/dev/null
end

# True when the bench mode on the command line is one of $argv.
function __netlab_bench_using
    set -l mode (__netlab_bench_mode); or return 1
    contains -- $mode $argv
end

# Service names for protocol $argv[1] (tcp/udp) from /etc/services, with the
# port as description.
function __netlab_services --argument-names proto
    test -r /etc/services; or return 0
    awk -v proto=$proto '
        /^[ \t]*#/ || NF < 2 { next }
        { split($2, pp, "/"); if (pp[2] != proto) next
          print $1 "\t" $2
          for (i = 3; i <= NF && $i !~ /^#/; i++) print $i "\t" $2 }' /etc/services
end

# No file names unless an option asks for them.
complete -c netlab -f

# netlab itself, before a subcommand.
complete -c netlab -n __netlab_needs_subcommand -s h -l help -d 'Print help and exit'
complete -c netlab -n __netlab_needs_subcommand -l version -d 'Print version and exit'
complete -c netlab -n __netlab_needs_subcommand -l trace -d 'Print every socket call (--trace=all: also epoll and poll)'
complete -c netlab -n __netlab_needs_subcommand -l trace-bytes -x -d 'Payload bytes shown per trace line'
complete -c netlab -n __netlab_needs_subcommand -a tserv -d 'TCP timestamp server'
complete -c netlab -n __netlab_needs_subcommand -a tclnt -d 'TCP client'
complete -c netlab -n __netlab_needs_subcommand -a userv -d 'UDP timestamp server'
complete -c netlab -n __netlab_needs_subcommand -a uclnt -d 'UDP client'
complete -c netlab -n __netlab_needs_subcommand -a cmdserv -d 'Command server (date, os, ls, help)'
complete -c netlab -n __netlab_needs_subcommand -a chat-server -d 'Chat server (rooms, or 1:1 with the operator)'
complete -c netlab -n __netlab_needs_subcommand -a chat-client -d 'Chat client'
complete -c netlab -n __netlab_needs_subcommand -a bench -d 'Load generator (like redis-benchmark)'

# Options of every subcommand.
complete -c netlab -n '__netlab_using tserv tclnt userv uclnt cmdserv chat-server chat-client' -s h -l help -d 'Print help and exit'
complete -c netlab -n '__netlab_using tserv tclnt userv uclnt cmdserv chat-server chat-client' -s v -l verbose -d 'Log connections and other events'
complete -c netlab -n '__netlab_using tserv tclnt userv uclnt cmdserv chat-server chat-client' -s q -l quiet -d 'Log nothing but errors'
complete -c netlab -n '__netlab_using tserv tclnt userv uclnt cmdserv chat-server chat-client' -l trace -d 'Print every socket call (--trace=all: also epoll and poll)'
complete -c netlab -n '__netlab_using tserv tclnt userv uclnt cmdserv chat-server chat-client' -l trace-bytes -x -d 'Payload bytes shown per trace line'

# Addresses (SPEC "Addresses").
complete -c netlab -n '__netlab_using tserv userv cmdserv chat-server' -s H -l host -x -a '(__fish_print_hostnames)' -d 'Address to listen on (0.0.0.0 for all interfaces)'
complete -c netlab -n '__netlab_using tclnt uclnt chat-client' -s H -l host -x -a '(__fish_print_hostnames)' -d 'Server host name or address'
complete -c netlab -n '__netlab_using tserv tclnt cmdserv chat-server chat-client' -s p -l port -x -a '(__netlab_services tcp)' -d 'Port number or tcp service name'
complete -c netlab -n '__netlab_using userv uclnt' -s p -l port -x -a '(__netlab_services udp)' -d 'Port number or udp service name'
complete -c netlab -n '__netlab_using tserv tclnt cmdserv chat-server chat-client' -l unix -r -F -d 'Use a Unix stream socket at PATH'
complete -c netlab -n '__netlab_using userv uclnt' -l unix -r -F -d 'Use a Unix datagram socket at PATH'

# Servers (tserv and cmdserv share the TCP server options).
complete -c netlab -n '__netlab_using tserv userv cmdserv chat-server' -l allow -x -d 'Accept only clients from this CIDR (repeatable)'
complete -c netlab -n '__netlab_using tserv userv cmdserv chat-server' -l deny -x -d 'Refuse clients from this CIDR (repeatable)'
complete -c netlab -n '__netlab_using tserv cmdserv' -l model -x -a '(printf "%s\t%s\n" reactor "epoll event loop (default)" thread "one thread per client" fork "one process per client" iterative "one client at a time")' -d 'Server concurrency model'
complete -c netlab -n '__netlab_using tserv cmdserv chat-server' -l framing -x -a '(printf "%s\t%s\n" line "a request is a newline-terminated line (default)" raw "each read chunk is a request")' -d 'How requests are delimited'
complete -c netlab -n '__netlab_using tserv cmdserv' -l one-shot -d 'Answer one request per connection, then close'
complete -c netlab -n '__netlab_using tserv cmdserv chat-server' -l max-clients -x -d 'Refuse clients beyond N at once (0 = no limit)'
complete -c netlab -n '__netlab_using tserv cmdserv' -l idle-timeout -x -d 'Close clients that make no progress for SECS (0 = never)'
complete -c netlab -n '__netlab_using tserv cmdserv chat-server' -l max-line -x -d 'Longest accepted line in bytes'
complete -c netlab -n '__netlab_using cmdserv' -l root -x -a '(__fish_complete_directories)' -d 'Directory that ls lists and never leaves'
complete -c netlab -n '__netlab_using cmdserv' -l max-reply -x -d 'Longest ls reply in bytes (a longer listing is cut)'

# Chat.
complete -c netlab -n '__netlab_using chat-server chat-client' -l mode -x -a '(printf "%s\t%s\n" room "multi-user rooms (default)" duplex "1:1 with the server operator" half-duplex "1:1 in strict turns")' -d 'Chat mode'
complete -c netlab -n '__netlab_using chat-server' -l history -x -d 'Lines of room history a newcomer receives first'
complete -c netlab -n '__netlab_using chat-server' -l max-queue -x -d 'Bytes queued for a non-reading member before it is dropped'
complete -c netlab -n '__netlab_using chat-server' -l login-timeout -x -d 'Close connections that send no login line within SECS'
complete -c netlab -n '__netlab_using chat-server' -l cluster -x -a 'redis://127.0.0.1:6379' -d 'Serve the rooms with other nodes through Redis pub/sub'
complete -c netlab -n '__netlab_using chat-server' -l cluster-prefix -x -d 'Prefix of the cluster Redis keys and channels'
complete -c netlab -n '__netlab_using chat-client' -s u -l user -x -d 'Your name (room mode)'
complete -c netlab -n '__netlab_using chat-client' -s r -l room -x -d 'Room to join (room mode)'
complete -c netlab -n '__netlab_using chat-client' -l linger -x -d 'After stdin ends: seconds to wait for the server to close'
complete -c netlab -n '__netlab_using chat-client' -l timeout -x -d 'Seconds to wait for the connection'

# Clients.
complete -c netlab -n '__netlab_using tclnt uclnt' -s m -l message -x -d 'Send MSG instead of reading stdin (repeatable)'
complete -c netlab -n '__netlab_using tclnt' -l one-shot -d 'Connect anew for every message'
complete -c netlab -n '__netlab_using tclnt' -l timeout -x -d 'Seconds to wait for the connection and for each reply'
complete -c netlab -n '__netlab_using tclnt' -l max-line -x -d 'Longest accepted reply line in bytes'
complete -c netlab -n '__netlab_using uclnt' -l timeout -x -d 'Seconds to wait for each reply'
complete -c netlab -n '__netlab_using uclnt' -l retries -x -d 'Resends before giving up'
# Positionals [HOST] [PORT].
complete -c netlab -n '__netlab_using tclnt uclnt chat-client' -a '(__fish_print_hostnames)'

# netlab bench: its modes, then each mode's options.
complete -c netlab -n '__netlab_using bench' -s h -l help -d 'Print help and exit'
complete -c netlab -n __netlab_bench_needs_mode -a rr -d 'Request/response over TCP or a Unix stream socket'
complete -c netlab -n __netlab_bench_needs_mode -a udp -d 'Datagram request/response with resends'
complete -c netlab -n __netlab_bench_needs_mode -a fanout -d 'Chat broadcast (netlab or Redis pub/sub)'
complete -c netlab -n __netlab_bench_needs_mode -a idle -d 'Many idle connections, server RSS per connection'
complete -c netlab -n '__netlab_bench_using rr udp fanout idle' -s h -l help -d 'Print help and exit'
complete -c netlab -n '__netlab_bench_using rr udp fanout idle' -s H -l host -x -a '(__fish_print_hostnames)' -d 'Server host name or address'
complete -c netlab -n '__netlab_bench_using rr fanout idle' -s p -l port -x -a '(__netlab_services tcp)' -d 'Port number or tcp service name'
complete -c netlab -n '__netlab_bench_using udp' -s p -l port -x -a '(__netlab_services udp)' -d 'Port number or udp service name'
complete -c netlab -n '__netlab_bench_using rr fanout idle' -l unix -r -F -d 'Use a Unix stream socket at PATH'
complete -c netlab -n '__netlab_bench_using udp' -l unix -r -F -d 'Use a Unix datagram socket at PATH'
complete -c netlab -n '__netlab_bench_using rr udp fanout idle' -s c -l connections -x -d 'Connections (fanout: members; udp: sockets)'
complete -c netlab -n '__netlab_bench_using rr udp fanout idle' -s d -l duration -x -d 'Seconds to measure'
complete -c netlab -n '__netlab_bench_using rr udp fanout idle' -l warmup -x -d 'Seconds of load before measuring'
complete -c netlab -n '__netlab_bench_using rr udp fanout idle' -s t -l threads -x -d 'Threads, each with its own epoll loop'
complete -c netlab -n '__netlab_bench_using rr udp fanout idle' -l payload -x -d 'Request line, sent with a newline appended'
complete -c netlab -n '__netlab_bench_using rr udp fanout idle' -l json -d 'Print one JSON object instead of the summary'
complete -c netlab -n '__netlab_bench_using rr udp fanout idle' -s v -l verbose -d 'Log connections and other events'
complete -c netlab -n '__netlab_bench_using rr udp fanout idle' -s q -l quiet -d 'Log nothing but errors'
complete -c netlab -n '__netlab_bench_using rr udp fanout idle' -l trace -d 'Print every socket call (--trace=all: also epoll and poll)'
complete -c netlab -n '__netlab_bench_using rr udp fanout idle' -l trace-bytes -x -d 'Payload bytes shown per trace line'
complete -c netlab -n '__netlab_bench_using rr' -l pipeline -x -d 'Requests in flight per connection'
complete -c netlab -n '__netlab_bench_using rr' -l rate -x -d 'Open loop: requests per second in all, timed from when each was due'
complete -c netlab -n '__netlab_bench_using udp' -l resend-ms -x -d 'Resend a request unanswered after MS milliseconds'
complete -c netlab -n '__netlab_bench_using fanout' -l room -x -d 'Room (netlab) or channel (redis)'
complete -c netlab -n '__netlab_bench_using fanout' -l window -x -d 'Messages in flight'
complete -c netlab -n '__netlab_bench_using fanout' -l member-port -x -d 'Spread the members over this port too (cluster nodes)'
complete -c netlab -n '__netlab_bench_using fanout' -l protocol -x -a '(printf "%s\t%s\n" netlab "netlab chat-server" redis "Redis SUBSCRIBE/PUBLISH")' -d 'What the server speaks'
complete -c netlab -n '__netlab_bench_using idle' -l hold -x -d 'Seconds to hold the connections idle'
complete -c netlab -n '__netlab_bench_using idle' -l server-pid -x -a '(__fish_complete_pids)' -d 'Report this server process RSS per connection'
# Positionals [HOST] [PORT].
complete -c netlab -n '__netlab_bench_using rr udp fanout idle' -a '(__fish_print_hostnames)'
