"""ksqlDB's REST API driven with plain curl, as the docs show it."""

import json
import subprocess
import threading
import time

from conftest import lines


def curl(*args, data=None):
    cmd = ["curl", "-sS", "--max-time", "30", *args]
    if data is not None:
        cmd += ["--data-binary", "@-"]
    out = subprocess.run(cmd, input=data, capture_output=True, text=True, check=True)
    return out.stdout


def test_statements_inserts_queries_with_curl(weir):
    body = json.dumps(
        {
            "ksql": "CREATE STREAM pageviews (user_id STRING KEY, url STRING, view_ms BIGINT) "
            "WITH (kafka_topic='pageviews', value_format='JSON', partitions=2);"
            "CREATE STREAM slow AS SELECT user_id, UCASE(url) AS page FROM pageviews WHERE view_ms > 1000;",
            "streamsProperties": {},
        }
    )
    created = json.loads(curl("-X", "POST", weir.url + "/ksql", "-H", "Content-Type: application/vnd.ksql.v1+json", data=body))
    assert created[0]["@type"] == "currentStatus"
    assert created[0]["commandStatus"]["message"] == "Stream created"
    assert created[0]["commandId"] == "stream/`PAGEVIEWS`/create"
    assert created[1]["commandStatus"]["queryId"] == "CSAS_SLOW_1"

    rows = '{"target":"pageviews"}\n' + "\n".join(
        json.dumps({"USER_ID": f"u{i}", "URL": f"/p{i}", "VIEW_MS": i * 500}) for i in range(6)
    )
    acks = lines(curl("-X", "POST", weir.url + "/inserts-stream", data=rows))
    assert [a["status"] for a in acks] == ["ok"] * 6
    assert [a["seq"] for a in acks] == list(range(6))

    # A push query from the beginning, ended by LIMIT, over /query (chunked JSON array).
    body = json.dumps(
        {"ksql": "SELECT * FROM slow EMIT CHANGES LIMIT 3;", "streamsProperties": {"auto.offset.reset": "earliest"}}
    )
    out = json.loads(curl("-X", "POST", weir.url + "/query", data=body))
    assert out[0]["header"]["schema"] == "`USER_ID` STRING, `PAGE` STRING"
    pages = sorted(r["row"]["columns"][1] for r in out[1:-1])
    assert pages == ["/P3", "/P4", "/P5"]
    assert out[-1] == {"finalMessage": "Limit Reached"}

    # /query-stream, delimited.
    body = json.dumps({"sql": "SELECT user_id, view_ms FROM pageviews WHERE view_ms < 1000;"})
    out = lines(curl("-X", "POST", weir.url + "/query-stream", data=body))
    assert out[0]["columnNames"] == ["USER_ID", "VIEW_MS"]
    assert out[0]["columnTypes"] == ["STRING", "BIGINT"]
    assert sorted(out[1:]) == [["u0", 0], ["u1", 500]]

    described = json.loads(curl("-X", "POST", weir.url + "/ksql", data=json.dumps({"ksql": "DESCRIBE slow;"})))
    desc = described[0]["sourceDescription"]
    assert [f["name"] for f in desc["fields"]] == ["USER_ID", "PAGE"]
    assert desc["fields"][0]["type"] == "KEY"
    assert desc["writeQueries"][0]["id"] == "CSAS_SLOW_1"


def test_push_query_streams_and_closes(weir):
    weir.ksql("CREATE STREAM s (k STRING KEY, n INT) WITH (kafka_topic='s', value_format='JSON');")
    proc = subprocess.Popen(
        ["curl", "-sS", "-N", "-X", "POST", weir.url + "/query-stream", "--data-binary", "@-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    proc.stdin.write(json.dumps({"sql": "SELECT k, n FROM s EMIT CHANGES;"}))
    proc.stdin.close()
    header = json.loads(proc.stdout.readline())
    query_id = header["queryId"]
    assert query_id.startswith("transient_S_")

    # Rows arrive while the query runs, not at the end.
    weir.ksql("INSERT INTO s (k, n) VALUES ('a', 1);")
    assert json.loads(proc.stdout.readline()) == ["a", 1]
    weir.ksql("INSERT INTO s (k, n) VALUES ('b', 2);")
    assert json.loads(proc.stdout.readline()) == ["b", 2]

    shown = weir.ksql("SHOW QUERIES;").json()[0]["queries"]
    assert any(q["id"] == query_id and q["queryType"] == "PUSH" for q in shown)

    closed = subprocess.run(
        ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", weir.url + "/close-query", "-d", json.dumps({"queryId": query_id})],
        capture_output=True,
        text=True,
    )
    assert closed.stdout == "200"
    proc.wait(timeout=10)
    deadline = time.time() + 10
    while time.time() < deadline:
        shown = weir.ksql("SHOW QUERIES;").json()[0]["queries"]
        if not any(q["id"] == query_id for q in shown):
            break
        time.sleep(0.05)
    else:
        raise AssertionError("closed push query still listed")


def test_errors_have_ksqldb_shape(weir):
    r = weir.ksql("CREATE STREAM x AS SELECT nope FROM missing;", ok=False)
    assert r.status_code == 400
    err = r.json()
    assert err["@type"] == "statement_error"
    assert err["error_code"] == 40001
    assert "Source `MISSING` does not exist." in err["message"]
    assert err["statementText"].startswith("CREATE STREAM x AS SELECT")

    r = weir.ksql("DROP STREAM nothing_here;", ok=False)
    assert r.status_code == 404 and r.json()["error_code"] == 40400

    r = weir.ksql("CREATE STREAM bad (a INT) WITH (kafka_topic='t' value_format='JSON');", ok=False)
    assert r.status_code == 400
    assert "line 1:" in r.json()["message"].lower()

    r = weir.ksql("SELECT * FROM KSQL_PROCESSING_LOG;", ok=False)
    assert r.json()["error_code"] == 40002


def test_sigterm_ends_open_push_queries_and_exits_cleanly(weir):
    weir.ksql("CREATE STREAM t (k STRING KEY, n INT) WITH (kafka_topic='t', value_format='JSON');")
    proc = subprocess.Popen(
        ["curl", "-sS", "-N", "-X", "POST", weir.url + "/query", "-d", json.dumps({"ksql": "SELECT * FROM t EMIT CHANGES;"})],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert "header" in proc.stdout.readline()
    started = time.time()
    assert weir.stop() == 0, weir.logs()
    assert time.time() - started < 10
    rest = proc.stdout.read()
    proc.wait(timeout=10)
    # The open response was finished, not cut: the JSON array is closed with a final message.
    assert '"finalMessage":"Server shutting down"' in rest and rest.rstrip().endswith("]"), rest
