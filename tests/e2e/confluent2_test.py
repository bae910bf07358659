"""End-to-end: confluent-kafka 2.x from PyPI (tests/e2e/pydeps, bundling a recent librdkafka)
beside Debian's 1.7.0: the AdminClient's newer calls (describe cluster, incremental alter configs,
list offsets, delete records, consumer group listing, describing and offsets), the producer with
every codec (acks=all), and a cooperative-sticky consumer group of two."""

import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "pydeps"))
sys.path.insert(0, HERE)
from broker import Broker  # noqa: E402

import confluent_kafka  # noqa: E402
from confluent_kafka import (Consumer, ConsumerGroupTopicPartitions, IsolationLevel, KafkaError,  # noqa: E402
                             KafkaException, Producer, TopicPartition)
from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource,  # noqa: E402
                                   NewPartitions, NewTopic, OffsetSpec)

# version() is a (str, int) pair in 1.x and a str in recent 2.x.
VERSION = confluent_kafka.version() if isinstance(confluent_kafka.version(), str) else confluent_kafka.version()[0]
CODECS = ("none", "gzip", "snappy", "lz4", "zstd")
PER_CODEC = 2000


# What a commit gets while its group rebalances (as from Kafka: the commit waits on the connection
# behind the member's parked JoinGroup and then carries the old generation). The application
# commits again later, as this test does.
REBALANCING = (KafkaError.ILLEGAL_GENERATION, KafkaError.REBALANCE_IN_PROGRESS, KafkaError.UNKNOWN_MEMBER_ID)


def commit(consumer, message):
    """A synchronous commit of `message` (or of the current positions); False if a rebalance refused it."""
    try:
        if message is None:
            consumer.commit(asynchronous=False)
        else:
            consumer.commit(message, asynchronous=False)
        return True
    except KafkaException as e:
        if e.args[0].code() in REBALANCING:
            return False
        if e.args[0].code() == KafkaError._NO_OFFSET:  # nothing consumed since the last commit
            return True
        raise


class Confluent2Test(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        assert VERSION.startswith("2."), "confluent-kafka %s: run tests/run_all.sh (tests/e2e/pydeps)" % VERSION
        cls.broker = Broker(kafka_properties={"group.initial.rebalance.delay.ms": 0}).start()
        cls.admin = AdminClient({"bootstrap.servers": cls.broker.bootstrap})

    @classmethod
    def tearDownClass(cls):
        code = cls.broker.stop()
        assert code == 0, cls.broker.read_log()

    def test_admin(self):
        a = self.admin
        cluster = a.describe_cluster().result(10)
        self.assertEqual(len(cluster.nodes), 1)
        a.create_topics([NewTopic("c2-admin", 2, 1, config={"retention.ms": "3600000"})])["c2-admin"].result(10)
        res = ConfigResource(ConfigResource.Type.TOPIC, "c2-admin")
        a.incremental_alter_configs([ConfigResource(ConfigResource.Type.TOPIC, "c2-admin", incremental_configs=[
            ConfigEntry("retention.ms", "7200000", incremental_operation=AlterConfigOpType.SET)])])[res].result(10)
        self.assertEqual(a.describe_configs([res])[res].result(10)["retention.ms"].value, "7200000")
        a.create_partitions([NewPartitions("c2-admin", 3)])["c2-admin"].result(10)
        self.assertEqual(len(a.list_topics(timeout=10).topics["c2-admin"].partitions), 3)
        p = Producer({"bootstrap.servers": self.broker.bootstrap, "acks": "all"})
        for i in range(100):
            p.produce("c2-admin", b"v%d" % i, partition=0, timestamp=1_000_000 + i)
        self.assertEqual(p.flush(10), 0)
        tp = TopicPartition("c2-admin", 0)
        latest = a.list_offsets({tp: OffsetSpec.latest()}, isolation_level=IsolationLevel.READ_COMMITTED)[tp].result(10)
        self.assertEqual(latest.offset, 100)
        at = a.list_offsets({tp: OffsetSpec.for_timestamp(1_000_050)})[tp].result(10)
        self.assertEqual(at.offset, 50)
        deleted = a.delete_records([TopicPartition("c2-admin", 0, 30)])
        self.assertEqual(list(deleted.values())[0].result(10).low_watermark, 30)
        self.assertEqual(a.list_offsets({tp: OffsetSpec.earliest()})[tp].result(10).offset, 30)
        a.delete_topics(["c2-admin"])["c2-admin"].result(10)
        print("confluent-kafka %s (librdkafka %s): admin: describe cluster, incremental alter, list offsets, "
              "delete records, create partitions, delete topic: ok" % (VERSION,
                                                                      confluent_kafka.libversion()[0]))

    def test_every_codec_and_a_cooperative_group(self):
        self.admin.create_topics([NewTopic("c2-data", 4, 1)])["c2-data"].result(10)
        errors = []
        total = 0
        for codec in CODECS:
            p = Producer({"bootstrap.servers": self.broker.bootstrap, "acks": "all", "compression.type": codec,
                          "linger.ms": 5})
            for i in range(PER_CODEC):
                n = total + i
                p.produce("c2-data", key=b"key-%d" % n, value=b"%s-value-%d" % (codec.encode(), n),
                          headers=[("codec", codec.encode())],
                          on_delivery=lambda e, m: errors.append(e) if e else None)
                p.poll(0)
            self.assertEqual(p.flush(30), 0)
            total += PER_CODEC
        self.assertEqual(errors, [])

        conf = {"bootstrap.servers": self.broker.bootstrap, "group.id": "c2-group", "auto.offset.reset": "earliest",
                "partition.assignment.strategy": "cooperative-sticky", "enable.auto.commit": False}
        first, second = Consumer(conf), Consumer(conf)
        first.subscribe(["c2-data"])
        seen = set()
        deadline = time.time() + 90
        joined = False
        while len(seen) < total and time.time() < deadline:
            for c in ([first, second] if joined else [first]):
                batch = c.consume(500, 0.05)
                for m in batch:
                    self.assertIsNone(m.error(), m.error())
                    codec = dict(m.headers())["codec"]
                    n = m.key().decode()[len("key-"):]
                    self.assertEqual(m.value(), b"%s-value-%s" % (codec, n.encode()))
                    seen.add(m.key())
                if batch:
                    commit(c, None)
            if not joined and len(seen) >= total // 3:
                second.subscribe(["c2-data"])  # joins mid-way: an incremental rebalance
                joined = True
        self.assertEqual(len(seen), total)
        while not second.assignment() and time.time() < deadline:
            first.poll(0.1)
            second.poll(0.1)
        self.assertEqual(len(first.assignment()) + len(second.assignment()), 4)
        self.assertTrue(second.assignment())
        # Whatever a rebalance refused is committed now, from the settled assignment.
        for c in (first, second):
            while not commit(c, None) and time.time() < deadline:
                c.poll(0.1)
        first.close()
        second.close()
        offsets = self.admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions("c2-group")])
        committed = offsets["c2-group"].result(10).topic_partitions
        self.assertEqual(sum(tp.offset for tp in committed), total)
        groups = self.admin.list_consumer_groups().result(10)
        self.assertIn("c2-group", [g.group_id for g in groups.valid])
        described = self.admin.describe_consumer_groups(["c2-group"])["c2-group"].result(10)
        self.assertEqual(described.group_id, "c2-group")
        print("confluent-kafka %s: %d records with %s (acks=all) consumed by a cooperative-sticky group of two "
              "that grew mid-way, all committed: ok" % (VERSION, total, "/".join(CODECS)))


if __name__ == "__main__":
    unittest.main(verbosity=2)
