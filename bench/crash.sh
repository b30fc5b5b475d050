#!/usr/bin/env bash
# Crash safety at full size: rounds of kill -9 while clients create and
# drop databases, tables, partitions, views, users and workgroups; prints
# how many rounds ran and how many acknowledged objects were found intact.
# Usage: bench/crash.sh [path/to/glaux] [rounds]
#   (defaults: /var/tmp/glaux-release/release/glaux, 30)
set -euo pipefail
cd "$(dirname "$0")/.."
GLAUX=$(realpath "${1:-/var/tmp/glaux-release/release/glaux}")
export GLAUX_SERVER_UNDER_TEST="$GLAUX" GLAUX_CRASH_ROUNDS="${2:-30}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/glaux-target}"
cargo test --locked --test integration -- crash:: --nocapture 2>&1 | grep -E '^crash:|^test |panicked'
