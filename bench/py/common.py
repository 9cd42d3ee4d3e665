"""Shared by the Python reference servers of bench/compare.sh (stdlib only).

They reproduce the tutorial's designs (SocketServer threads, asyncio) with
netlab's wire format, so compare.sh can put a number on what the C++ buys.
"""
import asyncio
import os
import signal
import socket
import sys
import time

MAX_LINE = 64 * 1024  # netlab's --max-line default
TOO_LONG = b"error: line too long (max 65536 bytes)\n"
HOST = "127.0.0.1"


def port_arg():
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        sys.exit(f"usage: {sys.argv[0]} PORT   (0 = ephemeral; binds {HOST})")
    return int(sys.argv[1])


def announce(port):
    # compare.sh reads the real port from this line when started with port 0.
    print(f"listening on {HOST}:{port}", file=sys.stderr, flush=True)


def exit_on_signals():
    """SIGTERM and SIGINT end the process with status 0, like netlab.

    At once: there is nothing to save, the kernel closes every socket, and a
    clean asyncio shutdown would cancel every task, each of whose cleanup
    tells its room that the member left (seconds with 1000 members).
    """
    def stop(signum, frame):
        sys.stderr.flush()
        os._exit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def strip_eol(raw):
    """A line without its '\\n' and a '\\r' before it (netlab's framing)."""
    if raw.endswith(b"\n"):
        raw = raw[:-1]
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    return raw


def stamp(data):
    """The tutorial's reply, '[<ctime>] <data>', ctime from time.ctime()."""
    return b"[" + time.ctime().encode() + b"] " + data


def serve_tcp_forever(handler):
    """Runs an asyncio stream server on PORT (argv[1]) with handler(reader,
    writer) per client, announced like netlab's, until SIGTERM/SIGINT."""
    async def main():
        port = port_arg()
        exit_on_signals()
        server = await asyncio.start_server(handler, HOST, port, limit=MAX_LINE + 2,
                                            backlog=socket.SOMAXCONN)
        announce(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()
    asyncio.run(main())
