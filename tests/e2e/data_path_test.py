"""End-to-end: produce and consume with real clients (kcat with every codec, confluent-kafka,
kafka-python in current and 0.10 mode), offsets by time, and data surviving a restart."""

import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker import Broker  # noqa: E402

KCAT_MESSAGES = 100_000


def check_kcat_every_codec(test, bootstrap, messages):
    """kcat produces `messages` keyed records with two headers with each codec (acks=all), and
    consumes them back: every key, value, header and offset must be what was sent."""
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "in.txt")
        with open(src, "w") as f:
            for i in range(messages):
                f.write("key-%d\tvalue-%d-%s\n" % (i % 977, i, "x" * (i % 50)))
        with open(src) as f:
            expected = f.read().splitlines()
        for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
            with test.subTest(codec):
                topic = "kcat-" + codec
                p = subprocess.run(["kcat", "-b", bootstrap, "-P", "-t", topic, "-K", "\t",
                                    "-z", codec, "-H", "origin=kcat", "-H", "codec=" + codec,
                                    "-X", "acks=all", "-l", src], capture_output=True, text=True, timeout=300)
                test.assertEqual(p.returncode, 0, p.stderr)
                c = subprocess.run(["kcat", "-b", bootstrap, "-C", "-t", topic, "-o", "beginning",
                                    "-e", "-q", "-f", "%k\t%s\t%h\t%o\n"], capture_output=True, text=True,
                                   timeout=300)
                test.assertEqual(c.returncode, 0, c.stderr)
                lines = c.stdout.splitlines()
                test.assertEqual(len(lines), messages)
                for i, line in enumerate(lines):
                    key, value, headers, offset = line.split("\t")
                    if "%s\t%s" % (key, value) != expected[i] or headers != "origin=kcat,codec=" + codec \
                            or int(offset) != i:
                        test.fail("message %d differs: %r vs %r (%s, offset %s)" % (i, line, expected[i],
                                                                                   headers, offset))


class DataPathTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker().start()

    @classmethod
    def tearDownClass(cls):
        code = cls.broker.stop()
        assert code == 0, cls.broker.read_log()

    def test_kcat_every_codec_byte_for_byte(self):
        check_kcat_every_codec(self, self.broker.bootstrap, KCAT_MESSAGES)

    def test_confluent_kafka_acks_and_assign(self):
        from confluent_kafka import Consumer, Producer, TopicPartition
        from confluent_kafka.admin import AdminClient, NewTopic
        admin = AdminClient({"bootstrap.servers": self.broker.bootstrap})
        admin.create_topics([NewTopic("ck", 3, 1)])["ck"].result(10)
        delivered = {}
        for acks in ("all", "1"):
            producer = Producer({"bootstrap.servers": self.broker.bootstrap, "acks": acks, "linger.ms": 2})
            for i in range(3000):
                producer.produce("ck", key=b"k%d" % i, value=b"%s-%d" % (acks.encode(), i), partition=i % 3,
                                 on_delivery=lambda err, m: delivered.__setitem__(
                                     (m.partition(), m.offset()), (err, m.value())))
            self.assertEqual(producer.flush(30), 0)
        self.assertEqual(len(delivered), 6000)
        self.assertFalse([e for e, _ in delivered.values() if e is not None])
        middle = int(time.time() * 1000)
        time.sleep(0.05)
        producer = Producer({"bootstrap.servers": self.broker.bootstrap})
        producer.produce("ck", value=b"after", partition=0)
        producer.flush(10)

        consumer = Consumer({"bootstrap.servers": self.broker.bootstrap, "group.id": "assign-only",
                             "enable.auto.commit": False})
        try:
            consumer.assign([TopicPartition("ck", p, 0) for p in range(3)])
            seen = {}
            deadline = time.time() + 30
            while len(seen) < 6001 and time.time() < deadline:
                for m in consumer.consume(1000, 1.0):
                    self.assertIsNone(m.error())
                    seen[(m.partition(), m.offset())] = m.value()
            self.assertEqual(len(seen), 6001)
            for key, (_, value) in delivered.items():
                self.assertEqual(seen[key], value)  # every acknowledged message at its offset
            low, high = consumer.get_watermark_offsets(TopicPartition("ck", 0), 10)
            self.assertEqual((low, high), (0, 2001))
            found = consumer.offsets_for_times([TopicPartition("ck", 0, middle)], 10)
            self.assertEqual(found[0].offset, 2000)  # the one message produced after `middle`
            # From "latest": nothing until something new arrives.
            consumer.assign([TopicPartition("ck", 1, -1)])
            self.assertEqual([m for m in consumer.consume(10, 1.0) if not m.error()], [])
        finally:
            consumer.close()

    def test_slow_reader_gets_every_byte(self):
        # Fetched log data goes out with sendfile. A reader that takes its time keeps the broker's
        # socket full, so much of a 16 MB answer takes the path where sendfile would block; the
        # answer must still arrive whole, and the connection stay in step for the next request.
        import socket
        import struct
        from confluent_kafka import Producer
        from confluent_kafka.admin import AdminClient, NewTopic
        from kafka.protocol.api import RequestHeader
        from kafka.protocol.fetch import FetchRequest, FetchResponse
        from kafka.protocol.metadata import MetadataRequest
        from kafka.record import MemoryRecords
        admin = AdminClient({"bootstrap.servers": self.broker.bootstrap})
        admin.create_topics([NewTopic("slow-reader", 4, 1)])["slow-reader"].result(10)
        producer = Producer({"bootstrap.servers": self.broker.bootstrap, "linger.ms": 5})
        count = 16000
        for i in range(count):
            producer.produce("slow-reader", value=(b"%08d" % i) * 128, partition=i % 4)
        self.assertEqual(producer.flush(60), 0)

        def frame(request, corr):
            header = RequestHeader(request, correlation_id=corr, client_id="slow")  # held: weakly encoded
            body = header.encode() + request.encode()
            return struct.pack(">i", len(body)) + body

        def read_exactly(s, n, slow):
            data = bytearray()
            while len(data) < n:
                chunk = s.recv(min(n - len(data), 16384))
                self.assertTrue(chunk, "connection closed")
                data += chunk
                if slow:
                    time.sleep(0.0005)
            return bytes(data)

        fetch = FetchRequest[4](replica_id=-1, max_wait_time=100, min_bytes=1, max_bytes=64 << 20,
                                isolation_level=0,
                                topics=[("slow-reader", [(p, 0, 8 << 20) for p in range(4)])])
        metadata = MetadataRequest[1](topics=None)
        host, port = self.broker.bootstrap.split(":")
        # Readers that leave in the middle of the answer cost only their own connections.
        for _ in range(3):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.connect((host, int(port)))
                s.sendall(frame(fetch, 6))
                s.recv(1000)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            s.connect((host, int(port)))
            s.settimeout(60)
            s.sendall(frame(fetch, 7) + frame(metadata, 8))
            size = struct.unpack(">i", read_exactly(s, 4, False))[0]
            data = read_exactly(s, size, True)
            self.assertEqual(struct.unpack(">i", data[:4])[0], 7)
            response = FetchResponse[4].decode(data[4:])
            seen = 0
            for _topic, partitions in response.topics:
                for partition, error, _hw, _lso, _aborted, records in partitions:
                    self.assertEqual(error, 0)
                    batches = MemoryRecords(records)
                    while batches.has_next():
                        for r in batches.next_batch():
                            self.assertEqual(r.value, (b"%08d" % (r.offset * 4 + partition)) * 128)
                            seen += 1
            self.assertEqual(seen, count)
            size = struct.unpack(">i", read_exactly(s, 4, False))[0]
            self.assertEqual(struct.unpack(">i", read_exactly(s, size, False)[:4])[0], 8)

    def test_kafka_python_current_and_0_10(self):
        from kafka import KafkaConsumer, KafkaProducer, TopicPartition
        for api_version, topic in ((None, "kp-auto"), ((0, 10, 0), "kp-010")):
            with self.subTest(api_version=api_version):
                kw = {} if api_version is None else {"api_version": api_version}
                producer = KafkaProducer(bootstrap_servers=self.broker.bootstrap, acks="all", **kw)
                futures = [producer.send(topic, key=b"k", value=b"m%d" % i) for i in range(500)]
                producer.flush()
                offsets = [f.get(10).offset for f in futures]
                self.assertEqual(offsets, list(range(500)))
                producer.close()
                consumer = KafkaConsumer(bootstrap_servers=self.broker.bootstrap, consumer_timeout_ms=3000, **kw)
                consumer.assign([TopicPartition(topic, 0)])
                consumer.seek_to_beginning()
                got = [(m.offset, m.key, m.value) for m in consumer]
                consumer.close()
                self.assertEqual(got, [(i, b"k", b"m%d" % i) for i in range(500)])

    def test_timestamp_bounds_record_size_and_log_append_time(self):
        from confluent_kafka import Consumer, Producer, TopicPartition
        from confluent_kafka.admin import AdminClient, NewTopic
        admin = AdminClient({"bootstrap.servers": self.broker.bootstrap})
        fs = admin.create_topics([NewTopic("ts-bounded", 1, 1, config={"message.timestamp.before.max.ms": "3600000",
                                                                     "message.timestamp.after.max.ms": "60000",
                                                                     "max.message.bytes": "2000"}),
                                  NewTopic("ts-append", 1, 1, config={"message.timestamp.type": "LogAppendTime"})])
        for f in fs.values():
            f.result(10)
        now_ms = int(time.time() * 1000)
        results = {}
        producer = Producer({"bootstrap.servers": self.broker.bootstrap, "acks": "all", "retries": 0})
        for name, ts in (("now", now_ms), ("two days ago", now_ms - 2 * 86400 * 1000),
                         ("in an hour", now_ms + 3600 * 1000)):
            producer.produce("ts-bounded", value=name.encode(), timestamp=ts,
                             on_delivery=lambda err, msg, name=name: results.__setitem__(name, err))
            producer.flush(10)
        producer.produce("ts-bounded", value=b"x" * 5000,
                         on_delivery=lambda err, msg: results.__setitem__("too large", err))
        producer.flush(10)
        producer.produce("ts-append", value=b"old", timestamp=1000)
        producer.flush(10)
        self.assertIsNone(results["now"])
        self.assertEqual(results["two days ago"].name(), "INVALID_TIMESTAMP")
        self.assertEqual(results["in an hour"].name(), "INVALID_TIMESTAMP")
        self.assertEqual(results["too large"].name(), "MSG_SIZE_TOO_LARGE")  # MESSAGE_TOO_LARGE (10)
        consumer = Consumer({"bootstrap.servers": self.broker.bootstrap, "group.id": "ts"})
        consumer.assign([TopicPartition("ts-append", 0, 0)])
        m = None
        deadline = time.time() + 15
        while m is None and time.time() < deadline:
            m = consumer.poll(0.5)
        consumer.close()
        self.assertIsNotNone(m)
        kind, ts = m.timestamp()
        self.assertEqual(kind, 2)  # TIMESTAMP_LOG_APPEND_TIME
        self.assertGreaterEqual(ts, now_ms - 1000)

    def test_delete_records_with_librdkafka_admin_api(self):
        # confluent-kafka 1.7 does not wrap DeleteRecords; librdkafka 2.0.2's C API has it.
        import ctypes
        from confluent_kafka import Consumer, Producer, TopicPartition
        producer = Producer({"bootstrap.servers": self.broker.bootstrap})
        for i in range(20):
            producer.produce("dr", value=b"r%d" % i, partition=0)
        self.assertEqual(producer.flush(10), 0)
        lib = ctypes.CDLL("librdkafka.so.1")
        vp = ctypes.c_void_p
        for name, res, args in [
                ("rd_kafka_conf_new", vp, []),
                ("rd_kafka_conf_set", ctypes.c_int, [vp, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                                                      ctypes.c_size_t]),
                ("rd_kafka_new", vp, [ctypes.c_int, vp, ctypes.c_char_p, ctypes.c_size_t]),
                ("rd_kafka_queue_new", vp, [vp]),
                ("rd_kafka_queue_poll", vp, [vp, ctypes.c_int]),
                ("rd_kafka_event_error", ctypes.c_int, [vp]),
                ("rd_kafka_topic_partition_list_new", vp, [ctypes.c_int]),
                ("rd_kafka_topic_partition_list_add", vp, [vp, ctypes.c_char_p, ctypes.c_int32]),
                ("rd_kafka_topic_partition_list_set_offset", ctypes.c_int, [vp, ctypes.c_char_p, ctypes.c_int32,
                                                                             ctypes.c_int64]),
                ("rd_kafka_DeleteRecords_new", vp, [vp]),
                ("rd_kafka_DeleteRecords", None, [vp, vp, ctypes.c_size_t, vp, vp])]:
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = res, args
        err = ctypes.create_string_buffer(512)
        conf = lib.rd_kafka_conf_new()
        lib.rd_kafka_conf_set(conf, b"bootstrap.servers", self.broker.bootstrap.encode(), err, 512)
        rk = lib.rd_kafka_new(0, conf, err, 512)
        queue = lib.rd_kafka_queue_new(rk)
        tpl = lib.rd_kafka_topic_partition_list_new(1)
        lib.rd_kafka_topic_partition_list_add(tpl, b"dr", 0)
        lib.rd_kafka_topic_partition_list_set_offset(tpl, b"dr", 0, 7)
        request = lib.rd_kafka_DeleteRecords_new(tpl)
        lib.rd_kafka_DeleteRecords(rk, (vp * 1)(request), 1, None, queue)
        event = lib.rd_kafka_queue_poll(queue, 10000)
        self.assertTrue(event)
        self.assertEqual(lib.rd_kafka_event_error(event), 0)
        consumer = Consumer({"bootstrap.servers": self.broker.bootstrap, "group.id": "dr"})
        try:
            self.assertEqual(consumer.get_watermark_offsets(TopicPartition("dr", 0), 10), (7, 20))
            consumer.assign([TopicPartition("dr", 0, -2)])  # from the earliest still there
            first = None
            deadline = time.time() + 10
            while first is None and time.time() < deadline:
                for m in consumer.consume(1, 1.0):
                    if not m.error():
                        first = (m.offset(), m.value())
            self.assertEqual(first, (7, b"r7"))
        finally:
            consumer.close()

    def test_data_survives_restart(self):
        from confluent_kafka import Consumer, Producer, TopicPartition
        producer = Producer({"bootstrap.servers": self.broker.bootstrap, "acks": "all"})
        for i in range(200):
            producer.produce("durable", value=b"d%d" % i)
        self.assertEqual(producer.flush(10), 0)
        self.assertEqual(self.broker.stop(), 0)
        self.broker.start()
        consumer = Consumer({"bootstrap.servers": self.broker.bootstrap, "group.id": "restart"})
        try:
            consumer.assign([TopicPartition("durable", 0, 0)])
            values = []
            deadline = time.time() + 20
            while len(values) < 200 and time.time() < deadline:
                values += [m.value() for m in consumer.consume(200, 1.0) if not m.error()]
            self.assertEqual(values, [b"d%d" % i for i in range(200)])
        finally:
            consumer.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
