#!/usr/bin/env bash
# Pull queries over the Postgres wire protocol under concurrency: starts `weir serve` on free ports with a fresh
# data directory, fills a stream and an aggregate table, then runs pgbench with CLIENTS connections, each running
# QUERIES pull queries (benches/pgwire/pull.sql), and prints pgbench's report with the p99 latency.
#   [PGBENCH_MODE=extended|prepared|simple] benches/pgwire/run.sh [CLIENTS] [QUERIES] [WEIR_BIN]
# Needs pgbench (Debian: postgresql-contrib or postgresql-client, depending on the version).
set -euo pipefail
cd "$(dirname "$0")/../.."
CLIENTS="${1:-64}"
QUERIES="${2:-1000}"
WEIR_BIN="${3:-${CARGO_TARGET_DIR:-target}/release/weir}"
command -v pgbench >/dev/null || { echo "pgbench is not installed" >&2; exit 1; }

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
REST_PORT=$(free_port)
PG_PORT=$(free_port)
WORK=$(mktemp -d)
WEIR_STORAGE__DATA_DIR="$WORK/data" WEIR_SERVER__REST_LISTEN="127.0.0.1:$REST_PORT" \
  WEIR_SERVER__PG_LISTEN="127.0.0.1:$PG_PORT" WEIR_PROCESSING__COMMIT_INTERVAL_MS=200 \
  "$WEIR_BIN" serve >"$WORK/weir.log" 2>&1 &
WEIR_PID=$!
trap 'kill "$WEIR_PID" 2>/dev/null; wait "$WEIR_PID" 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do curl -sf "127.0.0.1:$REST_PORT/healthcheck" >/dev/null && break; sleep 0.1; done

export PGHOST=127.0.0.1 PGPORT=$PG_PORT PGUSER=weir PGDATABASE=weir
psql -X -q -v ON_ERROR_STOP=1 >/dev/null 2>"$WORK/setup.err" <<'SQL'
CREATE STREAM pageviews (user_id STRING KEY, url STRING, region STRING, view_ms BIGINT)
  WITH (kafka_topic='pageviews', value_format='JSON', partitions=1);
CREATE TABLE pageviews_per_region AS SELECT region, COUNT(*) AS views FROM pageviews GROUP BY region;
SQL
{
  echo '{"target": "pageviews"}'
  for i in $(seq 0 999); do
    echo "{\"USER_ID\": \"u$i\", \"URL\": \"/p$((i % 7))\", \"REGION\": \"r$((i % 10))\", \"VIEW_MS\": $i}"
  done
} | curl -sf "127.0.0.1:$REST_PORT/inserts-stream" --data-binary @- >/dev/null
for _ in $(seq 100); do
  [ "$(psql -X -At -c "SELECT sum(views) FROM pageviews_per_region")" = 1000 ] && break
  sleep 0.1
done

pgbench -n -f benches/pgwire/pull.sql -c "$CLIENTS" -j 2 -t "$QUERIES" -M "${PGBENCH_MODE:-extended}" -l --log-prefix="$WORK/lat" \
  | grep -E "number of (clients|transactions|failed)|latency average|tps"
# Per-transaction log lines: client, transaction, latency in microseconds, ...
cat "$WORK"/lat* | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {
  printf "latency p50 = %.3f ms, p99 = %.3f ms, max = %.3f ms (%d queries)\n",
    a[int(NR*0.50)]/1000, a[int(NR*0.99)]/1000, a[NR]/1000, NR }'
