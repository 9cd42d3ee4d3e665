# CLI surface tests, run against the real binary (STYLE.md §7): exit codes and
# messages, the user-level smoke test, and the completions drift test.
# Included from test/CMakeLists.txt.

set(NETLAB_BIN $<TARGET_FILE:netlab>)
set(NETLAB_EXPECT_EXIT sh ${CMAKE_CURRENT_SOURCE_DIR}/expect_exit.sh)

# The subcommands, read from modes/modes.hpp (one register_<mode>() each;
# chat_server -> chat-server), so a new subcommand gets its checks below
# without touching this file.
set(_netlab_modes_hpp ${PROJECT_SOURCE_DIR}/modes/modes.hpp)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_netlab_modes_hpp})
file(STRINGS ${_netlab_modes_hpp} _netlab_register_lines REGEX "^void register_[a-z0-9_]+\\(")
set(NETLAB_SUBCOMMANDS)
foreach(_line IN LISTS _netlab_register_lines)
  string(REGEX REPLACE "^void register_([a-z0-9_]+)\\(.*" "\\1" _name "${_line}")
  string(REPLACE "_" "-" _name "${_name}")
  list(APPEND NETLAB_SUBCOMMANDS ${_name})
endforeach()

# netlab_cli_test(NAME [STDERR] CODE REGEX... -- ARGS...): `netlab ARGS` exits
# with exactly CODE and its output (stderr alone with STDERR) matches every REGEX.
function(netlab_cli_test name)
  set(_args ${ARGN})
  set(_flag)
  list(GET _args 0 _first)
  if(_first STREQUAL "STDERR")
    set(_flag --stderr)
    list(REMOVE_AT _args 0)
  endif()
  list(FIND _args "--" _sep)
  if(_sep EQUAL -1)
    message(FATAL_ERROR "netlab_cli_test(${name}): missing --")
  endif()
  list(SUBLIST _args 0 ${_sep} _expect)
  math(EXPR _after "${_sep} + 1")
  set(_cmd) # empty arguments would not survive here: spell such tests out
  list(LENGTH _args _len)
  if(_after LESS _len)
    list(SUBLIST _args ${_after} -1 _cmd)
  endif()
  add_test(NAME cli.${name} COMMAND ${NETLAB_EXPECT_EXIT} ${_flag} ${_expect} -- ${NETLAB_BIN} ${_cmd})
  set_tests_properties(cli.${name} PROPERTIES TIMEOUT 30 LABELS cli)
endfunction()

if(NOT NETLAB_SUBCOMMANDS)
  # Fail loudly rather than silently checking nothing.
  add_test(NAME cli.subcommands_found COMMAND ${CMAKE_COMMAND} -E false)
endif()

# --help and --version: exit 0; --help names every subcommand.
set(_help_regexes "^Usage: netlab ")
foreach(_sub IN LISTS NETLAB_SUBCOMMANDS)
  list(APPEND _help_regexes "^  ${_sub} +[^ ]")
endforeach()
netlab_cli_test(help_exits_0 0 ${_help_regexes} -- --help)
netlab_cli_test(help_short_exits_0 0 "^Usage: netlab " -- -h)
string(REPLACE "." "\\." _version_regex "${PROJECT_VERSION}")
netlab_cli_test(version_exits_0 0 "^netlab ${_version_regex}$" -- --version)

# Usage errors: exit 2, with the offending value named on stderr.
# `netlab` alone: the usage and every subcommand with its one-line description,
# on stderr (a usage error), as git and docker do.
netlab_cli_test(no_subcommand_exits_2 STDERR 2 ${_help_regexes} "^Subcommands:" --)
netlab_cli_test(unknown_subcommand_exits_2 STDERR 2 "--help" -- bogus)
netlab_cli_test(port_70000_exits_2 STDERR 2 "70000" -- tclnt -p 70000)
netlab_cli_test(port_70000_positional_exits_2 STDERR 2 "70000" -- tclnt localhost 70000)
netlab_cli_test(port_negative_exits_2 STDERR 2 "-1" -- tclnt -p -1)
netlab_cli_test(port_not_a_number_exits_2 STDERR 2 "abc" -- tclnt -p abc)
# An empty argument cannot pass through a CMake list, so this one is spelled out.
add_test(NAME cli.port_empty_exits_2
         COMMAND ${NETLAB_EXPECT_EXIT} --stderr 2 "[Pp]ort" -- ${NETLAB_BIN} tclnt -p "")
