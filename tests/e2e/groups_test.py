"""End-to-end: consumer groups with real clients. confluent-kafka consumers (one process each)
share a 6-partition topic under the eager, cooperative-sticky and static-membership protocols
while members are closed and killed; kafka-python resumes from auto-committed offsets (current
and 0.10 protocol versions); kcat -G; the admin APIs; offsets after a clean restart and after
kill -9."""

import json
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker import Broker  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PARTITIONS = 6
PER_PHASE = 3000
SESSION_MS = 6000


def wait_until(condition, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))


class GroupConsumer:
    """One group_consumer.py process and what its log says."""

    def __init__(self, tmp, name, config, topic):
        self.name = name
        self.log_path = os.path.join(tmp, name + ".log")
        open(self.log_path, "w").close()
        with open(self.log_path + ".err", "w") as err:
            self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "group_consumer.py"),
                                          json.dumps(config), topic, self.log_path],
                                         stdout=subprocess.DEVNULL, stderr=err)

    def lines(self):
        with open(self.log_path) as f:
            return [line.rstrip("\n") for line in f if line.endswith("\n")]

    def assignment(self):
        current = set()
        for line in self.lines():
            kind, _, rest = line.partition(" ")
            if kind not in ("A", "R"):
                continue
            partitions = {int(p) for p in rest.split(",") if p}
            if kind == "A":
                current |= partitions
            elif kind == "R":
                current -= partitions
        return current

    def values(self):
        return [line.split(" ", 3)[3] for line in self.lines() if line.startswith("M ")]

    def all_committed(self):
        """Every consumed message was followed by a successful commit."""
        pending = False
        for line in self.lines():
            if line.startswith("M "):
                pending = True
            elif line == "C":
                pending = False
        return not pending

    def assignment_events(self):
        return [line for line in self.lines() if line[:1] in "AR"]

    def close(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)

    def kill(self):
        self.proc.kill()
        self.proc.wait(30)


class GroupsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker(kafka_properties={"group.initial.rebalance.delay.ms": 0}).start()

    @classmethod
    def tearDownClass(cls):
        code = cls.broker.stop()
        assert code == 0, cls.broker.read_log()

    def create_topic(self, name, partitions=PARTITIONS):
        from confluent_kafka.admin import AdminClient, NewTopic
        admin = AdminClient({"bootstrap.servers": self.broker.bootstrap})
        admin.create_topics([NewTopic(name, partitions, 1)])[name].result(10)

    def produce(self, topic, start, count, partitions=PARTITIONS):
        from confluent_kafka import Producer
        producer = Producer({"bootstrap.servers": self.broker.bootstrap, "acks": "all", "linger.ms": 5})
        failures = []
        for i in range(start, start + count):
            producer.produce(topic, value=b"v-%d" % i, partition=i % partitions,
                             on_delivery=lambda err, msg: err and failures.append(err))
            producer.poll(0)
        self.assertEqual(producer.flush(30), 0)
        self.assertEqual(failures, [])

    def assert_disjoint_cover(self, consumers):
        sets = [c.assignment() for c in consumers]
        union = set().union(*sets)
        return union == set(range(PARTITIONS)) and sum(len(s) for s in sets) == PARTITIONS and all(sets)

    def run_scenario(self, name, strategy, static):
        """Three consumers; one closed; one killed; every message consumed, none twice before the kill."""
        topic, group = "groups-" + name, "group-" + name
        self.create_topic(topic)
        self.produce(topic, 0, PER_PHASE)
        tmp = self.broker.tmp

        def config(i):
            c = {"bootstrap.servers": self.broker.bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                 "session.timeout.ms": SESSION_MS, "heartbeat.interval.ms": 500,
                 "partition.assignment.strategy": strategy}
            if static:
                c["group.instance.id"] = "%s-%d" % (name, i)
            return c

        consumers = [GroupConsumer(tmp, "%s-%d" % (name, i), config(i), topic) for i in range(3)]
        try:
            wait_until(lambda: self.assert_disjoint_cover(consumers), 60, "3 disjoint assignments covering 6")
            consumed = lambda cs: [v for c in cs for v in c.values()]  # noqa: E731
            wait_until(lambda: len(set(consumed(consumers))) >= PER_PHASE, 60, "phase 1 consumed")
            before_close = {c.name: c.assignment() for c in consumers[1:]}

            # A clean close: the others take its partitions over.
            self.produce(topic, PER_PHASE, PER_PHASE)
            consumers[0].close()
            self.assertIn("X", consumers[0].lines())
            rest = consumers[1:]
            wait_until(lambda: self.assert_disjoint_cover(rest), 60, "2 consumers covering 6 after a close")
            if strategy == "cooperative-sticky":
                for c in rest:
                    self.assertTrue(before_close[c.name] <= c.assignment(),
                                    "cooperative-sticky moved %s's partitions: %s -> %s" %
                                    (c.name, before_close[c.name], c.assignment()))
            wait_until(lambda: len(set(consumed(consumers))) >= 2 * PER_PHASE and
                       all(c.all_committed() for c in rest), 60, "phase 2 consumed and committed")

            # A killed member: after its session timeout the last one takes everything.
            consumers[1].kill()
            self.produce(topic, 2 * PER_PHASE, PER_PHASE)
            wait_until(lambda: consumers[2].assignment() == set(range(PARTITIONS)), 60,
                       "the survivor owning all partitions after the session timeout")
            wait_until(lambda: len(set(consumed(consumers))) >= 3 * PER_PHASE, 60, "phase 3 consumed")
            consumers[2].close()

            values = consumed(consumers)
            expected = ["v-%d" % i for i in range(3 * PER_PHASE)]
            self.assertEqual(set(values), set(expected))
            before_kill = [v for v in values if int(v[2:]) < 2 * PER_PHASE]
            self.assertEqual(len(before_kill), len(set(before_kill)), "a message was consumed twice before the kill")
            duplicates = len(values) - len(set(values))
            errors = [line for c in consumers for line in c.lines() if line.startswith("E ")]
            print("%s: %d messages, %d consumed, %d duplicates after the kill, %d commit errors, "
                  "assignment events %s" % (name, len(expected), len(values), duplicates, len(errors),
                                            [len(c.assignment_events()) for c in consumers]))
        finally:
            for c in consumers:
                if c.proc.poll() is None:
                    c.kill()

    def test_eager_group(self):
        self.run_scenario("eager", "range", static=False)

    def test_cooperative_sticky_group(self):
        self.run_scenario("coop", "cooperative-sticky", static=False)

    def test_static_membership_group(self):
        self.run_scenario("static", "range", static=True)

    def test_static_member_restart_does_not_rebalance(self):
        topic, group = "static-restart", "static-restart"
        self.create_topic(topic)
        self.produce(topic, 0, 600)
        tmp = self.broker.tmp

        def config(i):
            return {"bootstrap.servers": self.broker.bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                    "session.timeout.ms": 30000, "heartbeat.interval.ms": 500, "group.instance.id": "member-%d" % i}

        a = GroupConsumer(tmp, "static-a", config(0), topic)
        b = GroupConsumer(tmp, "static-b", config(1), topic)
        started = [a, b]
        try:
            wait_until(lambda: self.assert_disjoint_cover([a, b]), 60, "2 static members covering 6")
            wait_until(lambda: len(a.values()) + len(b.values()) >= 600 and a.all_committed() and b.all_committed(),
                       60, "everything consumed")
            b_events = len(b.assignment_events())
            a_assignment = a.assignment()
            a.kill()
            a2 = GroupConsumer(tmp, "static-a2", config(0), topic)
            started.append(a2)
            wait_until(lambda: a2.assignment() == a_assignment, 30, "the restarted static member's old partitions")
            self.produce(topic, 600, 600)
            wait_until(lambda: len(a.values()) + len(a2.values()) + len(b.values()) >= 1200, 60,
                       "new messages consumed")
            time.sleep(1)
            self.assertEqual(len(b.assignment_events()), b_events, "the other member saw a rebalance")
            # It resumed from the committed offsets: nothing of the first 600 again.
            self.assertFalse([v for v in a2.values() if int(v[2:]) < 600])
            a2.close()
            b.close()
        finally:
            for c in started:
                if c.proc.poll() is None:
                    c.kill()

    def test_kafka_python_auto_commit_resumes(self):
        from kafka import KafkaConsumer
        topic = "kp-groups"
        self.create_topic(topic, 3)
        self.produce(topic, 0, 1000, partitions=3)
        for api_version in (None, (0, 10, 0)):
            with self.subTest(api_version=api_version):
                group = "kp-%s" % (api_version,)
                kwargs = dict(bootstrap_servers=self.broker.bootstrap, group_id=group,
                              auto_offset_reset="earliest", enable_auto_commit=True, auto_commit_interval_ms=200,
                              consumer_timeout_ms=8000)
                if api_version:
                    kwargs["api_version"] = api_version
                first = []
                consumer = KafkaConsumer(topic, **kwargs)
                for m in consumer:
                    first.append(m.value.decode())
                    if len(first) == 400:
                        break
                consumer.close()  # commits what was consumed
                second = []
                consumer = KafkaConsumer(topic, **kwargs)
                for m in consumer:
                    second.append(m.value.decode())
                consumer.close()
                self.assertEqual(len(first), 400)
                self.assertEqual(sorted(first + second), sorted("v-%d" % i for i in range(1000)))
                print("kafka-python %s: %d then %d after restart" % (api_version, len(first), len(second)))

    def test_kcat_balanced_consumer(self):
        topic = "kcat-groups"
        self.create_topic(topic, 3)
        self.produce(topic, 0, 900, partitions=3)

        def run():
            p = subprocess.run(["kcat", "-b", self.broker.bootstrap, "-G", "kcat-group", topic, "-e", "-q",
                                "-X", "auto.offset.reset=earliest", "-f", "%s\n"],
                               capture_output=True, text=True, timeout=90)
            self.assertEqual(p.returncode, 0, p.stderr)
            return p.stdout.splitlines()

        first = run()
        self.assertEqual(sorted(first), sorted("v-%d" % i for i in range(900)))
        self.produce(topic, 900, 90, partitions=3)
        second = run()
        self.assertEqual(sorted(second), sorted("v-%d" % i for i in range(900, 990)))

    def test_admin_apis_and_restarts(self):
        from confluent_kafka import Consumer, TopicPartition
        from kafka import KafkaAdminClient
        from kafka.structs import TopicPartition as KTP
        topic, group = "admin-groups", "admin-group"
        self.create_topic(topic, 2)
        self.produce(topic, 0, 100, partitions=2)
        consumer = Consumer({"bootstrap.servers": self.broker.bootstrap, "group.id": group,
                             "auto.offset.reset": "earliest", "enable.auto.commit": False})
        consumer.subscribe([topic])
        got = 0
        deadline = time.time() + 30
        while got < 100 and time.time() < deadline:
            m = consumer.poll(0.5)
            if m is not None and not m.error():
                got += 1
        self.assertEqual(got, 100)
        consumer.commit(offsets=[TopicPartition(topic, 0, 50), TopicPartition(topic, 1, 40)], asynchronous=False)

        admin = KafkaAdminClient(bootstrap_servers=self.broker.bootstrap)
        self.assertIn((group, "consumer"), admin.list_consumer_groups())
        (info,) = admin.describe_consumer_groups([group])
        self.assertEqual(info.state, "Stable")
        self.assertEqual(info.protocol_type, "consumer")
        self.assertEqual(len(info.members), 1)
        self.assertEqual(info.members[0].client_host, "/127.0.0.1")
        self.assertEqual(info.members[0].member_assignment.assignment, [(topic, [0, 1])])
        offsets = admin.list_consumer_group_offsets(group)
        self.assertEqual({tp.partition: o.offset for tp, o in offsets.items()}, {0: 50, 1: 40})
        consumer.close()
        (info,) = admin.describe_consumer_groups([group])
        self.assertEqual(info.state, "Empty")
        admin.close()

        # A simple consumer commit (no group membership), then a clean restart and a kill -9.
        simple = Consumer({"bootstrap.servers": self.broker.bootstrap, "group.id": "simple-group"})
        simple.commit(offsets=[TopicPartition(topic, 1, 7)], asynchronous=False)
        simple.close()
        for how in ("SIGTERM", "SIGKILL"):
            with self.subTest(restart=how):
                self.restart(signal.SIGTERM if how == "SIGTERM" else signal.SIGKILL)
                admin = KafkaAdminClient(bootstrap_servers=self.broker.bootstrap)
                offsets = admin.list_consumer_group_offsets(group)
                self.assertEqual({tp.partition: o.offset for tp, o in offsets.items()}, {0: 50, 1: 40})
                self.assertEqual(admin.list_consumer_group_offsets("simple-group",
                                                                   partitions=[KTP(topic, 1)])[KTP(topic, 1)].offset, 7)
                groups = dict(admin.list_consumer_groups())
                self.assertEqual(groups.get(group), "consumer")
                self.assertIn("simple-group", groups)
                admin.close()
        # The group resumes where it committed.
        consumer = Consumer({"bootstrap.servers": self.broker.bootstrap, "group.id": group,
                             "auto.offset.reset": "earliest", "enable.auto.commit": False})
        consumer.subscribe([topic])
        resumed = []
        deadline = time.time() + 30
        while len(resumed) < 10 and time.time() < deadline:
            m = consumer.poll(0.5)
            if m is not None and not m.error():
                resumed.append((m.partition(), m.offset()))
        consumer.close()
        # Partition 0 was committed at its end (50): only partition 1's last 10 come again.
        self.assertEqual(sorted(resumed), [(1, o) for o in range(40, 50)])

        admin = KafkaAdminClient(bootstrap_servers=self.broker.bootstrap)
        admin.delete_consumer_groups(["simple-group"])
        self.assertNotIn("simple-group", dict(admin.list_consumer_groups()))
        admin.close()

    def restart(self, sig):
        broker = type(self).broker
        if sig == signal.SIGKILL:
            broker.proc.kill()
            broker.proc.wait()
            broker.log.close()
        else:
            self.assertEqual(broker.stop(sig), 0)
        broker.start()


if __name__ == "__main__":
    unittest.main(verbosity=2)
