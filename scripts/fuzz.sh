#!/usr/bin/env bash
# Runs cargo-fuzz targets for SECS seconds each (default 20): the smoke run
# in the test command; SECS=900 for a campaign. Each target starts from its
# checked-in seeds (fuzz/seeds/TARGET) plus the corpus grown so far
# (fuzz/corpus/TARGET, not checked in), with fuzz/dicts/TARGET.dict when
# there is one. Prints libFuzzer's final line (executions, cov, features,
# corpus) per target; fails on any crash. Installs cargo-fuzz when missing.
#   scripts/fuzz.sh [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
secs=${SECS:-20}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(frame_header frame_oracle connection handshake extension_headers deflate_inflate kernels_differential http_request)
cargo +nightly fuzz build -O 2>&1 | grep -E "^error" -A5 || true
mkdir -p logs
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    dict=()
    [ -f "dicts/$t.dict" ] && dict=(-dict="dicts/$t.dict")
    echo "==== fuzz $t for ${secs}s ===="
    cargo +nightly fuzz run -O "$t" "corpus/$t" "seeds/$t" -- -max_total_time="$secs" \
        -rss_limit_mb=2048 -print_final_stats=1 "${dict[@]}" > "logs/$t.log" 2>&1 || true
    grep -E '^#[0-9]+.*DONE|ERROR|SUMMARY|panicked' "logs/$t.log" || true
    grep -E '^stat::number_of_executed_units' "logs/$t.log" || true
    [ -z "$(ls artifacts/"$t" 2>/dev/null)" ] || { echo "crash artifacts in fuzz/artifacts/$t (log: fuzz/logs/$t.log)"; exit 1; }
    grep -qE 'DONE' "logs/$t.log" || { echo "fuzz $t did not finish (log: fuzz/logs/$t.log)"; exit 1; }
done
