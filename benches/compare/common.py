"""What the comparison scripts share: where things are, and ports."""
import json
import os
import socket
import subprocess
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "target", "compare")
LOAD = os.path.join(ROOT, "target", "release", "simdws")
PEERS = os.path.join(ROOT, "benches", "compare", "peers")
PEER_BIN = os.path.join(PEERS, "target", "release")
NODE_PATH = os.path.join(ROOT, "target", "interop-node", "node_modules")
UWS = os.environ.get("UWS_ECHO", "/tmp/peers/uws_echo")
# npm `ws`, the version scripts/interop.sh installs into the same folder.
WS_VERSION = "8.23.0"


def ensure_node_ws():
    """Installs npm `ws` into target/interop-node when that version is not
    there: the Node peer (node_ws_echo.cjs) needs it."""
    try:
        with open(os.path.join(NODE_PATH, "ws", "package.json")) as f:
            if json.load(f).get("version") == WS_VERSION:
                return
    except (OSError, ValueError):
        pass
    node_dir = os.path.dirname(NODE_PATH)
    os.makedirs(node_dir, exist_ok=True)
    package = os.path.join(node_dir, "package.json")
    if not os.path.exists(package):
        with open(package, "w") as f:
            f.write('{"private": true}\n')
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent", f"ws@{WS_VERSION}"],
                   cwd=node_dir, check=True)


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
