"""TCP timestamp server, the tutorial's SocketServer design (tsTservSS.py)
made threaded and line-based: one thread per connection, each line answered
with '[<ctime>] <line>\\n'.  Usage: python3 ts_threading.py PORT
"""
import socket
import socketserver

import common


class TimestampHandler(socketserver.StreamRequestHandler):
    disable_nagle_algorithm = True  # netlab sets TCP_NODELAY too

    def handle(self):
        while True:
            # Up to MAX_LINE bytes plus "\r\n": anything longer is too long.
            raw = self.rfile.readline(common.MAX_LINE + 2)
            if not raw:
                return
            line = common.strip_eol(raw)
            if len(line) > common.MAX_LINE:
                self.wfile.write(common.TOO_LONG)
                return
            self.wfile.write(common.stamp(line) + b"\n")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True  # a SIGTERM must not wait for connected clients
    # The default backlog of 5 would make rr -c 500 measure SYN retries.
    request_queue_size = socket.SOMAXCONN


def main():
    port = common.port_arg()
    common.exit_on_signals()
    with Server((common.HOST, port), TimestampHandler) as server:
        common.announce(server.server_address[1])
        server.serve_forever()


if __name__ == "__main__":
    main()
