"""End-to-end: backup and restore with real clients, to the local store and to S3 (versitygw, which
checks SigV4). A stopped broker's data directory is backed up by `chronik_server backup`, wiped
and restored by `chronik_server restore`: every segment is byte-identical, kcat reads the same
records at the same offsets, and the group's committed offsets are the same. A second backup
uploads only what changed, old backups go by backup.retention.count, a damaged blob stops the
restore, and a running broker with --enable-backup backs itself up on its interval. Azure Blob
(Azurite, which checks Shared Key) runs the same checks but the damaged blob's, as its blobs are not
files the test can reach."""

import glob
import hashlib
import os
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker import Broker, server_binary  # noqa: E402
import objstore  # noqa: E402

from confluent_kafka import Consumer, TopicPartition  # noqa: E402

CODECS = ("none", "lz4", "zstd")


def produce(bootstrap, topic, n):
    values = []
    for codec in CODECS:
        lines = ["%s-%s-%05d-%s" % (topic, codec, i, "x" * (i % 200)) for i in range(n)]
        subprocess.run(["kcat", "-b", bootstrap, "-P", "-t", topic, "-z", codec, "-X", "acks=all",
                        "-X", "batch.num.messages=200"], input="\n".join(lines) + "\n", text=True, check=True,
                       timeout=120)
        values += lines
    return values


