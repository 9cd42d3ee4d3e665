"""UDP timestamp server on asyncio: each datagram goes back to its sender as
'[<ctime>] <payload>', payload unchanged.  Usage: python3 us_asyncio.py PORT
"""
import asyncio

import common


class Timestamp(asyncio.DatagramProtocol):
    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.transport.sendto(common.stamp(data), addr)

    def error_received(self, exc):
        pass  # an ICMP error about one peer is no reason to stop


async def main():
    port = common.port_arg()
    common.exit_on_signals()
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(Timestamp,
                                                       local_addr=(common.HOST, port))
    common.announce(transport.get_extra_info("sockname")[1])
    await asyncio.Event().wait()  # until a signal ends the process


if __name__ == "__main__":
    asyncio.run(main())
