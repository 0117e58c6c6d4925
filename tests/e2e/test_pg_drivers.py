"""Python drivers against the Postgres wire protocol: psycopg (extended protocol, parameters, binary results),
asyncpg (prepared statements with described types), SQLAlchemy (connect, inspector, Core queries)."""

import asyncio
import datetime
import decimal
import json

import asyncpg
import psycopg
import pytest
import requests
import sqlalchemy as sa

from conftest import psql

SETUP = """
CREATE STREAM pageviews (user_id STRING KEY, url STRING, region STRING, view_ms BIGINT, ts BIGINT)
  WITH (kafka_topic='pageviews', value_format='JSON', partitions=1, timestamp='ts');
CREATE STREAM readings (id INT KEY, ok BOOLEAN, temp DOUBLE, price DECIMAL(10, 2), at TIMESTAMP, day DATE,
  tags ARRAY<STRING>, attrs MAP<STRING, INT>, loc STRUCT<lat DOUBLE, lon DOUBLE>, raw BYTES)
  WITH (kafka_topic='readings', value_format='JSON', partitions=1);
CREATE TABLE users (id STRING PRIMARY KEY, name STRING) WITH (kafka_topic='users', value_format='JSON', partitions=1);
INSERT INTO pageviews (user_id, url, region, view_ms, ts) VALUES ('alice', '/home', 'eu', 1200, 1700000000000);
INSERT INTO pageviews (user_id, url, region, view_ms, ts) VALUES ('bob', '/cart', 'us', 300, 1700000001000);
INSERT INTO pageviews (user_id, url, region, view_ms, ts) VALUES ('carol', '/home', 'eu', 5400, 1700000002000);
INSERT INTO users (id, name) VALUES ('alice', 'Alice');
"""


def dsn(weir):
    return f"host=127.0.0.1 port={weir.pg_port} user=weir dbname=weir"


@pytest.fixture
def server(weir):
    psql(weir, SETUP)
    # A row with every type, written through REST's /inserts-stream as ksqlDB JSON.
    row = {
        "ID": 1,
        "OK": True,
        "TEMP": 21.5,
        "PRICE": 19.99,
        "AT": 1704164645678,
        "DAY": 19724,
        "TAGS": ["a", "b"],
        "ATTRS": {"x": 1},
        "LOC": {"LAT": 1.5, "LON": -2.25},
        "RAW": "aGk=",
    }
    body = json.dumps({"target": "readings"}) + "\n" + json.dumps(row) + "\n"
    r = requests.post(weir.url + "/inserts-stream", data=body, timeout=30)
    assert r.status_code == 200 and "error" not in r.text, r.text
    return weir


def test_psycopg_parameters_and_text_results(server):
    with psycopg.connect(dsn(server), autocommit=True) as conn:
        cur = conn.execute(
            "SELECT user_id, view_ms, rowtime FROM pageviews WHERE region = %s AND view_ms > %s ORDER BY user_id",
            ("eu", 1000),
        )
        assert cur.fetchall() == [("alice", 1200, 1700000000000), ("carol", 5400, 1700000002000)]
        # Weir statements take parameters too, as safely quoted literals.
        conn.execute(
            "INSERT INTO pageviews (user_id, url, region, view_ms, ts) VALUES (%s, %s, %s, %s, %s)",
            ("dave", "/o'brien", "us", 10, 1700000003000),
        )
        assert conn.execute("SELECT url FROM pageviews WHERE user_id = %s", ("dave",)).fetchall() == [("/o'brien",)]
        cur = conn.execute("SHOW STREAMS")
        assert [d.name for d in cur.description][:2] == ["Stream Name", "Kafka Topic"]
        assert ("PAGEVIEWS", "pageviews", "KAFKA", "JSON", False) in cur.fetchall()


def test_psycopg_binary_results_keep_types(server):
    with psycopg.connect(dsn(server), autocommit=True) as conn:
        cur = conn.cursor(binary=True)
        cur.execute("SELECT id, ok, temp, price, at, day, tags, attrs, loc, raw FROM readings WHERE id = %s", (1,))
        row = cur.fetchone()
        assert row[0] == 1 and row[1] is True and row[2] == 21.5
        assert row[3] == decimal.Decimal("19.99")
        assert row[4] == datetime.datetime(2024, 1, 2, 3, 4, 5, 678000)
        assert row[5] == datetime.date(2024, 1, 2)
        assert row[6] == ["a", "b"]
        assert row[7] == {"x": 1} and row[8] == {"LAT": 1.5, "LON": -2.25}
        assert bytes(row[9]) == b"hi"
        # The same values in text format.
        text = conn.execute("SELECT id, ok, temp, price, at, day, tags, attrs, loc FROM readings").fetchone()
        assert text[:6] == row[:6] and text[6] == ["a", "b"] and text[7] == {"x": 1}


