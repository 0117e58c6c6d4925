"""psql against the Postgres wire protocol: every kind of statement, the \\d family, errors with SQLSTATEs,
push queries paged with FETCH_COUNT and cancelled with Ctrl-C (SIGINT), cursors, passwords and TLS."""

import os
import re
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import pg_env, psql

SETUP = """
CREATE STREAM pageviews (user_id STRING KEY, url STRING, region STRING, view_ms BIGINT, ts BIGINT)
  WITH (kafka_topic='pageviews', value_format='JSON', partitions=1, timestamp='ts');
CREATE TABLE users (id STRING PRIMARY KEY, name STRING, age INT)
  WITH (kafka_topic='users', value_format='JSON', partitions=1);
INSERT INTO pageviews (user_id, url, region, view_ms, ts) VALUES ('alice', '/home', 'eu', 1200, 1700000000000);
INSERT INTO pageviews (user_id, url, region, view_ms, ts) VALUES ('bob', '/cart', 'us', 300, 1700000001000);
INSERT INTO pageviews (user_id, url, region, view_ms, ts) VALUES ('carol', '/home', 'eu', 5400, 1700000002000);
INSERT INTO users (id, name, age) VALUES ('alice', 'Alice', 30);
INSERT INTO users (id, name, age) VALUES ('bob', 'Bob', 41);
INSERT INTO users (id, name, age) VALUES ('alice', 'Alice A.', 31);
"""


def setup(weir):
    out = psql(weir, SETUP)
    assert out.stdout.count("INSERT 0 1") == 6, out.stdout
    assert "CREATE STREAM" in out.stdout and "CREATE TABLE" in out.stdout, out.stdout


def test_weir_statements_print_as_tables_and_tags(weir):
    setup(weir)
    out = psql(weir, "SHOW STREAMS;\nDESCRIBE pageviews;\nSHOW TABLES;\nSHOW TOPICS;\nSHOW PROPERTIES;\n")
    assert (
        "     Stream Name     |         Kafka Topic         | Key Format | Value Format | Windowed \n"
        "---------------------+-----------------------------+------------+--------------+----------\n"
        " KSQL_PROCESSING_LOG | default_ksql_processing_log | NONE       | JSON         | f\n"
        " PAGEVIEWS           | pageviews                   | KAFKA      | JSON         | f\n"
        "(2 rows)"
    ) in out.stdout, out.stdout
    assert (
        "  Field  |     Type     \n"
        "---------+--------------\n"
        " USER_ID | STRING (key)\n"
        " URL     | STRING\n"
    ) in out.stdout, out.stdout
    assert " USERS      | users       | KAFKA      | JSON         | f" in out.stdout, out.stdout
    assert re.search(r"\n pageviews +\| +1 \| +1\n", out.stdout), out.stdout
    assert "auto.offset.reset" in out.stdout, out.stdout

    # A persistent query: the tag says what was created, a notice gives the query id.
    out = psql(weir, "CREATE STREAM eu AS SELECT user_id, url FROM pageviews WHERE region = 'eu';\nSHOW QUERIES;\n")
    assert "CREATE STREAM" in out.stdout, out.stdout
    assert "NOTICE:" in out.stderr and "CSAS_EU_" in out.stderr, out.stderr
    query_id = next(w for w in out.stdout.split() if w.startswith("CSAS_EU_"))
    out = psql(weir, f"EXPLAIN {query_id};\nTERMINATE {query_id};\nDROP STREAM eu;\n")
    assert "QUERY PLAN" in out.stdout and f"ID: {query_id}" in out.stdout, out.stdout
    assert "TERMINATE" in out.stdout and "DROP STREAM" in out.stdout, out.stdout

    # Several statements in one simple query, and PRINT with a limit.
    out = psql(weir, "", "-c", "SELECT 1 AS one; SELECT 'two' AS two", "-c", "PRINT 'pageviews' FROM BEGINNING LIMIT 2;")
    assert " one \n-----\n   1\n(1 row)" in out.stdout, out.stdout
    assert " two \n-----\n two\n(1 row)" in out.stdout, out.stdout
    assert out.stdout.count(" rowtime: ") == 2 and "(2 rows)" in out.stdout, out.stdout


