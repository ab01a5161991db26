#!/usr/bin/env python3
"""Peers side by side: simdws and the peers' echo servers, each on one core,
driven by `simdws load` on the other core, over a matrix of connections ×
payload × pipeline × text/binary; several runs per point, medians, and the
ratio simdws / best peer. Also server RSS per idle connection.

    python3 benches/compare/run.py [--quick | --points 100x20x16,...] [--reps N] [--secs S]
                                   [--idle 10000,50000] [--servers a,b] [--no-matrix]
                                   [--instructions]

The tokio adapter's points against the tokio peers (issue 16's figures):
    python3 benches/compare/run.py --points 100x20x16,100x1024x16,10x20x1,10x1024x1 --idle "" \
        --servers "simdws-tokio,simdws-axum,fastwebsockets,tokio-websockets,tokio-tungstenite,axum-ws"

uWebSockets (C++) is a peer when ../shared/peers/uws/build.sh has built it into
/tmp/peers/uws_echo (or $UWS_ECHO); it is left out with a note otherwise.
`--instructions` adds instructions per message under callgrind
(benches/compare/instructions.py) for every server at three loads.

Holding 50,000 idle connections needs an open-file limit above 100,000 for the
two processes together (`ulimit -n`).

Builds the peers (benches/compare/peers, crates.io), uses npm `ws` from
target/interop-node (installed there when missing, as scripts/interop.sh does). Writes
target/compare/results.json, results.md and chart.svg (benches/compare/chart.py;
copy it to docs/compare-chart.svg for the README).
"""
import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time

import chart
import instructions
from common import LOAD, NODE_PATH, OUT, PEER_BIN, PEERS, ROOT, UWS, ensure_node_ws, free_port, wait_port

SERVERS = {
    "simdws": lambda port: [LOAD, "serve", "--workers", "1", "--no-deflate", "--addr", f"127.0.0.1:{port}",
                            "--max-message-size", str(64 << 20), "--max-frame-size", str(64 << 20)],
    "simdws-tokio": lambda port: [os.path.join(ROOT, "target", "release", "examples", "tokio_echo"),
                                  "--addr", f"127.0.0.1:{port}"],
    "simdws-axum": lambda port: [os.path.join(ROOT, "target", "release", "examples", "axum_echo"),
                                 "--addr", f"127.0.0.1:{port}"],
    "axum-ws": lambda port: [os.path.join(PEER_BIN, "axum_ws_echo"), str(port)],
    "fastwebsockets": lambda port: [os.path.join(PEER_BIN, "fastwebsockets_echo"), str(port)],
    "tokio-tungstenite": lambda port: [os.path.join(PEER_BIN, "tokio_tungstenite_echo"), str(port)],
    "tokio-websockets": lambda port: [os.path.join(PEER_BIN, "tokio_websockets_echo"), str(port)],
    "ws (node)": lambda port: ["node", os.path.join(ROOT, "benches", "compare", "node_ws_echo.cjs"), str(port)],
    "uws": lambda port: [UWS, str(port)],
}


def available(names):
    """The servers that can run here; uWebSockets only when it was built."""
    ready = []
    for name in names:
        if name == "uws" and not os.path.exists(UWS):
            print(f"note: uWebSockets left out: {UWS} is not built "
                  "(../shared/peers/uws/build.sh builds it)", file=sys.stderr)
            continue
        if name == "ws (node)":
            ensure_node_ws()
        ready.append(name)
    return ready


IN_FLIGHT_CAP = 1 << 30


