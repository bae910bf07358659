"""End-to-end: Kafka's own command-line tools (org.apache.kafka:kafka-tools 4.x, run by main class
as kafka-topics.sh and friends run them), as operators use them every day: topics (create,
describe, grow, list), configs (topic alter/describe, broker describe), the console producer and
consumer, get-offsets, consumer groups (list, describe, reset offsets), delete-records, the
producer and consumer performance tools, and kafka-transactions (list, describe,
describe-producers, find-hanging). Built by tests/run_all.sh from tests/java/pom.xml."""

import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from broker import Broker, java_classpath  # noqa: E402



class KafkaToolsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.classpath = java_classpath()
        cls.broker = Broker(kafka_properties={"group.initial.rebalance.delay.ms": 0}).start()
        cls.b = cls.broker.bootstrap

    @classmethod
    def tearDownClass(cls):
        code = cls.broker.stop()
        assert code == 0, cls.broker.read_log()

    def tool(self, main_class, *args, stdin=None):
        p = subprocess.run(["java", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", self.classpath,
                            "org.apache.kafka.tools." + main_class] + list(args),
                           input=stdin, capture_output=True, text=True, timeout=180)
        self.assertEqual(p.returncode, 0, "%s %s:\n%s\n%s" % (main_class, args, p.stdout, p.stderr[-3000:]))
        return p.stdout

    def offsets(self, topic, time):
        out = self.tool("GetOffsetShell", "--bootstrap-server", self.b, "--topic", topic, "--time", str(time))
        return {int(p): int(o) for p, o in re.findall(r"^%s:(\d+):(\d+)$" % re.escape(topic), out, re.M)}

    def test_operator_tools(self):
        topics = "TopicCommand"
        out = self.tool(topics, "--bootstrap-server", self.b, "--create", "--topic", "ops", "--partitions", "3",
                        "--replication-factor", "1", "--config", "retention.ms=100000")
        self.assertIn("Created topic ops.", out)
        self.tool(topics, "--bootstrap-server", self.b, "--alter", "--topic", "ops", "--partitions", "4")
        out = self.tool(topics, "--bootstrap-server", self.b, "--describe", "--topic", "ops")
        self.assertRegex(out, r"PartitionCount: 4\s+ReplicationFactor: 1\s+Configs: retention.ms=100000")
        self.assertEqual(len(re.findall(r"Partition: \d\s+Leader: 1\s+Replicas: 1\s+Isr: 1", out)), 4)
        self.assertIn("ops", self.tool(topics, "--bootstrap-server", self.b, "--list").split())

        configs = "ConfigCommand"
        self.tool(configs, "--bootstrap-server", self.b, "--entity-type", "topics", "--entity-name", "ops",
                  "--alter", "--add-config", "retention.ms=200000")
        out = self.tool(configs, "--bootstrap-server", self.b, "--entity-type", "topics", "--entity-name", "ops",
                        "--describe")
        self.assertIn("retention.ms=200000", out)
        out = self.tool(configs, "--bootstrap-server", self.b, "--entity-type", "brokers", "--entity-name", "1",
                        "--describe", "--all")
        self.assertIn("log.dirs=%s " % os.path.abspath(self.broker.data_dir), out)

        lines = "".join("key-%d:value-%d\n" % (i, i) for i in range(1000))
        self.tool("ConsoleProducer", "--bootstrap-server", self.b, "--topic", "ops", "--reader-property",
                  "parse.key=true", "--reader-property", "key.separator=:", stdin=lines)
        ends = self.offsets("ops", -1)
        self.assertEqual(sum(ends.values()), 1000)
        out = self.tool("consumer.ConsoleConsumer", "--bootstrap-server", self.b, "--topic", "ops", "--from-beginning",
                        "--max-messages", "1000", "--formatter-property", "print.key=true", "--group", "ops-group")
        got = sorted(out.splitlines())
        self.assertEqual(got, sorted("key-%d\tvalue-%d" % (i, i) for i in range(1000)))

        groups = "consumer.group.ConsumerGroupCommand"
        self.assertIn("ops-group", self.tool(groups, "--bootstrap-server", self.b, "--list").split())
        out = self.tool(groups, "--bootstrap-server", self.b, "--describe", "--group", "ops-group")
        rows = re.findall(r"^ops-group\s+ops\s+(\d)\s+(\d+)\s+(\d+)\s+(\d+)", out, re.M)
        self.assertEqual(len(rows), 4, out)
        for p, current, end, lag in rows:
            self.assertEqual((int(current), int(end), int(lag)), (ends[int(p)], ends[int(p)], 0))
        out = self.tool(groups, "--bootstrap-server", self.b, "--reset-offsets", "--group", "ops-group", "--topic",
                        "ops", "--to-earliest", "--execute")
        self.assertEqual(len(re.findall(r"^ops-group\s+ops\s+\d\s+0\s*$", out, re.M)), 4, out)

        busiest = max(ends, key=ends.get)
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump({"partitions": [{"topic": "ops", "partition": busiest, "offset": 30}], "version": 1}, f)
        out = self.tool("DeleteRecordsCommand", "--bootstrap-server", self.b, "--offset-json-file", f.name)
        self.assertIn("partition: ops-%d\tlow_watermark: 30" % busiest, out)
        self.assertEqual(self.offsets("ops", -2)[busiest], 30)
        print("kafka-tools: topics, configs, console producer/consumer (1000 records), get-offsets, "
              "consumer groups (describe, reset), delete-records: ok")

    def test_perf_tools(self):
        out = self.tool("ProducerPerformance", "--topic", "perf", "--num-records", "100000", "--record-size", "100",
                        "--throughput", "-1", "--command-property", "bootstrap.servers=" + self.b, "acks=all")
        self.assertRegex(out, r"100000 records sent, [\d.]+ records/sec")
        out = self.tool("ConsumerPerformance", "--bootstrap-server", self.b, "--topic", "perf", "--num-records",
                        "100000")
        fields = out.strip().splitlines()[-1].split(", ")
        self.assertEqual(int(fields[4]), 100000, out)  # data.consumed.in.nMsg
        print("kafka-tools: producer perf and consumer perf, 100000 records each: ok")

    def test_transactions_tool(self):
        """kafka-transactions (TransactionsCommand) on an open transaction and after its commit."""
        from confluent_kafka import Producer
        from confluent_kafka.admin import AdminClient, NewTopic
        admin = AdminClient({"bootstrap.servers": self.b})
        admin.create_topics([NewTopic("tx-tool", 1, 1)])["tx-tool"].result(10)
        plain = Producer({"bootstrap.servers": self.b})
        plain.produce("tx-tool", b"before")
        plain.flush(10)
        p = Producer({"bootstrap.servers": self.b, "transactional.id": "tools-txn"})
        p.init_transactions(15)
        p.begin_transaction()
        p.produce("tx-tool", b"open")
        p.flush(10)

        out = self.tool("TransactionsCommand", "--bootstrap-server", self.b, "list")
        self.assertRegex(out, r"(?m)^tools-txn\s+1\s+\d+\s+Ongoing\s*$")
        out = self.tool("TransactionsCommand", "--bootstrap-server", self.b, "describe", "--transactional-id",
                        "tools-txn")
        self.assertIn("Ongoing", out)
        self.assertIn("tx-tool-0", out)
        out = self.tool("TransactionsCommand", "--bootstrap-server", self.b, "describe-producers", "--topic", "tx-tool",
                        "--partition", "0")
        # ProducerId, ProducerEpoch, LatestCoordinatorEpoch, LastSequence, LastTimestamp, CurrentTransactionStartOffset
        self.assertRegex(out, r"(?m)^\d+\s+\d+\s+\d+\s+0\s+\d+\s+1\s*$")
        out = self.tool("TransactionsCommand", "--bootstrap-server", self.b, "find-hanging", "--broker-id", "1")
        self.assertNotIn("tools-txn", out)  # open but known to its coordinator: not hanging

        p.commit_transaction(15)
        out = self.tool("TransactionsCommand", "--bootstrap-server", self.b, "list")
        self.assertRegex(out, r"(?m)^tools-txn\s+1\s+\d+\s+CompleteCommit\s*$")
        out = self.tool("TransactionsCommand", "--bootstrap-server", self.b, "describe-producers", "--topic", "tx-tool",
                        "--partition", "0")
        self.assertRegex(out, r"(?m)^\d+\s+\d+\s+\d+\s+0\s+\d+\s+None\s*$")
        print("kafka-tools: kafka-transactions list, describe, describe-producers, find-hanging: ok")


if __name__ == "__main__":
    unittest.main(verbosity=2)
