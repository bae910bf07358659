"""End-to-end: the janitor deletes and compacts data while real clients watch. retention.ms and
retention.bytes advance the earliest offset and remove segment files; a compacted topic read by a
consumer holds the latest value per key and loses its tombstones after delete.retention.ms; the
results survive a clean restart and kill -9."""

import glob
import os
import signal
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "pydeps"))  # confluent-kafka 2.16.1 (tests/e2e/requirements.txt)
sys.path.insert(0, HERE)
from broker import Broker  # noqa: E402

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource,  # noqa: E402
                                   ConfigSource, NewTopic)

# The janitor's passes every half second, so the test waits seconds, not Kafka's minutes.
JANITOR = {"log.retention.check.interval.ms": 500, "log.cleaner.backoff.ms": 500}


def produce(bootstrap, topic, records):
    """records: (key, value) pairs, value None for a tombstone. Every one must be acknowledged."""
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    errors = []
    for k, v in records:
        p.produce(topic, key=k, value=v, on_delivery=lambda e, m: errors.append(e) if e else None)
        p.poll(0)
    assert p.flush(30) == 0
    assert not errors, errors


def watermarks(bootstrap, topic, partition=0):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "wm", "enable.auto.commit": False})
    try:
        return c.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
    finally:
        c.close()


def read_all(bootstrap, topic, partition=0):
    """Every record from the earliest offset to the high watermark: [(offset, key, value)]."""
    low, high = watermarks(bootstrap, topic, partition)
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "reader", "enable.auto.commit": False,
                  "enable.partition.eof": True, "auto.offset.reset": "earliest"})
    out = []
    try:
        c.assign([TopicPartition(topic, partition, low)])
        deadline = time.time() + 30
        while time.time() < deadline:
            m = c.poll(1)
            if m is None:
                continue
            if m.error():
                if m.error().code() == -191:  # _PARTITION_EOF
                    break
                raise AssertionError(m.error())
            out.append((m.offset(), m.key(), m.value()))
        else:
            raise AssertionError("did not reach the end of %s" % topic)
    finally:
        c.close()
    assert not out or out[-1][0] < high
    return out


def segment_files(data_dir, topic, partition=0):
    return sorted(glob.glob(os.path.join(data_dir, "%s-%d" % (topic, partition), "*.log")))