def test_psycopg_errors_and_transactions(server):
    with psycopg.connect(dsn(server)) as conn:  # not autocommit: psycopg opens transactions
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("SELECT * FROM nope")
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            conn.execute("SELECT 1")
        conn.rollback()
        assert conn.execute("SELECT count(*) FROM pageviews").fetchone() == (3,)
        conn.commit()
        with pytest.raises(psycopg.errors.UndefinedColumn):
            conn.execute("SELECT nope FROM pageviews")
        conn.rollback()
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute("DELETE FROM pageviews")
        conn.rollback()


def test_psycopg_server_side_cursor_over_a_push_query(server):
    with psycopg.connect(dsn(server)) as conn:
        conn.execute("SET 'auto.offset.reset' = 'earliest'")
        with conn.cursor(name="views") as cur:
            cur.execute("SELECT user_id, view_ms FROM pageviews EMIT CHANGES")
            assert cur.fetchmany(2) == [("alice", 1200), ("bob", 300)]
            assert cur.fetchone() == ("carol", 5400)
        conn.rollback()


def test_asyncpg_typed_values_and_prepared_statements(server):
    async def run():
        conn = await asyncpg.connect(host="127.0.0.1", port=server.pg_port, user="weir", database="weir")
        try:
            rows = await conn.fetch(
                "SELECT user_id, view_ms, FROM_UNIXTIME(rowtime) AS at, CAST(view_ms AS DOUBLE) / 1000 AS seconds "
                "FROM pageviews WHERE view_ms > $1 ORDER BY user_id",
                1000,
            )
            assert [tuple(r) for r in rows] == [
                ("alice", 1200, datetime.datetime(2023, 11, 14, 22, 13, 20), 1.2),
                ("carol", 5400, datetime.datetime(2023, 11, 14, 22, 13, 22), 5.4),
            ]
            assert [type(v) for v in rows[0].values()] == [str, int, datetime.datetime, float]
            stmt = await conn.prepare("SELECT name FROM users WHERE id = $1")
            assert [p.name for p in stmt.get_parameters()] == ["text"]
            assert await stmt.fetchval("alice") == "Alice"
            # Weir's column names are upper-case (ksqlDB's rule); aliases follow Postgres (lower-case).
            reading = await conn.fetchrow("SELECT price, day AS d, tags, ok FROM readings WHERE id = $1", 1)
            assert reading["PRICE"] == decimal.Decimal("19.99") and reading["d"] == datetime.date(2024, 1, 2)
            assert reading["TAGS"] == ["a", "b"] and reading["OK"] is True
            # INSERT ... VALUES: parameters get the types of the columns they fill.
            insert = await conn.prepare(
                "INSERT INTO pageviews (user_id, url, region, view_ms, ts) VALUES ($1, $2, $3, $4, $5)"
            )
            assert [p.name for p in insert.get_parameters()] == ["text", "text", "text", "int8", "int8"]
            await insert.fetch("erin", "/x", "eu", 42, 1700000004000)
            assert await conn.fetchval("SELECT view_ms FROM pageviews WHERE user_id = 'erin'") == 42
            with pytest.raises(asyncpg.exceptions.UndefinedTableError):
                await conn.fetch("SELECT * FROM nope")
            assert (await conn.fetchval("SELECT version()")).startswith("PostgreSQL 16.6 (Weir ")
        finally:
            await conn.close()

    asyncio.run(run())


def test_sqlalchemy_inspector_and_core_queries(server):
    for url in (
        f"postgresql+psycopg://weir@127.0.0.1:{server.pg_port}/weir",
        f"postgresql+asyncpg://weir@127.0.0.1:{server.pg_port}/weir",
    ):
        if "asyncpg" in url:
            from sqlalchemy.ext.asyncio import create_async_engine

            async def run():
                engine = create_async_engine(url)
                async with engine.connect() as conn:
                    n = (await conn.execute(sa.text("SELECT count(*) FROM pageviews"))).scalar()
                    assert n == 3
                    tables = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
                    assert tables == ["USERS"]
                await engine.dispose()

            asyncio.run(run())
            continue
        engine = sa.create_engine(url)
        inspector = sa.inspect(engine)
        assert inspector.get_table_names() == ["USERS"]
        assert inspector.get_view_names() == ["KSQL_PROCESSING_LOG", "PAGEVIEWS", "READINGS"]
        columns = {c["name"]: str(c["type"]) for c in inspector.get_columns("PAGEVIEWS")}
        assert columns == {"USER_ID": "TEXT", "URL": "TEXT", "REGION": "TEXT", "VIEW_MS": "BIGINT", "TS": "BIGINT"}
        assert [c["name"] for c in inspector.get_columns("USERS")] == ["ID", "NAME"]
        with engine.connect() as conn:
            views = sa.Table("PAGEVIEWS", sa.MetaData(), autoload_with=conn)
            q = (
                sa.select(views.c.REGION, sa.func.count().label("n"))
                .group_by(views.c.REGION)
                .order_by(views.c.REGION)
            )
            assert conn.execute(q).all() == [("eu", 2), ("us", 1)]
        engine.dispose()
