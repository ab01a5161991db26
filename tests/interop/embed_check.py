"""examples/embed.rs as people copy it: a client that resets its connection
and one that connects and sends nothing must not stop the embedder; a page
request and a WebSocket echo are answered promptly meanwhile."""
import asyncio
import socket
import struct
import sys
import time

import websockets

host, port = sys.argv[1].rsplit(":", 1)
port = int(port)


def http_get():
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
        return data


# A client that resets: SO_LINGER 0 makes close() send RST.
for _ in range(5):
    s = socket.create_connection((host, port))
    s.sendall(b"GET / HT")
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
# A client that connects and sends nothing, kept open.
idle = socket.create_connection((host, port))

started = time.monotonic()
answer = http_get()
assert answer.startswith(b"HTTP/1.1 200") and b"embedder" in answer, answer


async def echo():
    async with websockets.connect(f"ws://{host}:{port}/") as ws:
        await ws.send("through the embedder")
        return await ws.recv()


assert asyncio.run(echo()) == "through the embedder"
took = time.monotonic() - started
assert took < 2, f"served only after {took:.1f} s: an idle client blocked the others"
idle.close()
print(f"embed example: resets and an idle client block nothing (page and echo in {took * 1000:.0f} ms)")
