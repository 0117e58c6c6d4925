#!/usr/bin/env bash
# Runs Weir's throughput benchmark (release build): Nexmark-style bid events through the embedded log.
#   benches/run.sh [EVENTS]
# Reports events/s for appends, decode-only (the ceiling of any query) and a stateless CSAS end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release --quiet -- bench --events "${1:-1000000}"
