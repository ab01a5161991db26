"""What the comparison scripts share: where things are, and ports."""
import os
import socket
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "target", "compare")
LOAD = os.path.join(ROOT, "target", "release", "simdws")
PEERS = os.path.join(ROOT, "benches", "compare", "peers")
PEER_BIN = os.path.join(PEERS, "target", "release")
NODE_PATH = os.path.join(ROOT, "target", "interop-node", "node_modules")
UWS = os.environ.get("UWS_ECHO", "/tmp/peers/uws_echo")


def free_port():
    """A loopback port free right now."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, tries=200):
    """Waits until something listens on loopback `port` (tries x 50 ms)."""
    for _ in range(tries):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} never opened")
