"""EMIT CHANGES aggregations in the server hold changed rows back and emit each group once per commit interval with
its latest value (ksqlDB's record cache, `[processing] cache_max_bytes_buffering`); 0 emits every update."""

import json
import time

import requests

from conftest import lines, psql

KEYS = ["a", "b", "c"]
PER_KEY = 1000


def run_counts(server):
    """Counts PER_KEY records per key with a COUNT/SUM table; returns the rows its sink topic received, per key."""
    server.ksql("CREATE STREAM src (k STRING KEY, v BIGINT) WITH (kafka_topic='src', value_format='JSON', partitions=1);")
    rows = [json.dumps({"target": "SRC"})]
    rows += [json.dumps({"K": KEYS[i % len(KEYS)], "V": i}) for i in range(PER_KEY * len(KEYS))]
    r = requests.post(server.url + "/inserts-stream", data="\n".join(rows), timeout=120)
    assert r.status_code == 200, r.text
    assert all(a["status"] == "ok" for a in lines(r.text)), r.text[:500]
    # Started after the input is there, the query works through a backlog: the case the cache is for.
    server.ksql(
        "CREATE TABLE counts AS SELECT k, COUNT(*) AS n, SUM(v) AS total FROM src GROUP BY k EMIT CHANGES;",
        properties={"auto.offset.reset": "earliest"},
    )

    expected = {k: (PER_KEY, sum(i for i in range(PER_KEY * len(KEYS)) if KEYS[i % len(KEYS)] == k)) for k in KEYS}
    deadline = time.time() + 60
    seen = None
    while time.time() < deadline:
        out = requests.post(server.url + "/query", json={"ksql": "SELECT * FROM counts;"}, timeout=30).json()
        seen = {e["row"]["columns"][0]: tuple(e["row"]["columns"][1:]) for e in out[1:] if "row" in e}
        if seen == expected:
            break
        time.sleep(0.1)
    assert seen == expected, seen

    server.ksql("CREATE STREAM changes (k STRING KEY, n BIGINT, total BIGINT) WITH (kafka_topic='COUNTS', value_format='JSON');")
    out = psql(server, "SELECT k, n FROM changes;", "-At", "-F", ",")
    per_key = {}
    for line in out.stdout.splitlines():
        k, n = line.split(",")
        per_key.setdefault(k, []).append(int(n))
    return per_key


# One record per batch, so nothing but the cache coalesces (a batch emits each changed group once).
ONE_PER_BATCH = {"WEIR_PROCESSING__BATCH_SIZE": "1"}


def test_updates_are_coalesced_per_group_within_a_commit_interval(weir_factory):
    per_key = run_counts(weir_factory(env=ONE_PER_BATCH))
    assert sorted(per_key) == KEYS
    total_rows = sum(len(v) for v in per_key.values())
    # Every update emitted would be 3,000 rows; held back per commit interval (200 ms here) it is a handful.
    assert total_rows < PER_KEY * len(KEYS) // 2, total_rows
    for k, counts in per_key.items():
        assert counts == sorted(counts), f"{k}: rows out of order {counts}"
        assert counts[-1] == PER_KEY, f"{k}: last emitted count {counts[-1]}"


def test_a_zero_cache_emits_every_update(weir_factory):
    server = weir_factory(env={**ONE_PER_BATCH, "WEIR_PROCESSING__CACHE_MAX_BYTES_BUFFERING": "0"})
    per_key = run_counts(server)
    for k in KEYS:
        assert per_key.get(k) == list(range(1, PER_KEY + 1)), (k, len(per_key.get(k, [])), per_key.get(k, [])[:20])
