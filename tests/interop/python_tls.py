#!/usr/bin/env python3
"""Python `websockets` over TLS (wss://), in either role.

    python_tls.py client wss://localhost:PORT CA.pem   # its client against `simdws serve --tls-...`
    python_tls.py server CERT.pem KEY.pem               # a wss echo server for our client; prints its port
"""
import asyncio
import ssl
import sys

import websockets
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

checks = 0


def ok(condition, what):
    global checks
    if not condition:
        raise SystemExit(f"python websockets {websockets.__version__} over TLS: FAILED: {what}")
    checks += 1


async def client(url, cafile):
    context = ssl.create_default_context(cafile=cafile)
    async with connect(f"{url}/echo", ssl=context, max_size=None) as ws:
        ok(ws.transport.get_extra_info("ssl_object").selected_alpn_protocol() in (None, "http/1.1"),
           "ALPN http/1.1 (or none offered)")
        ok(ws.response.headers.get("Sec-WebSocket-Extensions") == "permessage-deflate",
           "permessage-deflate over TLS")
        for size in [0, 1, 125, 65536, 1 << 20, 4 << 20]:
            text = ("wss é中😀 " * (size // 12 + 1))[: size // 2]
            await ws.send(text)
            ok(await ws.recv() == text, f"text echo of {len(text.encode())} bytes")
            data = bytes((i * 11) % 256 for i in range(min(size, 65536))) + bytes(max(size - 65536, 0))
            await ws.send(data)
            ok(await ws.recv() == data, f"binary echo of {size} bytes")
        await ws.close(4000, "bye over TLS")
        ok(ws.close_code == 4000, "close 4000 echoed")
    # A context that does not trust the certificate refuses it.
    try:
        async with connect(f"{url}/echo", ssl=ssl.create_default_context()):
            ok(False, "an untrusted certificate is refused")
    except ssl.SSLCertVerificationError:
        ok(True, "an untrusted certificate is refused")
    print(f"python websockets {websockets.__version__} over TLS: {checks} checks passed")


async def echo(ws):
    try:
        async for message in ws:
            await ws.send(message)
    except ConnectionClosed:
        pass


async def server(cert, key):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    async with serve(echo, "127.0.0.1", 0, ssl=context, max_size=None,
                     select_subprotocol=lambda ws, offered: offered[0] if offered else None) as s:
        print(s.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()


if sys.argv[1] == "client":
    asyncio.run(client(sys.argv[2], sys.argv[3]))
else:
    asyncio.run(server(sys.argv[2], sys.argv[3]))