def start(name):
    port = free_port()
    env = {**os.environ, "RUST_LOG": "warn", "NODE_PATH": NODE_PATH}
    proc = subprocess.Popen(["taskset", "-c", "0", *SERVERS[name](port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return proc, port


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def load(port, conns, size, pipeline, text, secs):
    cmd = ["taskset", "-c", "1", LOAD, "load", "--url", f"ws://127.0.0.1:{port}/", "--conns", str(conns),
           "--size", str(size), "--pipeline", str(pipeline), "--duration", str(secs), "--warmup", "1",
           "--json", "--text" if text else "--binary"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=secs + 90)
    line = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else "{}"
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        return {"error": out.stderr.strip()[-300:]}


def idle_memory(name, count, burst=False):
    """Server RSS per idle connection, with `count` opened by `simdws load
    --idle` or, with `burst`, all at once by benches/compare/burst_idle.py."""
    proc, port = start(name)
    try:
        time.sleep(0.5)
        before = rss_kib(proc.pid)
        if burst:
            opener = [sys.executable, os.path.join(os.path.dirname(__file__), "burst_idle.py"), str(port), str(count)]
        else:
            opener = [LOAD, "load", "--url", f"ws://127.0.0.1:{port}/", "--idle", str(count), "--duration", "8"]
        holder = subprocess.Popen(["taskset", "-c", "1", *opener], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
        opened = ""
        for line in holder.stdout:
            if "connections open" in line:
                opened = line.strip()
                break
        time.sleep(2)  # past the idle sweep that frees buffers
        after = rss_kib(proc.pid)
        holder.send_signal(signal.SIGTERM)
        holder.wait()
        # "N of M connections open (K failed); ...": divide by what opened.
        held = int(opened.split()[0]) if opened else 0
        return {"before_kib": before, "after_kib": after, "opened": held,
                "bytes_per_conn": (after - before) * 1024 / held if held else None}
    finally:
        proc.kill()
        proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="a reduced matrix")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--secs", type=float, default=3)
    ap.add_argument("--idle", default="10000,50000")
    ap.add_argument("--servers", default=",".join(SERVERS))
    ap.add_argument("--points", help="these loads instead of the matrix: CONNSxSIZExIN_FLIGHT,... "
                    "(text), e.g. 100x20x16,10x1024x1")
    ap.add_argument("--no-matrix", action="store_true", help="only the idle-memory runs")
    ap.add_argument("--instructions", action="store_true", help="instructions per message (callgrind)")
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "-q", "--release", "--features", "cli", "--bin", "simdws"], cwd=ROOT, check=True)
    subprocess.run(["cargo", "build", "-q", "--release", "--features", "axum", "--example", "tokio_echo",
                    "--example", "axum_echo"], cwd=ROOT, check=True)
    subprocess.run(["cargo", "build", "-q", "--release"], cwd=PEERS, check=True)
    servers = available(args.servers.split(","))
    if args.no_matrix:
        points = []
    elif args.points:
        points = [tuple(int(n) for n in p.split("x")) + (True,) for p in args.points.split(",")]
    elif args.quick:
        points = [(c, s, p, True) for c in (1, 100, 1000) for s in (20, 1024, 65536) for p in (1, 16)]
    else:
        points = [(c, s, p, t) for c in (1, 100, 1000, 10000) for s in (20, 1024, 65536, 1 << 20)
                  for p in (1, 16) for t in (True, False)]
    # Past 1 GiB in flight (e.g. 10,000 × 16 × 64 KiB) the run measures this
    # machine's swap, not a server: such points are listed as not run.
    skipped = [p for p in points if p[0] * p[1] * p[2] > IN_FLIGHT_CAP]
    points = [p for p in points if p not in skipped]
    os.makedirs(OUT, exist_ok=True)
    results = {"machine": os.uname().release, "points": [], "idle": {},
               "skipped": [{"conns": c, "size": s, "pipeline": p, "text": t} for (c, s, p, t) in skipped]}
    for (conns, size, pipeline, text) in points:
        row = {"conns": conns, "size": size, "pipeline": pipeline, "text": text, "servers": {}}
        for name in servers:
            proc, port = start(name)
            try:
                runs = [load(port, conns, size, pipeline, text, args.secs) for _ in range(args.reps)]
            finally:
                proc.kill()
                proc.wait()
            good = [r for r in runs if "msgs_per_s" in r and r.get("mismatches", 1) == 0]
            row["servers"][name] = {
                "msgs_per_s": statistics.median(r["msgs_per_s"] for r in good) if good else None,
                "mb_per_s": statistics.median(r["mb_per_s"] for r in good) if good else None,
                "p99_us": statistics.median(r["latency_us"]["p99"] for r in good) if good else None,
                "runs": runs,
            }
            print(f"{conns:>5} × {size:>7} B × {pipeline:>2} {'text' if text else 'bin '} {name:18}"
                  f" {row['servers'][name]['msgs_per_s']}", flush=True)
        results["points"].append(row)
        json.dump(results, open(os.path.join(OUT, "results.json"), "w"), indent=1)
    results["idle_burst"] = {}
    for count in [int(c) for c in args.idle.split(",") if c]:
        for name in servers:
            results["idle"].setdefault(name, {})[count] = idle_memory(name, count)
            results["idle_burst"].setdefault(name, {})[count] = idle_memory(name, count, burst=True)
            print(f"idle {count} {name}: {results['idle'][name][count]}, "
                  f"opened in a burst: {results['idle_burst'][name][count]}", flush=True)
    if args.instructions:
        results["instructions"] = instructions_per_message(servers)
    json.dump(results, open(os.path.join(OUT, "results.json"), "w"), indent=1)
    write_markdown(results, servers)
    with open(os.path.join(OUT, "chart.svg"), "w") as f:
        f.write(chart.draw(results))


def instructions_per_message(servers):
    """{load: {server: instructions per message}} from instructions.py."""
    measurable = [n for n in servers if n in instructions.SERVERS]
    subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "instructions.py"),
                    "--servers", ",".join(measurable)])
    with open(os.path.join(OUT, "instructions.json")) as f:
        measured = json.load(f)
    return {load: {n: v["instructions_per_message"] for n, v in by_server.items()}
            for load, by_server in measured.items()}


