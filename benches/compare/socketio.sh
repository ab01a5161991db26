#!/usr/bin/env bash
# Socket.IO side by side: `simdws serve --workers 1`, Node `socket.io` 4.8.4
# and socketioxide 0.18 (on axum, a current-thread runtime), each pinned to
# core 0 with `simdws load --socketio` on core 1.
#   * emit+ack/s: 100 clients, 16 and 1 emits in flight, 20 B and 1 KiB,
#     3 runs each (their median is the figure);
#   * server RSS per idle client, 10,000 clients over WebSocket, and
#     10,000 of which 500 (5%) poll (official clients,
#     benches/compare/socketio_polling_idle.cjs).
# Installs socket.io and socket.io-client (npm) into target/compare-node
# when missing; builds the socketioxide peer in benches/compare/peers.
#   benches/compare/socketio.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
SOCKETIO_VERSION=4.8.4
node_dir=target/compare-node
if [ "$(node -p "require('./$node_dir/node_modules/socket.io/package.json').version" 2>/dev/null)" != "$SOCKETIO_VERSION" ] \
   || [ "$(node -p "require('./$node_dir/node_modules/socket.io-client/package.json').version" 2>/dev/null)" != "$SOCKETIO_VERSION" ]; then
    mkdir -p "$node_dir"
    [ -f "$node_dir/package.json" ] || echo '{"private": true}' > "$node_dir/package.json"
    (cd "$node_dir" && npm install --no-audit --no-fund --silent "socket.io@$SOCKETIO_VERSION" "socket.io-client@$SOCKETIO_VERSION")
fi
cargo build -q --release --features cli --bin simdws
(cd benches/compare/peers && cargo build -q --release --bin socketioxide_echo)
load=target/release/simdws
peer=benches/compare/peers/target/release/socketioxide_echo

. scripts/common.sh
start() { # start NAME PORT: the server on core 0; sets $server
    case $1 in
        simdws) RUST_LOG=warn taskset -c 0 "$load" serve --addr "127.0.0.1:$2" --workers 1 > /dev/null 2>&1 & ;;
        node) NODE_PATH="$PWD/$node_dir/node_modules" taskset -c 0 node benches/compare/node_socketio_echo.cjs "$2" > /dev/null 2>&1 & ;;
        socketioxide) taskset -c 0 "$peer" "$2" > /dev/null 2>&1 & ;;
    esac
    server=$!
    wait_port "$2"
}
rss_kib() { awk '/VmRSS/{print $2}' "/proc/$1/status"; }

for name in simdws node socketioxide; do
    for size in 20 1024; do
        for pipeline in 16 1; do
            port=$(free_port); start "$name" "$port"
            rates=()
            for _ in 1 2 3; do
                rates+=("$(taskset -c 1 "$load" load --socketio --url "ws://127.0.0.1:$port/" --conns 100 \
                    --pipeline "$pipeline" --size "$size" --duration 3 --json | tail -1 \
                    | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["mismatches"] == 0; print(round(d["msgs_per_s"]))')")
            done
            kill "$server"; wait "$server" 2>/dev/null || true
            median=$(printf '%s\n' "${rates[@]}" | sort -n | sed -n 2p)
            echo "$name: 100 x $pipeline in flight x $size B: median $median emit+ack/s (runs: ${rates[*]})"
        done
    done
    port=$(free_port); start "$name" "$port"
    sleep 1
    before=$(rss_kib "$server")
    taskset -c 1 "$load" load --socketio --idle 10000 --url "ws://127.0.0.1:$port/" --duration 10 > /dev/null 2>&1 &
    idle=$!
    sleep 8
    after=$(rss_kib "$server")
    wait "$idle" || true
    kill "$server"; wait "$server" 2>/dev/null || true
    echo "$name: 10,000 idle clients: RSS $before -> $after KiB, $(( (after - before) * 1024 / 10000 )) B per client"
    # The same with 5% of them polling (each holds a GET).
    port=$(free_port); start "$name" "$port"
    sleep 1
    before=$(rss_kib "$server")
    taskset -c 1 "$load" load --socketio --idle 9500 --url "ws://127.0.0.1:$port/" --duration 10 > /dev/null 2>&1 &
    idle=$!
    NODE_PATH="$PWD/$node_dir/node_modules" taskset -c 1 node benches/compare/socketio_polling_idle.cjs \
        "http://127.0.0.1:$port" 500 10 > "target/socketio-polling-idle-$name.log" 2>&1 &
    polling=$!
    sleep 8
    after=$(rss_kib "$server")
    wait "$idle" || true
    wait "$polling" || { echo "$name: the polling clients did not all join:"; cat "target/socketio-polling-idle-$name.log"; }
    kill "$server"; wait "$server" 2>/dev/null || true
    echo "$name: 10,000 idle clients, 500 of them polling: RSS $before -> $after KiB, $(( (after - before) * 1024 / 10000 )) B per client"
done
