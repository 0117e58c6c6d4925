#!/usr/bin/env bash
# Runs Weir's benchmark (release build) on Nexmark-style bid events through the embedded log:
#   benches/run.sh [EVENTS]
# Reports events/s for appends, decode-only (the ceiling of any query), a stateless CSAS, tumbling and hopping
# windowed aggregates, an aggregate over one key per event (with the memory it takes), and REST pull-query
# latency on that view. Figures are a benchmark, never a test assertion.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release --quiet -- bench --events "${1:-1000000}"
