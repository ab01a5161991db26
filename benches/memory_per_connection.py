#!/usr/bin/env python3
"""Server memory per connection: plain, with permessage-deflate, over TLS.

Starts `target/release/simdws serve --workers 1` for each mode, opens N
connections with Python `websockets` (each sends one 1 KiB message and
reads its echo, so both directions' zlib state exists where it is kept),
then reads the server's RSS. Prints KiB per connection over the baseline.

    scripts/interop.sh  # once, for target/interop-venv
    target/interop-venv/bin/python benches/memory_per_connection.py [N]
"""
import asyncio
import os
import ssl
import subprocess
import sys
import tempfile

from websockets.asyncio.client import connect

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
BIN = os.path.join(os.path.dirname(__file__), "..", "target", "release", "simdws")
MESSAGE = ("héllo wörld chat message 数据 " * 40)[:1000]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def measure(label, serve_args, compression, tls=False):
    tls_dir = tempfile.mkdtemp() if tls else None
    if tls:
        serve_args = [*serve_args, "--tls-self-signed", "--tls-save", tls_dir]
    server = subprocess.Popen([BIN, "serve", "--addr", "127.0.0.1:0", "--workers", "1", *serve_args],
                              stdout=subprocess.PIPE, env={**os.environ, "RUST_LOG": "warn"})
    banner = ""
    while "serving on" not in banner:
        banner = server.stdout.readline().decode()
    addr = banner.split("://")[1].split("/")[0]
    scheme = "wss" if tls else "ws"
    context = ssl.create_default_context(cafile=f"{tls_dir}/cert.pem") if tls else None
    if tls:
        context.check_hostname = False  # the certificate names localhost, we dial 127.0.0.1's port
    extra = {"ssl": context} if tls else {}
    try:
        # Warm up: one connection, so loop-wide buffers exist in the baseline.
        async with connect(f"{scheme}://{addr}/echo", compression=compression, **extra) as ws:
            await ws.send(MESSAGE)
            await ws.recv()
        await asyncio.sleep(0.3)
        base = rss_kib(server.pid)
        conns = []
        for _ in range(N):
            ws = await connect(f"{scheme}://{addr}/echo", compression=compression, ping_interval=None, **extra)
            await ws.send(MESSAGE)
            assert await ws.recv() == MESSAGE
            conns.append(ws)
        await asyncio.sleep(0.5)  # past the idle sweep that frees buffers
        held = rss_kib(server.pid)
        print(f"{label:38} {N} connections: {(held - base) / N:7.1f} KiB each "
              f"(RSS {base} → {held} KiB)", flush=True)
        for ws in conns:
            await ws.close()
    finally:
        server.terminate()
        server.wait()


async def main():
    await measure("no deflate", ["--no-deflate"], None)
    await measure("deflate, context takeover (default)", [], "deflate")
    await measure("deflate, window bits 9", ["--deflate-window-bits", "9"], "deflate")
    await measure("deflate, no context takeover", ["--deflate-no-context-takeover"], "deflate")
    await measure("TLS, no deflate", ["--no-deflate"], None, tls=True)
    await measure("TLS, deflate without context takeover", ["--deflate-no-context-takeover"], "deflate", tls=True)


asyncio.run(main())