def write_markdown(results, servers):
    peers = [s for s in servers if not s.startswith("simdws")]  # the adapter is ours, not a peer
    # The ratio column is for the first of ours asked for: `simdws` (the
    # engine), or `simdws-tokio` in the tokio adapter's run.
    ours = next((s for s in servers if s.startswith("simdws")), None)
    lines = ["| conns | payload | in flight | kind | " + " | ".join(servers)
             + f" | {ours} / best peer | p99 µs {ours} / best peer |",
             "|" + "---|" * (len(servers) + 6)]
    for row in results["points"]:
        s = row["servers"]
        rates = {n: s[n]["msgs_per_s"] for n in servers}
        best_peer = max((rates[p] for p in peers if rates.get(p)), default=None)
        best_p99 = min((s[p]["p99_us"] for p in peers if s[p]["p99_us"]), default=None)
        cells = [f"{rates[n]/1000:.1f}k" if rates[n] else "—" for n in servers]
        mine = s.get(ours, {}) if ours else {}
        ratio = f"{rates[ours]/best_peer:.2f}×" if ours and rates.get(ours) and best_peer else "—"
        p99 = f"{mine['p99_us']} / {best_p99}" if mine.get("p99_us") and best_p99 else "—"
        lines.append(f"| {row['conns']} | {row['size']} B | {row['pipeline']} | {'text' if row['text'] else 'binary'} | "
                     + " | ".join(cells) + f" | {ratio} | {p99} |")
    for key, how in (("idle", "opened by simdws load --idle"), ("idle_burst", "opened in a burst")):
        if not results.get(key):
            continue
        lines += ["", f"| idle connections, {how} | " + " | ".join(servers) + " |", "|---|" + "---|" * len(servers)]
        counts = sorted({c for v in results[key].values() for c in v})
        for c in counts:
            cells = [idle_cell(results[key].get(n, {}).get(c), c) for n in servers]
            lines.append(f"| {c} | " + " | ".join(cells) + " |")
    if results.get("instructions"):
        names = [n for n in servers if any(n in v for v in results["instructions"].values())]
        lines += ["", "| instructions per message (callgrind) | " + " | ".join(names) + " |",
                  "|---|" + "---|" * len(names)]
        for load, by_server in results["instructions"].items():
            cells = [f"{by_server[n]:,}" if n in by_server else "—" for n in names]
            lines.append(f"| {load} | " + " | ".join(cells) + " |")
    if results.get("skipped"):
        lines += ["", "Not run (more than 1 GiB in flight): " + ", ".join(
            f"{p['conns']} × {p['size']} B × {p['pipeline']} {'text' if p['text'] else 'binary'}"
            for p in results["skipped"])]
    open(os.path.join(OUT, "results.md"), "w").write("\n".join(lines) + "\n")
    print("\n".join(lines))


def idle_cell(measured, count):
    """Bytes per connection, and how many opened when not all did."""
    if not measured or not measured.get("bytes_per_conn"):
        return "—"
    cell = f"{measured['bytes_per_conn']:.0f} B"
    if measured["opened"] < count:
        cell += f" ({measured['opened']:,} opened)"
    return cell


if __name__ == "__main__":
    main()
