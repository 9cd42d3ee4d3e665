"""TCP timestamp server on asyncio streams: one coroutine per connection,
each line answered with '[<ctime>] <line>\\n'.  Usage: python3 ts_asyncio.py PORT
"""
import asyncio
import socket

import common


async def serve_client(reader, writer):
    try:
        while True:
            try:
                raw = await reader.readline()
            except ValueError:  # over the StreamReader limit
                writer.write(common.TOO_LONG)
                break
            if not raw:
                break
            line = common.strip_eol(raw)
            if len(line) > common.MAX_LINE:
                writer.write(common.TOO_LONG)
                break
            writer.write(common.stamp(line) + b"\n")
            await writer.drain()  # back-pressure: wait while the client is slow
        await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def main():
    port = common.port_arg()
    common.exit_on_signals()
    server = await asyncio.start_server(serve_client, common.HOST, port,
                                        limit=common.MAX_LINE + 2,
                                        backlog=socket.SOMAXCONN)
    common.announce(server.sockets[0].getsockname()[1])
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