def test_describe_commands_list_streams_tables_and_columns(weir):
    setup(weir)
    out = psql(weir, "\\dt\n\\dv\n\\d\n\\d pageviews\n\\d users\n\\l\n\\dn\n")
    assert (
        "       List of relations\n"
        " Schema | Name  | Type  | Owner \n"
        "--------+-------+-------+-------\n"
        " public | USERS | table | weir\n"
        "(1 row)"
    ) in out.stdout, out.stdout
    assert " public | PAGEVIEWS           | view  | weir" in out.stdout, out.stdout
    assert (
        '              View "public.PAGEVIEWS"\n'
        " Column  |  Type  | Collation | Nullable | Default \n"
        "---------+--------+-----------+----------+---------\n"
        " USER_ID | text   |           |          | \n"
        " URL     | text   |           |          | \n"
        " REGION  | text   |           |          | \n"
        " VIEW_MS | bigint |           |          | \n"
        " TS      | bigint |           |          | \n"
    ) in out.stdout, out.stdout
    assert 'Table "public.USERS"' in out.stdout and " AGE    | integer |" in out.stdout, out.stdout
    assert " weir | weir  | UTF8     |" in out.stdout, out.stdout
    assert " public | weir" in out.stdout, out.stdout
    assert "ERROR" not in out.stderr, out.stderr


def test_pull_queries_join_aggregate_and_order(weir):
    setup(weir)
    out = psql(
        weir,
        """SELECT p.user_id, u.name, p.view_ms FROM pageviews p JOIN users u ON p.user_id = u.id ORDER BY p.view_ms DESC;
SELECT region, count(*) AS views, sum(view_ms) AS total FROM pageviews GROUP BY region ORDER BY total DESC LIMIT 1;
SELECT name FROM users WHERE id IN (SELECT user_id FROM pageviews WHERE view_ms > 1000);
SELECT * FROM users ORDER BY id;
""",
    )
    assert (
        " USER_ID |   name   | VIEW_MS \n"
        "---------+----------+---------\n"
        " alice   | Alice A. |    1200\n"
        " bob     | Bob      |     300\n"
        "(2 rows)"
    ) in out.stdout.replace(" NAME ", " name "), out.stdout
    assert " region | views | total \n" in out.stdout.replace("REGION", "region") or " REGION | views | total " in out.stdout
    assert " eu     |     2 |  6600" in out.stdout, out.stdout
    assert " Alice A.\n(1 row)" in out.stdout, out.stdout
    # A table is its current state: the latest row per key.
    assert " alice | Alice A. |  31\n bob   | Bob      |  41\n(2 rows)" in out.stdout, out.stdout


