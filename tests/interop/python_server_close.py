#!/usr/bin/env python3
"""Python `websockets` sees a server-initiated close: connected to a
`simdws serve` that gets SIGINT, it must receive 1001 with its reason."""
import asyncio
import os
import signal
import sys

import websockets
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedOK

BASE, SERVE_PID = sys.argv[1], int(sys.argv[2])


async def main():
    async with connect(f"{BASE}/echo") as ws:
        await ws.send("before shutdown")
        assert await ws.recv() == "before shutdown"
        os.kill(SERVE_PID, signal.SIGINT)
        try:
            await asyncio.wait_for(ws.recv(), 10)
            raise SystemExit("python websockets: FAILED: expected the server's close")
        except ConnectionClosedOK as e:
            if (e.rcvd.code, e.rcvd.reason) != (1001, "server shutting down"):
                raise SystemExit(f"python websockets: FAILED: server close was {e.rcvd}")
    print(f"python websockets {websockets.__version__}: server-initiated close 1001 seen")


asyncio.run(main())
