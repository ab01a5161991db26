#!/usr/bin/env python3
"""Opens N WebSocket connections to 127.0.0.1:PORT as fast as one process can
(every socket connects and sends its upgrade before any answer is read), then
holds them open until it is sent SIGTERM. Prints "N of N connections open in
S s" once every answer is in. The other way of opening idle connections for
the memory figure: `simdws load --idle` opens them at its own pace, this does
it in a burst, so a server that keeps memory from the handshakes shows it.

    python3 benches/compare/burst_idle.py PORT N
"""
import base64
import os
import selectors
import signal
import socket
import sys
import time


def main():
    port, count = int(sys.argv[1]), int(sys.argv[2])
    started = time.monotonic()
    selector = selectors.DefaultSelector()
    sockets = []
    for _ in range(count):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        sockets.append(s)
        selector.register(s, selectors.EVENT_WRITE, b"")
    opened = failed = 0
    while opened + failed < count and time.monotonic() - started < 60:
        for key, events in selector.select(timeout=1):
            s, seen = key.fileobj, key.data
            if events & selectors.EVENT_WRITE:
                key_b64 = base64.b64encode(os.urandom(16)).decode()
                request = (f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key_b64}\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n")
                try:
                    s.send(request.encode())
                    selector.modify(s, selectors.EVENT_READ, b"")
                except OSError:
                    selector.unregister(s)
                    failed += 1
                continue
            try:
                chunk = s.recv(4096)
            except OSError:
                chunk = b""
            if not chunk:
                selector.unregister(s)
                failed += 1
                continue
            seen += chunk
            if b"\r\n\r\n" in seen:
                selector.unregister(s)
                if seen.startswith(b"HTTP/1.1 101"):
                    opened += 1
                else:
                    failed += 1
            else:
                selector.modify(s, selectors.EVENT_READ, seen)
    print(f"{opened} of {count} connections open in {time.monotonic() - started:.2f} s "
          f"({failed} failed)", flush=True)
    signal.sigwait([signal.SIGTERM, signal.SIGINT])


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM, signal.SIGINT])
    main()
