"""Weir driven by a ksqlDB client library from PyPI (ksql-python-ng) and by an HTTP/2 client (httpx)."""

import json

import httpx
from ksql import KSQLAPI

from conftest import lines


def test_ksql_python_client(weir):
    client = KSQLAPI(weir.url)
    assert client.get_ksql_version()
    client.ksql(
        "CREATE STREAM orders (id BIGINT KEY, item STRING, amount DOUBLE) "
        "WITH (kafka_topic='orders', value_format='JSON');"
    )
    acks = client.inserts_stream("orders", [{"ID": i, "ITEM": f"item{i}", "AMOUNT": i * 1.5} for i in range(5)])
    assert all(a["status"] == "ok" for a in acks), acks
    client.ksql("INSERT INTO orders (id, item, amount) VALUES (99, 'late', 100.0);")

    created = client.ksql("CREATE STREAM big_orders AS SELECT id, item, amount * 2 AS doubled FROM orders WHERE amount > 3;")
    assert created[0]["commandStatus"]["queryId"].startswith("CSAS_BIG_ORDERS_")

    chunks = list(
        client.query(
            "SELECT * FROM big_orders EMIT CHANGES LIMIT 3;",
            stream_properties={"auto.offset.reset": "earliest"},
            use_http2=True,
        )
    )
    rows = [json.loads(line) for line in "".join(chunks).splitlines() if line.strip()]
    assert rows[0]["columnNames"] == ["ID", "ITEM", "DOUBLED"]
    assert sorted(r[0] for r in rows[1:]) == [3, 4, 99]

    described = client.ksql("DESCRIBE big_orders;")
    assert described[0]["sourceDescription"]["name"] == "BIG_ORDERS"
    streams = [s["name"] for s in client.ksql("SHOW STREAMS;")[0]["streams"]]
    assert "ORDERS" in streams and "BIG_ORDERS" in streams


def test_http2_query_stream_and_inserts(weir):
    weir.ksql("CREATE STREAM m (k STRING KEY, v INT) WITH (kafka_topic='m', value_format='JSON');")
    with httpx.Client(http1=False, http2=True, base_url=weir.url, timeout=30) as client:
        body = '{"target":"M"}\n{"K":"x","V":1}\n{"K":"y","V":"not a number"}\n{"K":"z","V":3}\n'
        r = client.post("/inserts-stream", content=body)
        assert r.http_version == "HTTP/2"
        acks = lines(r.text)
        assert [a["status"] for a in acks] == ["ok", "error", "ok"]
        assert acks[1]["seq"] == 1 and "INTEGER" in acks[1]["message"]

        r = client.post("/query-stream", json={"sql": "SELECT * FROM m;"}, headers={"Accept": "application/json"})
        assert r.http_version == "HTTP/2"
        out = r.json()
        assert out[0]["columnNames"] == ["K", "V"]
        assert out[1:] == [["x", 1], ["z", 3]]
