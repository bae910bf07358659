"""End-to-end: tiered storage (KIP-405) with real clients, against the local store, S3 (versitygw,
which checks SigV4) and Azure Blob (Azurite, which checks Shared Key). A topic with
remote.storage.enable and a tiny local.retention.bytes has its rolled segments copied and then
deleted locally; kcat and the Java consumer still read it from offset 0 byte for byte, the admin
client lists earliest, earliest-local and latest-tiered offsets, a timestamp lookup below the local
log is answered exactly, and a clean restart and a kill -9 change none of it. Remote retention
moves the earliest offset, and so does DeleteRecords below the local log, whose remote segments
then go; deleting the topic deletes its remote objects."""

import glob
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "pydeps"))  # confluent-kafka 2.16.1 (tests/e2e/requirements.txt)
sys.path.insert(0, HERE)
from broker import Broker, free_port, java_classpath, run_server  # noqa: E402
import objstore  # noqa: E402
from certs import Certs  # noqa: E402

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource,  # noqa: E402
                                   ConfigSource, NewTopic)

TIERING = {"remote.log.storage.system.enable": "true", "remote.log.manager.task.interval.ms": 300,
           "log.retention.check.interval.ms": 300}
TOPIC_CONFIG = {"remote.storage.enable": "true", "segment.bytes": "65536", "local.retention.bytes": "1"}
CODECS = ("none", "lz4", "zstd")
PER_CODEC = 8000


def create_topic(bootstrap, topic, config):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(topic, 1, 1, config=config)]).values():
        f.result(30)


def delete_topic(bootstrap, topic):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.delete_topics([topic]).values():
        f.result(30)


def produce_lines(bootstrap, topic):
    """PER_CODEC records with each codec, by kcat; returns the values in offset order."""
    values = []
    for codec in CODECS:
        lines = ["%s-record-%06d-%s" % (codec, i, "x" * (i % 50)) for i in range(PER_CODEC)]
        subprocess.run(["kcat", "-b", bootstrap, "-P", "-t", topic, "-z", codec, "-X", "acks=all",
                        "-X", "batch.num.messages=100"],
                       input="\n".join(lines) + "\n", text=True, check=True, timeout=120)
        values += lines
    return values


def kcat_consume(bootstrap, topic, start="beginning"):
    p = subprocess.run(["kcat", "-b", bootstrap, "-C", "-t", topic, "-o", str(start), "-e", "-f", "%o %T %s\\n"],
                       capture_output=True, text=True, check=True, timeout=120)
    rows = [line.split(" ", 2) for line in p.stdout.splitlines()]
    return [(int(o), int(t), v) for o, t, v in rows]


def local_logs(broker, topic):
    return sorted(glob.glob(os.path.join(broker.data_dir, topic + "-0", "*.log")))


def metric(broker, name):
    return broker.metrics(name)[name]