def test_materialized_aggregates_and_windows_are_served_from_their_views(weir):
    setup(weir)
    psql(
        weir,
        """CREATE TABLE pageviews_per_region AS SELECT region, COUNT(*) AS views FROM pageviews GROUP BY region;
CREATE TABLE views_per_minute AS SELECT region, COUNT(*) AS views, SUM(view_ms) AS ms FROM pageviews
  WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY region;
INSERT INTO pageviews (user_id, url, region, view_ms, ts) VALUES ('dave', '/a', 'eu', 10, 1700000062000);
""",
    )

    def counted():
        out = psql(weir, "SELECT views FROM pageviews_per_region WHERE region = 'eu';\n")
        return "     3\n(1 row)" in out.stdout

    assert wait_for(counted), "the aggregate did not reach the table"
    assert wait_for(lambda: "(3 rows)" in psql(weir, "SELECT * FROM views_per_minute;\n").stdout)
    out = psql(
        weir,
        """\\dt
\\d pageviews_per_region
\\d views_per_minute
SELECT p.user_id, r.views FROM pageviews p JOIN pageviews_per_region r ON p.region = r.region ORDER BY p.user_id;
SELECT region, windowstart, windowend, views, ms FROM views_per_minute WHERE region = 'eu' ORDER BY windowstart;
SELECT region AS in_range FROM pageviews_per_region WHERE region > 'a' AND region < 'f';
SELECT count(*) AS between_keys FROM pageviews_per_region WHERE region BETWEEN 'eu' AND 'us';
""",
    )
    # Key ranges are range scans of the view.
    assert " in_range \n----------\n eu\n(1 row)" in out.stdout, out.stdout
    assert " between_keys \n--------------\n            2\n(1 row)" in out.stdout, out.stdout
    assert " public | PAGEVIEWS_PER_REGION | table | weir" in out.stdout, out.stdout
    assert (
        '       Table "public.PAGEVIEWS_PER_REGION"\n'
        " Column |  Type  | Collation | Nullable | Default \n"
        "--------+--------+-----------+----------+---------\n"
        " REGION | text   |           |          | \n"
        " VIEWS  | bigint |           |          | \n"
    ) in out.stdout, out.stdout
    assert " WINDOWSTART | bigint |" in out.stdout and " MS          | bigint |" in out.stdout, out.stdout
    assert (
        " USER_ID | VIEWS \n"
        "---------+-------\n"
        " alice   |     3\n"
        " bob     |     1\n"
        " carol   |     3\n"
        " dave    |     3\n"
        "(4 rows)"
    ) in out.stdout, out.stdout
    assert (
        " eu     | 1699999980000 | 1700000040000 |     2 | 6600\n"
        " eu     | 1700000040000 | 1700000100000 |     1 |   10\n"
        "(2 rows)"
    ) in out.stdout, out.stdout
    # The table's rows are the view's: no pseudo-columns, as in a REST pull query.
    out = psql(weir, "SELECT rowtime FROM pageviews_per_region;\n")
    assert 'column "ROWTIME" does not exist' in out.stderr, out.stderr


def test_errors_carry_sqlstates(weir):
    setup(weir)
    cases = {
        "SELECT * FROM nope;": "42P01",
        "SELECT nope FROM pageviews;": "42703",
        "SELEC 1;": "42601",
        "CREATE STREAM;": "42601",
        "DESCRIBE nope;": "42P01",
        "UPDATE pageviews SET url = 'x';": "0A000",
        "SELECT 1 / 0;": "22012",
        "SHOW nope_setting;": "42704",
        "FETCH 1 FROM no_cursor;": "34000",
    }
    script = "\\set VERBOSITY verbose\n" + "".join(cases)
    out = psql(weir, script.replace(";", ";\n"))
    for sql, code in cases.items():
        assert f"ERROR:  {code}:" in out.stderr, f"{sql} should fail with {code}:\n{out.stderr}"
    assert "XX000" not in out.stderr, out.stderr
    # The message is the one REST gives for the same statement.
    rest = weir.ksql("DESCRIBE nope;", ok=False).json()["message"]
    assert rest in out.stderr, (rest, out.stderr)


def test_transactions_and_session_settings(weir):
    setup(weir)
    out = psql(
        weir,
        """BEGIN;
SELECT count(*) FROM pageviews;
COMMIT;
SET application_name = 'weir-test';
SHOW application_name;
SET DateStyle TO 'ISO, MDY';
SHOW datestyle;
SHOW server_version;
SHOW transaction isolation level;
SELECT current_database(), current_schema(), current_user;
BEGIN;
SELECT * FROM nope;
SELECT 1;
ROLLBACK;
SELECT 2 AS after;
""",
    )
    assert " weir-test\n" in out.stdout and " ISO, MDY\n" in out.stdout and " 16.6\n" in out.stdout, out.stdout
    assert " read committed\n" in out.stdout, out.stdout
    assert " weir             | public         | weir" in out.stdout, out.stdout
    assert "current transaction is aborted" in out.stderr, out.stderr
    assert " after \n-------\n     2" in out.stdout, out.stdout