set_tests_properties(cli.port_empty_exits_2 PROPERTIES TIMEOUT 30 LABELS cli)
netlab_cli_test(server_port_70000_exits_2 STDERR 2 "70000" -- tserv -p 70000)
netlab_cli_test(unknown_option_exits_2 STDERR 2 "--bogus" -- tclnt --bogus)
netlab_cli_test(bad_model_exits_2 STDERR 2 "nope" -- tserv --model nope)
netlab_cli_test(bad_framing_exits_2 STDERR 2 "nope" -- tserv --framing nope)
netlab_cli_test(bad_cluster_url_exits_2 STDERR 2 "http://x: expected redis://HOST:PORT\\[/DB\\]"
                -- chat-server --cluster http://x)
netlab_cli_test(cluster_port_70000_exits_2 STDERR 2 "invalid port '70000'"
                -- chat-server --cluster redis://127.0.0.1:70000)
# No option is silently ignored: one that only room mode uses, given with
# --mode duplex or half-duplex, is a usage error naming it.
foreach(_mode duplex half-duplex)
  foreach(_opt_value "--history;5" "--max-queue;65536" "--max-clients;3" "--login-timeout;5"
                     "--cluster;redis://127.0.0.1:6379" "--cluster-prefix;x")
    list(GET _opt_value 0 _opt)
    string(REPLACE "--" "" _name "${_opt}")
    netlab_cli_test(chat_server_${_mode}_rejects_${_name}_exits_2 STDERR 2
                    "^netlab chat-server: ${_opt} applies only to --mode room$"
                    -- chat-server --port 0 --mode ${_mode} ${_opt_value})
  endforeach()
  # OPTION;VALUE;the name the error gives it
  foreach(_opt_value_long "-u;alice;--user" "--user;alice;--user" "-r;games;--room"
                          "--room;games;--room")
    list(GET _opt_value_long 0 _opt)
    list(GET _opt_value_long 1 _value)
    list(GET _opt_value_long 2 _long)
    string(REGEX REPLACE "^-+" "" _name "${_opt}")
    netlab_cli_test(chat_client_${_mode}_rejects_${_name}_exits_2 STDERR 2
                    "^netlab chat-client: ${_long} applies only to --mode room$"
                    -- chat-client --mode ${_mode} ${_opt} ${_value})
  endforeach()
endforeach()
netlab_cli_test(chat_server_cluster_prefix_needs_cluster_exits_2 STDERR 2
                "^netlab chat-server: --cluster-prefix needs --cluster$"
                -- chat-server --port 0 --cluster-prefix x)
netlab_cli_test(cluster_prefix_with_space_exits_2 STDERR 2 "expected a word without spaces"
                -- chat-server --cluster redis://127.0.0.1:6379 --cluster-prefix "a b")

# Every subcommand: --help exits 0 with its usage and examples.
foreach(_sub IN LISTS NETLAB_SUBCOMMANDS)
  netlab_cli_test(${_sub}_help_exits_0 0 "^Usage: netlab ${_sub} " "^Examples:" "^  netlab ${_sub}" -- ${_sub} --help)
endforeach()

# A user's smoke test: servers on port 0, clients and nc through pipes, SIGTERM.
add_test(NAME smoke.tcp_udp COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/smoke.sh ${NETLAB_BIN})
set_tests_properties(smoke.tcp_udp PROPERTIES TIMEOUT 90 LABELS smoke)

# completions/ offers exactly what `netlab SUB --help` lists, in all three shells.
add_test(NAME completions.match_help
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/completions_test.sh ${NETLAB_BIN}
                 ${PROJECT_SOURCE_DIR}/completions)
set_tests_properties(completions.match_help PROPERTIES TIMEOUT 180 LABELS completions)

# netlab bench: a mode is required, and bad load options are usage errors.
netlab_cli_test(bench_without_mode_exits_2 STDERR 2 "^Usage: netlab bench " "^  rr +[^ ]" "^  idle +[^ ]"
                -- bench)
netlab_cli_test(bench_unknown_mode_exits_2 STDERR 2 "" -- bench nope)
netlab_cli_test(bench_pipeline_0_exits_2 STDERR 2 "pipeline" -- bench rr --pipeline 0)
netlab_cli_test(bench_connections_0_exits_2 STDERR 2 "connections" -- bench rr -c 0)
netlab_cli_test(bench_bad_protocol_exits_2 STDERR 2 "nope" -- bench fanout --protocol nope)
netlab_cli_test(bench_negative_duration_exits_2 STDERR 2 "duration" -- bench udp -d -1)
foreach(_mode rr udp fanout idle)
  netlab_cli_test(bench_${_mode}_help_exits_0 0 "^Usage: netlab bench ${_mode} " "^Examples:" -- bench ${_mode} --help)
endforeach()
