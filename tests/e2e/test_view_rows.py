"""Pull queries over REST see a table's rows while they wait for a checkpoint (key lookups, key ranges, windowed
keys, deletes by HAVING) and see the same rows after a restart, when they come from the store; a small store cache
(`[storage] cache_mb`) changes nothing but speed."""

import json
import time

import requests

from conftest import Weir, lines

KEYS = 2000
# Round 0 updates every key, round 1 the even keys, round 2 the multiples of 3; each round in its own 10 s window.
ROUNDS = [lambda k: True, lambda k: k % 2 == 0, lambda k: k % 3 == 0]
BASE_TS = 1_000_000


def count(k):
    return sum(1 for included in ROUNDS if included(k))


def total(k):
    return sum(k * 10 + r for r, included in enumerate(ROUNDS) if included(k))


# HAVING COUNT(*) <> 2 deletes the keys updated exactly twice.
EXPECTED = {k: (count(k), total(k)) for k in range(KEYS) if count(k) != 2}


def pull(server, sql):
    r = requests.post(server.url + "/query", json={"ksql": sql, "streamsProperties": {}}, timeout=30)
    assert r.status_code == 200, f"{sql}\n{r.text}"
    return [e["row"]["columns"] for e in r.json()[1:] if "row" in e]


def setup(server):
    server.ksql(
        "CREATE STREAM src (k BIGINT KEY, v BIGINT, ts BIGINT) "
        "WITH (kafka_topic='src', value_format='JSON', partitions=1, timestamp='ts');"
    )
    server.ksql(
        "CREATE TABLE totals AS SELECT k, COUNT(*) AS n, SUM(v) AS s FROM src GROUP BY k HAVING COUNT(*) <> 2;"
    )
    server.ksql(
        "CREATE TABLE per_window AS SELECT k, COUNT(*) AS n FROM src WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY k;"
    )
    rows = [json.dumps({"target": "SRC"})]
    for r, included in enumerate(ROUNDS):
        rows += [json.dumps({"K": k, "V": k * 10 + r, "TS": BASE_TS + r * 10_000}) for k in range(KEYS) if included(k)]
    resp = requests.post(server.url + "/inserts-stream", data="\n".join(rows), timeout=120)
    assert resp.status_code == 200, resp.text
    assert all(a["status"] == "ok" for a in lines(resp.text)), resp.text[:500]


def check(server):
    deadline = time.time() + 60
    scanned = None
    while time.time() < deadline:
        scanned = {row[0]: (row[1], row[2]) for row in pull(server, "SELECT * FROM totals;")}
        if scanned == EXPECTED:
            break
        time.sleep(0.2)
    assert scanned == EXPECTED, {k: (scanned.get(k), EXPECTED.get(k)) for k in range(KEYS) if scanned.get(k) != EXPECTED.get(k)}
    for k in [0, 1, 2, 3, 6, 1998, 1999]:
        assert pull(server, f"SELECT n, s FROM totals WHERE k = {k};") == ([list(EXPECTED[k])] if k in EXPECTED else []), k
    in_range = pull(server, "SELECT k FROM totals WHERE k >= 100 AND k < 130;")
    assert [row[0] for row in in_range] == [k for k in range(100, 130) if k in EXPECTED]
    for k in [5, 6, 7]:
        windows = pull(server, f"SELECT WINDOWSTART, n FROM per_window WHERE k = {k};")
        want = [[BASE_TS + r * 10_000, 1] for r, included in enumerate(ROUNDS) if included(k)]
        assert sorted(windows) == want, (k, windows)


def test_pending_rows_are_read_and_survive_a_restart(tmp_path):
    # A long commit interval keeps the rows waiting for a checkpoint while the first checks run; a 1 MB store cache
    # makes the reads after the restart come mostly from disk.
    env = {"WEIR_PROCESSING__COMMIT_INTERVAL_MS": "600000", "WEIR_STORAGE__CACHE_MB": "1"}
    data_dir = str(tmp_path / "data")
    server = Weir(data_dir, env=env)
    try:
        setup(server)
        check(server)
    finally:
        assert server.stop() == 0, server.logs()
    # The shutdown checkpoint wrote the rows to the store; a new process reads them from there.
    server = Weir(data_dir, env=env)
    try:
        check(server)
    finally:
        server.stop()