def wait_for(what, check, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError("timed out waiting for " + what)


class JanitorTest(unittest.TestCase):
    def setUp(self):
        self.broker = Broker(kafka_properties=JANITOR).start()
        self.admin = AdminClient({"bootstrap.servers": self.broker.bootstrap})

    def tearDown(self):
        self.broker.stop(signal.SIGKILL)

    def create(self, name, configs):
        self.admin.create_topics([NewTopic(name, 1, 1, config=configs)])[name].result(10)

    def restart(self, sig):
        code = self.broker.stop(sig)
        if sig == signal.SIGTERM:
            self.assertEqual(code, 0, self.broker.read_log())
        self.broker = Broker(data_dir=self.broker.data_dir, port=self.broker.port, kafka_properties=JANITOR).start()

    def test_retention_ms_deletes_old_segments(self):
        # segment.ms closes the idle active segment, so retention can reach all of it.
        self.create("by-time", {"retention.ms": "2000", "segment.ms": "1000"})
        produce(self.broker.bootstrap, "by-time", [(b"k%d" % i, b"v%d" % i) for i in range(500)])
        self.assertEqual(watermarks(self.broker.bootstrap, "by-time"), (0, 500))
        wait_for("retention.ms to empty the log", lambda: watermarks(self.broker.bootstrap, "by-time") == (500, 500))
        # Only the fresh, empty active segment is left on disk.
        files = segment_files(self.broker.data_dir, "by-time")
        self.assertEqual([os.path.basename(f) for f in files], ["%020d.log" % 500])
        self.assertEqual(os.path.getsize(files[0]), 0)
        self.assertEqual(read_all(self.broker.bootstrap, "by-time"), [])
        # New data goes on at 500 and survives both kinds of restart with the start offset.
        produce(self.broker.bootstrap, "by-time", [(b"new", b"after")])
        for sig in (signal.SIGTERM, signal.SIGKILL):
            self.restart(sig)
            low, high = watermarks(self.broker.bootstrap, "by-time")
            self.assertGreaterEqual(low, 500)
            self.assertEqual(high, 501)
        print("retention.ms: log start 0 -> 500, segment files now %s" % files)

    def test_retention_bytes_keeps_the_newest_data(self):
        self.create("by-size", {"retention.bytes": "30000", "segment.bytes": "10000", "retention.ms": "-1"})
        value = b"x" * 1000
        for batch in range(10):
            produce(self.broker.bootstrap, "by-size", [(b"k", value) for _ in range(10)])
        _, high = watermarks(self.broker.bootstrap, "by-size")
        self.assertEqual(high, 100)
        def on_disk():
            return sum(os.path.getsize(f) for f in segment_files(self.broker.data_dir, "by-size"))
        # What is left is at most retention.bytes plus the segment that crossed it.
        total = wait_for("retention.bytes to delete segments", lambda: on_disk() <= 30000 + 10100 and on_disk())
        files = segment_files(self.broker.data_dir, "by-size")
        low = watermarks(self.broker.bootstrap, "by-size")[0]
        self.assertGreater(low, 0)
        records = read_all(self.broker.bootstrap, "by-size")
        self.assertEqual([r[0] for r in records], list(range(low, 100)))
        self.restart(signal.SIGKILL)
        self.assertEqual(watermarks(self.broker.bootstrap, "by-size"), (low, 100))
        print("retention.bytes: log start 0 -> %d, %d segment files, %d bytes left" % (low, len(files), total))

    def test_compaction_keeps_latest_per_key_and_drops_tombstones_later(self):
        self.create("compacted", {"cleanup.policy": "compact", "segment.ms": "1000", "segment.bytes": "4096",
                                  "min.cleanable.dirty.ratio": "0.01", "delete.retention.ms": "4000"})
        records = []
        for rnd in range(20):
            records += [(b"key-%d" % k, b"value-%d-%d" % (k, rnd)) for k in range(10)]
        records += [(b"key-%d" % k, None) for k in range(5)]  # tombstones for keys 0-4
        produce(self.broker.bootstrap, "compacted", records)
        total = len(records)  # 205

        def compacted():
            got = read_all(self.broker.bootstrap, "compacted")
            return got if len(got) == 10 else None
        got = wait_for("the cleaner to compact", compacted)
        by_key = {k: (o, v) for o, k, v in got}
        for k in range(5):
            self.assertIsNone(by_key[b"key-%d" % k][1], "key-%d keeps its tombstone for now" % k)
        for k in range(5, 10):
            self.assertEqual(by_key[b"key-%d" % k][1], b"value-%d-19" % k)
        # Offsets never change: each kept record is where it was produced.
        for o, k, v in got:
            self.assertEqual(records[o], (k, v))
        self.assertEqual(watermarks(self.broker.bootstrap, "compacted")[1], total)

        # After delete.retention.ms a later pass removes the tombstones.
        def without_tombstones():
            got = read_all(self.broker.bootstrap, "compacted")
            return got if len(got) == 5 else None
        got = wait_for("the tombstones to go", without_tombstones)
        self.assertEqual(sorted(k for _, k, _ in got), [b"key-%d" % k for k in range(5, 10)])
        for sig in (signal.SIGTERM, signal.SIGKILL):
            self.restart(sig)
            self.assertEqual(read_all(self.broker.bootstrap, "compacted"), got)
        print("compaction: %d records -> %d with tombstones -> %d after delete.retention.ms" % (total, 10, len(got)))


    def test_cleaner_rate_altered_while_running(self):
        """log.cleaner.io.max.bytes.per.second is a dynamic broker config, as in Kafka. Set to
        1 B/s while the broker runs, a compaction pass waits on it; deleted, the waiting pass goes
        on at once and the topic is compacted. A value that is not a number is refused."""
        name = "log.cleaner.io.max.bytes.per.second"

        def alter(op, value=None):
            entry = ConfigEntry(name, value, incremental_operation=op)
            res = ConfigResource("broker", "1", incremental_configs=[entry])
            return list(self.admin.incremental_alter_configs([res]).values())[0].result(30)

        def described():
            return list(self.admin.describe_configs([ConfigResource("broker", "1")]).values())[0].result(30)[name]

        def waiting():
            return self.broker.metrics("chronik_log_cleaner_")["chronik_log_cleaner_throttle_waiting"]

        alter(AlterConfigOpType.SET, "1")
        entry = described()
        # A DOUBLE is described as Kafka prints it.
        self.assertEqual((entry.value, entry.source, entry.is_read_only),
                         ("1.0", ConfigSource.DYNAMIC_BROKER_CONFIG.value, False))
        self.create("compacted-slowly", {"cleanup.policy": "compact", "segment.ms": "1000", "segment.bytes": "4096",
                                         "min.cleanable.dirty.ratio": "0.01"})
        records = [(b"key-%d" % k, b"value-%d-%d" % (k, rnd)) for rnd in range(20) for k in range(10)]
        produce(self.broker.bootstrap, "compacted-slowly", records)
        wait_for("a compaction pass to wait on the rate", lambda: waiting() == 1)
        # Nothing is swapped in before the pass ends: every record is still there.
        self.assertEqual(len(read_all(self.broker.bootstrap, "compacted-slowly")), len(records))

        with self.assertRaises(KafkaException) as e:
            alter(AlterConfigOpType.SET, "fast")
        self.assertEqual(e.exception.args[0].name(), "INVALID_REQUEST")
        self.assertEqual(described().value, "1.0")

        alter(AlterConfigOpType.DELETE)
        self.assertEqual(described().source, ConfigSource.DEFAULT_CONFIG.value)

        def compacted():
            got = read_all(self.broker.bootstrap, "compacted-slowly")
            return got if len(got) == 10 else None
        got = wait_for("the waiting pass to go on without the rate", compacted)
        self.assertEqual(sorted(v for _, _, v in got), sorted(b"value-%d-19" % k for k in range(10)))
        self.assertEqual(waiting(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
