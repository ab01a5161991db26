#!/usr/bin/env bash
# Real peers nobody here wrote, both directions, plus the browser:
#   Python `websockets` and npm `ws` clients against `simdws serve`;
#   our client against their echo servers;
#   Debian's Chromium (through npm playwright-core) against serve's page;
#   the official socket.io-client, python-socketio and our protocol
#   harness against examples/socketio_conformance, and socket.io-client
#   (in Node, and its browser bundle in Chromium) against serve's
#   Socket.IO contract; three `serve --redis` and a Node socket.io server
#   on @socket.io/redis-adapter sharing rooms through one redis-server.
# Installs pinned versions when missing: a venv under target/, npm packages
# into target/interop-node, Debian's chromium. Fails loudly if it cannot.
set -euo pipefail
cd "$(dirname "$0")/.."
WEBSOCKETS_VERSION=17.4
WS_VERSION=8.23.0
PLAYWRIGHT_VERSION=1.65.1
WEBSOCKET_PKG_VERSION=1.0.35
SOCKETIO_CLIENT_VERSION=4.8.4
PYTHON_SOCKETIO_VERSION=5.18.1
SOCKETIO_SERVER_VERSION=4.8.4
REDIS_ADAPTER_VERSION=8.3.0
NODE_REDIS_VERSION=4.7.1
out=target/interop
venv=target/interop-venv
node_dir=target/interop-node
mkdir -p "$out"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if ! "$venv/bin/python" -c "import websockets, sys; sys.exit(websockets.__version__ != '$WEBSOCKETS_VERSION')" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "websockets==$WEBSOCKETS_VERSION"
fi
if [ "$("$venv/bin/pip" show python-socketio 2>/dev/null | sed -n 's/^Version: //p')" != "$PYTHON_SOCKETIO_VERSION" ]; then
    "$venv/bin/pip" install -q "python-socketio[client]==$PYTHON_SOCKETIO_VERSION"
fi
if [ "$(node -p "require('./$node_dir/node_modules/ws/package.json').version" 2>/dev/null)" != "$WS_VERSION" ] \
   || [ "$(node -p "require('./$node_dir/node_modules/playwright-core/package.json').version" 2>/dev/null)" != "$PLAYWRIGHT_VERSION" ] \
   || [ "$(node -p "require('./$node_dir/node_modules/websocket/package.json').version" 2>/dev/null)" != "$WEBSOCKET_PKG_VERSION" ] \
   || [ "$(node -p "require('./$node_dir/node_modules/socket.io-client/package.json').version" 2>/dev/null)" != "$SOCKETIO_CLIENT_VERSION" ] \
   || [ "$(node -p "require('./$node_dir/node_modules/socket.io/package.json').version" 2>/dev/null)" != "$SOCKETIO_SERVER_VERSION" ] \
   || [ "$(node -p "require('./$node_dir/node_modules/@socket.io/redis-adapter/package.json').version" 2>/dev/null)" != "$REDIS_ADAPTER_VERSION" ] \
   || [ "$(node -p "require('./$node_dir/node_modules/redis/package.json').version" 2>/dev/null)" != "$NODE_REDIS_VERSION" ]; then
    command -v npm >/dev/null || { echo "FATAL: npm is needed for the interop tests"; exit 1; }
    mkdir -p "$node_dir"
    [ -f "$node_dir/package.json" ] || echo '{"private": true}' > "$node_dir/package.json"
    (cd "$node_dir" && npm install --no-audit --no-fund --silent "ws@$WS_VERSION" "playwright-core@$PLAYWRIGHT_VERSION" "websocket@$WEBSOCKET_PKG_VERSION" "socket.io-client@$SOCKETIO_CLIENT_VERSION" \
        "socket.io@$SOCKETIO_SERVER_VERSION" "@socket.io/redis-adapter@$REDIS_ADAPTER_VERSION" "redis@$NODE_REDIS_VERSION")
fi
if ! command -v chromium >/dev/null; then
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >/dev/null
    command -v chromium >/dev/null || { echo "FATAL: could not install Debian's chromium for the browser test"; exit 1; }
fi
export NODE_PATH="$PWD/$node_dir/node_modules"
command -v redis-server >/dev/null || { as_root apt-get update -qq; DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq redis-server >/dev/null; }
command -v curl >/dev/null || { as_root apt-get update -qq; DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq curl >/dev/null; }
cargo build -q --release --features cli --bin simdws --example interop_client --example http_echo --example embed
cargo build -q --release --features axum --example axum_echo
cargo build -q --release --features socketio --example socketio_conformance

