#!/usr/bin/env python3
"""Python `websockets` (a client nobody here wrote) against `simdws serve`.

Checks echo of text and binary from 0 B to 16 MiB, fragmented sends,
ping/pong, every close path, subprotocol choice, and permessage-deflate:
its default offer accepted, then context takeover on and off and window
bits 9 and 15, messages from 0 B to 4 MiB. Exits non-zero on any miss.
"""
import asyncio
import sys

import websockets
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError, InvalidStatus
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory, PerMessageDeflate

BASE = sys.argv[1]  # ws://127.0.0.1:PORT
SIZES = [0, 1, 125, 126, 65535, 65536, 1 << 20, 16 << 20]
checks = 0


def ok(condition, what):
    global checks
    if not condition:
        raise SystemExit(f"python websockets {websockets.__version__}: FAILED: {what}")
    checks += 1


async def main():
    async with connect(f"{BASE}/echo", max_size=None, subprotocols=["echo-protocol"]) as ws:
        ok(ws.subprotocol == "echo-protocol", "subprotocol echo-protocol chosen")
        answer = ws.response.headers.get("Sec-WebSocket-Extensions")
        ok(answer == "permessage-deflate", f"default permessage-deflate offer accepted (answer {answer!r})")
        for size in SIZES:
            text = ("é中😀a" * (size // 8 + 1))[: max(size // 3, 0)]
            await ws.send(text)
            ok(await ws.recv() == text, f"text echo of {len(text.encode())} bytes")
            data = bytes((i * 7) % 256 for i in range(size)) if size <= 65536 else bytes(size)
            await ws.send(data)
            ok(await ws.recv() == data, f"binary echo of {size} bytes")
        # Fragmented sends: an iterable is sent as one message in fragments.
        await ws.send(["frag", "mented ", "中文"])
        ok(await ws.recv() == "fragmented 中文", "fragmented text")
        await ws.send([b"\x00" * 70000, b"\x01" * 3])
        ok(await ws.recv() == b"\x00" * 70000 + b"\x01" * 3, "fragmented binary")
        pong = await ws.ping(b"are you there")
        latency = await asyncio.wait_for(pong, 5)
        ok(latency >= 0, "ping answered with a pong")
        await ws.close(4000, "bye from python")
        ok(ws.close_code == 4000 and ws.close_reason == "bye from python",
           f"close 4000 echoed by the server with its reason (got {ws.close_code} {ws.close_reason!r})")

    # permessage-deflate: context takeover on/off, window bits 9 and 15.
    for takeover in (True, False):
        for bits in (15, 9):
            factory = ClientPerMessageDeflateFactory(
                server_no_context_takeover=not takeover,
                client_no_context_takeover=not takeover,
                server_max_window_bits=bits if bits < 15 else None,
                client_max_window_bits=bits if bits < 15 else True,
            )
            what = f"deflate takeover={takeover} bits={bits}"
            async with connect(f"{BASE}/echo", max_size=None, extensions=[factory], compression=None) as ws:
                ext = ws.protocol.extensions
                ok(len(ext) == 1 and isinstance(ext[0], PerMessageDeflate), f"{what}: negotiated")
                ok(ext[0].remote_no_context_takeover == (not takeover), f"{what}: server context takeover as asked")
                ok(ext[0].remote_max_window_bits == bits, f"{what}: server window bits {ext[0].remote_max_window_bits}")
                for size in [0, 1, 125, 126, 65535, 65536, 1 << 20, 4 << 20]:
                    text = ("é中😀a deflate " * (size // 18 + 1))[: max(size // 2, 0)]
                    for _ in range(2):  # twice: the second can use the first's context
                        await ws.send(text)
                        ok(await ws.recv() == text, f"{what}: text echo of {len(text.encode())} bytes")
                    data = bytes((i * 7) % 251 for i in range(size)) if size <= 65536 else bytes(size)
                    await ws.send(data)
                    ok(await ws.recv() == data, f"{what}: binary echo of {size} bytes")

    # An unknown path is refused with 404.
    try:
        async with connect(f"{BASE}/nowhere"):
            ok(False, "404 for an unknown path")
    except InvalidStatus as e:
        ok(e.response.status_code == 404, "404 for an unknown path")

    # An unsupported subprotocol is refused rather than silently ignored.
    try:
        async with connect(f"{BASE}/echo", subprotocols=["mqtt"]):
            ok(False, "unsupported subprotocol refused")
    except InvalidStatus as e:
        ok(e.response.status_code == 400, "unsupported subprotocol refused with 400")

    # The chat room: two clients see each other's messages.
    async with connect(f"{BASE}/chat", subprotocols=["chat"]) as a, \
            connect(f"{BASE}/chat", subprotocols=["chat"]) as b:
        await a.send("hello from a")
        ok(await a.recv() == "hello from a" and await b.recv() == "hello from a", "chat broadcast")

    # A protocol error from the client side: invalid UTF-8 in a text frame
    # makes the server close with 1007 (sent raw through the transport).
    async with connect(f"{BASE}/echo") as ws:
        ws.protocol.send_text(b"\xff\xfe")  # bypasses the client's own check
        for data in ws.protocol.data_to_send():
            ws.transport.write(data)
        try:
            await ws.recv()
            ok(False, "invalid UTF-8 closes with 1007")
        except ConnectionClosedError as e:
            ok(e.rcvd is not None and e.rcvd.code == 1007, f"invalid UTF-8 closes with 1007 (got {e.rcvd})")

    print(f"python websockets {websockets.__version__}: {checks} checks passed")


asyncio.run(main())
