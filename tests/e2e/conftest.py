"""Fixtures that start the real `weir` binary on free ports with a fresh data directory."""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest
import requests


_handed_out = set()


def free_port():
    """A free local port, never one this test run handed out before (two picks in a row can otherwise get the same
    port back from the kernel, e.g. the REST and Postgres ports of one server)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


class Weir:
    """A running `weir serve` process and helpers to talk to it."""

    def __init__(self, data_dir, env=None, args=None):
        self.data_dir = data_dir
        self.rest_port = free_port()
        self.pg_port = free_port()
        self.url = f"http://127.0.0.1:{self.rest_port}"
        self.log_path = os.path.join(os.path.dirname(data_dir), f"weir-{self.rest_port}.log")
        full_env = dict(os.environ)
        full_env.update(
            {
                "WEIR_STORAGE__DATA_DIR": data_dir,
                "WEIR_SERVER__REST_LISTEN": f"127.0.0.1:{self.rest_port}",
                "WEIR_SERVER__PG_LISTEN": f"127.0.0.1:{self.pg_port}",
                "WEIR_PROCESSING__COMMIT_INTERVAL_MS": "200",
            }
        )
        full_env.update(env or {})
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [os.environ["WEIR_BIN"], "serve", *(args or [])], env=full_env, stdout=subprocess.DEVNULL, stderr=self.log
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"weir exited early:\n{self.logs()}")
            try:
                if requests.get(self.url + "/healthcheck", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"weir did not become healthy:\n{self.logs()}")

    def logs(self):
        with open(self.log_path) as f:
            return f.read()

    def ksql(self, sql, properties=None, ok=True):
        r = requests.post(self.url + "/ksql", json={"ksql": sql, "streamsProperties": properties or {}}, timeout=30)
        if ok:
            assert r.status_code == 200, f"{sql}\n{r.status_code} {r.text}"
        return r

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


@pytest.fixture
def weir():
    tmp = tempfile.mkdtemp(prefix="weir-e2e-")
    server = Weir(os.path.join(tmp, "data"))
    yield server
    server.stop()
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def weir_factory():
    """Starts servers with extra environment or arguments (`weir_factory(args=["--config", path])`)."""
    started = []
    tmp = tempfile.mkdtemp(prefix="weir-e2e-")

    def start(env=None, args=None):
        server = Weir(os.path.join(tmp, f"data{len(started)}"), env=env, args=args)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
    shutil.rmtree(tmp, ignore_errors=True)


def pg_env(server, user="weir", password=None, **extra):
    """Environment for libpq clients (psql) pointed at `server`'s Postgres listener."""
    env = dict(os.environ)
    env.update({"PGHOST": "127.0.0.1", "PGPORT": str(server.pg_port), "PGUSER": user, "PGDATABASE": "weir"})
    env.pop("PGPASSWORD", None)
    if password is not None:
        env["PGPASSWORD"] = password
    env.update(extra)
    return env


def psql(server, sql, *args, env=None, check=True, timeout=30):
    """Runs `psql -X` with `sql` on stdin and returns the completed process (stdout and stderr as text)."""
    out = subprocess.run(
        ["psql", "-X", "-v", "ON_ERROR_STOP=0", *args],
        input=sql,
        capture_output=True,
        text=True,
        env=env or pg_env(server),
        timeout=timeout,
    )
    if check:
        assert out.returncode == 0, f"{sql}\n{out.stdout}\n{out.stderr}"
    return out


def lines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]
