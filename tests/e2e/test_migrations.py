"""`weir migrate`: files applied in version order, each exactly once, recorded with their checksum."""

import os
import shutil
import subprocess
import tempfile

from conftest import Weir


def migrate(weir, directory, *extra):
    return subprocess.run(
        [os.environ["WEIR_BIN"], "migrate", "--dir", directory, "--server", weir.url, *extra],
        capture_output=True,
        text=True,
        timeout=60,
    )


def write(directory, name, sql):
    with open(os.path.join(directory, name), "w") as f:
        f.write(sql)


def test_migrations_apply_once_in_order_and_detect_changes(weir, tmp_path):
    d = str(tmp_path / "migrations")
    os.mkdir(d)
    write(d, "V1__base.sql", "CREATE STREAM base (k STRING KEY, n INT) WITH (kafka_topic='base', value_format='JSON');")
    write(d, "V10__derived.sql", "CREATE STREAM derived AS SELECT k, n * 2 AS twice FROM base;")
    write(d, "V2__more.sql", "CREATE STREAM other (k STRING KEY, s STRING) WITH (kafka_topic='other', value_format='JSON');")

    out = migrate(weir, d)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[:3] == ["applied V1", "applied V2", "applied V10"]

    # Running again applies nothing.
    out = migrate(weir, d)
    assert out.returncode == 0, out.stderr
    assert "0 applied now, 3 already applied" in out.stdout

    # A new file is picked up; --info shows the history.
    write(d, "V11__third.sql", "CREATE STREAM third AS SELECT k, s FROM other;")
    info = migrate(weir, d, "--info")
    assert "PENDING" in info.stdout and "third" in info.stdout
    assert migrate(weir, d).stdout.startswith("applied V11")

    # Editing an applied file is refused, and nothing is applied.
    write(d, "V2__more.sql", "CREATE STREAM other (k STRING KEY, s STRING, extra INT) WITH (kafka_topic='other', value_format='JSON');")
    write(d, "V12__late.sql", "CREATE STREAM late AS SELECT k FROM other;")
    out = migrate(weir, d)
    assert out.returncode != 0
    assert "V2 (more) was changed after it was applied" in out.stderr
    streams = [s["name"] for s in weir.ksql("SHOW STREAMS;").json()[0]["streams"]]
    assert "LATE" not in streams and "THIRD" in streams
    assert "CHANGED" in migrate(weir, d, "--info").stdout


def test_failing_migration_is_not_recorded(weir, tmp_path):
    d = str(tmp_path / "m")
    os.mkdir(d)
    write(d, "V1__bad.sql", "CREATE STREAM s AS SELECT nope FROM missing;")
    out = migrate(weir, d)
    assert out.returncode != 0
    assert "Migration V1__bad failed" in out.stderr and "MISSING" in out.stderr
    assert "PENDING" in migrate(weir, d, "--info").stdout


def test_apply_on_start_before_healthy():
    tmp = tempfile.mkdtemp(prefix="weir-mig-")
    try:
        d = os.path.join(tmp, "migrations")
        os.mkdir(d)
        write(d, "V1__s.sql", "CREATE STREAM s (k STRING KEY, n INT) WITH (kafka_topic='s', value_format='JSON');")
        env = {"WEIR_MIGRATIONS__APPLY_ON_START": "true", "WEIR_MIGRATIONS__DIR": d}
        server = Weir(os.path.join(tmp, "data"), env=env)
        try:
            # Healthy means the migrations are in.
            streams = [s["name"] for s in server.ksql("SHOW STREAMS;").json()[0]["streams"]]
            assert "S" in streams
        finally:
            server.stop()
        # A restart does not apply them again (it would fail: the stream exists).
        server = Weir(os.path.join(tmp, "data"), env=env)
        server.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
