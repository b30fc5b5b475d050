#!/usr/bin/env bash
# The soak at full size: 64 clients for 10 minutes against a glaux server
# binary, mixing simple and prepared queries, catalog queries, errors,
# transactions, cursors and cancels; prints p50/p99 latency, unexpected
# errors and the server's memory after warm-up and after.
# Usage: bench/soak.sh [path/to/glaux] [seconds]
#   (defaults: /var/tmp/glaux-release/release/glaux, 600)
set -euo pipefail
cd "$(dirname "$0")/.."
GLAUX=$(realpath "${1:-/var/tmp/glaux-release/release/glaux}")
export GLAUX_SERVER_UNDER_TEST="$GLAUX" GLAUX_SOAK_SECS="${2:-600}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/glaux-target}"
cargo test --locked --test integration -- soak:: --nocapture 2>&1 | grep -E '^soak:|^test |panicked|unexpected'
