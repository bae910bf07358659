"""End-to-end: the Prometheus metrics on --metrics-port and health on --admin-port, under real
traffic. kcat produces N records: chronik_messages_received_total and _stored_total of the topic
rise by exactly N, Produce requests and latency observations are counted; a consumer group that
committed part of the topic shows, per partition and per topic, the lag and committed offsets that
confluent-kafka's own committed() and watermarks give; storage, partition offsets, connections and
process series have real values; `promtool check metrics` (Debian's prometheus package) finds
nothing wrong in the text format; OpenMetrics is served when asked for; /health, /ready and an
unknown route answer as they should."""

import json
import os
import re
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from broker import Broker  # noqa: E402

DASHBOARD = os.path.join(HERE, "..", "..", "docs", "grafana", "chronik-broker.json")

from confluent_kafka import Consumer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402


def get(url, accept=None):
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode()


def samples(text):
    """{(name, frozenset(labels)): value} of a text exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$', line)
        assert m, "not a sample line: %r" % line
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def value(s, name, **labels):
    return s.get((name, frozenset(labels.items())), 0.0)


class MetricsTest(unittest.TestCase):
    def test_metrics_move_with_traffic(self):
        with Broker(kafka_properties={"group.initial.rebalance.delay.ms": 0,
                                      "log.retention.check.interval.ms": 300}) as broker:
            metrics = "http://127.0.0.1:%d/metrics" % broker.metrics_port
            admin = "http://127.0.0.1:%d" % broker.admin_port
            status, _, body = get(admin + "/health")
            self.assertEqual((status, json.loads(body)), (200, {"status": "ok"}))
            status, _, body = get(admin + "/ready")
            self.assertEqual((status, json.loads(body)), (200, {"status": "ready"}))
            status, ctype, body = get(admin + "/no/such/route")
            self.assertEqual(status, 404)
            self.assertEqual(ctype, "application/json")
            self.assertEqual(json.loads(body)["error"], "not_found")

            kafka_admin = AdminClient({"bootstrap.servers": broker.bootstrap})
            kafka_admin.create_topics([NewTopic("metered", 3, 1)])["metered"].result()
            before = samples(get(metrics)[2])
            n = 5000
            p = subprocess.run(["kcat", "-b", broker.bootstrap, "-P", "-t", "metered", "-X", "acks=all"],
                               input="".join("record-%d\n" % i for i in range(n)), text=True, capture_output=True,
                               timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            after = samples(get(metrics)[2])
            for name in ("chronik_messages_received_total", "chronik_messages_stored_total"):
                self.assertEqual(value(after, name, topic="metered") - value(before, name, topic="metered"), n, name)
            produced = sum(v for (name, labels), v in after.items()
                           if name == "chronik_requests_total" and ("api", "Produce") in labels)
            self.assertGreater(produced, 0)
            self.assertEqual(value(after, "chronik_produce_latency_seconds_count"), produced)
            self.assertGreater(value(after, "chronik_bytes_received_total", topic="metered"), n * 8)
            hw = sum(value(after, "chronik_partition_high_watermark", topic="metered", partition=str(i))
                     for i in range(3))
            self.assertEqual(hw, n)
            self.assertGreater(value(after, "chronik_storage_usage_bytes"), 0)
            self.assertGreater(value(after, "process_resident_memory_bytes"), 1 << 20)
            self.assertGreater(value(after, "process_open_fds"), 3)
            # Every acks=all Produce request made at least one append durable in a group commit,
            # and each group commit took one fdatasync at least.
            produced_before = sum(v for (name, labels), v in before.items()
                                  if name == "chronik_requests_total" and ("api", "Produce") in labels)
            appends = (value(after, "chronik_storage_group_commit_appends_sum")
                       - value(before, "chronik_storage_group_commit_appends_sum"))
            commits = (value(after, "chronik_storage_group_commit_appends_count")
                       - value(before, "chronik_storage_group_commit_appends_count"))
            fsyncs = (value(after, "chronik_storage_fsync_duration_seconds_count")
                      - value(before, "chronik_storage_fsync_duration_seconds_count"))
            self.assertGreaterEqual(appends, produced - produced_before)
            self.assertGreaterEqual(appends, commits)
            self.assertGreaterEqual(fsyncs, commits)
            self.assertGreater(commits, 0)

            # Errors by API and Kafka error, from the answers' error codes.
            futures = kafka_admin.create_topics([NewTopic("metered", 3, 1)])
            with self.assertRaises(Exception):
                futures["metered"].result()
            s = samples(get(metrics)[2])
            self.assertEqual(value(s, "chronik_request_errors_total", api="CreateTopics", error="TOPIC_ALREADY_EXISTS"), 1)

            # The janitor's retention: a topic of small segments over its retention.bytes.
            kafka_admin.create_topics([NewTopic("short", 1, 1, config={"segment.bytes": "2000",
                                                                      "retention.bytes": "4000"})])["short"].result()
            p = subprocess.run(["kcat", "-b", broker.bootstrap, "-P", "-t", "short", "-X", "acks=all",
                                "-X", "batch.num.messages=10"],
                               input="".join("%s\n" % ("y" * 100) for _ in range(300)), text=True,
                               capture_output=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            deadline = time.time() + 30
            while time.time() < deadline:
                s = samples(get(metrics)[2])
                if value(s, "chronik_janitor_segments_deleted_total") > 0:
                    break
                time.sleep(0.2)
            self.assertGreater(value(s, "chronik_janitor_segments_deleted_total"), 0)
            self.assertGreater(value(s, "chronik_janitor_bytes_deleted_total"), 0)

            # A group that read and committed part of the topic: its lag is the rest.
            consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "laggard",
                                 "auto.offset.reset": "earliest", "enable.auto.commit": False})
            consumer.subscribe(["metered"])
            read = 0
            deadline = time.time() + 30
            while read < 1200 and time.time() < deadline:
                read += len(consumer.consume(200, 1.0))
            consumer.commit(asynchronous=False)
            committed = consumer.committed([TopicPartition("metered", i) for i in range(3)], timeout=10)
            self.assertEqual(get(admin + "/health")[0], 200)
            s = samples(get(metrics)[2])
            self.assertEqual(value(s, "chronik_active_connections", listener="PLAINTEXT") >= 1, True)
            expected_total = 0
            for tp in committed:
                low, high = consumer.get_watermark_offsets(tp, timeout=10)
                lag = high - max(tp.offset, 0) if tp.offset >= 0 else high
                if tp.offset >= 0:
                    self.assertEqual(value(s, "chronik_consumer_group_partition_lag", group="laggard", topic="metered",
                                           partition=str(tp.partition)), lag)
                    self.assertEqual(value(s, "chronik_consumer_group_committed_offset", group="laggard",
                                           topic="metered", partition=str(tp.partition)), tp.offset)
                    expected_total += lag
            self.assertEqual(value(s, "chronik_consumer_group_lag", group="laggard", topic="metered"), expected_total)
            self.assertTrue(0 < expected_total < n, expected_total)
            self.assertEqual(value(s, "chronik_consumer_groups", state="Stable"), 1)
            # One member joined once: one generation formed.
            self.assertEqual(value(s, "chronik_consumer_group_rebalances_total", group="laggard"), 1)
            consumer.close()

            # promtool's checks (metric and label names, HELP and TYPE, histogram consistency).
            text = get(metrics)[2]
            p = subprocess.run(["promtool", "check", "metrics"], input=text, text=True, capture_output=True,
                               timeout=60)
            self.assertEqual((p.returncode, p.stdout + p.stderr), (0, ""))
            status, ctype, om = get(metrics, accept="application/openmetrics-text; version=1.0.0")
            self.assertEqual(status, 200)
            self.assertTrue(ctype.startswith("application/openmetrics-text"), ctype)
            self.assertTrue(om.endswith("# EOF\n"))
            self.assertIn("# TYPE chronik_messages_received counter\n", om)
            print("\n".join(l for l in text.splitlines()
                            if l.startswith(("chronik_messages", "chronik_consumer_group_lag", "chronik_storage",
                                             "chronik_produce_latency_seconds_count", "process_resident")))[:3000])
            # Every series the Grafana dashboard queries is one this broker exposes.
            names = set(re.findall(r"\b((?:chronik|process)_[a-z_]+)", text))
            with open(DASHBOARD) as f:
                dashboard = json.load(f)
            queried = set()
            for p in dashboard["panels"]:
                for t in p["targets"]:
                    queried |= set(re.findall(r"\b((?:chronik|process)_[a-z_]+)", t["expr"]))
            self.assertTrue(queried)
            self.assertEqual(queried - names, set())
            self.assertEqual(broker.stop(), 0, broker.read_log()[-2000:])

    def test_per_partition_series_switched_off(self):
        with Broker(extra_args=["--metrics-partition-series=false"],
                    kafka_properties={"group.initial.rebalance.delay.ms": 0}) as broker:
            p = subprocess.run(["kcat", "-b", broker.bootstrap, "-P", "-t", "few"], input="a\nb\nc\n", text=True,
                               capture_output=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            text = get("http://127.0.0.1:%d/metrics" % broker.metrics_port)[2]
            s = samples(text)
            self.assertEqual(value(s, "chronik_messages_stored_total", topic="few"), 3)
            self.assertGreater(value(s, "chronik_topic_size_bytes", topic="few"), 0)
            self.assertNotIn("\nchronik_partition_", text)
            self.assertEqual(broker.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