def consume(bootstrap, topic):
    p = subprocess.run(["kcat", "-b", bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-f", "%o %s\\n"],
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise AssertionError("kcat -C -t %s: %s" % (topic, p.stderr))
    return [tuple(line.split(" ", 1)) for line in p.stdout.splitlines()]


def commit(bootstrap, group, topic, offset):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        c.commit(offsets=[TopicPartition(topic, 0, offset)], asynchronous=False)
    finally:
        c.close()


def committed(bootstrap, group, topic):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        return c.committed([TopicPartition(topic, 0)], timeout=30)[0].offset
    finally:
        c.close()


def segment_digests(data_dir):
    out = {}
    for path in glob.glob(os.path.join(data_dir, "*-0", "*.log")):
        with open(path, "rb") as f:
            out[os.path.relpath(path, data_dir)] = hashlib.sha256(f.read()).hexdigest()
    return out


def run(command, data_dir, env, args=()):
    p = subprocess.run([server_binary(), "--data-dir", data_dir] + list(args) + [command], capture_output=True,
                       text=True, env=dict(os.environ, **env), timeout=300)
    return p.returncode, p.stdout, p.stderr


class BackupChecks:
    store_env = {}

    def blobs(self):
        raise NotImplementedError

    def test_backup_wipe_restore_consume(self):
        with Broker(kafka_properties={"log.segment.bytes": 65536}) as b:
            values = {t: produce(b.bootstrap, t, 3000) for t in ("orders", "events")}
            commit(b.bootstrap, "billing", "orders", 4321)
            data_dir = b.data_dir
            bootstrap_port = b.port
            b.stop()
            before = segment_digests(data_dir)
            self.assertGreater(len(before), 4)  # rolled segments and the active ones

            code, out, err = run("backup", data_dir, self.store_env)
            self.assertEqual(code, 0, err)
            self.assertIn("backup ", out)
            uploaded_first = int(out.split(" bytes uploaded")[0].rsplit(" ", 1)[1])
            # Nothing changed: a second backup uploads nothing new.
            code, out, err = run("backup", data_dir, self.store_env)
            self.assertEqual(code, 0, err)
            self.assertIn(", 0 bytes uploaded", out)
            self.assertGreater(uploaded_first, 0)

            shutil.rmtree(data_dir)
            code, out, err = run("restore", data_dir, self.store_env)
            self.assertEqual(code, 0, err)
            self.assertIn("restored backup", out)
            self.assertEqual(segment_digests(data_dir), before)
            # A restore never writes over a data directory.
            code, _, err = run("restore", data_dir, self.store_env)
            self.assertNotEqual(code, 0)
            self.assertIn("not empty", err)

        with Broker(data_dir=data_dir, port=bootstrap_port) as b:
            for topic, expected in values.items():
                self.assertEqual(consume(b.bootstrap, topic), [(str(o), v) for o, v in enumerate(expected)])
            self.assertEqual(committed(b.bootstrap, "billing", "orders"), 4321)

    def test_restore_of_a_chosen_backup(self):
        with Broker() as b:
            first = produce(b.bootstrap, "t", 500)
            b.stop()
            code, out, err = run("backup", b.data_dir, self.store_env)
            self.assertEqual(code, 0, err)
            first_id = out.split("backup ")[-1].split(":")[0]
            first_line = out.strip()
            b.start()
            produce(b.bootstrap, "t", 500)
            b.stop()
            code, out, err = run("backup", b.data_dir, self.store_env)
            self.assertEqual(code, 0, err)
            second_line = out.strip()
            # The listing, oldest first, says what each backup command said it stored.
            code, out, err = run("backups", b.data_dir, self.store_env)
            self.assertEqual(code, 0, err)
            listed = out.splitlines()
            self.assertEqual(len(listed), 2, out)
            for line, said in zip(listed, (first_line, second_line)):
                backup_id, files, _, size, _ = line.split()
                self.assertTrue(said.startswith("backup %s: %s files, %s bytes," % (backup_id, files, size)),
                                (line, said))
            self.assertEqual(listed[0].split()[0], first_id)
            target = b.data_dir + "-first"
            code, out, err = run("restore", target, self.store_env, ["--backup-id", first_id])
            self.assertEqual(code, 0, err)
            self.assertIn("restored backup " + first_id, out)
            code, _, err = run("restore", b.data_dir + "-none", self.store_env, ["--backup-id", "19700101T000000.000Z"])
            self.assertNotEqual(code, 0)
            self.assertIn("no backup 19700101T000000.000Z in the object store; it holds: " + first_id, err)
        with Broker(data_dir=target) as r:
            self.assertEqual(consume(r.bootstrap, "t"), [(str(o), v) for o, v in enumerate(first)])

    def test_running_broker_backs_itself_up_and_keeps_the_newest(self):
        with Broker(extra_args=["--enable-backup"], env=self.store_env,
                    kafka_properties={"backup.interval.ms": 300, "backup.retention.count": 2}) as b:
            values = produce(b.bootstrap, "live", 2000)
            time.sleep(1.5)  # several backup passes after the records are durable
            b.stop()
            self.assertIn("backup: ", b.read_log())
            ids = [line.split("backup: ")[1].split()[0] for line in b.read_log().splitlines() if " done: " in line]
            self.assertGreater(len(ids), 2)
            self.assertIn("deleted backup", b.read_log())
            shutil.rmtree(b.data_dir)
            code, out, err = run("restore", b.data_dir, self.store_env)
            self.assertEqual(code, 0, err)
            self.assertIn(ids[-1], out)
        with Broker(data_dir=b.data_dir) as r:
            self.assertEqual(consume(r.bootstrap, "live"), [(str(o), v) for o, v in enumerate(values)])

    def test_backups_of_a_busy_broker_are_each_one_moment(self):
        # Records produced and their offsets committed while backups are taken: each backup restores
        # to a log with every record below the group's committed offset, from offset 0 on, no gap.
        from confluent_kafka import Producer
        with Broker(extra_args=["--enable-backup"], env=self.store_env,
                    kafka_properties={"backup.interval.ms": 100, "backup.retention.count": 100,
                                      "log.segment.bytes": 256 << 10}) as b:
            producer = Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 2})
            group = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "busy", "enable.auto.commit": False})
            values, commits = [], []
            end = time.time() + 3
            while time.time() < end:
                for _ in range(200):
                    values.append("busy-%07d-%s" % (len(values), "y" * (len(values) % 300)))
                    producer.produce("busy", values[-1].encode())
                producer.flush(30)
                group.commit(offsets=[TopicPartition("busy", 0, len(values))], asynchronous=False)
                commits.append(time.time())
            group.close()
            del producer
            time.sleep(0.5)
            b.stop()
            ids = [line.split("backup: ")[1].split()[0] for line in b.read_log().splitlines() if " done: " in line]
        # A backup's id is the UTC time it began: those begun between the first and the last commit.
        def id_at(t):
            return time.strftime("%Y%m%dT%H%M%S", time.gmtime(t)) + ".%03dZ" % (int(t * 1000) % 1000)
        busy = [i for i in ids if id_at(commits[0]) < i < id_at(commits[-1])]
        self.assertGreaterEqual(len(busy), 3, (ids, id_at(commits[0]), id_at(commits[-1])))
        checked = 0
        for backup_id in busy[::len(busy) // 3][:3]:
            target = "%s-%s" % (b.data_dir, backup_id)
            code, out, err = run("restore", target, self.store_env, ["--backup-id", backup_id])
            self.assertEqual(code, 0, err)
            with Broker(data_dir=target) as r:
                records = consume(r.bootstrap, "busy")
                offset = committed(r.bootstrap, "busy", "busy")
            self.assertEqual(records, [(str(o), v) for o, v in enumerate(values[:len(records)])], backup_id)
            self.assertLessEqual(offset, len(records), backup_id)
            checked += offset > 0
            shutil.rmtree(target)
        self.assertGreater(checked, 0, "no backup taken after a commit: %s" % ids)

    def test_a_killed_backup_leaves_the_previous_one_whole(self):
        with Broker(kafka_properties={"log.segment.bytes": 4 << 20}) as b:
            first = produce(b.bootstrap, "t", 3000)
            b.stop()
            code, out, err = run("backup", b.data_dir, self.store_env)
            self.assertEqual(code, 0, err)
            b.start()
            big = ["%06d-%s" % (i, "b" * 400) for i in range(100000)]
            subprocess.run(["kcat", "-b", b.bootstrap, "-P", "-t", "big", "-X", "acks=all"], input="\n".join(big) + "\n",
                           text=True, check=True, timeout=120)
            b.stop()
            # kill -9 backups part way.
            interrupted = 0
            for delay in (0.01, 0.02, 0.04, 0.08):
                p = subprocess.Popen([server_binary(), "--data-dir", b.data_dir, "backup"], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=dict(os.environ, **self.store_env))
                time.sleep(delay)
                p.kill()
                out, _ = p.communicate()
                interrupted += "bytes uploaded" not in out
            self.assertGreater(interrupted, 0)
            # A killed backup has no manifest: a restore takes the newest complete one, the first.
            target = b.data_dir + "-restored"
            code, out, err = run("restore", target, self.store_env)
            self.assertEqual(code, 0, err)
        with Broker(data_dir=target) as r:
            self.assertEqual(consume(r.bootstrap, "t"), [(str(o), v) for o, v in enumerate(first)])
            if interrupted == 4:
                self.assertFalse(os.path.exists(os.path.join(target, "big-0")))
        # A backup after them completes, reusing what they uploaded.
        code, out, err = run("backup", b.data_dir, self.store_env)
        self.assertEqual(code, 0, err)

    def test_backup_of_a_running_broker_is_refused(self):
        with Broker() as b:
            code, _, err = run("backup", b.data_dir, self.store_env)
            self.assertNotEqual(code, 0)
            self.assertIn("stop it, or back a running broker up with --enable-backup", err)


class DamageChecks:
    """For the stores whose blobs the test can reach on disk and damage."""

    def test_a_damaged_blob_stops_the_restore(self):
        with Broker() as b:
            produce(b.bootstrap, "t", 100)
            b.stop()
            code, _, err = run("backup", b.data_dir, self.store_env)
            self.assertEqual(code, 0, err)
            self.damage_a_blob()
            target = b.data_dir + "-restored"
            code, _, err = run("restore", target, self.store_env)
            self.assertNotEqual(code, 0)
            self.assertIn("does not match its SHA-256", err)


class LocalStoreTest(BackupChecks, DamageChecks, unittest.TestCase):
    def setUp(self):
        self.root = os.path.join(os.environ.get("TEST_TMPDIR", "/tmp"), "backups-%d" % os.getpid())
        shutil.rmtree(self.root, ignore_errors=True)
        self.store_env = {"STORAGE_BACKEND": "local", "LOCAL_STORAGE_PATH": self.root}

    def tearDown(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def damage_a_blob(self):
        blobs = sorted(glob.glob(os.path.join(self.root, "backups", "blobs", "*")), key=os.path.getsize)
        with open(blobs[-1], "r+b") as f:
            f.seek(os.path.getsize(blobs[-1]) // 2)
            f.write(b"\xff")


class S3StoreTest(BackupChecks, DamageChecks, unittest.TestCase):
    def setUp(self):
        self.server = objstore.start_versitygw("chronik-backups")
        self.store_env = self.server.env

    def tearDown(self):
        self.server.stop()

    def damage_a_blob(self):
        # versitygw's posix backend keeps an object as a file named by its key.
        blobs = sorted(glob.glob(os.path.join(self.server.dir, "chronik-backups", "backups", "blobs", "*")),
                       key=os.path.getsize)
        with open(blobs[-1], "r+b") as f:
            f.seek(os.path.getsize(blobs[-1]) // 2)
            f.write(b"\xff")


class AzureStoreTest(BackupChecks, unittest.TestCase):
    def setUp(self):
        self.server = objstore.start_azurite("chronik-backups")
        self.store_env = self.server.env

    def tearDown(self):
        self.server.stop()


if __name__ == "__main__":
    unittest.main()
