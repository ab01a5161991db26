#!/usr/bin/env python3
"""HTTP/1.1 keep-alive GET: simdws (examples/http_hello, one worker) against
hyper 1 (benches/compare/peers hyper_hello, current-thread tokio runtime),
both answering every request with 200 `Hello, World!`. Each server is pinned
to core 0 and `wrk` (Debian) to core 1; 100 connections; with 16 requests
pipelined per connection (benches/http/pipeline.lua) and without. Runs
alternate between the servers; medians of --reps runs.

With --callgrind, each server also runs under valgrind's callgrind with the
same load for 2 s and for 6 s: the difference in instructions over the
difference in requests served is the user-space cost of one request, with
start-up and connection set-up cancelled out.

    python3 benches/http/run.py [--reps 3] [--secs 5] [--callgrind]

Writes target/http-bench/results.json and prints a markdown table.
"""
import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "compare"))
from common import free_port, wait_port  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "target", "http-bench")
PEERS = os.path.join(ROOT, "benches", "compare", "peers")
LUA = os.path.join(ROOT, "benches", "http", "pipeline.lua")

SERVERS = {
    "simdws": lambda port: [os.path.join(ROOT, "target", "release", "examples", "http_hello"),
                            "--workers", "1", "--addr", f"127.0.0.1:{port}"],
    "hyper": lambda port: [os.path.join(PEERS, "target", "release", "hyper_hello"), str(port)],
}


def cpu_seconds(pid):
    """User and system CPU seconds of a process (all its threads)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def wrk(port, secs, pipelined):
    cmd = ["taskset", "-c", "1", "wrk", "-t1", "-c100", f"-d{secs}s", f"http://127.0.0.1:{port}/"]
    if pipelined:
        cmd[4:4] = ["-s", LUA]
        cmd += ["--", "16"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)", out)
    return requests, rate, errors.group(0) if errors else None


def start(name, port, wrap=()):
    proc = subprocess.Popen(["taskset", "-c", "0", *wrap, *SERVERS[name](port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, tries=600)
    return proc


def stop(proc):
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def throughput(name, secs, pipelined):
    port = free_port()
    proc = start(name, port)
    wrk(port, 1, pipelined)  # warm-up
    before = cpu_seconds(proc.pid)
    requests, rate, errors = wrk(port, secs, pipelined)
    after = cpu_seconds(proc.pid)
    stop(proc)
    if errors:
        raise RuntimeError(f"{name}: {errors}")
    user_ns = (after[0] - before[0]) * 1e9 / requests
    sys_ns = (after[1] - before[1]) * 1e9 / requests
    return rate, user_ns, sys_ns


def instructions(name, pipelined):
    """Callgrind: instructions per request, from a 2 s and a 6 s run."""
    totals = []
    for secs in (2, 6):
        port = free_port()
        profile = os.path.join(OUT, f"callgrind.{name}.{secs}.out")
        proc = start(name, port, ["valgrind", "--tool=callgrind", f"--callgrind-out-file={profile}"])
        requests, _, _ = wrk(port, secs, pipelined)
        stop(proc)
        text = open(profile).read()
        ir = int(re.search(r"^(?:summary|totals): (\d+)", text, re.M).group(1))
        totals.append((ir, requests))
    (ir2, r2), (ir6, r6) = totals
    return (ir6 - ir2) / (r6 - r2)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--secs", type=int, default=5)
    parser.add_argument("--callgrind", action="store_true")
    args = parser.parse_args()
    os.makedirs(OUT, exist_ok=True)
    subprocess.run(["cargo", "build", "-q", "--release", "--example", "http_hello"], cwd=ROOT, check=True)
    subprocess.run(["cargo", "build", "-q", "--release", "--bin", "hyper_hello"], cwd=PEERS, check=True)
    results = {}
    for pipelined in (True, False):
        mode = "16 pipelined" if pipelined else "1 in flight"
        runs = {name: [] for name in SERVERS}
        for _ in range(args.reps):
            for name in SERVERS:
                runs[name].append(throughput(name, args.secs, pipelined))
        for name, samples in runs.items():
            results.setdefault(mode, {})[name] = {
                "requests_per_s": statistics.median(s[0] for s in samples),
                "user_ns": statistics.median(s[1] for s in samples),
                "sys_ns": statistics.median(s[2] for s in samples),
                "runs": [s[0] for s in samples],
            }
        if args.callgrind:
            for name in SERVERS:
                results[mode][name]["instructions"] = instructions(name, pipelined)
    json.dump(results, open(os.path.join(OUT, "results.json"), "w"), indent=2)
    print("| load | server | requests/s (median) | runs | server user / sys ns per request | instructions per request |")
    print("|---|---|---|---|---|---|")
    for mode, servers in results.items():
        for name, r in servers.items():
            ins = f"{r['instructions']:.0f}" if "instructions" in r else "—"
            runs = ", ".join(f"{x / 1000:.1f}k" for x in r["runs"])
            print(f"| 100 conns, {mode} | {name} | {r['requests_per_s'] / 1000:.1f}k | {runs} | "
                  f"{r['user_ns']:.0f} / {r['sys_ns']:.0f} | {ins} |")
        simd, hyper = servers["simdws"], servers["hyper"]
        line = f"simdws / hyper, {mode}: {simd['requests_per_s'] / hyper['requests_per_s']:.2f}x requests/s"
        if "instructions" in simd:
            line += f", {simd['instructions'] / hyper['instructions']:.2f}x instructions per request"
        print(line)


if __name__ == "__main__":
    main()
