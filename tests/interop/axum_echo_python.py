#!/usr/bin/env python3
"""Python `websockets` against examples/axum_echo (simdws's axum extractor):
text and binary echo from 0 B to 4 MiB with permessage-deflate negotiated,
a ping, and a close whose code and reason come back. Exits non-zero on any
miss.

    python3 axum_echo_python.py ws://127.0.0.1:PORT
"""
import asyncio
import sys

import websockets
from websockets.asyncio.client import connect

URL = sys.argv[1]
checks = 0


def ok(condition, what):
    global checks
    if not condition:
        raise SystemExit(f"python websockets {websockets.__version__} vs axum_echo: FAILED: {what}")
    checks += 1


async def main():
    async with connect(f"{URL}/", max_size=None) as ws:
        answer = ws.response.headers.get("Sec-WebSocket-Extensions")
        ok(answer == "permessage-deflate", f"permessage-deflate accepted (answer {answer!r})")
        for size in [0, 1, 125, 126, 65535, 65536, 1 << 20, 4 << 20]:
            text = ("é中😀a" * (size // 8 + 1))[: max(size // 3, 0)]
            await ws.send(text)
            ok(await ws.recv() == text, f"text echo of {len(text.encode())} bytes")
            data = bytes((i * 7) % 256 for i in range(min(size, 65536))) + bytes(max(size - 65536, 0))
            await ws.send(data)
            ok(await ws.recv() == data, f"binary echo of {size} bytes")
        await ws.send(["frag", "mented ", "中文"])
        ok(await ws.recv() == "fragmented 中文", "fragmented text")
        latency = await asyncio.wait_for(await ws.ping(b"there?"), 5)
        ok(latency >= 0, "ping answered with a pong")
        await ws.close(4000, "bye from python")
        ok(ws.close_code == 4000 and ws.close_reason == "bye from python",
           f"close 4000 echoed with its reason (got {ws.close_code} {ws.close_reason!r})")
    print(f"interop: python websockets {websockets.__version__} against axum_echo: {checks} checks passed")


asyncio.run(main())
