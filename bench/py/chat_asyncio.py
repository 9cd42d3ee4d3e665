"""Room chat on asyncio streams, the subset of netlab chat-server that
`netlab bench fanout` uses, same bytes on the wire (see bench/limit/limit_chat.cpp):
first line 'NAME [ROOM]' -> 'success' ('reuse' if taken), the room gets
'* NAME joined ROOM'; other lines go to the rest of the room as
'[<ctime>] NAME: <line>'; 'quit' or a disconnect -> '* NAME left ROOM'.
Usage: python3 chat_asyncio.py PORT
"""
import asyncio

import common

MAX_QUEUE = 1024 * 1024  # netlab's --max-queue default
rooms = {}  # room name -> {member name: StreamWriter}


def broadcast(room, data, sender=None):
    # Formatted once by the caller; every member gets the same bytes object.
    for name, writer in list(rooms.get(room, {}).items()):
        if writer is sender:
            continue
        writer.write(data)
        if writer.transport.get_write_buffer_size() > MAX_QUEUE:
            leave(room, name, writer, b" (too slow)")
            writer.transport.abort()


def leave(room, name, writer, why=b""):
    members = rooms.get(room, {})
    if members.get(name) is not writer:
        return  # already gone
    del members[name]
    if not members:
        del rooms[room]
    broadcast(room, b"* %s left %s%s\n" % (name, room, why))


def parse_login(line):
    words = line.split()
    if not 1 <= len(words) <= 2 or any(len(w) > 32 for w in words):
        return None
    return words[0], words[1] if len(words) == 2 else b"lobby"


async def serve_member(reader, writer):
    room = name = None
    try:
        while True:
            try:
                raw = await reader.readline()
            except ValueError:
                writer.write(common.TOO_LONG)
                break
            if not raw:
                break
            line = common.strip_eol(raw)
            if len(line) > common.MAX_LINE:
                writer.write(common.TOO_LONG)
                break
            if name is None:
                login = parse_login(line)
                if login is None:
                    writer.write(b"error: expected USERNAME [ROOM]\n")
                    break
                members = rooms.setdefault(login[1], {})
                if login[0] in members:
                    writer.write(b"reuse\n")
                    continue
                name, room = login
                members[name] = writer
                writer.write(b"success\n")
                broadcast(room, b"* %s joined %s\n" % (name, room), writer)
                continue
            text = line.strip()
            if not text:
                continue  # blank lines are not broadcast
            if text == b"quit":
                leave(room, name, writer)
                writer.write(b"quit\n")
                break
            if text.startswith(b"/"):
                writer.write(b"error: unknown command %s\n" % text.split()[0])
                continue
            broadcast(room, b"[%s] %s: %s\n" % (common.time.ctime().encode(), name, line), writer)
            await writer.drain()
        await writer.drain()
    except ConnectionError:
        pass
    finally:
        if name is not None:
            leave(room, name, writer)
        writer.close()


if __name__ == "__main__":
    common.serve_tcp_forever(serve_member)
