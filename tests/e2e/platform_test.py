"""End-to-end: the broker's platform seams as clients see them. Fetch answers bounded as Kafka
bounds them (fetch.max.bytes, max.partition.fetch.bytes, the first-batch exception), honest broker
configs (real ids, log.dirs, listeners, request limit), configs implemented or refused
(min.insync.replicas, compression.type, delete.topic.enable); a crash reported in the log."""

import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker import Broker  # noqa: E402

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic  # noqa: E402


class PlatformTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker(extra_args=["--max-request-size", "5000000"]).start()
        cls.admin = AdminClient({"bootstrap.servers": cls.broker.bootstrap})

    @classmethod
    def tearDownClass(cls):
        code = cls.broker.stop()
        assert code == 0, cls.broker.read_log()

    def test_fetch_answers_respect_max_bytes(self):
        # Three partitions of 2 MB each in ~400 KB batches: larger than the partition limit, so
        # only the first batch of the first partition with data may be sent whole. The consumer's
        # receive buffer is fetch.max.bytes + 512, so any larger answer fails the fetch.
        topic = "fetch-limits"
        self.admin.create_topics([NewTopic(topic, 3, 1)])[topic].result(10)
        p = Producer({"bootstrap.servers": self.broker.bootstrap, "acks": "all", "linger.ms": 1000,
                      "batch.size": 400_000, "message.max.bytes": 1_000_000, "compression.type": "none"})
        value = b"v" * 1000
        per_partition = 2000
        for part in range(3):
            for i in range(per_partition):
                p.produce(topic, key=b"%d" % i, value=value, partition=part)
                p.poll(0)
        self.assertEqual(p.flush(60), 0)
        errors = []
        c = Consumer({"bootstrap.servers": self.broker.bootstrap, "group.id": "limits", "auto.offset.reset": "earliest",
                      "fetch.max.bytes": 1_000_000, "max.partition.fetch.bytes": 300_000,
                      "receive.message.max.bytes": 1_000_512, "enable.auto.commit": False,
                      "error_cb": lambda e: errors.append(e)})
        c.assign([TopicPartition(topic, part, 0) for part in range(3)])
        seen = {0: 0, 1: 0, 2: 0}
        deadline = time.time() + 90
        while sum(seen.values()) < 3 * per_partition and time.time() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                errors.append(m.error())
                continue
            self.assertEqual(m.offset(), seen[m.partition()])
            seen[m.partition()] += 1
        c.close()
        self.assertEqual(errors, [])
        self.assertEqual(seen, {0: per_partition, 1: per_partition, 2: per_partition})
        print("fetch limits: consumed %d records of 3 partitions with fetch.max.bytes=1000000" % sum(seen.values()))

    def test_broker_configs_describe_real_values(self):
        res = ConfigResource(ConfigResource.Type.BROKER, "1")
        configs = self.admin.describe_configs([res])[res].result(10)
        self.assertEqual(configs["broker.id"].value, "1")
        self.assertEqual(configs["node.id"].value, "1")
        self.assertEqual(configs["log.dirs"].value, os.path.abspath(self.broker.data_dir))
        self.assertEqual(configs["socket.request.max.bytes"].value, "5000000")
        self.assertEqual(configs["listeners"].value, "PLAINTEXT://127.0.0.1:%d" % self.broker.port)
        self.assertEqual(configs["advertised.listeners"].value, "PLAINTEXT://127.0.0.1:%d" % self.broker.port)

    def test_min_insync_replicas_above_one_refuses_acks_all(self):
        topic = "misr"
        self.admin.create_topics([NewTopic(topic, 1, 1, config={"min.insync.replicas": "2"})])[topic].result(10)
        results = {}
        for acks in ("all", "1"):
            p = Producer({"bootstrap.servers": self.broker.bootstrap, "acks": acks, "retries": 0,
                          "message.timeout.ms": 10000})
            p.produce(topic, b"v", on_delivery=lambda e, m, acks=acks: results.__setitem__(acks, e))
            p.flush(15)
        self.assertEqual(results["all"].code(), KafkaError.NOT_ENOUGH_REPLICAS)
        self.assertIsNone(results["1"])

    def test_unsupported_compression_type_is_refused(self):
        f = self.admin.create_topics([NewTopic("recompress", 1, 1, config={"compression.type": "lz4"})])["recompress"]
        with self.assertRaises(KafkaException) as raised:
            f.result(10)
        self.assertEqual(raised.exception.args[0].code(), KafkaError.INVALID_CONFIG)
        self.assertIn("producer", raised.exception.args[0].str())

    def test_delete_topic_enable_false_refuses_deletion(self):
        with Broker(kafka_properties={"delete.topic.enable": "false"}) as b:
            admin = AdminClient({"bootstrap.servers": b.bootstrap})
            admin.create_topics([NewTopic("kept", 1, 1)])["kept"].result(10)
            with self.assertRaises(KafkaException) as raised:
                admin.delete_topics(["kept"])["kept"].result(10)
            self.assertEqual(raised.exception.args[0].code(), KafkaError.TOPIC_DELETION_DISABLED)
            self.assertIn("kept", admin.list_topics(timeout=10).topics)


class CrashReportTest(unittest.TestCase):
    def test_a_fatal_signal_is_reported_with_the_stack(self):
        broker = Broker().start()
        try:
            broker.proc.send_signal(signal.SIGSEGV)
            self.assertEqual(broker.proc.wait(30), -signal.SIGSEGV)
            log = broker.read_log()
            self.assertIn("chronik_server: fatal signal %d (SEGV)" % signal.SIGSEGV, log)
            # Symbolized frames of the broker's own code (kill(2) reaches the main thread, which
            # waits in Broker::Run).
            self.assertRegex(log, r"  #\d+ 0x[0-9a-f]+ .*chronik::")
            # The harness sees it too, where a test would not have looked.
            with self.assertRaisesRegex(RuntimeError, "the broker crashed"):
                broker.stop()
        finally:
            broker.__exit__(RuntimeError)


if __name__ == "__main__":
    unittest.main(verbosity=2)
