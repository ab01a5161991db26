#!/usr/bin/env python3
"""User-space instructions per echoed message, for simdws and its peers, under
callgrind: each server runs under valgrind on core 0 with `simdws load` on
core 1, once for a short run and once for a long one; the difference in
instructions divided by the difference in messages leaves out start-up and
the handshakes.

    python3 benches/compare/instructions.py [--short 2] [--long 6] [--servers simdws,uws]
        [--points closed,pipelined,1k,pipelined-1k,sio,sio-1k]

The sio points are Socket.IO emits with acks (`simdws load --socketio`) against
simdws `serve` and socketioxide: instructions per emit+ack.

Servers: simdws (target/release/simdws serve), uws (uWebSockets, when built
by ../shared/peers/uws/build.sh into /tmp/peers/uws_echo or $UWS_ECHO; skipped
with a note otherwise), and the Rust peers of benches/compare/peers.
Writes target/compare/instructions.json and prints a table.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from common import LOAD, NODE_PATH, OUT, PEER_BIN, ROOT, UWS, ensure_node_ws, free_port, wait_port  # noqa: E402

SERVERS = {
    "simdws": lambda port: [LOAD, "serve", "--workers", "1", "--no-deflate", "--addr", f"127.0.0.1:{port}"],
    "uws": lambda port: [UWS, str(port)],
    "simdws-tokio": lambda port: [os.path.join(ROOT, "target", "release", "examples", "tokio_echo"),
                                  "--addr", f"127.0.0.1:{port}"],
    "simdws-axum": lambda port: [os.path.join(ROOT, "target", "release", "examples", "axum_echo"),
                                 "--addr", f"127.0.0.1:{port}"],
    "axum-ws": lambda port: [os.path.join(PEER_BIN, "axum_ws_echo"), str(port)],
    "fastwebsockets": lambda port: [os.path.join(PEER_BIN, "fastwebsockets_echo"), str(port)],
    "tokio-websockets": lambda port: [os.path.join(PEER_BIN, "tokio_websockets_echo"), str(port)],
    "tokio-tungstenite": lambda port: [os.path.join(PEER_BIN, "tokio_tungstenite_echo"), str(port)],
    "ws (node)": lambda port: ["node", os.path.join(ROOT, "benches", "compare", "node_ws_echo.cjs"), str(port)],
    # Not a peer: tokio's own cost per message, under every tokio server
    # (small frames only, so the closed and pipelined 20 B loads).
    "tokio-floor": lambda port: [os.path.join(PEER_BIN, "tokio_floor_echo"), str(port)],
    "socketioxide": lambda port: [os.path.join(PEER_BIN, "socketioxide_echo"), str(port)],
    # Not a peer: the least a Socket.IO echo does (no JSON read, no handler),
    # on simdws's engine (Socket.IO loads only).
    "socketio-floor": lambda port: [os.path.join(PEER_BIN, "socketio_floor_echo"), str(port)],
}

# The servers that speak Socket.IO (simdws's `serve` speaks both), and those
# that speak nothing else.
SOCKETIO = {"simdws", "socketioxide", "socketio-floor"}
SOCKETIO_ONLY = {"socketioxide", "socketio-floor"}
FLOORS = {"tokio-floor", "socketio-floor"}

# (label, connections, pipeline, size, text, socketio)
POINTS = [
    ("10 conns x 20 B, closed loop", 10, 1, 20, False, False),
    ("100 conns x 16 in flight x 20 B", 100, 16, 20, False, False),
    ("10 conns x 1 KiB text, closed loop", 10, 1, 1024, True, False),
    ("100 conns x 16 in flight x 1 KiB text", 100, 16, 1024, True, False),
    ("Socket.IO: 100 clients x 16 emit+ack x 20 B", 100, 16, 20, True, True),
    ("Socket.IO: 100 clients x 16 emit+ack x 1 KiB", 100, 16, 1024, True, True),
]
POINT_NAMES = ["closed", "pipelined", "1k", "pipelined-1k", "sio", "sio-1k"]


def measure(name, conns, pipeline, size, text, socketio, secs):
    """Total server instructions and echoed messages for one run."""
    port = free_port()
    out = tempfile.NamedTemporaryFile(suffix=".cg", delete=False).name
    server = subprocess.Popen(
        ["taskset", "-c", "0", "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
        + SERVERS[name](port),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "RUST_LOG": "warn", "NODE_PATH": NODE_PATH})
    try:
        wait_port(port)
        time.sleep(0.5)
        cmd = ["taskset", "-c", "1", LOAD, "load", "--url", f"ws://127.0.0.1:{port}/",
               "--conns", str(conns), "--pipeline", str(pipeline), "--size", str(size),
               "--duration", str(secs), "--warmup", "0", "--json", "--text" if text else "--binary"]
        if socketio:
            cmd.append("--socketio")
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=secs + 120)
        summary = json.loads(result.stdout.strip().splitlines()[-1])
    finally:
        # SIGINT first (the servers' own clean exit), then SIGTERM: a shell
        # that starts this script in the background has the children ignore
        # SIGINT. Callgrind writes its totals on either, not on SIGKILL.
        for sig, grace in ((signal.SIGINT, 20), (signal.SIGTERM, 40)):
            server.send_signal(sig)
            try:
                server.wait(timeout=grace)
                break
            except subprocess.TimeoutExpired:
                pass
        else:
            server.kill()
            server.wait()
    total = None
    with open(out) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                total = int(line.split()[1])
                break
    os.unlink(out)
    if total is None:
        raise RuntimeError(f"{name}: callgrind wrote no totals")
    return total, summary["messages"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--short", type=float, default=2)
    ap.add_argument("--long", type=float, default=6)
    ap.add_argument("--servers", default=",".join(n for n in SERVERS if n not in FLOORS))
    ap.add_argument("--points", default="closed,pipelined,1k",
                    help="which loads: closed (20 B), pipelined (20 B), 1k (text, closed loop), "
                         "pipelined-1k (text)")
    args = ap.parse_args()
    wanted = [POINT_NAMES.index(p) for p in args.points.split(",")]
    servers = []
    for name in args.servers.split(","):
        binary = SERVERS[name](0)[0]
        if not shutil.which(binary):
            print(f"note: {name} skipped: {binary} is not built", file=sys.stderr)
            continue
        if name == "ws (node)":
            ensure_node_ws()
        servers.append(name)
    results = {}
    for label, conns, pipeline, size, text, socketio in [POINTS[i] for i in wanted]:
        for name in servers:
            if (socketio and name not in SOCKETIO) or (not socketio and name in SOCKETIO_ONLY):
                continue
            try:
                i_short, m_short = measure(name, conns, pipeline, size, text, socketio, args.short)
                i_long, m_long = measure(name, conns, pipeline, size, text, socketio, args.long)
            except Exception as e:  # one server failing under valgrind spoils no other figure
                print(f"note: {label}: {name} not measured: {e}", file=sys.stderr, flush=True)
                continue
            per = (i_long - i_short) / max(1, m_long - m_short)
            results.setdefault(label, {})[name] = {
                "instructions_per_message": round(per),
                "messages": [m_short, m_long],
                "instructions": [i_short, i_long],
            }
            print(f"{label:40} {name:18} {per:8.0f} instructions/message "
                  f"({m_long - m_short} messages apart)", flush=True)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "instructions.json"), "w") as f:
        json.dump(results, f, indent=1)
    print()
    names = [n for n in servers]
    print("| load | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for label in results:
        row = [f"{results[label][n]['instructions_per_message']:,}" if n in results[label] else "–"
               for n in names]
        print(f"| {label} | " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
