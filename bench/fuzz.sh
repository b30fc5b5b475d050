#!/usr/bin/env bash
# The protocol fuzzer at full size against a glaux server binary: prints
# cases, crashes, panics, healthy-client errors, the slowest healthy
# answer and the server's memory before, at peak and after.
# Usage: bench/fuzz.sh [path/to/glaux] [cases] [seed]
#   (defaults: /var/tmp/glaux-release/release/glaux, 1000000, 12)
# The fuzzer itself is the test integration::fuzz, built in debug; the
# server under test is the binary given (the release build users run).
set -euo pipefail
cd "$(dirname "$0")/.."
GLAUX=$(realpath "${1:-/var/tmp/glaux-release/release/glaux}")
export GLAUX_SERVER_UNDER_TEST="$GLAUX" GLAUX_FUZZ_CASES="${2:-1000000}" GLAUX_FUZZ_SEED="${3:-12}" GLAUX_FUZZ_WORKERS="${GLAUX_FUZZ_WORKERS:-64}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/glaux-target}"
cargo test --locked --test integration -- fuzz:: --nocapture 2>&1 | grep -E '^fuzz:|^test |panicked'