. scripts/common.sh
trap cleanup EXIT

serve() { # serve PORT LOG [ARGS...]: starts `simdws serve`, sets $serve_pid
    local port=$1 log=$2; shift 2
    RUST_LOG=${SERVE_LOG:-info} target/release/simdws serve --addr "127.0.0.1:$port" --workers 2 "$@" > "$log" 2>&1 &
    serve_pid=$!
    pids+=("$serve_pid")
    wait_port "$port"
}

# HTTP/1.1 clients against examples/http_echo: curl, Python http.client,
# Node's fetch, and the h1spec cases.
port=$(free_port)
target/release/examples/http_echo --addr "127.0.0.1:$port" --workers 2 > "$out/http-echo.log" 2>&1 &
pids+=($!)
wait_port "$port"
tests/interop/http_curl.sh "$port"
"$venv/bin/python" tests/interop/http_python.py "$port"
node tests/interop/http_node_fetch.mjs "$port"
H1_TARGET="127.0.0.1:$port" cargo test -q --release --test http_compliance -- --nocapture 2>&1 | grep -E "h1spec cases|test result"

# The embedding example survives resets and idle clients.
port=$(free_port)
target/release/examples/embed "127.0.0.1:$port" > "$out/embed.log" 2>&1 &
pids+=($!)
wait_port "$port"
"$venv/bin/python" tests/interop/embed_check.py "127.0.0.1:$port"

# Their clients against serve.
port=$(free_port)
serve "$port" "$out/serve-clients.log"
"$venv/bin/python" tests/interop/python_client.py "ws://127.0.0.1:$port"
node tests/interop/node_client.cjs "ws://127.0.0.1:$port"
node tests/interop/websocket_pkg_clients.cjs "ws://127.0.0.1:$port"

# A server-initiated close, seen by each: SIGINT makes serve close with 1001.
port=$(free_port)
serve "$port" "$out/serve-close-python.log"
"$venv/bin/python" tests/interop/python_server_close.py "ws://127.0.0.1:$port" "$serve_pid"
port=$(free_port)
serve "$port" "$out/serve-close-node.log"
node tests/interop/node_server_close.cjs "ws://127.0.0.1:$port" "$serve_pid"

# Our client against their servers.
"$venv/bin/python" -u tests/interop/python_server.py > "$out/python-server.port" &
pids+=($!)
node tests/interop/node_server.cjs > "$out/node-server.port" &
pids+=($!)
node tests/interop/websocket_pkg_server.cjs > "$out/websocket-pkg-server.port" &
pids+=($!)
for f in python-server node-server websocket-pkg-server; do
    for _ in $(seq 100); do [ -s "$out/$f.port" ] && break; sleep 0.1; done
done
# Plain, then permessage-deflate with context takeover on/off, window bits
# 15 and 9 (both servers have compression on).
for variant in plain deflate deflate-no-takeover deflate-9 deflate-9-no-takeover; do
    target/release/examples/interop_client "ws://127.0.0.1:$(cat "$out/python-server.port")/" "python websockets $WEBSOCKETS_VERSION" "$variant"
    target/release/examples/interop_client "ws://127.0.0.1:$(cat "$out/node-server.port")/" "node ws $WS_VERSION" "$variant"
done
# The npm websocket package has no permessage-deflate: plain only.
PEER_CLOSE_ANSWER=1000 target/release/examples/interop_client "ws://127.0.0.1:$(cat "$out/websocket-pkg-server.port")/" "npm websocket $WEBSOCKET_PKG_VERSION (tutorial server)" plain

# TLS: serve with a certificate generated at start-up (saved for the peers
# to trust); their clients over wss://, ours against a Python wss server,
# Chromium on https:// and wss://.
port=$(free_port)
rm -rf "$out/tls"
serve "$port" "$out/serve-tls.log" --tls-self-signed --tls-save "$out/tls"
for _ in $(seq 50); do [ -s "$out/tls/cert.pem" ] && break; sleep 0.1; done
"$venv/bin/python" tests/interop/python_tls.py client "wss://localhost:$port" "$out/tls/cert.pem"
node tests/interop/node_tls_client.cjs "wss://localhost:$port" "$out/tls/cert.pem"
profile=$(mktemp -d)
node tests/interop/browser_tls.cjs "https://127.0.0.1:$port" "$profile"
rm -rf "$profile"
"$venv/bin/python" -u tests/interop/python_tls.py server "$out/tls/cert.pem" "$out/tls/key.pem" > "$out/python-tls-server.port" &
pids+=($!)
for _ in $(seq 100); do [ -s "$out/python-tls-server.port" ] && break; sleep 0.1; done
target/release/examples/interop_client "wss://localhost:$(cat "$out/python-tls-server.port")/" "python websockets $WEBSOCKETS_VERSION over TLS" deflate "$out/tls/cert.pem"

