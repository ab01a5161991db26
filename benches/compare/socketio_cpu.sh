#!/usr/bin/env bash
# Where each core's time goes at 100 clients x 16 emit+acks in flight x 20 B:
# the server (core 0) and `simdws load --socketio` (core 1), user and system
# nanoseconds per emit+ack, read from /proc/PID/stat over 3 s in the middle
# of a 7 s run. Servers: simdws `serve --workers 1`, socketioxide and
# socketio-floor (benches/compare/peers; not a peer, the least a Socket.IO
# echo does), alternated, RUNS rounds (default 3). With PLAIN=1, a bare
# WebSocket echo of 36 B frames instead (simdws and, when built, uWebSockets).
#   benches/compare/socketio_cpu.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build -q --release --features cli --bin simdws
(cd benches/compare/peers && cargo build -q --release --bin socketioxide_echo --bin socketio_floor_echo)
load=target/release/simdws
peers=benches/compare/peers/target/release
uws=${UWS_ECHO:-/tmp/peers/uws_echo}
. scripts/common.sh
ticks=$(getconf CLK_TCK)

if [ "${PLAIN:-0}" = 1 ]; then
    servers="simdws"; [ -x "$uws" ] && servers="$servers uws"
    mode=(--size 36)
else
    servers="socketio-floor simdws socketioxide"
    mode=(--socketio --size 20)
fi
cpu() { awk '{print $14, $15}' "/proc/$1/stat"; } # user, system (ticks)

for _ in $(seq "${1:-3}"); do
    for name in $servers; do
        port=$(free_port)
        case $name in
            simdws) RUST_LOG=warn taskset -c 0 "$load" serve --addr "127.0.0.1:$port" --workers 1 > /dev/null 2>&1 & ;;
            socketioxide) taskset -c 0 "$peers/socketioxide_echo" "$port" > /dev/null 2>&1 & ;;
            socketio-floor) taskset -c 0 "$peers/socketio_floor_echo" "$port" > /dev/null 2>&1 & ;;
            uws) taskset -c 0 "$uws" "$port" > /dev/null 2>&1 & ;;
        esac
        server=$!
        wait_port "$port"
        out=$(mktemp)
        taskset -c 1 "$load" load "${mode[@]}" --url "ws://127.0.0.1:$port/" --conns 100 \
            --pipeline 16 --duration 7 --json > "$out" 2> /dev/null &
        generator=$!
        sleep 3
        read -r su0 ss0 < <(cpu "$server"); read -r lu0 ls0 < <(cpu "$generator")
        sleep 3
        read -r su1 ss1 < <(cpu "$server"); read -r lu1 ls1 < <(cpu "$generator")
        wait "$generator"
        kill "$server"; wait "$server" 2> /dev/null || true
        python3 - "$name" "$out" "$ticks" $((su1 - su0)) $((ss1 - ss0)) $((lu1 - lu0)) $((ls1 - ls0)) <<'PY'
import json, sys
name, out, ticks = sys.argv[1], sys.argv[2], int(sys.argv[3])
rate = json.loads(open(out).read().strip().splitlines()[-1])["msgs_per_s"]
su, ss, lu, ls = (int(d) / ticks / 3 for d in sys.argv[4:8])  # share of a core
ns = lambda share: round(share * 1e9 / rate)
print(f"{name}: {rate:,.0f}/s  server user {ns(su)} / system {ns(ss)} ns ({(su + ss) * 100:.0f}% busy)"
      f"  generator user {ns(lu)} / system {ns(ls)} ns ({(lu + ls) * 100:.0f}% busy)")
PY
        rm -f "$out"
    done
done
