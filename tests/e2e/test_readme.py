"""The README's walk-through, run as written against a real server (only the port differs)."""

import os
import re
import subprocess
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def walkthrough_blocks():
    with open(os.path.join(REPO, "README.md")) as f:
        text = f.read()
    section = text.split("## A five-minute walk-through", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.S)


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
        script = block.replace("localhost:8088", f"127.0.0.1:{weir.rest_port}")
        # The test already has the binary; `cargo run --release --` would build a second profile.
        script = script.replace("cargo run --release --", os.environ["WEIR_BIN"])
        script = script.replace("migrate --info", f"migrate --info --server http://127.0.0.1:{weir.rest_port}")
        script = script.replace("--dir migrations", f"--dir {REPO}/migrations")
        script = script.replace("migrate --info --server", f"migrate --dir {REPO}/migrations --info --server")
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
