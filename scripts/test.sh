#!/usr/bin/env bash
# The whole test suite: the one command the README gives and .ci/run calls.
# Installs what it needs when missing (apt packages, rustup target and
# components), so it passes on a fresh machine. Steps that cannot run say so
# loudly and fail; nothing is skipped silently.
#
#   scripts/test.sh          everything
#   SKIP_MIRI=1 scripts/test.sh   everything but Miri (for quick local runs)
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==== %s ====\n' "$*"; }
started=$(date +%s)
elapsed() { echo "$(( $(date +%s) - started ))s"; }
# bounded SECONDS COMMAND...: a step that hangs fails with its name after
# SECONDS (several times what it takes on a quiet 2-core machine) instead
# of holding the run until CI's own limit ends it without a word.
bounded() {
    local limit=$1; shift
    local rc=0
    timeout --kill-after=30 "$limit" "$@" || rc=$?
    if [ $rc = 124 ] || [ $rc = 137 ]; then
        echo "FAILED: still running after ${limit}s, stopped: $*"
    fi
    return $rc
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=0
need_apt() { # need_apt COMMAND PACKAGE...
    local cmd=$1; shift
    command -v "$cmd" >/dev/null 2>&1 && return 0
    if [ $apt_updated = 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
    command -v "$cmd" >/dev/null 2>&1 || { echo "FATAL: could not install $* (needed for $cmd)"; exit 1; }
}

step "install: aarch64 cross toolchain, qemu-user, rustup target ($(elapsed))"
need_apt qemu-aarch64 qemu-user
need_apt aarch64-linux-gnu-gcc gcc-aarch64-linux-gnu libc6-dev-arm64-cross
# Topics across processes: the tests start their own redis-server.
need_apt redis-server redis-server
rustup target list --installed | grep -qx aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu
rustup component list --installed | grep -q '^clippy' || rustup component add clippy rustfmt

step "format and lints ($(elapsed))"
cargo fmt --all -- --check
cargo clippy --all-targets --features cli,axum,tokio-tls,socketio -- -D warnings
# The library alone stays lean: none of the command line's dependencies.
if cargo tree -e normal --prefix none | grep -E '^(ctrlc|env_logger|indicatif|hdrhistogram) '; then
    echo "FAILED: the library's default features pull in the command line's dependencies"
    exit 1
fi
# The API documentation builds without a broken link, with and without the engine.
RUSTDOCFLAGS="-D warnings" cargo doc -q --no-deps --all-features
RUSTDOCFLAGS="-D warnings" cargo doc -q --no-deps --no-default-features

step "x86_64: unit, property and integration tests ($(elapsed))"
bounded 1800 cargo test --all-targets --features cli,axum,tokio-tls,socketio
bounded 900 cargo test --doc --features axum,tokio-tls,socketio

# The dispatch picks the widest kernel; run the protocol and kernel suites
# again with each narrower path forced process-wide, asserting it was used.
for kernel in $(cargo run -q --features cli,axum,tokio-tls,socketio --bin simdws -- kernels); do
    step "x86_64 with SIMDWS_KERNEL=$kernel ($(elapsed))"
    SIMDWS_KERNEL=$kernel SIMDWS_EXPECT_KERNEL=$kernel \
        bounded 600 cargo test -q --test mask_equivalence --test protocol
done

step "instructions per message under callgrind, against benches/callgrind-baseline.txt ($(elapsed))"
# Counts, not seconds: the same binary counts the same on any load. More
# than 3% over the baseline in any scenario fails the run.
need_apt valgrind valgrind
bounded 900 benches/callgrind.sh --check benches/callgrind-baseline.txt

step "Autobahn TestSuite (kosoku), server and client, strict ($(elapsed))"
bounded 2400 scripts/autobahn.sh

step "real peers: Python websockets, Node ws, Chromium, both directions ($(elapsed))"
bounded 1500 scripts/interop.sh

step "aarch64 (NEON) under qemu-user ($(elapsed))"
# The library's suites (tests/serve.rs spawns the simdws binary itself,
# which only the test binary's qemu runner could start, so it stays x86_64).
SIMDWS_EXPECT_KERNEL=neon bounded 1500 cargo test --target aarch64-unknown-linux-gnu --lib \
    --test mask_equivalence --test utf8_streaming --test frame_codec \
    --test protocol --test handshake --test engine --test deflate --test http_parser
# Socket.IO's JSON scan, on the kernel that is not SSE2 (two 64-bit words).
bounded 900 cargo test --target aarch64-unknown-linux-gnu --lib --features socketio socketio::json

if [ "${SKIP_MIRI:-0}" = 1 ]; then
    step "Miri: SKIPPED because SKIP_MIRI=1 was set"
else
    step "Miri: install nightly components ($(elapsed))"
    if ! rustup toolchain list | grep -q '^nightly'; then
        rustup toolchain install nightly --profile minimal \
            || { echo "FATAL: no nightly toolchain for Miri (set SKIP_MIRI=1 to run without)"; exit 1; }
    fi
    rustup component list --toolchain nightly --installed | grep -q '^miri' \
        || rustup component add miri rust-src --toolchain nightly
    cargo +nightly miri setup >/dev/null 2>&1
    export MIRIFLAGS=-Zmiri-disable-isolation   # proptest reads the cwd
    step "Miri: unmask and UTF-8 kernels with AVX2 and AVX-512 enabled (scalar, words, SSE2, AVX2, AVX-512) ($(elapsed))"
    SIMDWS_EXPECT_KERNEL=avx512 RUSTFLAGS="-C target-feature=+avx2,+avx512f,+avx512bw" \
        bounded 1500 cargo +nightly miri test --test mask_equivalence --test utf8_kernels
    step "Miri: frame codec, streaming UTF-8, protocol state machine, HTTP reader ($(elapsed))"
    bounded 2700 cargo +nightly miri test --lib --test frame_codec --test utf8_streaming --test protocol --test http_parser
    step "Miri: Socket.IO's JSON scan (SSE2) and reader ($(elapsed))"
    bounded 900 cargo +nightly miri test --lib --features socketio socketio::json
fi

step "fuzz smoke: every cargo-fuzz target for 20 s, from the seeds ($(elapsed))"
SECS=20 bounded 1200 scripts/fuzz.sh

step "all tests passed in $(elapsed)"
