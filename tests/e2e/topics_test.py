"""End-to-end: topics created, grown and deleted through real admin clients, listed by real
clients' Metadata requests, auto-created on request, and still there after a restart."""

import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker import Broker  # noqa: E402


def kcat_topics(bootstrap, *extra):
    out = subprocess.run(["kcat", "-b", bootstrap, "-L", "-J", "-m", "10"] + list(extra),
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return {t["topic"]: t for t in json.loads(out.stdout)["topics"]}


class TopicsTest(unittest.TestCase):
    def setUp(self):
        self.broker = Broker().start()

    def tearDown(self):
        code = self.broker.stop()
        self.assertEqual(code, 0, self.broker.read_log())

    def admin(self):
        from confluent_kafka.admin import AdminClient
        return AdminClient({"bootstrap.servers": self.broker.bootstrap})

    def test_confluent_admin_create_grow_delete(self):
        from confluent_kafka.admin import NewPartitions, NewTopic
        from confluent_kafka import KafkaException
        admin = self.admin()
        fs = admin.create_topics([NewTopic("orders", 3, 1, config={"retention.ms": "3600000"}),
                                  NewTopic("audit", 1, 1)])
        for f in fs.values():
            f.result(10)
        md = admin.list_topics(timeout=10)
        self.assertEqual(sorted(md.topics), ["audit", "orders"])
        self.assertEqual(sorted(md.topics["orders"].partitions), [0, 1, 2])
        self.assertEqual(md.topics["orders"].partitions[1].leader, 1)

        # Kafka's errors for what cannot be done.
        with self.assertRaises(KafkaException) as e:
            admin.create_topics([NewTopic("orders", 1, 1)])["orders"].result(10)
        self.assertEqual(e.exception.args[0].name(), "TOPIC_ALREADY_EXISTS")
        with self.assertRaises(KafkaException) as e:
            admin.create_topics([NewTopic("replicated", 1, 3)])["replicated"].result(10)
        self.assertEqual(e.exception.args[0].name(), "INVALID_REPLICATION_FACTOR")
        with self.assertRaises(KafkaException) as e:
            admin.create_topics([NewTopic("bad", 1, 1, config={"retention.ms": "soon"})])["bad"].result(10)
        self.assertEqual(e.exception.args[0].name(), "INVALID_CONFIG")
        with self.assertRaises(KafkaException) as e:
            admin.create_topics([NewTopic("bad name", 1, 1)])["bad name"].result(10)
        self.assertEqual(e.exception.args[0].code(), 17)  # INVALID_TOPIC_EXCEPTION; librdkafka: TOPIC_EXCEPTION

        # validate_only creates nothing.
        admin.create_topics([NewTopic("dry-run", 2, 1)], validate_only=True)["dry-run"].result(10)
        self.assertNotIn("dry-run", admin.list_topics(timeout=10).topics)

        admin.create_partitions([NewPartitions("orders", 5)])["orders"].result(10)
        self.assertEqual(sorted(admin.list_topics(timeout=10).topics["orders"].partitions), [0, 1, 2, 3, 4])
        with self.assertRaises(KafkaException) as e:
            admin.create_partitions([NewPartitions("orders", 2)])["orders"].result(10)
        self.assertEqual(e.exception.args[0].name(), "INVALID_PARTITIONS")

        admin.delete_topics(["audit"])["audit"].result(10)
        self.assertEqual(sorted(admin.list_topics(timeout=10).topics), ["orders"])
        with self.assertRaises(KafkaException) as e:
            admin.delete_topics(["audit"])["audit"].result(10)
        self.assertEqual(e.exception.args[0].name(), "UNKNOWN_TOPIC_OR_PART")

        # Everything is still so after a restart.
        self.assertEqual(self.broker.stop(), 0)
        self.broker.start()
        topics = kcat_topics(self.broker.bootstrap)
        self.assertEqual(sorted(topics), ["orders"])
        self.assertEqual(len(topics["orders"]["partitions"]), 5)

    def test_describe_and_alter_configs(self):
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import ConfigResource, NewTopic
        admin = self.admin()
        admin.create_topics([NewTopic("cfg", 1, 1, config={"retention.ms": "3600000"})])["cfg"].result(10)
        res = ConfigResource(ConfigResource.Type.TOPIC, "cfg")
        configs = admin.describe_configs([res])[res].result(10)
        self.assertEqual(configs["retention.ms"].value, "3600000")
        self.assertEqual(configs["retention.ms"].source, 1)  # DYNAMIC_TOPIC_CONFIG
        self.assertEqual(configs["cleanup.policy"].value, "delete")
        self.assertTrue(configs["cleanup.policy"].is_default)
        self.assertEqual(configs["flush.messages"].value, "1")  # durable by default

        # AlterConfigs replaces the whole set of overrides.
        admin.alter_configs([ConfigResource(ConfigResource.Type.TOPIC, "cfg",
                                            set_config={"segment.bytes": "1048576"})])[res].result(10)
        configs = admin.describe_configs([res])[res].result(10)
        self.assertEqual(configs["segment.bytes"].value, "1048576")
        self.assertEqual(configs["retention.ms"].value, "604800000")  # back to the default
        with self.assertRaises(KafkaException) as e:
            admin.alter_configs([ConfigResource(ConfigResource.Type.TOPIC, "cfg",
                                                set_config={"segment.bytes": "tiny"})])[res].result(10)
        self.assertEqual(e.exception.args[0].name(), "INVALID_CONFIG")

        broker = ConfigResource(ConfigResource.Type.BROKER, "1")
        bconfigs = admin.describe_configs([broker])[broker].result(10)
        self.assertEqual(bconfigs["num.partitions"].value, "1")
        self.assertEqual(bconfigs["auto.create.topics.enable"].value, "true")

        # Survives a restart, stored with the topic.
        self.assertEqual(self.broker.stop(), 0)
        self.broker.start()
        admin = self.admin()
        configs = admin.describe_configs([res])[res].result(10)
        self.assertEqual(configs["segment.bytes"].value, "1048576")

    def test_kafka_python_describe_and_alter(self):
        from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic
        admin = KafkaAdminClient(bootstrap_servers=self.broker.bootstrap)
        try:
            admin.create_topics([NewTopic("kp-cfg", 1, 1)])
            described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "kp-cfg")])
            names = [c[0] for c in described[0].resources[0][4]]
            self.assertIn("retention.ms", names)
            admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, "kp-cfg",
                                                configs={"retention.ms": "1000"})])
            described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "kp-cfg",
                                                               configs={"retention.ms": None})])
            self.assertEqual([(c[0], c[1]) for c in described[0].resources[0][4]], [("retention.ms", "1000")])
        finally:
            admin.close()

    def test_kafka_python_admin(self):
        from kafka.admin import KafkaAdminClient, NewTopic
        admin = KafkaAdminClient(bootstrap_servers=self.broker.bootstrap)
        try:
            admin.create_topics([NewTopic("kp-topic", 2, 1)])
            self.assertIn("kp-topic", admin.list_topics())
            admin.delete_topics(["kp-topic"])
            self.assertNotIn("kp-topic", admin.list_topics())
        finally:
            admin.close()

    def test_metadata_auto_creates_topics(self):
        topics = kcat_topics(self.broker.bootstrap, "-t", "auto-made")
        self.assertEqual(topics["auto-made"].get("error"), None)
        self.assertEqual(len(topics["auto-made"]["partitions"]), 1)
        self.assertIn("auto-made", kcat_topics(self.broker.bootstrap))


if __name__ == "__main__":
    unittest.main(verbosity=2)
