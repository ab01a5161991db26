#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECS seconds each (default 30): the smoke
# run; SECS=900 for a campaign. Installs cargo-fuzz when missing.
#   scripts/fuzz.sh [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
secs=${SECS:-30}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(frame_header connection handshake kernels_differential)
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    echo "==== fuzz $t for ${secs}s ===="
    cargo +nightly fuzz run -O "$t" "corpus/$t" -- -max_total_time="$secs" -rss_limit_mb=2048 2>&1 \
        | grep -E '^#[0-9]+.*DONE|ERROR|SUMMARY|panicked' || true
    [ -z "$(ls artifacts/"$t" 2>/dev/null)" ] || { echo "crash artifacts in fuzz/artifacts/$t"; exit 1; }
done
