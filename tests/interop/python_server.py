#!/usr/bin/env python3
"""A Python `websockets` echo server (compression on, its default) for our
client to talk to. Prints its port, then serves until killed."""
import asyncio

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed


async def echo(ws):
    try:
        async for message in ws:
            await ws.send(message)
    except ConnectionClosed:
        pass  # a close with an application code (4000) ends the loop


async def main():
    async with serve(echo, "127.0.0.1", 0, max_size=None, select_subprotocol=lambda ws, offered: offered[0] if offered else None) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()


asyncio.run(main())