def wait_for(predicate, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def transient_queries(weir):
    queries = weir.ksql("SHOW QUERIES;").json()[0]["queries"]
    return [q for q in queries if q["queryType"] == "PUSH"]


def test_push_query_pages_rows_and_stops_on_ctrl_c(weir):
    setup(weir)
    env = pg_env(weir)
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            ["psql", "-X", "-v", "FETCH_COUNT=1", "-c", "SELECT user_id, view_ms FROM pageviews EMIT CHANGES"],
            stdout=out,
            stderr=err,
            env=env,
        )
        try:
            assert wait_for(lambda: len(transient_queries(weir)) == 1), "the push query did not start"
            psql(weir, "INSERT INTO pageviews (user_id, url, region, view_ms, ts) VALUES ('dave', '/a', 'us', 7, 1700000003000);")

            def printed():
                out.seek(0)
                return "dave" in out.read()

            # psql prints each row as it arrives (one FETCH per row).
            assert wait_for(printed), "the row was not printed while the query runs"
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=20) == 1
        finally:
            if proc.poll() is None:
                proc.kill()
        err.seek(0)
        assert "canceling statement due to user request" in err.read()
    assert wait_for(lambda: transient_queries(weir) == []), "the push query kept running after Ctrl-C"


def test_push_query_without_paging_ends_at_limit_or_ctrl_c(weir):
    setup(weir)
    out = psql(weir, "SET 'auto.offset.reset' = 'earliest';\nSELECT user_id FROM pageviews EMIT CHANGES LIMIT 2;\n")
    assert " USER_ID \n---------\n alice\n bob\n(2 rows)" in out.stdout, out.stdout

    proc = subprocess.Popen(
        ["psql", "-X", "-c", "SELECT * FROM pageviews EMIT CHANGES"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=pg_env(weir),
    )
    assert wait_for(lambda: len(transient_queries(weir)) == 1)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 1 and "canceling statement due to user request" in stderr, stderr
    assert wait_for(lambda: transient_queries(weir) == [])

    # A client that vanishes (kill -9) ends its push query too.
    proc = subprocess.Popen(["psql", "-X", "-c", "SELECT * FROM pageviews EMIT CHANGES"], env=pg_env(weir))
    assert wait_for(lambda: len(transient_queries(weir)) == 1)
    proc.kill()
    proc.wait()
    assert wait_for(lambda: transient_queries(weir) == []), "a disconnected client's push query kept running"


def test_cursors_over_push_and_pull_queries(weir):
    setup(weir)
    out = psql(
        weir,
        """SET 'auto.offset.reset' = 'earliest';
BEGIN;
DECLARE c CURSOR FOR SELECT user_id FROM pageviews EMIT CHANGES;
FETCH 2 FROM c;
FETCH NEXT FROM c;
CLOSE c;
DECLARE p CURSOR FOR SELECT id FROM users ORDER BY id;
FETCH ALL FROM p;
COMMIT;
""",
    )
    assert " USER_ID \n---------\n alice\n bob\n(2 rows)" in out.stdout, out.stdout
    assert " USER_ID \n---------\n carol\n(1 row)" in out.stdout, out.stdout
    assert "DECLARE CURSOR\n  ID   \n-------\n alice\n bob\n(2 rows)" in out.stdout, out.stdout
    assert out.stderr == "", out.stderr
    assert wait_for(lambda: transient_queries(weir) == [])


def self_signed_cert(directory):
    cert = os.path.join(directory, "server.crt")
    key = os.path.join(directory, "server.key")
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=localhost", "-keyout", key, "-out", cert,
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.mark.parametrize("method", ["scram-sha-256", "password"])
def test_password_authentication_over_tls(weir_factory, tmp_path, method):
    cert, key = self_signed_cert(str(tmp_path))
    config = tmp_path / "weir.toml"
    config.write_text(
        "[pgwire]\n"
        'users = [{ name = "alice", password = "s3cret" }]\n'
        f'auth_method = "{method}"\n'
        f'tls_cert = "{cert}"\n'
        f'tls_key = "{key}"\n'
    )
    server = weir_factory(args=["--config", str(config)])
    ok = psql(
        server,
        "SELECT current_user;\n",
        env=pg_env(server, user="alice", password="s3cret", PGSSLMODE="require"),
    )
    assert " alice\n" in ok.stdout, ok.stdout
    bad = psql(server, "SELECT 1;\n", env=pg_env(server, user="alice", password="wrong"), check=False)
    assert bad.returncode != 0 and 'password authentication failed for user "alice"' in bad.stderr, bad.stderr
    unknown = psql(server, "SELECT 1;\n", env=pg_env(server, user="mallory", password="s3cret"), check=False)
    assert unknown.returncode != 0, unknown.stdout