# The browser: serve's page and the API; a second serve refuses foreign
# origins (403); SIGINT to the first shows a server-initiated close.
port=$(free_port)
SERVE_LOG=info,simdws::serve=debug serve "$port" "$out/serve-browser.log"
browser_pid=$serve_pid
guarded=$(free_port)
serve "$guarded" "$out/serve-guarded.log" --allow-origin http://allowed.example
profile=$(mktemp -d)
node tests/interop/browser.cjs "http://127.0.0.1:$port" "http://127.0.0.1:$guarded" "$browser_pid" "$out/page.png" "$profile"
rm -rf "$profile"
# The browser's close with 4000 and its reason reached the server's handler.
grep -q "closed: 4000 bye from the browser ✓" "$out/serve-browser.log" \
    || { echo "FAILED: serve did not see the browser's close 4000 with its reason"; exit 1; }
echo "interop: the server saw the browser's close 4000 with its reason"

# simdws under axum (the axum extractor, examples/axum_echo): Python
# websockets and Chromium against it.
port=$(free_port)
target/release/examples/axum_echo --addr "127.0.0.1:$port" > "$out/axum-echo.log" 2>&1 &
pids+=($!)
wait_port "$port"
"$venv/bin/python" tests/interop/axum_echo_python.py "ws://127.0.0.1:$port"
profile=$(mktemp -d)
node tests/interop/axum_echo_browser.cjs "ws://127.0.0.1:$port/" "$profile"
rm -rf "$profile"

# Socket.IO on the engine (examples/socketio_conformance, with the
# upstream suites' timings): our own harness for the 56 cases of the two
# upstream protocol suites, then the official socket.io-client over
# WebSocket, long-polling, and polling upgraded, and python-socketio.
port=$(free_port)
target/release/examples/socketio_conformance --addr "127.0.0.1:$port" > "$out/socketio-conformance.log" 2>&1 &
pids+=($!)
wait_port "$port"
node tests/interop/socketio_protocol.cjs "http://127.0.0.1:$port"
node tests/interop/socketio_client.cjs "http://127.0.0.1:$port"
"$venv/bin/python" tests/interop/socketio_python.py "http://127.0.0.1:$port"

# `simdws serve`'s Socket.IO contract (src/bin/simdws/socketio.rs) through
# socket.io-client on each transport: rooms, acks both ways, reconnects.
port=$(free_port)
serve "$port" "$out/serve-socketio.log"
node tests/interop/socketio_serve.cjs "http://127.0.0.1:$port"
# socket.io-client's browser bundle in Chromium, from a page on another
# origin (CORS), over polling and over WebSocket.
profile=$(mktemp -d)
node tests/interop/socketio_browser.cjs "http://127.0.0.1:$port" "$profile"
rm -rf "$profile"

# Socket.IO rooms across processes: three `serve --redis` and one Node
# socket.io server on @socket.io/redis-adapter, on one redis-server of
# their own; the official client on each (tests/interop/socketio_redis_rooms.cjs).
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no > "$out/socketio-redis-server.log" 2>&1 &
pids+=($!)
wait_port "$redis_port"
redis_url="redis://127.0.0.1:$redis_port"
node_port=$(free_port)
node tests/interop/socketio_redis_node.cjs "$node_port" "$redis_url" > "$out/socketio-redis-node.log" 2>&1 &
pids+=($!)
wait_port "$node_port"
simdws_urls=()
for i in 1 2 3; do
    port=$(free_port)
    serve "$port" "$out/serve-socketio-redis-$i.log" --redis "$redis_url"
    simdws_urls+=("http://127.0.0.1:$port")
done
node tests/interop/socketio_redis_rooms.cjs "$redis_url" "http://127.0.0.1:$node_port" "${simdws_urls[@]}"
