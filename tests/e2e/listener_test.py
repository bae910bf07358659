"""End-to-end: the built broker answers real clients' ApiVersions and Metadata, survives bad
input, fails fast on bad configuration and shuts down cleanly.

Run with Debian's interpreter (/usr/bin/python3), which has confluent-kafka and kafka-python.
"""

import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker import Broker, free_port, run_server  # noqa: E402


def kcat_metadata(bootstrap, *extra):
    out = subprocess.run(["kcat", "-b", bootstrap, "-L", "-J", "-m", "10"] + list(extra),
                         capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise AssertionError("kcat -L failed: %s" % out.stderr)
    return json.loads(out.stdout)


class ListenerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker().start()

    @classmethod
    def tearDownClass(cls):
        code = cls.broker.stop()
        log = cls.broker.read_log()
        assert code == 0, "broker exited %s on SIGTERM:\n%s" % (code, log)
        assert "shut down cleanly" in log, log

    def cluster_id_on_disk(self):
        with open(os.path.join(self.broker.data_dir, "meta.properties")) as f:
            return re.search(r"^cluster.id=(\S+)$", f.read(), re.M).group(1)

    def test_kcat_lists_the_broker(self):
        md = kcat_metadata(self.broker.bootstrap)
        self.assertEqual(md["brokers"], [{"id": 1, "name": self.broker.bootstrap}])
        self.assertEqual(md["controllerid"], 1)
        # Listing and failed lookups create nothing.
        self.assertEqual(md["topics"], [])

    def test_kcat_plain_listing(self):
        out = subprocess.run(["kcat", "-b", self.broker.bootstrap, "-L"], capture_output=True, text=True,
                             timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("broker 1 at %s (controller)" % self.broker.bootstrap, out.stdout)
        # librdkafka must not have fallen back to guessing the broker version.
        self.assertNotIn("Disconnected while requesting ApiVersion", out.stderr)

    def test_kcat_illegal_topic_name(self):
        md = kcat_metadata(self.broker.bootstrap, "-t", "no such topic")
        self.assertEqual(len(md["topics"]), 1)
        self.assertEqual(md["topics"][0]["topic"], "no such topic")
        self.assertIn("Invalid topic", md["topics"][0]["error"])

    def test_kcat_uses_api_versions(self):
        out = subprocess.run(["kcat", "-b", self.broker.bootstrap, "-L", "-d", "protocol"],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stderr, r"Received ApiVersionResponse \(v3")
        self.assertRegex(out.stderr, r"Received MetadataResponse \(v\d+")

    def test_confluent_kafka_admin_sees_cluster(self):
        from confluent_kafka.admin import AdminClient
        admin = AdminClient({"bootstrap.servers": self.broker.bootstrap})
        md = admin.list_topics(timeout=10)
        self.assertEqual(md.cluster_id, self.cluster_id_on_disk())
        self.assertEqual(md.controller_id, 1)
        self.assertEqual(sorted(md.brokers), [1])
        self.assertEqual((md.brokers[1].host, md.brokers[1].port), ("127.0.0.1", self.broker.port))

    def test_kafka_python_detects_the_api_version(self):
        from kafka import KafkaAdminClient, KafkaConsumer
        consumer = KafkaConsumer(bootstrap_servers=self.broker.bootstrap, request_timeout_ms=10000)
        try:
            # Probed from ApiVersions, not pinned: Metadata v0-12 makes kafka-python pick >= 1.0.
            self.assertGreaterEqual(consumer.config["api_version"], (1, 0, 0))
            self.assertEqual(consumer.topics(), set())
        finally:
            consumer.close()
        admin = KafkaAdminClient(bootstrap_servers=self.broker.bootstrap, request_timeout_ms=10000)
        try:
            self.assertGreaterEqual(admin.config["api_version"], (1, 0, 0))
            self.assertEqual(admin.list_topics(), [])
        finally:
            admin.close()

    def test_kafka_python_pinned_old_version(self):
        from kafka import KafkaConsumer
        consumer = KafkaConsumer(bootstrap_servers=self.broker.bootstrap, api_version=(0, 10, 0))
        try:
            self.assertEqual(consumer.topics(), set())
        finally:
            consumer.close()

    def raw_connection(self):
        return socket.create_connection(("127.0.0.1", self.broker.port), timeout=5)

    def assert_closed(self, sock):
        sock.settimeout(5)
        try:
            data = sock.recv(100)
        except ConnectionResetError:
            data = b""
        self.assertEqual(data, b"", "the broker answered instead of closing the connection")

    def test_bad_input_closes_only_that_connection(self):
        cases = {
            "frame shorter than a request header": b"\x00\x00\x00\x05" + b"\xff" * 5,
            "garbage body of a served api": struct.pack(">ihhih", 14, 3, 4, 1, -1) + b"\xff\xff\xff\xff",
            "negative size": b"\xff\xff\xff\xf0",
            "oversized frame": struct.pack(">i", 200 * 1024 * 1024),
            "truncated metadata body": struct.pack(">ihhihB", 11, 3, 4, 1, -1, 1),
        }
        for name, payload in cases.items():
            with self.subTest(name):
                with self.raw_connection() as s:
                    s.sendall(payload)
                    self.assert_closed(s)
        # Disconnecting in the middle of a frame.
        with self.raw_connection() as s:
            s.sendall(b"\x00\x00\x01\x00abc")
        # The broker carries on serving everyone else.
        self.assertEqual(len(kcat_metadata(self.broker.bootstrap)["brokers"]), 1)
        log = self.broker.read_log()
        self.assertIn("exceeds the maximum request size", log)

    def test_unserved_api_or_version_gets_unsupported_version(self):
        def read_frame(s):
            size = struct.unpack(">i", s.recv(4))[0]
            data = b""
            while len(data) < size:
                data += s.recv(size - len(data))
            return data

        with self.raw_connection() as s:
            # An API key nobody defines: a v0 header and the error code.
            s.sendall(struct.pack(">ihhih", 10, 9999, 0, 501, -1))
            self.assertEqual(struct.unpack(">ih", read_frame(s)), (501, 35))
            # A version beyond what the broker serves (SaslHandshake v7): a v0 header and the code.
            body = struct.pack(">h", 5) + b"PLAIN"
            header = struct.pack(">hhih", 17, 7, 502, -1)
            s.sendall(struct.pack(">i", len(header) + len(body)) + header + body)
            self.assertEqual(struct.unpack(">ih", read_frame(s)), (502, 35))
            # SaslHandshake v1 on a PLAINTEXT listener: ILLEGAL_SASL_STATE and no mechanisms, as
            # from Kafka; the connection stays open.
            header = struct.pack(">hhih", 17, 1, 504, -1)
            s.sendall(struct.pack(">i", len(header) + len(body)) + header + body)
            self.assertEqual(struct.unpack(">ihi", read_frame(s)), (504, 34, 0))
            # The connection stays usable.
            header = struct.pack(">hhih", 18, 0, 503, -1)
            s.sendall(struct.pack(">i", len(header)) + header)
            self.assertEqual(struct.unpack(">ih", read_frame(s)[:6]), (503, 0))

    def test_api_versions_from_the_future_gets_v0_answer(self):
        # ApiVersions v99 from a hypothetical newer client: v0 answer with UNSUPPORTED_VERSION (35).
        body = b""
        header = struct.pack(">hhih", 18, 99, 4242, 3) + b"abc"
        with self.raw_connection() as s:
            s.sendall(struct.pack(">i", len(header) + len(body)) + header + body)
            size = struct.unpack(">i", s.recv(4))[0]
            data = b""
            while len(data) < size:
                data += s.recv(size - len(data))
        corr, error, count = struct.unpack(">ihi", data[:10])
        self.assertEqual((corr, error), (4242, 35))
        keys = [struct.unpack(">hhh", data[10 + 6 * i:16 + 6 * i]) for i in range(count)]
        self.assertIn((18, 0, 4), keys)
        self.assertIn((3, 0, 12), keys)

    def test_request_budget_serializes_a_produce_flood(self):
        # queued.max.requests=1 and a 1 KiB byte budget: 4 producers sending 200 KiB batches
        # concurrently, and a consumer long-polling, all wait their turn and all get through.
        import threading
        from confluent_kafka import Consumer, Producer, TopicPartition
        from confluent_kafka.admin import AdminClient, NewTopic
        with Broker(kafka_properties={"queued.max.requests": 1, "queued.max.request.bytes": 1024}) as broker:
            admin = AdminClient({"bootstrap.servers": broker.bootstrap})
            admin.create_topics([NewTopic("flood", 2, 1)])["flood"].result(10)
            consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "budget",
                                 "fetch.wait.max.ms": 500})
            consumer.assign([TopicPartition("flood", 0, 0)])
            delivered = []

            def produce(n):
                p = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all", "linger.ms": 20,
                              "batch.size": 200000})
                for i in range(2000):
                    p.produce("flood", value=b"%d-%d-" % (n, i) + b"x" * 1000, partition=n % 2,
                              on_delivery=lambda err, msg: delivered.append(err))
                    p.poll(0)
                p.flush(60)

            threads = [threading.Thread(target=produce, args=(n,)) for n in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
            self.assertEqual(len(delivered), 8000)
            self.assertEqual([e for e in delivered if e is not None], [])
            got = 0
            deadline = time.time() + 30
            while got < 4000 and time.time() < deadline:
                m = consumer.poll(0.5)
                if m is not None and not m.error():
                    got += 1
            consumer.close()
            self.assertEqual(got, 4000)

    def test_pipelined_produce_requests_append_and_answer_in_order(self):
        # 40 acks=all Produce requests sent back to back on one connection (they overlap in the
        # broker, sharing fsyncs), then a Metadata request: every answer comes back in request order
        # and the records got offsets in request order.
        from kafka.protocol.api import RequestHeader
        from kafka.protocol.metadata import MetadataRequest
        from kafka.protocol.produce import ProduceRequest, ProduceResponse
        from kafka.record.memory_records import MemoryRecordsBuilder
        from confluent_kafka.admin import AdminClient, NewTopic
        admin = AdminClient({"bootstrap.servers": self.broker.bootstrap})
        admin.create_topics([NewTopic("pipelined", 1, 1)])["pipelined"].result(10)

        def frame(request, corr):
            # kafka-python's encode holds its object weakly: keep both alive while encoding.
            header = RequestHeader(request, correlation_id=corr, client_id="raw")
            body = header.encode() + request.encode()
            return struct.pack(">i", len(body)) + body

        def read_frame(s):
            data = b""
            while len(data) < 4:
                data += s.recv(4 - len(data))
            size = struct.unpack(">i", data)[0]
            data = b""
            while len(data) < size:
                data += s.recv(size - len(data))
            return data

        out = b""
        for i in range(40):
            b = MemoryRecordsBuilder(magic=2, compression_type=0, batch_size=1 << 20)
            b.append(timestamp=None, key=None, value=b"record-%d" % i, headers=[])
            b.close()
            produce = ProduceRequest[3](transactional_id=None, required_acks=-1, timeout=30000,
                                        topics=[("pipelined", [(0, b.buffer())])])
            out += frame(produce, 1000 + i)
        metadata = MetadataRequest[1](topics=None)
        out += frame(metadata, 2000)
        with self.raw_connection() as s:
            s.settimeout(30)
            s.sendall(out)
            offsets = []
            for i in range(40):
                data = read_frame(s)
                self.assertEqual(struct.unpack(">i", data[:4])[0], 1000 + i)
                response = ProduceResponse[3].decode(data[4:])
                (topic, ((partition, error, offset, _ts),)) = response.topics[0]
                self.assertEqual(error, 0)
                offsets.append(offset)
            self.assertEqual(struct.unpack(">i", read_frame(s)[:4])[0], 2000)
        self.assertEqual(offsets, list(range(40)))

    def test_pipelined_requests_answered_in_order(self):
        def api_versions(corr):
            h = struct.pack(">hhih", 18, 0, corr, 1) + b"x"
            return struct.pack(">i", len(h)) + h
        with self.raw_connection() as s:
            s.sendall(b"".join(api_versions(c) for c in range(100, 150)))
            seen = []
            buf = b""
            while len(seen) < 50:
                chunk = s.recv(65536)
                self.assertTrue(chunk)
                buf += chunk
                while len(buf) >= 4 and len(buf) >= 4 + struct.unpack(">i", buf[:4])[0]:
                    n = struct.unpack(">i", buf[:4])[0]
                    seen.append(struct.unpack(">i", buf[4:8])[0])
                    buf = buf[4 + n:]
        self.assertEqual(seen, list(range(100, 150)))


class ConfigurationTest(unittest.TestCase):
    def test_port_out_of_range(self):
        code, _, err = run_server(["--kafka-port", "70000"])
        self.assertEqual(code, 2)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertIn("--kafka-port", err)

    def test_env_port_out_of_range(self):
        env = dict(os.environ, CHRONIK_KAFKA_PORT="abc")
        code, _, err = run_server([], env=env)
        self.assertEqual(code, 2)
        self.assertIn("CHRONIK_KAFKA_PORT", err)

    def test_unknown_mode(self):
        code, _, err = run_server(["frobnicate"])
        self.assertEqual(code, 2)
        self.assertIn("frobnicate", err)

    def test_data_dir_not_writable(self):
        with tempfile.NamedTemporaryFile() as f:
            code, _, err = run_server(["--data-dir", os.path.join(f.name, "sub")])
        self.assertEqual(code, 2)
        self.assertIn("data", err.lower())

    def test_bind_address_in_use(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen()
            port = s.getsockname()[1]
            with tempfile.TemporaryDirectory() as d:
                code, _, err = run_server(["-p", str(port), "-b", "127.0.0.1", "-d", d])
        self.assertEqual(code, 2)
        self.assertIn("127.0.0.1:%d" % port, err)
        self.assertIn("in use", err)

    def test_help_documents_flags_and_environment(self):
        code, out, _ = run_server(["--help"])
        self.assertEqual(code, 0)
        for word in ("--kafka-port", "--admin-port", "--data-dir", "--bind-addr", "--advertised-addr",
                     "--advertised-port", "--metrics-port", "--search-port", "--enable-search", "--enable-backup", "--log-level",
                     "--config", "CHRONIK_KAFKA_PORT", "CHRONIK_BIND_ADDR", "CHRONIK_ADVERTISED_ADDR",
                     "CHRONIK_ADVERTISED_PORT", "CHRONIK_DATA_DIR", "CHRONIK_SEARCH_PORT", "RUST_LOG"):
            self.assertIn(word, out)

    def test_version(self):
        code, out, _ = run_server(["version"])
        self.assertEqual(code, 0)
        self.assertIn("chronik", out)

    def test_advertised_address_and_port_reach_metadata(self):
        with Broker(["--advertised-addr", "localhost", "--advertised-port", "19999"]) as b:
            md = kcat_metadata(b.bootstrap)
            # kcat learns the advertised endpoint from Metadata.
            self.assertEqual(md["brokers"], [{"id": 1, "name": "localhost:19999"}])

    def test_toml_file_and_precedence(self):
        with tempfile.TemporaryDirectory() as d:
            port = free_port()
            cfg = os.path.join(d, "chronik.toml")
            with open(cfg, "w") as f:
                f.write('advertised_addr = "from-file"\nadvertised_port = 1111\n')
            env = dict(os.environ, CHRONIK_ADVERTISED_PORT="2222")
            p = subprocess.Popen([os.environ["CHRONIK_SERVER"], "--config", cfg, "-p", str(port), "-b",
                                  "127.0.0.1", "-d", os.path.join(d, "data")], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                deadline = time.time() + 10
                while time.time() < deadline:
                    try:
                        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                        break
                    except OSError:
                        time.sleep(0.05)
                md = kcat_metadata("127.0.0.1:%d" % port)
                # Address from the file, port from the environment (env beats file).
                self.assertEqual(md["brokers"], [{"id": 1, "name": "from-file:2222"}])
            finally:
                p.send_signal(signal.SIGINT)
                self.assertEqual(p.wait(15), 0)

    def test_cluster_id_survives_restart(self):
        with tempfile.TemporaryDirectory() as d:
            ids = []
            for _ in range(2):
                b = Broker(data_dir=os.path.join(d, "data")).start()
                from confluent_kafka.admin import AdminClient
                ids.append(AdminClient({"bootstrap.servers": b.bootstrap}).list_topics(timeout=10).cluster_id)
                self.assertEqual(b.stop(), 0)
            self.assertEqual(ids[0], ids[1])
            self.assertTrue(ids[0])


if __name__ == "__main__":
    unittest.main(verbosity=2)