def wait_for(condition, what, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting for " + what)


class TieredStorageChecks:
    """The checks every store passes; a subclass starts its store (setUp) and lists its objects."""

    store_env = {}

    def broker(self, data_dir=None):
        return Broker(kafka_properties=TIERING, env=self.store_env, data_dir=data_dir)

    def remote_keys(self, prefix):
        raise NotImplementedError

    def java_consume_from_start(self, bootstrap, topic, count):
        """The Java client's ConsumeFromStart: its offsets line, a line per record, its count line."""
        p = subprocess.run(["java", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", java_classpath(),
                            "io.chronik.tests.ConsumeFromStart", bootstrap, topic, str(count)],
                           capture_output=True, text=True, timeout=180)
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        return p.stdout.splitlines()

    def fill_and_tier(self, broker, topic, config=TOPIC_CONFIG):
        """A tiered topic filled by produce_lines, once every rolled segment is copied and deleted
        locally: its values and its local log start."""
        create_topic(broker.bootstrap, topic, config)
        values = produce_lines(broker.bootstrap, topic)
        # Every rolled segment is copied and then deleted: one local .log is left, the active one.
        wait_for(lambda: len(local_logs(broker, topic)) == 1, "local segments to be deleted")
        return values, int(os.path.basename(local_logs(broker, topic)[0])[:20])

    def check_reads(self, bootstrap, topic, values, local_start):
        rows = kcat_consume(bootstrap, topic)
        self.assertEqual([(o, v) for o, _, v in rows], list(enumerate(values)))
        lines = self.java_consume_from_start(bootstrap, topic, len(values))
        self.assertEqual(lines[0], "java: offsets earliest=0 earliest_local=%d latest_tiered=%d latest=%d"
                         % (local_start, local_start - 1, len(values)))
        self.assertEqual(lines[-1], "java: consumed %d" % len(values))
        self.assertEqual(lines[1:-1], ["%d %s" % (o, v) for o, v in enumerate(values)])
        # A timestamp lookup below the local log: the first record at or after that time.
        target = rows[local_start // 2][1]
        expected = next(o for o, t, _ in rows if t >= target)
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": "ts"})
        try:
            found = c.offsets_for_times([TopicPartition(topic, 0, target)], timeout=30)[0]
            self.assertEqual(found.offset, expected)
        finally:
            c.close()

    def test_consumed_from_offset_zero_after_local_segments_are_gone(self):
        topic = "tiered"
        with self.broker() as b:
            values, local_start = self.fill_and_tier(b, topic)
            self.assertGreater(local_start, 0)
            keys = self.remote_keys("tiered/%s-0/" % topic)
            self.assertIn("tiered/%s-0/manifest.json" % topic, keys)
            self.assertGreaterEqual(sum(k.endswith(".log") for k in keys), 3)
            self.check_reads(b.bootstrap, topic, values, local_start)
            self.assertEqual(metric(b, "chronik_remote_segments_copied_total"), sum(k.endswith(".log") for k in keys))
            self.assertGreater(metric(b, "chronik_remote_read_bytes_total"), 0)
            self.assertGreater(metric(b, "chronik_remote_chunk_read_bytes_total"), 0)
            wait_for(lambda: metric(b, "chronik_remote_reader_queue_size") == 0, "the remote reads' end")
            self.assertEqual(metric(b, "chronik_remote_copy_lag_segments"), 0)
            self.assertEqual(metric(b, "chronik_remote_copy_failures_total"), 0)
            for secret in (objstore.S3_SECRET, objstore.AZURE_KEY):
                self.assertNotIn(secret, b.read_log())

            b.stop()  # a clean restart reads the manifest again
            b.start()
            self.check_reads(b.bootstrap, topic, values, local_start)

            b.stop(sig=signal.SIGKILL)
            b.start()
            rows = kcat_consume(b.bootstrap, topic)
            self.assertEqual([(o, v) for o, _, v in rows], list(enumerate(values)))

    def test_a_lost_data_directory_is_recovered_from_the_remote_copy(self):
        topic = "tiered-lost"
        with self.broker() as b:
            values, remote_end = self.fill_and_tier(b, topic)
            b.stop()
            shutil.rmtree(b.data_dir)  # the disk is lost, the object store is not
            b.start()
            # The topic made again goes on after its remote copy (once a pass has read it).
            create_topic(b.bootstrap, topic, TOPIC_CONFIG)
            c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "lost"})
            try:
                wait_for(lambda: c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10) == (0, remote_end),
                         "the partition to start after its remote copy")
            finally:
                c.close()
            rows = kcat_consume(b.bootstrap, topic)
            self.assertEqual([(o, v) for o, _, v in rows], list(enumerate(values[:remote_end])))
            subprocess.run(["kcat", "-b", b.bootstrap, "-P", "-t", topic, "-X", "acks=all"], input="after\n",
                           text=True, check=True, timeout=60)
            rows = kcat_consume(b.bootstrap, topic, remote_end)
            self.assertEqual([(o, v) for o, _, v in rows], [(remote_end, "after")])

    def test_remote_retention_and_topic_deletion(self):
        topic = "tiered-retention"
        with self.broker() as b:
            create_topic(b.bootstrap, topic, dict(TOPIC_CONFIG, **{"retention.bytes": "300000"}))
            values = produce_lines(b.bootstrap, topic)
            c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "wm"})
            try:
                wait_for(lambda: c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[0] > 0,
                         "remote retention to move the earliest offset")
                earliest = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[0]
            finally:
                c.close()
            rows = kcat_consume(b.bootstrap, topic)
            self.assertEqual([(o, v) for o, _, v in rows], [(o, values[o]) for o in range(earliest, len(values))])

            delete_topic(b.bootstrap, topic)
            wait_for(lambda: not self.remote_keys("tiered/%s-0/" % topic), "the remote objects to be deleted")

    def test_delete_records_below_the_local_log(self):
        """DeleteRecords at an offset only the remote copy still holds: every client sees the
        partition start there, a fetch below it is out of range, the remote segments wholly below it
        are deleted, and a kill -9 changes none of it."""
        topic = "tiered-delete-records"
        with self.broker() as b:
            values, local_start = self.fill_and_tier(b, topic)

            def remote_bases():
                return sorted(int(os.path.basename(k)[:20]) for k in self.remote_keys("tiered/%s-0/" % topic)
                              if k.endswith(".log"))
            bases = remote_bases()
            cut = (bases[2] + bases[3]) // 2  # inside the third remote segment
            admin = AdminClient({"bootstrap.servers": b.bootstrap})
            deleted = admin.delete_records([TopicPartition(topic, 0, cut)])
            self.assertEqual(list(deleted.values())[0].result(30).low_watermark, cut)

            def check(broker):
                c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "dr", "auto.offset.reset": "error"})
                try:
                    self.assertEqual(c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10),
                                     (cut, len(values)))
                    # Offset 0 is gone: the broker says OFFSET_OUT_OF_RANGE, which this consumer may not reset.
                    c.assign([TopicPartition(topic, 0, 0)])
                    m = c.poll(30)
                    self.assertIsNotNone(m)
                    self.assertIsNotNone(m.error())
                    self.assertIn("out of range", m.error().str().lower())
                finally:
                    c.close()
                rows = kcat_consume(broker.bootstrap, topic)
                self.assertEqual([(o, v) for o, _, v in rows], [(o, values[o]) for o in range(cut, len(values))])
                lines = self.java_consume_from_start(broker.bootstrap, topic, len(values) - cut)
                self.assertEqual(lines[0], "java: offsets earliest=%d earliest_local=%d latest_tiered=%d latest=%d"
                                 % (cut, local_start, local_start - 1, len(values)))
                self.assertEqual(lines[1], "%d %s" % (cut, values[cut]))
                self.assertEqual(lines[-1], "java: consumed %d" % (len(values) - cut))

            check(b)
            # The next passes delete the two remote segments wholly below the cut, and no more.
            wait_for(lambda: remote_bases() == bases[2:], "the remote segments below the cut to be deleted")
            self.assertEqual(metric(b, "chronik_remote_segments_deleted_total"), 2)
            check(b)
            b.stop(sig=signal.SIGKILL)
            b.start()
            check(b)


