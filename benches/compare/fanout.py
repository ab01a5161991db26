#!/usr/bin/env python3
"""Topic fan-out, side by side: one topic, many subscribers, small publishes.
Each server runs on core 0 and `simdws load --fanout N` on core 1; the
publisher sends a burst, waits until every subscriber has all of it, and
sends the next. Reports deliveries per second (median of --runs), and with
--instructions the server's user-space instructions per delivery under
callgrind (a short and a long run, the difference divided by the deliveries
between them, so start-up and handshakes drop out).

    python3 benches/compare/fanout.py [--subscribers 10000] [--size 64] [--burst 16]
        [--runs 3] [--duration 5] [--instructions [--cg-subscribers 1000]]

Servers: simdws (examples/topic_fanout.rs) and uws (uWebSockets' topics: a
server of its own kept outside this repository, where /sub subscribes to
`bench` and every message is published to `bench`, built as
../shared/peers/uws/build.sh builds uws_echo, at /tmp/peers/uws_fanout or
$UWS_FANOUT; skipped with a note otherwise; README, "Topics"), then
Socket.IO rooms (`load --socketio`): simdws-sio (`simdws serve --workers 1`)
and node-sio (Node socket.io 4.8.4, benches/compare/node_socketio_rooms.cjs;
benches/compare/socketio.sh installs it into target/compare-node). Topic
servers are compared with simdws, Socket.IO servers with simdws-sio.
Writes target/compare/fanout.json.
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from common import LOAD, OUT, ROOT, free_port, wait_port  # noqa: E402

UWS_FANOUT = os.environ.get("UWS_FANOUT", "/tmp/peers/uws_fanout")
SERVERS = {
    "simdws": lambda port: [os.path.join(ROOT, "target", "release", "examples", "topic_fanout"),
                            "--addr", f"127.0.0.1:{port}"],
    "uws": lambda port: [UWS_FANOUT, str(port)],
    "simdws-sio": lambda port: [LOAD, "serve", "--addr", f"127.0.0.1:{port}", "--workers", "1"],
    "node-sio": lambda port: ["node", os.path.join(ROOT, "benches", "compare", "node_socketio_rooms.cjs"),
                              str(port)],
}
NODE_MODULES = os.path.join(ROOT, "target", "compare-node", "node_modules")


def socketio(name):
    return name.endswith("-sio")


def available(name):
    """Why the server cannot run here, or None."""
    binary = SERVERS[name](0)[0]
    if not shutil.which(binary):
        return f"{binary} is not built"
    if name == "node-sio" and not os.path.isdir(os.path.join(NODE_MODULES, "socket.io")):
        return "socket.io is not installed (run benches/compare/socketio.sh once)"
    return None


def run(name, subscribers, size, burst, secs, warmup, callgrind=False):
    """One run: the load's JSON summary, and the server's instructions
    under callgrind (or None)."""
    port = free_port()
    out = tempfile.NamedTemporaryFile(suffix=".cg", delete=False).name
    prefix = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"] if callgrind else []
    env = dict(os.environ, NODE_PATH=NODE_MODULES, RUST_LOG="warn")
    server = subprocess.Popen(["taskset", "-c", "0"] + prefix + SERVERS[name](port),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        wait_port(port)
        time.sleep(0.5)
        cmd = ["taskset", "-c", "1", LOAD, "load", "--url", f"ws://127.0.0.1:{port}/",
               "--fanout", str(subscribers), "--size", str(size), "--burst", str(burst),
               "--duration", str(secs), "--warmup", str(warmup), "--json"]
        if socketio(name):
            cmd.append("--socketio")
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=secs + warmup + 180)
        if result.returncode != 0:
            raise RuntimeError(result.stderr.strip().splitlines()[-1:] or result.returncode)
        summary = json.loads(result.stdout.strip().splitlines()[-1])
    finally:
        # SIGTERM: valgrind writes its totals on it.
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    total = None
    if callgrind:
        with open(out) as f:
            for line in f:
                if line.startswith(("summary:", "totals:")):
                    total = int(line.split()[1])
                    break
        if total is None:
            raise RuntimeError(f"{name}: callgrind wrote no totals")
    os.unlink(out)
    return summary, total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--subscribers", type=int, default=10000)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--burst", type=int, default=16)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--duration", type=float, default=5)
    ap.add_argument("--servers", default=",".join(SERVERS))
    ap.add_argument("--instructions", action="store_true")
    ap.add_argument("--cg-subscribers", type=int, default=1000)
    args = ap.parse_args()
    servers = []
    for name in args.servers.split(","):
        why = available(name)
        if why:
            print(f"note: {name} skipped: {why}", file=sys.stderr)
            continue
        servers.append(name)
    results = {name: {"deliveries_per_s": []} for name in servers}
    # Interleaved, so a slow minute of the VM falls on every server alike.
    for i in range(args.runs):
        for name in servers:
            summary, _ = run(name, args.subscribers, args.size, args.burst, args.duration, 2)
            if summary["lost"] or summary["damaged"]:
                raise SystemExit(f"{name}: {summary['lost']} lost, {summary['damaged']} damaged")
            results[name]["deliveries_per_s"].append(summary["deliveries_per_s"])
            print(f"run {i + 1}: {name:10} {summary['deliveries_per_s']:>12,.0f} deliveries/s", flush=True)
    if args.instructions:
        # Node under valgrind measures valgrind's JIT more than socket.io.
        for name in [n for n in servers if n != "node-sio"]:
            short, i_short = run(name, args.cg_subscribers, args.size, args.burst, 2, 1, True)
            long, i_long = run(name, args.cg_subscribers, args.size, args.burst, 6, 1, True)
            per = (i_long - i_short) / max(1, long["deliveries"] - short["deliveries"])
            results[name]["instructions_per_delivery"] = round(per)
            print(f"{name:8} {per:8.0f} instructions per delivery "
                  f"({args.cg_subscribers} subscribers, under callgrind)", flush=True)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "fanout.json"), "w") as f:
        json.dump(results, f, indent=1)
    def ours(name):
        anchor = "simdws-sio" if socketio(name) else "simdws"
        return statistics.median(results[anchor]["deliveries_per_s"]) if anchor in results else None
    print()
    print(f"| {args.subscribers:,} subscribers, {args.size} B, bursts of {args.burst} "
          "| deliveries/s (median) | simdws ÷ this | instructions/delivery |")
    print("|---|---|---|---|")
    for name in servers:
        median = statistics.median(results[name]["deliveries_per_s"])
        anchor = ours(name)
        ratio = f"{anchor / median:.2f}x" if anchor and not name.startswith("simdws") else "–"
        per = results[name].get("instructions_per_delivery", "–")
        print(f"| {name} | {median:,.0f} | {ratio} | {per} |")


if __name__ == "__main__":
    main()
