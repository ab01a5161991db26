#!/usr/bin/env bash
# The Socket.IO soak (a documented script, not part of the test command):
# CLIENTS official socket.io-clients (benches/soak/socketio_clients.cjs)
# across two `simdws serve --redis` processes on one redis-server, for
# MINUTES minutes, with connection churn, and Redis restarted half-way.
# Passes when no server crashed, every ack to a connected client was
# answered (and right), and each server's RSS at the end is within 20% of
# its RSS two minutes in (after the ramp).
#   [SERVE_ARGS=--no-deflate] scripts/soak.sh [MINUTES=10] [CLIENTS=5000]
# Figures: target/soak/summary.json (a sample every 10 s) and the serve logs.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-10}
clients=${2:-5000}
out=target/soak
node_dir=target/interop-node
mkdir -p "$out"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
command -v redis-server >/dev/null || { echo "FATAL: redis-server is needed (apt install redis-server)"; exit 1; }
if ! node -e "require('./$node_dir/node_modules/socket.io-client')" 2>/dev/null; then
    mkdir -p "$node_dir"
    [ -f "$node_dir/package.json" ] || echo '{"private": true}' > "$node_dir/package.json"
    (cd "$node_dir" && npm install --no-audit --no-fund --silent socket.io-client@4.8.4)
fi
export NODE_PATH="$PWD/$node_dir/node_modules"
cargo build -q --release --features cli --bin simdws

. scripts/common.sh
trap cleanup EXIT

redis_port=$(free_port)
start_redis() {
    redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >> "$out/redis.log" 2>&1 &
    redis_pid=$!
    pids+=("$redis_pid")
    wait_port "$redis_port"
}
start_redis
urls=()
serve_pids=()
for i in 1 2; do
    port=$(free_port)
    # shellcheck disable=SC2086 # SERVE_ARGS: extra serve flags, split on spaces
    RUST_LOG=warn target/release/simdws serve --addr "127.0.0.1:$port" --redis "redis://127.0.0.1:$redis_port" ${SERVE_ARGS:-} \
        > "$out/serve-$i.log" 2>&1 &
    serve_pids+=($!)
    pids+=($!)
    urls+=("http://127.0.0.1:$port")
    wait_port "$port"
done
echo "soak: $clients clients on ${urls[*]} for $minutes min; redis on $redis_port restarts half-way"

SOAK_OUT="$out/summary.json" node benches/soak/socketio_clients.cjs "$minutes" "$clients" \
    "$(IFS=,; echo "${urls[*]}")" "$(IFS=,; echo "${serve_pids[*]}")" &
driver=$!
pids+=("$driver")
sleep $(( minutes * 30 ))
echo "soak: restarting redis"
kill "$redis_pid"; wait "$redis_pid" 2>/dev/null || true
sleep 3
start_redis
rc=0
wait "$driver" || rc=$?
[ $rc = 0 ] || { echo "FAILED: the client driver exited with $rc (a server died?)"; exit 1; }

python3 - "$out/summary.json" <<'PY'
import json, sys
summary = json.load(open(sys.argv[1]))
samples, final = summary["samples"], summary["final"]
# Two minutes in (a fifth of the run, for short runs): after the ramp.
ramp_s = min(120, samples[-1]["s"] // 5)
ramp = next(s for s in samples if s["s"] >= ramp_s)
print(f"clients connected at the end: {samples[-1]['connected']}, connects {final['connects']}, "
      f"disconnects {final['disconnects']}, connect errors {final['connectErrors']}")
print(f"acks: sent {final['acksSent']}, answered {final['acksAnswered']}, lost {final['acksLost']}, "
      f"cut by the client's own disconnect {final['acksCutByDisconnect']}, wrong {final['ackMismatches']}")
print(f"room messages said {final['said']}, delivered {final['roomDeliveries']}")
failed = final["acksLost"] > 0 or final["ackMismatches"] > 0
for i, (start, end) in enumerate(zip(ramp["rssKiB"], final["rssKiB"])):
    growth = (end - start) / start
    print(f"serve {i + 1}: RSS {start} KiB at {ramp['s']} s, {end} KiB at the end ({growth:+.1%})")
    failed |= growth > 0.20
print("soak: FAILED" if failed else "soak: passed")
sys.exit(1 if failed else 0)
PY
