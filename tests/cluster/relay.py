#!/usr/bin/env python3
"""A byte relay between network namespaces through a Unix socket (the
API-server double listens on 127.0.0.1 of the VM; each node reaches it on
its own 127.0.0.1). Usage:
  relay.py unix SOCKET TCP-HOST TCP-PORT   # listen on SOCKET, connect to TCP
  relay.py tcp TCP-HOST TCP-PORT SOCKET    # listen on TCP, connect to SOCKET
"""
import asyncio
import os
import sys


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


def handler(connect):
    async def handle(reader, writer):
        try:
            r2, w2 = await connect()
        except OSError:
            writer.close()
            return
        await asyncio.gather(pipe(reader, w2), pipe(r2, writer))

    return handle


async def main(argv):
    if argv[0] == "unix":
        path, host, port = argv[1], argv[2], int(argv[3])
        if os.path.exists(path):
            os.unlink(path)
        server = await asyncio.start_unix_server(
            handler(lambda: asyncio.open_connection(host, port)), path)
    else:
        host, port, path = argv[1], int(argv[2]), argv[3]
        server = await asyncio.start_server(
            handler(lambda: asyncio.open_unix_connection(path)), host, port, reuse_address=True)
    async with server:
        await server.serve_forever()


asyncio.run(main(sys.argv[1:]))
