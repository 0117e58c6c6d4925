"""REST pull queries beyond key lookups: ORDER BY, LIMIT, non-key predicates, joins and GROUP BY over tables,
answered through DataFusion with ksqlDB's response shapes on /query and /query-stream."""

import json
import time

import pytest
import requests

from conftest import lines


def setup_tables(weir):
    weir.ksql(
        "CREATE TABLE t (id STRING PRIMARY KEY, region STRING, v BIGINT) "
        "WITH (kafka_topic='t', value_format='JSON', partitions=1);"
        "CREATE TABLE regions (region STRING PRIMARY KEY, name STRING) "
        "WITH (kafka_topic='regions', value_format='JSON', partitions=1);"
    )
    weir.ksql(
        "INSERT INTO t (id, region, v) VALUES ('a', 'eu', 1);"
        "INSERT INTO t (id, region, v) VALUES ('b', 'us', 5);"
        "INSERT INTO t (id, region, v) VALUES ('c', 'eu', 7);"
        "INSERT INTO t (id, region, v) VALUES ('d', 'us', 4);"
        "INSERT INTO regions (region, name) VALUES ('eu', 'Europe');"
        "INSERT INTO regions (region, name) VALUES ('us', 'United States');"
    )
    # Inserts are asynchronous to readers: wait until every row is visible.
    deadline = time.time() + 20
    while time.time() < deadline:
        header, rows, _ = query(weir, "SELECT * FROM t;")
        if len(rows) == 4 and len(query(weir, "SELECT * FROM regions;")[1]) == 2:
            return
        time.sleep(0.1)
    raise AssertionError("inserted rows did not become visible")


def query(weir, sql):
    """POST /query: returns the header, the rows' columns and the final message."""
    r = requests.post(weir.url + "/query", json={"ksql": sql, "streamsProperties": {}}, timeout=30)
    assert r.status_code == 200, r.text
    out = json.loads(r.text)
    assert "finalMessage" in out[-1], out
    return out[0]["header"], [e["row"]["columns"] for e in out[1:-1]], out[-1]["finalMessage"]


def query_stream(weir, sql, as_json=False):
    """POST /query-stream, delimited or as one JSON array: returns the metadata and the rows."""
    headers = {"Accept": "application/json"} if as_json else {}
    r = requests.post(weir.url + "/query-stream", json={"sql": sql, "properties": {}}, headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    out = r.json() if as_json else lines(r.text)
    return out[0], out[1:]


CASES = [
    (
        "SELECT * FROM t WHERE v > 3 ORDER BY v DESC LIMIT 2;",
        "`ID` STRING KEY, `REGION` STRING, `V` BIGINT",
        [["c", "eu", 7], ["b", "us", 5]],
    ),
    (
        "SELECT v, id FROM t WHERE region = 'us' ORDER BY id;",
        "`V` BIGINT, `ID` STRING KEY",
        [[5, "b"], [4, "d"]],
    ),
    (
        "SELECT t.id, r.name FROM t JOIN regions r ON t.region = r.region WHERE t.v < 5 ORDER BY t.id;",
        "`ID` STRING KEY, `NAME` STRING",
        [["a", "Europe"], ["d", "United States"]],
    ),
    (
        "SELECT region, SUM(v) FROM t GROUP BY region ORDER BY 2;",
        "`REGION` STRING, `KSQL_COL_0` BIGINT",
        [["eu", 8], ["us", 9]],
    ),
    (
        "SELECT region, COUNT(*) AS n, MAX(v) AS top FROM t GROUP BY region HAVING COUNT(*) > 1 ORDER BY region;",
        "`REGION` STRING, `N` BIGINT, `TOP` BIGINT",
        [["eu", 2, 7], ["us", 2, 5]],
    ),
    (
        "SELECT COUNT(*), SUM(v) AS total FROM t;",
        "`KSQL_COL_0` BIGINT, `TOTAL` BIGINT",
        [[4, 17]],
    ),
]


@pytest.mark.parametrize("sql,schema,rows", CASES, ids=["order-limit", "non-key", "join", "group-by", "having", "aggregate"])
def test_full_sql_pull_queries_over_both_endpoints(weir, sql, schema, rows):
    setup_tables(weir)

    header, got, final = query(weir, sql)
    assert header["schema"] == schema
    assert header["queryId"].startswith("pull_T_")
    assert got == rows
    assert final == "Query Completed"

    names = [c.split("` ")[0].lstrip("`") for c in schema.split(", ")]
    types = [c.split("` ")[1].removesuffix(" KEY") for c in schema.split(", ")]
    for as_json in (False, True):
        meta, got = query_stream(weir, sql, as_json=as_json)
        assert meta["columnNames"] == names
        assert meta["columnTypes"] == types
        assert "queryId" not in meta
        assert got == rows


def test_key_lookups_keep_the_dialect_path(weir):
    setup_tables(weir)
    header, rows, final = query(weir, "SELECT * FROM t WHERE id = 'c';")
    # Weir's own pull planner: unchanged header (no KEY marks), same rows.
    assert header["schema"] == "`ID` STRING, `REGION` STRING, `V` BIGINT"
    assert rows == [["c", "eu", 7]]
    assert final == "Query Completed"


def test_backquoted_identifiers_work_in_full_sql(weir):
    setup_tables(weir)
    header, rows, _ = query(weir, "SELECT `ID`, `V` FROM t ORDER BY `V` LIMIT 1;")
    assert header["schema"] == "`ID` STRING KEY, `V` BIGINT"
    assert rows == [["a", 1]]


@pytest.mark.parametrize("endpoint", ["/query", "/query-stream"])
def test_errors_in_full_sql_pull_queries(weir, endpoint):
    setup_tables(weir)
    sql = "SELECT nope FROM t ORDER BY v;"
    body = {"ksql": sql} if endpoint == "/query" else {"sql": sql}
    r = requests.post(weir.url + endpoint, json=body, timeout=30)
    assert r.status_code == 400
    err = r.json()
    assert err["@type"] == "statement_error"
    assert err["error_code"] == 40001
    assert "NOPE" in err["message"] and "does not exist" in err["message"]
    assert err["statementText"] == sql

    r = requests.post(weir.url + endpoint, json={**body, **{k: "SELECT * FROM missing ORDER BY 1;" for k in body}}, timeout=30)
    assert r.status_code == 400
    assert r.json()["error_code"] == 40001
    assert "MISSING" in r.json()["message"]

    # ksqlDB-only syntax that is not SQL either keeps the dialect's error.
    bad = "SELECT * FROM t ORDER BY v EMIT CHANGES;"
    r = requests.post(weir.url + endpoint, json={k: bad for k in body}, timeout=30)
    assert r.status_code == 400
    assert "ORDER" in r.json()["message"]
