"""The README's walk-through, run as written against a real server (only the port differs)."""

import os
import re
import subprocess
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def section_blocks(title):
    with open(os.path.join(REPO, "README.md")) as f:
        text = f.read()
    section = text.split(f"## {title}", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.S)


def walkthrough_blocks():
    return section_blocks("A five-minute walk-through")


def as_written(block, weir):
    """A README block as it runs against `weir`: its ports, and the binary the tests already have."""
    script = block.replace("localhost:8088", f"127.0.0.1:{weir.rest_port}")
    script = script.replace("-h localhost -p 5433", f"-X -h 127.0.0.1 -p {weir.pg_port}")
    # `cargo run --release --` would build a second profile.
    script = script.replace("cargo run --release --", os.environ["WEIR_BIN"])
    script = script.replace("migrate --info", f"migrate --info --server http://127.0.0.1:{weir.rest_port}")
    script = script.replace("--dir migrations", f"--dir {REPO}/migrations")
    return script.replace("migrate --info --server", f"migrate --dir {REPO}/migrations --info --server")


def test_readme_first_lines_give_the_two_commands():
    with open(os.path.join(REPO, "README.md")) as f:
        head = f.read().split("```sh\n", 1)[1].split("```", 1)[0].splitlines()
    assert head[0].startswith("cargo run --release -- serve")
    assert head[1].startswith("./tests/run.sh")


def test_walkthrough_runs_as_written(weir):
    blocks = walkthrough_blocks()
    assert len(blocks) >= 6
    for block in blocks:
        if "EMIT CHANGES" in block:
            continue  # a push query runs until interrupted; test_rest_curl covers it
        script = as_written(block, weir)
        out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
        if "SELECT * FROM slow_views" in block:
            # A person types the next command seconds later; give the query that long to catch up.
            deadline = time.time() + 10
            while out.stdout.count("\n[") < 2 and time.time() < deadline:
                time.sleep(0.1)
                out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, f"{block}\n{out.stderr}"
        assert "error_code" not in out.stdout, f"{block}\n{out.stdout}"
        if "migrate --dir" in block:
            assert "applied V1" in out.stdout and "applied V2" in out.stdout, out.stdout
            assert "APPLIED" in out.stdout and "PENDING" not in out.stdout, out.stdout
        if "SELECT * FROM slow_views" in block:
            rows = [line for line in out.stdout.splitlines() if line.startswith("[")]
            assert sorted(rows) == ['["eu","alice","/HOME",1.2]', '["eu","carol","/HOME",5.4]'], out.stdout


def test_psql_section_runs_as_written(weir):
    for block in walkthrough_blocks()[:2]:  # migrations and the first page views
        out = subprocess.run(["bash", "-c", as_written(block, weir)], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, f"{block}\n{out.stderr}"
    blocks = section_blocks("Postgres wire protocol: psql and drivers")
    assert len(blocks) == 3 and "psql -h localhost -p 5433" in blocks[0]
    env = dict(os.environ, PGUSER="weir", PGDATABASE="weir")
    out = subprocess.run(["bash", "-c", as_written(blocks[0], weir)], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0 and "CREATE TABLE" in out.stdout, out.stderr
    script = as_written(blocks[1], weir)
    # The table's query catches up within seconds of the CREATE, as for a person typing the next command.
    deadline = time.time() + 10
    while True:
        out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=60)
        if " carol   | /home |            2" in out.stdout or time.time() > deadline:
            break
        time.sleep(0.2)
    assert out.returncode == 0 and "ERROR" not in out.stderr, out.stderr
    assert " public | PAGEVIEWS_PER_REGION | table | weir" in out.stdout, out.stdout
    assert " REGION | text   |" in out.stdout and " VIEWS  | bigint |" in out.stdout, out.stdout
    assert (
        " USER_ID |  URL  | region_views \n"
        "---------+-------+--------------\n"
        " alice   | /home |            2\n"
        " carol   | /home |            2\n"
        " bob     | /cart |            1\n"
        "(3 rows)"
    ) in out.stdout, out.stdout
    assert " eu     |     2\n(1 row)" in out.stdout, out.stdout