class LocalStoreTest(TieredStorageChecks, unittest.TestCase):
    def setUp(self):
        self.root = os.path.join(os.environ.get("TEST_TMPDIR", "/tmp"), "remote-%d" % os.getpid())
        shutil.rmtree(self.root, ignore_errors=True)
        self.store_env = {"STORAGE_BACKEND": "local", "LOCAL_STORAGE_PATH": self.root}

    def tearDown(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def remote_keys(self, prefix):
        keys = []
        for dirpath, _, files in os.walk(os.path.join(self.root, prefix)):
            keys += [os.path.relpath(os.path.join(dirpath, f), self.root) for f in files]
        return keys

    def test_copies_keep_to_the_copy_quota(self):
        """remote.log.manager.copy.max.bytes.per.second: copies wait on it (the throttle metric counts
        the wait), and what they copy is read back whole."""
        quota = {"remote.log.manager.copy.max.bytes.per.second": 400000}
        with Broker(kafka_properties=dict(TIERING, **quota), env=self.store_env) as b:
            values, local_start = self.fill_and_tier(b, "tiered-quota")
            self.assertGreater(local_start, 0)
            self.assertGreater(metric(b, "chronik_remote_copy_throttle_seconds_total"), 0)
            rows = kcat_consume(b.bootstrap, "tiered-quota")
            self.assertEqual([(o, v) for o, _, v in rows], list(enumerate(values)))
            admin = AdminClient({"bootstrap.servers": b.bootstrap})
            configs = list(admin.describe_configs([ConfigResource("broker", "1")]).values())[0].result(30)
            self.assertEqual(configs["remote.log.manager.copy.max.bytes.per.second"].value, "400000")

    def test_copy_quota_altered_while_running(self):
        """remote.log.manager.copy.max.bytes.per.second is a dynamic broker config, as in Kafka.
        Set for the cluster by Kafka's kafka-configs while the broker runs, a copy waits on it (at
        500 B/s a 64 KiB segment would take two minutes); deleted, the waiting copy goes on at once
        and the rest follow. This broker's own value, set by confluent-kafka, is applied again
        after a restart. Broker configs read only at start are refused, and so are bad values."""
        name = "remote.log.manager.copy.max.bytes.per.second"

        def kafka_configs(bootstrap, *args):
            p = subprocess.run(["java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", java_classpath(),
                                "org.apache.kafka.tools.ConfigCommand", "--bootstrap-server", bootstrap,
                                "--entity-type", "brokers", "--entity-default"] + list(args),
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            return p.stdout

        def alter(admin, op, value=None, config=name):
            entry = ConfigEntry(config, value, incremental_operation=op)
            res = ConfigResource("broker", "1", incremental_configs=[entry])
            return list(admin.incremental_alter_configs([res]).values())[0].result(30)

        def described(admin):
            return list(admin.describe_configs([ConfigResource("broker", "1")]).values())[0].result(30)[name]

        def waiting(b):
            return metric(b, "chronik_remote_copy_throttle_waiting")

        with Broker(kafka_properties=TIERING, env=self.store_env) as b:
            kafka_configs(b.bootstrap, "--alter", "--add-config", name + "=500")
            self.assertIn(name + "=500 sensitive=false", kafka_configs(b.bootstrap, "--describe"))
            admin = AdminClient({"bootstrap.servers": b.bootstrap})
            entry = described(admin)
            self.assertEqual((entry.value, entry.source), ("500", ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value))
            topic = "tiered-dynamic-quota"
            create_topic(b.bootstrap, topic, TOPIC_CONFIG)
            values = produce_lines(b.bootstrap, topic)
            wait_for(lambda: waiting(b) == 1, "a copy to wait on the quota")
            self.assertEqual(metric(b, "chronik_remote_segments_copied_total"), 0)
            kafka_configs(b.bootstrap, "--alter", "--delete-config", name)
            wait_for(lambda: len(local_logs(b, topic)) == 1, "the copies to go on without the quota")
            self.assertGreater(metric(b, "chronik_remote_copy_throttle_seconds_total"), 0)
            self.assertEqual(waiting(b), 0)
            self.assertNotIn(name, kafka_configs(b.bootstrap, "--describe"))
            self.assertEqual(described(admin).source, ConfigSource.DEFAULT_CONFIG.value)
            rows = kcat_consume(b.bootstrap, topic)
            self.assertEqual([(o, v) for o, _, v in rows], list(enumerate(values)))

            alter(admin, AlterConfigOpType.SET, "500")
            b.stop()
            b.start()
            admin = AdminClient({"bootstrap.servers": b.bootstrap})
            entry = described(admin)
            self.assertEqual((entry.value, entry.source), ("500", ConfigSource.DYNAMIC_BROKER_CONFIG.value))
            topic = "tiered-dynamic-quota-2"
            create_topic(b.bootstrap, topic, TOPIC_CONFIG)
            produce_lines(b.bootstrap, topic)
            wait_for(lambda: waiting(b) == 1, "a copy to wait on the stored quota")

            with self.assertRaises(KafkaException) as e:
                alter(admin, AlterConfigOpType.SET, "1000", config="log.retention.ms")
            self.assertEqual(e.exception.args[0].name(), "INVALID_REQUEST")
            self.assertIn("Cannot update these configs dynamically", e.exception.args[0].str())
            with self.assertRaises(KafkaException) as e:
                alter(admin, AlterConfigOpType.SET, "fast")
            self.assertEqual(e.exception.args[0].name(), "INVALID_REQUEST")
            self.assertEqual(described(admin).value, "500")
            alter(admin, AlterConfigOpType.DELETE)
            wait_for(lambda: len(local_logs(b, topic)) == 1, "the copies to go on without the quota")

    def test_consumed_over_tls_from_the_remote_copy(self):
        """Remote chunks are sent from the cache's memory: gathered with the response's bytes on a
        plain listener, copied into TLS records on an SSL one. Both give the records byte for byte."""
        certs = Certs(os.path.join(self.root + "-certs"))
        try:
            with Broker(kafka_properties=dict(TIERING, **{"ssl.keystore.location": certs.server}),
                        listeners=[("PLAINTEXT", "PLAINTEXT"), ("SSL", "SSL")], env=self.store_env) as b:
                values, local_start = self.fill_and_tier(b, "tiered-tls")
                self.assertGreater(local_start, 0)
                p = subprocess.run(["kcat", "-b", b.address("SSL"), "-X", "security.protocol=SSL",
                                    "-X", "ssl.ca.location=" + certs.ca, "-C", "-t", "tiered-tls", "-o", "beginning",
                                    "-e", "-f", "%o %s\\n"], capture_output=True, text=True, check=True, timeout=120)
                self.assertEqual(p.stdout.splitlines(), ["%d %s" % (o, v) for o, v in enumerate(values)])
                rows = kcat_consume(b.bootstrap, "tiered-tls")
                self.assertEqual([(o, v) for o, _, v in rows], list(enumerate(values)))
        finally:
            shutil.rmtree(self.root + "-certs", ignore_errors=True)


    def test_stop_while_fetches_wait_on_a_tiered_topic(self):
        """SIGTERM while consumers' fetches wait at the end of a tiered topic: each is answered while
        the logs and the remote log its read asks still live, and the broker exits cleanly (it once
        answered them after the remote log was destroyed, and crashed)."""
        topic = "tiered-waiting"
        consumers = []
        b = self.broker().start()
        try:
            create_topic(b.bootstrap, topic, TOPIC_CONFIG)
            values = produce_lines(b.bootstrap, topic)
            wait_for(lambda: len(local_logs(b, topic)) == 1, "the copies to finish")
            for i in range(4):
                c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "waiting-%d" % i,
                              "enable.auto.commit": False, "fetch.wait.max.ms": 30000})
                c.assign([TopicPartition(topic, 0, len(values))])
                self.assertIsNone(c.poll(1))  # nothing past the end: its fetch waits
                consumers.append(c)
            self.assertEqual(b.stop(), 0, b.read_log()[-4000:])
        finally:
            b.__exit__(None)
            for c in consumers:
                c.close()

    def test_restore_of_an_older_backup_drops_what_was_copied_after_it(self):
        # A backup, then more records copied to the store; the backup restored: the partition goes on
        # from the backup's end, and the remote segments copied after it are dropped, not served.
        topic = "tiered-restored"
        env = dict(os.environ, **self.store_env)
        with self.broker() as b:
            create_topic(b.bootstrap, topic, TOPIC_CONFIG)
            first = produce_lines(b.bootstrap, topic)
            wait_for(lambda: len(local_logs(b, topic)) == 1, "local segments to be deleted")
            b.stop()
            code, out, err = run_server(["--data-dir", b.data_dir, "backup"], timeout=120, env=env)
            self.assertEqual(code, 0, err)
            backup_id = out.split("backup ")[-1].split(":")[0]
            b.start()
            produce_lines(b.bootstrap, topic)
            wait_for(lambda: int(os.path.basename(local_logs(b, topic)[0])[:20]) > len(first) and
                     len(local_logs(b, topic)) == 1, "the later records' segments to be copied")
            copied = sum(k.endswith(".log") for k in self.remote_keys("tiered/%s-0/" % topic))
            b.stop()
            shutil.rmtree(b.data_dir)
            code, out, err = run_server(["--data-dir", b.data_dir, "--backup-id", backup_id, "restore"], timeout=120,
                                        env=env)
            self.assertEqual(code, 0, err)
            b.start()
            wait_for(lambda: not os.path.exists(os.path.join(b.data_dir, "restored-backup")),
                     "the restore to be reconciled with the remote copy")
            self.assertIn("copied after it was taken", b.read_log())
            self.assertLess(sum(k.endswith(".log") for k in self.remote_keys("tiered/%s-0/" % topic)), copied)
            rows = kcat_consume(b.bootstrap, topic)
            self.assertEqual([(o, v) for o, _, v in rows], list(enumerate(first)))
            subprocess.run(["kcat", "-b", b.bootstrap, "-P", "-t", topic, "-X", "acks=all"], input="after\n",
                           text=True, check=True, timeout=60)
            rows = kcat_consume(b.bootstrap, topic, len(first))
            self.assertEqual([(o, v) for o, _, v in rows], [(len(first), "after")])

    def test_read_committed_below_the_local_log(self):
        """Aborted transactions in segments that are only in the store are still dropped by a
        read_committed consumer, and committed ones kept."""
        topic = "tiered-txn"
        with self.broker() as b:
            create_topic(b.bootstrap, topic, TOPIC_CONFIG)
            p = Producer({"bootstrap.servers": b.bootstrap, "transactional.id": "tiered-txn", "linger.ms": 5})
            p.init_transactions(30)
            expected = []
            for t in range(12):
                p.begin_transaction()
                values = ["txn-%02d-%04d-%s" % (t, i, "z" * 60) for i in range(300)]
                for v in values:
                    p.produce(topic, value=v.encode())
                if t % 3 == 1:
                    p.abort_transaction(30)
                else:
                    p.commit_transaction(30)
                    expected += values
            p.flush(30)
            wait_for(lambda: len(local_logs(b, topic)) == 1, "local segments to be deleted")
            self.assertGreater(int(os.path.basename(local_logs(b, topic)[0])[:20]), 0)
            c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "rc", "isolation.level": "read_committed",
                          "auto.offset.reset": "earliest", "enable.auto.commit": False})
            try:
                c.subscribe([topic])
                got = []
                deadline = time.time() + 60
                while len(got) < len(expected) and time.time() < deadline:
                    m = c.poll(0.5)
                    if m is not None and m.error() is None:
                        got.append(m.value().decode())
                # Nothing more: the aborted ones never come.
                m = c.poll(2)
                self.assertTrue(m is None or m.error() is not None)
            finally:
                c.close()
            self.assertEqual(got, expected)

    def test_kill_9_while_copying(self):
        """kill -9 at random moments of the copy passes: after each restart nothing is lost, no
        object is left that the manifest does not name, and the copies go on."""
        topic = "tiered-crash"
        rnd = random.Random(7)
        with self.broker() as b:
            create_topic(b.bootstrap, topic, TOPIC_CONFIG)
            values = []
            for round in range(5):
                lines = ["round-%d-%05d-%s" % (round, i, "y" * (i % 80)) for i in range(4000)]
                subprocess.run(["kcat", "-b", b.bootstrap, "-P", "-t", topic, "-X", "acks=all",
                                "-X", "batch.num.messages=50"], input="\n".join(lines) + "\n", text=True, check=True,
                               timeout=120)
                values += lines
                time.sleep(rnd.uniform(0.0, 0.6))  # within the next copy passes (every 300 ms)
                b.stop(sig=signal.SIGKILL)
                b.start()
            wait_for(lambda: len(local_logs(b, topic)) == 1, "the copies to finish")
            rows = kcat_consume(b.bootstrap, topic)
            self.assertEqual([(o, v) for o, _, v in rows], list(enumerate(values)))
            b.stop()
            b.start()  # a start deletes what no manifest names
            prefix = "tiered/%s-0/" % topic
            with open(os.path.join(self.root, prefix, "manifest.json")) as f:
                manifest = json.load(f)
            named = {prefix + "manifest.json"}
            for s in manifest["segments"]:
                named |= {s[k] for k in ("log", "index", "time_index", "txn_index", "producer_snapshot") if s.get(k)}
            wait_for(lambda: set(self.remote_keys(prefix)) == named, "only named objects to be left")


