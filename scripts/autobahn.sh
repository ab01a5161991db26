#!/usr/bin/env bash
# The Autobahn TestSuite through kosoku, strict, in both roles:
#   server: kosoku drives `simdws serve`;
#   client: examples/autobahn_client drives kosoku's fuzzing server;
#   server over TLS: cases 1.*-10.* against `serve --tls-self-signed`,
#   through scripts/tls_relay.py (kosoku 0.1.0 refuses wss:// addresses);
#   the tokio adapter: examples/tokio_echo as a server, cases 1.*-10.*;
#   examples/axum_echo (the axum extractor) as a server and
#   examples/tokio_autobahn_client as a client, all 517 cases with deflate.
# The clients run several cases at a time, as kosoku does against the
# servers: a case's messages go one at a time, so one case leaves both
# cores idle between round trips.
# Installs kosoku (pinned) into target/venv when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
KOSOKU_VERSION=0.1.0
venv=target/venv
if ! "$venv/bin/kosoku" --help >/dev/null 2>&1; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "kosoku==$KOSOKU_VERSION"
fi
cargo build -q --release --features cli --bin simdws --example autobahn_client
cargo build -q --release --features tokio --example tokio_echo --example tokio_autobahn_client
cargo build -q --release --features axum --example axum_echo
out=target/autobahn
rm -rf "$out"
mkdir -p "$out"

. scripts/common.sh

trap cleanup EXIT

# start_client NAME EXAMPLE PARALLEL: a fuzzing server writing to $out/NAME,
# and the client example running its cases against it in the background;
# sets client_pid.
start_client() {
    local port
    port=$(free_port)
    "$venv/bin/kosoku" -m fuzzingserver -o "$out/$1" "127.0.0.1:$port" > "$out/$1-fuzzingserver.log" 2>&1 &
    pids+=($!)
    wait_port "$port"
    timeout 1200 "target/release/examples/$2" "ws://127.0.0.1:$port" --parallel "$3" > "$out/$1-run.log" 2>&1 &
    client_pid=$!
    pids+=($client_pid)
}

# finish_client NAME PID ROLE: waits for the client, then checks its report
# (the fuzzing server writes it after /updateReports returns).
finish_client() {
    wait "$2"
    for _ in $(seq 100); do [ -s "$out/$1/index.json" ] && break; sleep 0.1; done
    python3 scripts/check_autobahn.py "$out/$1/index.json" --role "$3" --deflate
}

# The engine as a client and as a server, the two at once: each run alone
# leaves part of the two cores idle.
start_client client autobahn_client 4
engine_client=$client_pid

port=$(free_port)
RUST_LOG=warn target/release/simdws serve --addr "127.0.0.1:$port" --workers 2 > "$out/serve.log" 2>&1 &
pids+=($!)
wait_port "$port"
# kosoku exits non-zero whenever a case is not OK (UNIMPLEMENTED included);
# the checker below decides, and fails on a missing or short report.
"$venv/bin/kosoku" -p 4 -o "$out/server" "127.0.0.1:$port" > "$out/server-run.log" 2>&1 || true
python3 scripts/check_autobahn.py "$out/server/index.json" --role server --deflate

finish_client client "$engine_client" client

port=$(free_port)
rm -rf "$out/tls"
RUST_LOG=warn target/release/simdws serve --addr "127.0.0.1:$port" --workers 2 --tls-self-signed --tls-save "$out/tls" > "$out/serve-tls.log" 2>&1 &
pids+=($!)
wait_port "$port"
python3 -u scripts/tls_relay.py "127.0.0.1:$port" localhost "$out/tls/cert.pem" > "$out/relay.port" &
pids+=($!)
for _ in $(seq 100); do [ -s "$out/relay.port" ] && break; sleep 0.1; done
"$venv/bin/kosoku" -p 4 -x '12.*' -x '13.*' -o "$out/server-tls" "127.0.0.1:$(cat "$out/relay.port")" > "$out/server-tls-run.log" 2>&1 || true
python3 scripts/check_autobahn.py "$out/server-tls/index.json" --role "server over TLS" --expect 301

port=$(free_port)
target/release/examples/tokio_echo --addr "127.0.0.1:$port" > "$out/tokio-echo.log" 2>&1 &
pids+=($!)
wait_port "$port"
"$venv/bin/kosoku" -p 4 -x '12.*' -x '13.*' -o "$out/tokio-server" "127.0.0.1:$port" > "$out/tokio-server-run.log" 2>&1 || true
python3 scripts/check_autobahn.py "$out/tokio-server/index.json" --role "tokio adapter server" --expect 301

# All 517 cases through the tokio client and through axum_echo, the two at
# once. The client takes 2 cases at a time: beside the axum run, the phase
# took 578 s at 1, 452 s at 2 and about 490 s at 4 (2026-12-03).
start_client tokio-client tokio_autobahn_client 2
tokio_client=$client_pid

port=$(free_port)
target/release/examples/axum_echo --addr "127.0.0.1:$port" > "$out/axum-echo.log" 2>&1 &
pids+=($!)
wait_port "$port"
"$venv/bin/kosoku" -p 4 -o "$out/axum-server" "127.0.0.1:$port" > "$out/axum-server-run.log" 2>&1 || true
python3 scripts/check_autobahn.py "$out/axum-server/index.json" --role "axum extractor server" --deflate

finish_client tokio-client "$tokio_client" "tokio adapter client"
