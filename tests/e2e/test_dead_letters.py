"""Records that cannot be read never vanish: they land in KSQL_PROCESSING_LOG with their raw bytes, and the
query keeps running."""

import base64
import json
import time

import requests

from conftest import lines


def scan(weir, sql):
    r = requests.post(weir.url + "/query-stream", json={"sql": sql}, timeout=30)
    assert r.status_code == 200, r.text
    out = lines(r.text)
    return out[0]["columnNames"], out[1:]


def test_malformed_records_go_to_the_processing_log(weir):
    # Two views of one topic: JSON for the query, DELIMITED to write bytes that are not JSON.
    weir.ksql(
        "CREATE STREAM readings (id STRING KEY, celsius DOUBLE) WITH (kafka_topic='readings', value_format='JSON');"
        "CREATE STREAM raw_readings (id STRING KEY, line STRING) WITH (kafka_topic='readings', value_format='DELIMITED');"
        "CREATE STREAM fahrenheit AS SELECT id, celsius * 9 / 5 + 32 AS f FROM readings;"
    )
    weir.ksql("INSERT INTO readings (id, celsius) VALUES ('a', 20.0);")
    weir.ksql("INSERT INTO raw_readings (id, line) VALUES ('b', 'not json at all');")
    weir.ksql("INSERT INTO readings (id, celsius) VALUES ('c', 100.0);")

    deadline = time.time() + 20
    while time.time() < deadline:
        _, rows = scan(weir, "SELECT * FROM fahrenheit;")
        if len(rows) == 2:
            break
        time.sleep(0.1)
    # The bad record did not stop the query: both good records came through.
    assert sorted(rows) == [["a", 68.0], ["c", 212.0]]

    columns, dead = scan(weir, "SELECT * FROM KSQL_PROCESSING_LOG;")
    assert "VALUE_BASE64" in columns
    entries = [dict(zip(columns, row)) for row in dead]
    ours = [e for e in entries if e["QUERY_ID"] == "CSAS_FAHRENHEIT_2"]
    assert len(ours) == 1, entries
    entry = ours[0]
    assert entry["KIND"] == "deserialization"
    assert entry["SOURCE_TOPIC"] == "readings"
    assert entry["SOURCE_PARTITION"] == 0 and entry["SOURCE_OFFSET"] == 1
    assert base64.b64decode(entry["VALUE_BASE64"]) == b"not json at all"
    assert base64.b64decode(entry["KEY_BASE64"]) == b"b"
    assert "deserialize" in entry["MESSAGE"].lower()

    # Counters say the same.
    explained = weir.ksql("EXPLAIN CSAS_FAHRENHEIT_2;").json()[0]["queryDescription"]
    assert "dead-letters: 1" in explained["statistics"]

    # And PRINT shows the dead letter's JSON on the topic.
    r = requests.post(
        weir.url + "/query", json={"ksql": "PRINT 'default_ksql_processing_log' FROM BEGINNING LIMIT 1;"}, timeout=30
    )
    assert "CSAS_FAHRENHEIT_2" in r.text