class S3StoreTest(TieredStorageChecks, unittest.TestCase):
    def setUp(self):
        self.server = objstore.start_versitygw("chronik-tiered")
        self.store_env = self.server.env

    def tearDown(self):
        self.server.stop()

    def remote_keys(self, prefix):
        return objstore.s3_keys(self.server, "chronik-tiered", prefix)


    def test_store_down_then_back(self):
        """Produce and consume go on while the store is down; local segments stay until copied; the
        copies resume once it is back, and nothing is lost."""
        topic = "tiered-outage"
        with self.broker() as b:
            create_topic(b.bootstrap, topic, TOPIC_CONFIG)
            self.server.kill()
            values = produce_lines(b.bootstrap, topic)
            rows = kcat_consume(b.bootstrap, topic)
            self.assertEqual([(o, v) for o, _, v in rows], list(enumerate(values)))
            wait_for(lambda: metric(b, "chronik_remote_copy_failures_total") > 0, "a failed copy")
            wait_for(lambda: metric(b, "chronik_remote_copy_lag_segments") > 0, "the copy lag")
            self.assertGreater(len(local_logs(b, topic)), 3)  # nothing local goes before it is copied
            self.server.start()
            wait_for(lambda: len(local_logs(b, topic)) == 1, "the copies to resume and local segments to go")
            self.assertEqual(metric(b, "chronik_remote_copy_lag_segments"), 0)
            rows = kcat_consume(b.bootstrap, topic)
            self.assertEqual([(o, v) for o, _, v in rows], list(enumerate(values)))


    def test_a_topic_deleted_while_the_store_is_down_is_made_again_after_a_kill_9(self):
        """The deletion of a tiered topic's remote data outlives a kill -9 that comes before the store
        is back: the topic made again under the same name starts empty, not after the old copy,
        and the old copy is deleted."""
        topic = "tiered-again"
        prefix = "tiered/%s-0/" % topic
        with self.broker() as b:
            self.fill_and_tier(b, topic)
            self.assertTrue(self.remote_keys(prefix))
            self.server.kill()
            delete_topic(b.bootstrap, topic)
            b.stop(signal.SIGKILL)
            self.server.start()
            b.start()
            create_topic(b.bootstrap, topic, TOPIC_CONFIG)
            wait_for(lambda: not self.remote_keys(prefix), "the old topic's remote objects to be deleted")
            c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "again"})
            try:
                self.assertEqual(c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10), (0, 0))
            finally:
                c.close()
            subprocess.run(["kcat", "-b", b.bootstrap, "-P", "-t", topic, "-X", "acks=all"], input="again\n",
                           text=True, check=True, timeout=60)
            rows = kcat_consume(b.bootstrap, topic)
            self.assertEqual([(o, v) for o, _, v in rows], [(0, "again")])

    def test_configured_by_kafka_style_names(self):
        """The store given in [kafka] as Kafka's remote storage settings (rsm.config.*), its secret
        from the environment: tiering works, and DescribeConfigs shows the settings in effect with
        the secret as sensitive."""
        kafka_style = {"rsm.config." + k.lower().replace("_", "."): v for k, v in self.store_env.items()
                       if k != "AWS_SECRET_ACCESS_KEY"}
        topic = "tiered-kafka-style"
        with Broker(kafka_properties=dict(TIERING, **kafka_style),
                    env={"AWS_SECRET_ACCESS_KEY": self.store_env["AWS_SECRET_ACCESS_KEY"]}) as b:
            create_topic(b.bootstrap, topic, TOPIC_CONFIG)
            values = produce_lines(b.bootstrap, topic)
            wait_for(lambda: len(local_logs(b, topic)) == 1, "local segments to be copied and deleted")
            self.assertIn("tiered/%s-0/manifest.json" % topic, self.remote_keys("tiered/%s-0/" % topic))
            rows = kcat_consume(b.bootstrap, topic)
            self.assertEqual([(o, v) for o, _, v in rows], list(enumerate(values)))

            admin = AdminClient({"bootstrap.servers": b.bootstrap})
            resource = ConfigResource("broker", "1")
            configs = list(admin.describe_configs([resource]).values())[0].result(30)
            for name, value in kafka_style.items():
                self.assertEqual(configs[name].value, value, name)
                self.assertFalse(configs[name].is_sensitive, name)
            secret = configs["rsm.config.aws.secret.access.key"]
            self.assertTrue(secret.is_sensitive)
            self.assertIsNone(secret.value)
            self.assertEqual(configs["remote.log.storage.manager.impl.prefix"].value, "rsm.config.")
            self.assertNotIn(self.store_env["AWS_SECRET_ACCESS_KEY"], b.read_log())


class AzureStoreTest(TieredStorageChecks, unittest.TestCase):
    def setUp(self):
        self.server = objstore.start_azurite("chronik-tiered")
        self.store_env = self.server.env

    def tearDown(self):
        self.server.stop()

    def remote_keys(self, prefix):
        return objstore.azure_keys(self.server, "chronik-tiered", prefix)


class RefusalTest(unittest.TestCase):
    def test_tiering_without_an_object_store_is_refused_at_start(self):
        tmp = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        config = os.path.join(tmp, "chronik.toml")
        with open(config, "w") as f:
            f.write('[kafka]\n"remote.log.storage.system.enable" = "true"\n')
        env = {k: v for k, v in os.environ.items() if k != "STORAGE_BACKEND"}
        code, _, err = run_server(["--kafka-port", str(free_port()), "--admin-port", str(free_port()),
                                   "--metrics-port", str(free_port()), "--data-dir", os.path.join(tmp, "data"),
                                   "--config", config], env=env)
        self.assertNotEqual(code, 0)
        self.assertIn("needs an object store: set STORAGE_BACKEND", err)


if __name__ == "__main__":
    unittest.main()
