"""TCP timestamp server on asyncio streams: one coroutine per connection,
each line answered with '[<ctime>] <line>\\n'.  Usage: python3 ts_asyncio.py PORT
"""
import asyncio

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


if __name__ == "__main__":
    common.serve_tcp_forever(serve_client)
